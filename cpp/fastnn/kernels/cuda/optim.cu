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
    sgd_kernel<T, kFlags...>
        <<<blocks_for(n), kThreads>>>(p, grad, buf, n, T(r.lr), T(r.weight_decay), T(r.momentum), T(1 - r.dampening));
  }
}

template <class T>
__global__ void adam_kernel(rules::AdamStep<T> step, T* p, const T* grad, T* m, T* v, T* vmax, int64_t n) {
  FASTNN_GRID_LOOP(k, n) step(p[k], grad[k], m[k], v[k], vmax ? vmax + k : nullptr);
}

template <class T>
void launch_adam(const rules::AdamStep<T>& step, void* p, const void* grad, void* m, void* v, void* vmax, int64_t n,
                 int index) {
  if (n == 0) return;
  use_device(index, "Adam");
  adam_kernel<T><<<blocks_for(n), kThreads>>>(step, static_cast<T*>(p), static_cast<const T*>(grad), static_cast<T*>(m),
                                              static_cast<T*>(v), static_cast<T*>(vmax), n);
  check_launch("Adam");
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

void adam_update(const rules::AdamStep<float>& step, void* p, const void* grad, void* m, void* v, void* vmax, int64_t n,
                 int index) {
  launch_adam(step, p, grad, m, v, vmax, n, index);
}
void adam_update(const rules::AdamStep<double>& step, void* p, const void* grad, void* m, void* v, void* vmax,
                 int64_t n, int index) {
  launch_adam(step, p, grad, m, v, vmax, n, index);
}

}  // namespace fastnn::cuda
