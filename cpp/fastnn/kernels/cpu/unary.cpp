#include "fastnn/kernels/cpu/unary.h"

#include <cstring>

#include "fastnn/kernels/cpu/simd.h"
#include "fastnn/kernels/cpu/vec_math.h"

namespace fastnn::kernels {
namespace {

template <VecUnary Op, class V>
FASTNN_INLINE V apply(V x) {
  if constexpr (Op == VecUnary::Exp) return exp_of(x);
  else if constexpr (Op == VecUnary::Sigmoid) return sigmoid_of(x);
  else if constexpr (Op == VecUnary::Tanh) return tanh_of(x);
  else return x / (1.0f + exp_of(V{} - x));  // silu, in torch's form
}

// L lanes at a time, then one.
template <VecUnary Op, int L>
FASTNN_INLINE void run(int64_t n, const float* x, float* y) {
  using V = Vec<float, L>;
  using V1 = Vec<float, 1>;
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    V v;
    std::memcpy(&v, x + i, sizeof v);
    v = apply<Op>(v);
    std::memcpy(y + i, &v, sizeof v);
  }
  for (; i < n; ++i) y[i] = apply<Op>(V1{x[i]})[0];
}

template <int L>
FASTNN_INLINE void dispatch(VecUnary op, int64_t n, const float* x, float* y) {
  switch (op) {
    case VecUnary::Exp: return run<VecUnary::Exp, L>(n, x, y);
    case VecUnary::Sigmoid: return run<VecUnary::Sigmoid, L>(n, x, y);
    case VecUnary::Tanh: return run<VecUnary::Tanh, L>(n, x, y);
    case VecUnary::Silu: return run<VecUnary::Silu, L>(n, x, y);
    case VecUnary::None: break;
  }
}

// erfc(z) and exp(-z^2) for z >= 0: t exp(-z^2 + P(t)), t = 1 / (1 + z / 2), P the Chebyshev fit of Numerical
// Recipes' erfcc (fractional error under 1.2e-7 for every z).
template <class V>
FASTNN_INLINE V erfc_nonneg(V z, V& gauss) {
  const V t = 1.0f / (1.0f + 0.5f * z);
  V p = V{} + 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  gauss = exp_of(V{} - z * z);
  return t * exp_of(p - z * z);
}

// gelu(x) = 0.5 x erfc(-x / sqrt 2) (erfc(-z) = 2 - erfc(z)); with grad, g * (0.5 erfc(-x / sqrt 2) + x phi(x)).
template <bool Grad, class V>
FASTNN_INLINE V gelu_erf(V x, V g) {
  const V z = x * -0.70710678118654752f, az = z < 0.0f ? V{} - z : z;
  V gauss;
  V c = erfc_nonneg(az, gauss);
  c = z < 0.0f ? 2.0f - c : c;
  if constexpr (Grad) return g * (0.5f * c + x * gauss * 0.3989422804014327f);
  else return 0.5f * x * c;
}

// torch's tanh form: 0.5 x (1 + tanh(k (x + c x^3))), and its derivative times g.
template <bool Grad, class V>
FASTNN_INLINE V gelu_tanh(V x, V g) {
  constexpr float k = 0.7978845608028654f, c = 0.044715f;
  const V x2 = x * x, t = tanh_of(k * (x + c * x2 * x));
  if constexpr (Grad) return g * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * k * (1.0f + 3.0f * c * x2));
  else return 0.5f * x * (1.0f + t);
}

// log1p(exp(-|v|)) + max(-v, 0): with y = exp(-|v|) in (0, 1], log1p(y) = 2 atanh(s), s = y / (2 + y) <= 1/3,
// by its odd series through s^15 (the next term is under 1e-8 of the sum).
template <class V>
FASTNN_INLINE V softplus_neg_of(V v) {
  const V a = v < 0.0f ? V{} - v : v, y = exp_of(V{} - a), s = y / (2.0f + y), s2 = s * s;
  V p = V{} + 1.0f / 15;
  p = p * s2 + 1.0f / 13;
  p = p * s2 + 1.0f / 11;
  p = p * s2 + 1.0f / 9;
  p = p * s2 + 1.0f / 7;
  p = p * s2 + 1.0f / 5;
  p = p * s2 + 1.0f / 3;
  p = p * s2 + 1.0f;
  const V m = V{} - v < 0.0f ? V{} : V{} - v;  // std::max's rule: NaN stays NaN
  return 2.0f * s * p + m;
}

template <bool Grad, int L>
FASTNN_INLINE void gelu_run(bool tanh, int64_t n, const float* g, const float* x, float* y) {
  using V = Vec<float, L>;
  using V1 = Vec<float, 1>;
  auto one = [&](auto xv, auto gv)
                 __attribute__((always_inline)) { return tanh ? gelu_tanh<Grad>(xv, gv) : gelu_erf<Grad>(xv, gv); };
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    V v, gv = V{} + 1.0f;
    std::memcpy(&v, x + i, sizeof v);
    if constexpr (Grad) std::memcpy(&gv, g + i, sizeof gv);
    v = one(v, gv);
    std::memcpy(y + i, &v, sizeof v);
  }
  for (; i < n; ++i) y[i] = one(V1{x[i]}, V1{Grad ? g[i] : 1.0f})[0];
}

template <int L>
FASTNN_INLINE void softplus_neg_run(int64_t n, const float* x, float* y) {
  using V = Vec<float, L>;
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    V v;
    std::memcpy(&v, x + i, sizeof v);
    v = softplus_neg_of(v);
    std::memcpy(y + i, &v, sizeof v);
  }
  for (; i < n; ++i) y[i] = softplus_neg_of(Vec<float, 1>{x[i]})[0];
}

void softplus_neg_generic(int64_t n, const float* x, float* y) { softplus_neg_run<4>(n, x, y); }
#ifdef FASTNN_X86
FASTNN_TARGET_AVX2 void softplus_neg_avx2(int64_t n, const float* x, float* y) { softplus_neg_run<8>(n, x, y); }
FASTNN_TARGET_AVX512 void softplus_neg_avx512(int64_t n, const float* x, float* y) { softplus_neg_run<16>(n, x, y); }
#endif

template <bool Grad>
void gelu_generic(bool tanh, int64_t n, const float* g, const float* x, float* y) {
  gelu_run<Grad, 4>(tanh, n, g, x, y);
}
#ifdef FASTNN_X86
template <bool Grad>
FASTNN_TARGET_AVX2 void gelu_avx2(bool tanh, int64_t n, const float* g, const float* x, float* y) {
  gelu_run<Grad, 8>(tanh, n, g, x, y);
}
template <bool Grad>
FASTNN_TARGET_AVX512 void gelu_avx512(bool tanh, int64_t n, const float* g, const float* x, float* y) {
  gelu_run<Grad, 16>(tanh, n, g, x, y);
}
#endif

template <bool Grad>
void gelu(bool tanh, int64_t n, const float* g, const float* x, float* y) {
#ifdef FASTNN_X86
  switch (kernel_isa()) {
    case Isa::Avx512: return gelu_avx512<Grad>(tanh, n, g, x, y);
    case Isa::Avx2: return gelu_avx2<Grad>(tanh, n, g, x, y);
    default: break;
  }
#endif
  gelu_generic<Grad>(tanh, n, g, x, y);
}

void vec_unary_generic(VecUnary op, int64_t n, const float* x, float* y) { dispatch<4>(op, n, x, y); }
#ifdef FASTNN_X86
FASTNN_TARGET_AVX2 void vec_unary_avx2(VecUnary op, int64_t n, const float* x, float* y) { dispatch<8>(op, n, x, y); }
FASTNN_TARGET_AVX512 void vec_unary_avx512(VecUnary op, int64_t n, const float* x, float* y) {
  dispatch<16>(op, n, x, y);
}
#endif

}  // namespace

void vec_unary(VecUnary op, int64_t n, const float* x, float* y) {
#ifdef FASTNN_X86
  switch (kernel_isa()) {
    case Isa::Avx512: return vec_unary_avx512(op, n, x, y);
    case Isa::Avx2: return vec_unary_avx2(op, n, x, y);
    default: break;
  }
#endif
  vec_unary_generic(op, n, x, y);
}

void gelu_forward(bool tanh, int64_t n, const float* x, float* y) { gelu<false>(tanh, n, nullptr, x, y); }
void gelu_backward(bool tanh, int64_t n, const float* g, const float* x, float* dx) { gelu<true>(tanh, n, g, x, dx); }

void softplus_neg(int64_t n, const float* x, float* y) {
#ifdef FASTNN_X86
  switch (kernel_isa()) {
    case Isa::Avx512: return softplus_neg_avx512(n, x, y);
    case Isa::Avx2: return softplus_neg_avx2(n, x, y);
    default: break;
  }
#endif
  softplus_neg_generic(n, x, y);
}

}  // namespace fastnn::kernels
