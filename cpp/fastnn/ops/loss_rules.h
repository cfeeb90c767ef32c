// The elementwise terms of the losses that are not compositions of other ops, as rules: operator()(x, t) in the
// input's dtype T. The CPU loops (loss.cpp's map2) and the CUDA kernels (kernels/cuda/loss.cu) both compile them
// (host_device.h); FASTNN_LOSS_TERMS lists them, and the GPU declarations and kernels are generated from that list.
#pragma once
#include <cmath>

#include "fastnn/host_device.h"

namespace fastnn::rules {

#define FASTNN_LOSS_TERMS(X) \
  X(SquaredError)            \
  X(SquaredErrorSlope)       \
  X(SmoothL1)                \
  X(SmoothL1Slope)           \
  X(Huber)                   \
  X(HuberSlope)              \
  X(SoftMargin)              \
  X(SoftMarginSlope)         \
  X(ClampedLog)              \
  X(NegLogit)                \
  X(SoftplusNeg)

// d^2, d = x - t (mse_loss), and its derivative in x, 2 d.
struct SquaredError {
  template <class T>
  FASTNN_HOST_DEVICE T operator()(T x, T t) const {
    const T d = x - t;
    return d * d;
  }
};
struct SquaredErrorSlope {
  template <class T>
  FASTNN_HOST_DEVICE T operator()(T x, T t) const {
    return T(2) * (x - t);
  }
};
// |d| < beta ? 0.5 d^2 / beta : |d| - 0.5 beta, d = x - t.
struct SmoothL1 {
  double beta;
  template <class T>
  FASTNN_HOST_DEVICE T operator()(T x, T t) const {
    T d = x - t, a = d < 0 ? -d : d;
    return a < beta ? T(0.5 * d * d / beta) : T(a - 0.5 * beta);
  }
};
// Its derivative in x: d / beta inside, the sign of d outside (NaN stays NaN, as in torch).
struct SmoothL1Slope {
  double beta;
  template <class T>
  FASTNN_HOST_DEVICE T operator()(T x, T t) const {
    T d = x - t, a = d < 0 ? -d : d;
    return a < beta ? T(d / beta) : d > 0 ? T(1) : d < 0 ? T(-1) : d;
  }
};
// |d| < delta ? 0.5 d^2 : delta (|d| - 0.5 delta).
struct Huber {
  double delta;
  template <class T>
  FASTNN_HOST_DEVICE T operator()(T x, T t) const {
    T d = x - t, a = d < 0 ? -d : d;
    return a < delta ? T(0.5 * d * d) : T(delta * (a - 0.5 * delta));
  }
};
// d clamped to [-delta, delta].
struct HuberSlope {
  double delta;
  template <class T>
  FASTNN_HOST_DEVICE T operator()(T x, T t) const {
    T d = x - t;
    return d < -delta ? T(-delta) : d > delta ? T(delta) : d;
  }
};
// log(1 + exp(-t x)).
struct SoftMargin {
  template <class T>
  FASTNN_HOST_DEVICE T operator()(T x, T t) const {
    return T(std::log1p(std::exp(-t * x)));
  }
};
// -t exp(-t x) / (1 + exp(-t x)).
struct SoftMarginSlope {
  template <class T>
  FASTNN_HOST_DEVICE T operator()(T x, T t) const {
    T z = std::exp(-t * x);
    return T(-t * z / (1 + z));
  }
};
// max(log(x), -100), or max(log1p(-x), -100) with one_minus (binary_cross_entropy's terms; t unused).
struct ClampedLog {
  bool one_minus;
  template <class T>
  FASTNN_HOST_DEVICE T operator()(T v, T) const {
    const T l = T(one_minus ? std::log1p(-v) : std::log(v));
    return l < T(-100) ? T(-100) : l;  // std::max's rule: NaN stays NaN
  }
};
// log(1 - x) - log(x): binary_cross_entropy's gradient in t (t unused).
struct NegLogit {
  template <class T>
  FASTNN_HOST_DEVICE T operator()(T v, T) const {
    return T(std::log(T(1) - v) - std::log(v));
  }
};
// softplus(-x) = log1p(exp(-|x|)) + max(-x, 0), stable (t unused).
struct SoftplusNeg {
  template <class T>
  FASTNN_HOST_DEVICE T operator()(T v, T) const {
    const T m = -v < T(0) ? T(0) : -v;  // std::max's rule: NaN stays NaN
    return T(std::log1p(std::exp(-std::fabs(v))) + m);
  }
};

}  // namespace fastnn::rules
