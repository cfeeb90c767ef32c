// Grad mode: whether ops record the graph (thread-local, like torch).
#pragma once

namespace fastnn {

struct GradMode {
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

// Anomaly mode (torch.autograd.detect_anomaly): backward checks each node's gradients for NaN and
// names the node that produced one. Process-wide, as in torch.
struct AnomalyMode {
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

// Sets grad mode for a scope and restores it after.
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : prev_(GradMode::is_enabled()) { GradMode::set_enabled(enabled); }
  ~GradModeGuard() { GradMode::set_enabled(prev_); }

 private:
  bool prev_;
};

}  // namespace fastnn
