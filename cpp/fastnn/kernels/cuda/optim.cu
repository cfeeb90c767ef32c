// The fused optimizer updates on a GPU: one thread per element running optim/update_rules.h's element update (the
// CPU loops' own code), so a GPU step differs from a CPU step only by the hardware's rounding of the same expressions.
#include <cuda_runtime.h>

#include "fastnn/kernels/cuda/layout.cuh"
#include "fastnn/kernels/cuda/optim.h"

namespace fastnn::cuda {
namespace {

template <class T, bool kMaximize, bool kDecay, bool kMomentum, bool kFirst, bool kNesterov>
__global__ void sgd_kernel(T* p, const T* grad, T* buf, int64_t n, T lr, T wd, T mom, T damp) {
  T unused = 0;
  FASTNN_GRID_LOOP(i, n) {
    rules::sgd_update<T, kMaximize, kDecay, kMomentum, kFirst, kNesterov>(p[i], grad[i], kMomentum ? buf[i] : unused,
                                                                          lr, wd, mom, damp);
  }
}

// Turns the run-time options into the kernel's template flags, one at a time.
template <class T, bool... kFlags>
void launch_sgd(T* p, const T* grad, T* buf, int64_t n, const SgdRule& r, bool first) {
  if constexpr (sizeof...(kFlags) < 5) {
    const bool next[] = {r.maximize, r.weight_decay != 0, buf != nullptr, first, r.nesterov};
    if (next[sizeof...(kFlags)]) return launch_sgd<T, kFlags..., true>(p, grad, buf, n, r, first);
    return launch_sgd<T, kFlags..., false>(p, grad, buf, n, r, first);
  } else {
    FASTNN_LAUNCH(blocks_for(n), kThreads, sgd_kernel<T, kFlags...>)(p, grad, buf, n, T(r.lr), T(r.weight_decay),
                                                                     T(r.momentum), T(1 - r.dampening));
  }
}

template <class Rule, class T>
__global__ void rule_kernel(Rule rule, T* p, const T* grad, T* s0, T* s1, T* s2, int64_t n) {
  FASTNN_GRID_LOOP(k, n) { rule(p[k], grad[k], s0 ? s0 + k : nullptr, s1 ? s1 + k : nullptr, s2 ? s2 + k : nullptr); }
}

template <class T, class Rule>
void launch_rule(const Rule& rule, void* p, const void* grad, void* s0, void* s1, void* s2, int64_t n, int index) {
  if (n == 0) return;
  use_device(index, "optimizer step");
  FASTNN_LAUNCH(blocks_for(n), kThreads, rule_kernel<Rule, T>)(rule, static_cast<T*>(p), static_cast<const T*>(grad),
                                                               static_cast<T*>(s0), static_cast<T*>(s1),
                                                               static_cast<T*>(s2), n);
  check_launch("optimizer step");
}

}  // namespace

void sgd_update(bool is_double, void* p, const void* grad, void* buf, int64_t n, const SgdRule& rule, bool first,
                int index) {
  if (n == 0) return;
  use_device(index, "SGD");
  if (is_double)
    launch_sgd<double>(static_cast<double*>(p), static_cast<const double*>(grad), static_cast<double*>(buf), n, rule,
                       first);
  else
    launch_sgd<float>(static_cast<float*>(p), static_cast<const float*>(grad), static_cast<float*>(buf), n, rule,
                      first);
  check_launch("SGD");
}

#define FASTNN_CUDA_OPTIM_DEF(RULE)                                                                               \
  void optimizer_update(const rules::RULE<float>& rule, void* p, const void* grad, void* s0, void* s1, void* s2,  \
                        int64_t n, int index) {                                                                   \
    launch_rule<float>(rule, p, grad, s0, s1, s2, n, index);                                                      \
  }                                                                                                               \
  void optimizer_update(const rules::RULE<double>& rule, void* p, const void* grad, void* s0, void* s1, void* s2, \
                        int64_t n, int index) {                                                                   \
    launch_rule<double>(rule, p, grad, s0, s1, s2, n, index);                                                     \
  }
FASTNN_OPTIM_RULES(FASTNN_CUDA_OPTIM_DEF)
#undef FASTNN_CUDA_OPTIM_DEF

}  // namespace fastnn::cuda
