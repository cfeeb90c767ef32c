// The fused optimizers' element updates, compiled by the CPU loops (optim/sgd.cpp, optim/adaptive.cpp) and the CUDA
// kernels (kernels/cuda/optim.cu) alike (host_device.h), so both devices run the same formulas in the same order.
#pragma once
#include <cmath>

#include "fastnn/host_device.h"

namespace fastnn::rules {

// torch's lerp: a + w (b - a) for w < 0.5, else b - (b - a)(1 - w).
template <class T>
FASTNN_HOST_DEVICE inline T lerp(T a, T b, T w) {
  return w < T(0.5) ? a + w * (b - a) : b - (b - a) * (T(1) - w);
}

// SGD: g = grad (+ wd * p) (negated if maximize); buf = momentum * buf + (1 - dampening) * g (buf = g at first);
// g = nesterov ? g + momentum * buf : buf; p -= lr * g. The options are template flags (one branch-free loop each).
template <class T, bool kMaximize, bool kDecay, bool kMomentum, bool kFirst, bool kNesterov>
FASTNN_HOST_DEVICE inline void sgd_update(T& p, T grad, T& buf, T lr, T wd, T mom, T damp) {
  T g = kMaximize ? -grad : grad;
  if (kDecay) g += wd * p;
  if (kMomentum) {
    buf = kFirst ? g : mom * buf + damp * g;
    g = kNesterov ? g + mom * buf : buf;
  }
  p -= lr * g;
}

// Adam and AdamW for one step, in the parameter's dtype: step_size = lr / (1 - beta1^t), bc2_sqrt =
// sqrt(1 - beta2^t), decay = 1 - lr * weight_decay (decoupled: AdamW).
template <class T>
struct AdamStep {
  T wd, b1, b2, one_b2, decay, eps, step_size, bc2_sqrt;  // b1 = 1 - beta1, b2 = beta2, one_b2 = 1 - beta2
  bool maximize, has_decay, decoupled;
  // p, m (exp_avg), v (exp_avg_sq) updated; vmax (max_exp_avg_sq) too when amsgrad, else null.
  FASTNN_HOST_DEVICE void operator()(T& p, T grad, T& m, T& v, T* vmax) const {
    T g = maximize ? -grad : grad;
    if (has_decay) {
      if (decoupled) p *= decay;
      else g += wd * p;
    }
    m = lerp(m, g, b1);
    v = v * b2 + one_b2 * g * g;
    T second = v;
    if (vmax) second = *vmax = *vmax < v ? v : *vmax;  // std::max's rule
    const T denom = std::sqrt(second) / bc2_sqrt + eps;
    p += -step_size * m / denom;
  }
};

}  // namespace fastnn::rules
