// The fused optimizer updates on a GPU: one thread per element, the CPU loops' formulas in the same order of
// operations, so a GPU step differs from a CPU step only by the hardware's rounding of the same expressions.
#include <cuda_runtime.h>

#include <cmath>

#include "fastnn/kernels/cuda/layout.cuh"
#include "fastnn/kernels/cuda/optim.h"

namespace fastnn::cuda {
namespace {

template <class T>
__global__ void sgd_kernel(T* p, const T* grad, T* buf, int64_t n, SgdRule r, bool first) {
  const T lr = T(r.lr), wd = T(r.weight_decay), mom = T(r.momentum), damp = T(1 - r.dampening);
  FASTNN_GRID_LOOP(i, n) {
    T g = r.maximize ? -grad[i] : grad[i];
    if (r.weight_decay != 0) g += wd * p[i];
    if (buf) {
      buf[i] = first ? g : mom * buf[i] + damp * g;
      g = r.nesterov ? g + mom * buf[i] : buf[i];
    }
    p[i] -= lr * g;
  }
}

// torch's lerp: a + w (b - a) for w < 0.5, else b - (b - a)(1 - w).
template <class T>
__device__ T lerp(T a, T b, T w) {
  return w < T(0.5) ? a + w * (b - a) : b - (b - a) * (T(1) - w);
}

template <class T>
__global__ void adam_kernel(T* p, const T* grad, T* m, T* v, T* vmax, int64_t n, AdamRule r) {
  const T wd = T(r.weight_decay), b1 = T(1 - r.beta1), b2 = T(r.beta2), one_b2 = T(1 - r.beta2);
  const T decay = T(r.decay), eps = T(r.eps), step_size = T(r.step_size), bc2_sqrt = T(r.bc2_sqrt);
  FASTNN_GRID_LOOP(k, n) {
    T gk = r.maximize ? -grad[k] : grad[k];
    if (r.weight_decay != 0) {
      if (r.decoupled) p[k] *= decay;
      else gk += wd * p[k];
    }
    m[k] = lerp(m[k], gk, b1);
    v[k] = v[k] * b2 + one_b2 * gk * gk;
    T second = v[k];
    if (vmax) second = vmax[k] = vmax[k] < v[k] ? v[k] : vmax[k];  // std::max's rule
    const T denom = sqrt(second) / bc2_sqrt + eps;
    p[k] += -step_size * m[k] / denom;
  }
}

}  // namespace

void sgd_update(bool is_double, void* p, const void* grad, void* buf, int64_t n, const SgdRule& rule, bool first,
                int index) {
  if (n == 0) return;
  use_device(index, "SGD");
  if (is_double)
    sgd_kernel<double><<<blocks_for(n), kThreads>>>(static_cast<double*>(p), static_cast<const double*>(grad),
                                                    static_cast<double*>(buf), n, rule, first);
  else
    sgd_kernel<float><<<blocks_for(n), kThreads>>>(static_cast<float*>(p), static_cast<const float*>(grad),
                                                   static_cast<float*>(buf), n, rule, first);
  check_launch("SGD");
}

void adam_update(bool is_double, void* p, const void* grad, void* m, void* v, void* vmax, int64_t n,
                 const AdamRule& rule, int index) {
  if (n == 0) return;
  use_device(index, "Adam");
  if (is_double)
    adam_kernel<double><<<blocks_for(n), kThreads>>>(static_cast<double*>(p), static_cast<const double*>(grad),
                                                     static_cast<double*>(m), static_cast<double*>(v),
                                                     static_cast<double*>(vmax), n, rule);
  else
    adam_kernel<float><<<blocks_for(n), kThreads>>>(static_cast<float*>(p), static_cast<const float*>(grad),
                                                    static_cast<float*>(m), static_cast<float*>(v),
                                                    static_cast<float*>(vmax), n, rule);
  check_launch("Adam");
}

}  // namespace fastnn::cuda
