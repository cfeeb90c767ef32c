// The activations with parameters (and clamp and pow by a number, on a GPU) as rules: forward(v) and backward(g, v)
// on the input's values widened to double, one struct per formula; the piecewise-linear ones (selects, and one
// product or difference) are templates that the CPU runs in the input's own dtype, as torch does (a float32 loop then
// vectorises). The CPU loops (activation.cpp) and the CUDA kernels
// (kernels/cuda/activation.cu) both compile them (host_device.h), so the two devices compute the same formulas.
// FASTNN_PARAM_ACTIVATIONS lists them; the GPU declarations and kernels are generated from that list.
#pragma once
#include <cmath>
#include <cstdint>

#include "fastnn/host_device.h"

namespace fastnn::rules {

#define FASTNN_PARAM_ACTIVATIONS(X) \
  X(LeakyRelu)                      \
  X(GeluErf)                        \
  X(GeluTanh)                       \
  X(Softplus)                       \
  X(EluLike)                        \
  X(Hardtanh)                       \
  X(Hardshrink)                     \
  X(Softshrink)                     \
  X(Threshold)                      \
  X(ClampMin)                       \
  X(Clamp)                          \
  X(PowScalar)

// v > 0 ? v : slope v (LeakyReluBackward0).
struct LeakyRelu {
  double slope;
  template <class T> FASTNN_HOST_DEVICE T forward(T v) const { return v > 0 ? v : v * T(slope); }
  template <class T> FASTNN_HOST_DEVICE T backward(T g, T v) const { return v > 0 ? g : g * T(slope); }
};

// 0.5 v (1 + erf(v / sqrt(2))); the derivative adds v phi(v).
struct GeluErf {
  FASTNN_HOST_DEVICE double forward(double v) const { return 0.5 * v * (1 + std::erf(v * M_SQRT1_2)); }
  FASTNN_HOST_DEVICE double backward(double g, double v) const {
    return g * (0.5 * (1 + std::erf(v * M_SQRT1_2)) + v * std::exp(-0.5 * v * v) * 0.5 * M_2_SQRTPI * M_SQRT1_2);
  }
};

// 0.5 v (1 + tanh(k (v + c v^3))), k = sqrt(2 / pi), c = 0.044715 (approximate='tanh').
struct GeluTanh {
  double k, c;
  FASTNN_HOST_DEVICE double forward(double v) const { return 0.5 * v * (1 + std::tanh(k * (v + c * v * v * v))); }
  FASTNN_HOST_DEVICE double backward(double g, double v) const {
    const double t = std::tanh(k * (v + c * v * v * v));
    return g * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * c * v * v));
  }
};

// log(1 + exp(beta v)) / beta, linear (v) where beta v > threshold, as torch.
struct Softplus {
  double beta, threshold;
  FASTNN_HOST_DEVICE double forward(double v) const {
    return v * beta > threshold ? v : std::log1p(std::exp(v * beta)) / beta;
  }
  FASTNN_HOST_DEVICE double backward(double g, double v) const {
    if (v * beta > threshold) return g;
    const double z = std::exp(v * beta);
    return g * z / (z + 1);
  }
};

// torch's elu(v, alpha, scale, input_scale): elu, selu and celu.
struct EluLike {
  double alpha, scale, input_scale;
  FASTNN_HOST_DEVICE double forward(double v) const {
    return v <= 0 ? std::expm1(v * input_scale) * alpha * scale : v * scale;
  }
  FASTNN_HOST_DEVICE double backward(double g, double v) const {
    return v <= 0 ? g * input_scale * alpha * scale * std::exp(v * input_scale) : g * scale;
  }
};

// v clamped to [min_val, max_val]; the gradient is 0 at and beyond the bounds.
struct Hardtanh {
  double min_val, max_val;
  template <class T> FASTNN_HOST_DEVICE T forward(T v) const {
    const T lo = v < T(min_val) ? T(min_val) : v;  // two selects in a row: max then min instructions
    return lo > T(max_val) ? T(max_val) : lo;
  }
  template <class T> FASTNN_HOST_DEVICE T backward(T g, T v) const {  // 0 at NaN too, as torch
    return v > T(min_val) && v < T(max_val) ? g : T(0);
  }
};

// 0 for -lambd <= v <= lambd, else v.
struct Hardshrink {
  double lambd;
  template <class T> FASTNN_HOST_DEVICE T forward(T v) const { return v >= T(-lambd) && v <= T(lambd) ? T(0) : v; }
  template <class T> FASTNN_HOST_DEVICE T backward(T g, T v) const {  // 0 at NaN too, as torch
    return v < T(-lambd) || v > T(lambd) ? g : T(0);
  }
};

// v - lambd above lambd, v + lambd below -lambd, else 0 (NaN stays NaN).
struct Softshrink {
  double lambd;
  template <class T> FASTNN_HOST_DEVICE T forward(T v) const {
    const T l = T(lambd), shrunk = v > l ? v - l : v + l;
    return v >= -l && v <= l ? T(0) : shrunk;  // NaN fails both tests: it stays
  }
  template <class T> FASTNN_HOST_DEVICE T backward(T g, T v) const {  // 0 at NaN too, as torch
    return v < T(-lambd) || v > T(lambd) ? g : T(0);
  }
};

// v <= threshold ? value : v.
struct Threshold {
  double threshold, value;
  template <class T> FASTNN_HOST_DEVICE T forward(T v) const { return v <= T(threshold) ? T(value) : v; }
  template <class T> FASTNN_HOST_DEVICE T backward(T g, T v) const { return v <= T(threshold) ? T(0) : g; }
};

// max(v, min); the gradient passes where v >= min (ClampMinBackward0).
struct ClampMin {
  double min;
  template <class T> FASTNN_HOST_DEVICE T forward(T v) const { return v < T(min) ? T(min) : v; }
  template <class T> FASTNN_HOST_DEVICE T backward(T g, T v) const { return v >= T(min) ? g : T(0); }
};

// clamp(v, lo, hi) for floating v (absent bounds are -inf / inf); NaN stays NaN; the gradient passes where
// lo <= v <= hi (ClampBackward1). The bounds come already rounded to v's dtype, as the CPU compares them.
struct Clamp {
  double lo, hi;
  template <class T> FASTNN_HOST_DEVICE T forward(T v) const {
    return v != v ? v : v < T(lo) ? T(lo) : v > T(hi) ? T(hi) : v;
  }
  template <class T> FASTNN_HOST_DEVICE T backward(T g, T v) const { return v >= T(lo) && v <= T(hi) ? g : T(0); }
};

// v ** e for a number e (0.5 and -0.5 as sqrt and 1 / sqrt, as torch); d/dv = e v^(e-1), 0 when e == 0 (PowBackward0).
struct PowScalar {
  double e;
  // v^n for a whole n with |n| <= 64 by repeated squaring (within an ulp or two of double: a float result is
  // correctly rounded but for rare ties; libm's pow per element cost 50x more); other exponents go to pow.
  FASTNN_HOST_DEVICE static double power(double v, double e) {
    if (e == 0.5) return std::sqrt(v);
    if (e == -0.5) return 1 / std::sqrt(v);
    if (e != std::floor(e) || std::abs(e) > 64) return std::pow(v, e);
    double r = 1, b = v;
    for (int64_t n = int64_t(std::abs(e)); n; n >>= 1, b *= b)
      if (n & 1) r *= b;
    return e < 0 ? 1 / r : r;
  }
  FASTNN_HOST_DEVICE double forward(double v) const { return power(v, e); }
  FASTNN_HOST_DEVICE double backward(double g, double v) const { return e == 0 ? 0.0 : g * e * power(v, e - 1); }
};

}  // namespace fastnn::rules
