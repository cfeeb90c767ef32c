// The fused optimizers' element updates, compiled by the CPU loops (optim/sgd.cpp, optim/adaptive.cpp) and the CUDA
// kernels (kernels/cuda/optim.cu) alike (host_device.h), so both devices run the same formulas in the same order.
#pragma once
#include <cmath>
#include <type_traits>

#include "fastnn/host_device.h"

namespace fastnn::rules {

// torch's lerp: a + w (b - a) for w < 0.5, else b - (b - a)(1 - w).
template <class T>
FASTNN_HOST_DEVICE inline T lerp(T a, T b, T w) {
  const T lo = a + w * (b - a), hi = b - (b - a) * (T(1) - w);  // both, then a select: the loops vectorise
  return w < T(0.5) ? lo : hi;
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

// The adaptive optimizers' steps, one struct each holding a step's constants in the parameter's dtype;
// operator()(p, grad, s0, s1, s2) updates one element of the parameter and of its state tensors (element pointers,
// null where the options leave a state out). FASTNN_OPTIM_RULES lists them (the GPU overloads are generated from it).
#define FASTNN_OPTIM_RULES(X) \
  X(AdamStep)                 \
  X(RmspropStep)              \
  X(AdagradStep)              \
  X(AdadeltaStep)             \
  X(AdamaxStep)               \
  X(NadamStep)                \
  X(RadamStep)

// The gradient as the step reads it: negated with maximize, plus wd * p with (L2) weight decay.
template <class T>
FASTNN_HOST_DEVICE inline T step_grad(T grad, T p, bool maximize, bool has_decay, T wd) {
  T g = maximize ? -grad : grad;
  if (has_decay) g += wd * p;
  return g;
}

// The Adam family's common start: weight decay (decoupled: p *= decay; else L2 into the gradient), then the moments
// m = lerp(m, g, b1) and v = b2 v + (1 - b2) g^2. Returns the gradient as the step reads it.
template <class T>
FASTNN_HOST_DEVICE inline T adam_moments(T& p, T grad, T* m, T* v, bool maximize, bool has_decay, bool decoupled, T wd,
                                         T decay, T b1, T b2, T one_b2) {
  if (has_decay && decoupled) p *= decay;
  const T g = step_grad(grad, p, maximize, has_decay && !decoupled, wd);
  *m = lerp(*m, g, b1);
  *v = *v * b2 + one_b2 * g * g;
  return g;
}

// Adam and AdamW: s0 exp_avg, s1 exp_avg_sq, s2 max_exp_avg_sq (amsgrad). step_size = lr / (1 - beta1^t),
// bc2_sqrt = sqrt(1 - beta2^t), decay = 1 - lr * weight_decay (decoupled: AdamW).
template <class T>
struct AdamStep {
  T wd, b1, b2, one_b2, decay, eps, step_size, bc2_sqrt;  // b1 = 1 - beta1, b2 = beta2, one_b2 = 1 - beta2
  bool maximize, has_decay, decoupled;
  // The step with the options as constants (the CPU loop runs one instantiation per call, so it vectorises).
  template <bool kMaximize, bool kDecay, bool kDecoupled, bool kAmsgrad>
  FASTNN_HOST_DEVICE void apply(T& p, T grad, T* m, T* v, T* vmax) const {
    adam_moments(p, grad, m, v, kMaximize, kDecay, kDecoupled, wd, decay, b1, b2, one_b2);
    finish<kAmsgrad>(p, *m, *v, vmax);
  }
  // f(apply's flags as std::bool_constant values) for this step's options and amsgrad.
  template <class F>
  void with_flags(bool amsgrad, const F& f) const {
    auto pick = [](bool b, const auto& g) { return b ? g(std::true_type()) : g(std::false_type()); };
    pick(maximize, [&](auto mx) {
      pick(has_decay,
           [&](auto dc) { pick(decoupled, [&](auto dd) { pick(amsgrad, [&](auto am) { f(mx, dc, dd, am); }); }); });
    });
  }
  FASTNN_HOST_DEVICE void operator()(T& p, T grad, T* m, T* v, T* vmax) const {
    adam_moments(p, grad, m, v, maximize, has_decay, decoupled, wd, decay, b1, b2, one_b2);
    if (vmax) finish<true>(p, *m, *v, vmax);
    else finish<false>(p, *m, *v, vmax);
  }

 private:
  template <bool kAmsgrad>
  FASTNN_HOST_DEVICE void finish(T& p, T m, T v, T* vmax) const {
    T second = v;
    if (kAmsgrad) second = *vmax = *vmax < v ? v : *vmax;  // std::max's rule
    const T denom = std::sqrt(second) / bc2_sqrt + eps;
    p += -step_size * m / denom;
  }
};

// RMSprop: s0 square_avg, s1 grad_avg (centered), s2 momentum_buffer (momentum > 0).
template <class T>
struct RmspropStep {
  T lr, alpha, one_alpha, eps, wd, mom;
  bool maximize, has_decay;
  FASTNN_HOST_DEVICE void operator()(T& p, T grad, T* sq, T* ga, T* buf) const {
    const T g = step_grad(grad, p, maximize, has_decay, wd);
    *sq = *sq * alpha + one_alpha * g * g;
    T avg;
    if (ga) {
      *ga = lerp(*ga, g, one_alpha);
      avg = std::sqrt(*sq - *ga * *ga);
    } else {
      avg = std::sqrt(*sq);
    }
    avg += eps;
    if (buf) {
      *buf = *buf * mom + g / avg;
      p += -lr * *buf;
    } else {
      p += -lr * g / avg;
    }
  }
};

// Adagrad: s0 sum; clr = lr / (1 + (t - 1) lr_decay).
template <class T>
struct AdagradStep {
  T clr, eps, wd;
  bool maximize, has_decay;
  FASTNN_HOST_DEVICE void operator()(T& p, T grad, T* s, T*, T*) const {
    const T g = step_grad(grad, p, maximize, has_decay, wd);
    *s += g * g;
    p += -clr * g / (std::sqrt(*s) + eps);
  }
};

// Adadelta: s0 square_avg, s1 acc_delta.
template <class T>
struct AdadeltaStep {
  T lr, rho, one_rho, eps, wd;
  bool maximize, has_decay;
  FASTNN_HOST_DEVICE void operator()(T& p, T grad, T* sq, T* acc, T*) const {
    const T g = step_grad(grad, p, maximize, has_decay, wd);
    *sq = *sq * rho + one_rho * g * g;
    const T delta = std::sqrt(*acc + eps) / std::sqrt(*sq + eps) * g;
    *acc = *acc * rho + one_rho * delta * delta;
    p += -lr * delta;
  }
};

// Adamax: s0 exp_avg, s1 exp_inf; neg_clr = -lr / (1 - beta1^t).
template <class T>
struct AdamaxStep {
  T b1, b2, eps, wd, neg_clr;
  bool maximize, has_decay;
  FASTNN_HOST_DEVICE void operator()(T& p, T grad, T* m, T* u, T*) const {
    const T g = step_grad(grad, p, maximize, has_decay, wd);
    *m = lerp(*m, g, b1);
    const T decayed = *u * b2, fresh = std::fabs(g) + eps;
    *u = (decayed != decayed || fresh != fresh) ? decayed + fresh : decayed < fresh ? fresh : decayed;  // NaN wins
    p += neg_clr * *m / *u;
  }
};

// NAdam: s0 exp_avg, s1 exp_avg_sq; the momentum schedule's coefficients come from the host's running product.
template <class T>
struct NadamStep {
  T grad_coef, avg_coef, b1, b2, one_b2, eps, wd, decay, bc2;
  bool maximize, has_decay, decoupled;
  FASTNN_HOST_DEVICE void operator()(T& p, T grad, T* m, T* v, T*) const {
    const T g = adam_moments(p, grad, m, v, maximize, has_decay, decoupled, wd, decay, b1, b2, one_b2);
    const T denom = std::sqrt(*v / bc2) + eps;
    p += grad_coef * g / denom;
    p += avg_coef * *m / denom;
  }
};

// RAdam: s0 exp_avg, s1 exp_avg_sq; the variance is rectified (by rect) once rectify holds.
template <class T>
struct RadamStep {
  T lr, b1, b2, one_b2, eps, wd, decay, tbc1, bc2_sqrt, rect;
  bool maximize, has_decay, decoupled, rectify;
  FASTNN_HOST_DEVICE void operator()(T& p, T grad, T* m, T* v, T*) const {
    adam_moments(p, grad, m, v, maximize, has_decay, decoupled, wd, decay, b1, b2, one_b2);
    T update = *m / tbc1 * lr;
    if (rectify) update = update * (bc2_sqrt / (std::sqrt(*v) + eps)) * rect;
    p -= update;
  }
};

}  // namespace fastnn::rules
