#include "fastnn/kernels/cpu/unary.h"

#include <cmath>
#include <cstring>

#include "fastnn/kernels/cpu/simd.h"
#include "fastnn/kernels/cpu/vec_math.h"

namespace fastnn::kernels {
namespace {

// expm1: x (1 + x / 2! + ... + x^9 / 10!) for |x| < 0.7 (the next term is under 1e-9 of the sum), exp(x) - 1 beyond,
// where the cancellation costs at most a few ulps (exp(x) is at least 0.5 away from 1). -0 stays -0, NaN NaN.
template <class V>
FASTNN_INLINE V expm1_of(V x) {
  V q = V{} + 1.0f / 3628800;
  for (float c : {1.0f / 362880, 1.0f / 40320, 1.0f / 5040, 1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f})
    q = q * x + c;
  const V small = x * (1.0f + x * q), a = x < 0.0f ? V{} - x : x;
  return a < 0.7f ? small : exp_of(x) - 1.0f;
}

// log1p(exp(-|v|)) + max(-v, 0): with y = exp(-|v|) in (0, 1], log1p(y) = 2 atanh(s), s = y / (2 + y) <= 1/3,
// by its odd series through s^15 (the next term is under 1e-8 of the sum).
template <class V>
FASTNN_INLINE V softplus_neg_of(V v) {
  const V a = v < 0.0f ? V{} - v : v, y = exp_of(V{} - a), s = y / (2.0f + y), s2 = s * s;
  V p = V{} + 1.0f / 15;
  for (float c : {1.0f / 13, 1.0f / 11, 1.0f / 9, 1.0f / 7, 1.0f / 5, 1.0f / 3, 1.0f}) p = p * s2 + c;
  const V m = V{} - v < 0.0f ? V{} : V{} - v;  // std::max's rule: NaN stays NaN
  return 2.0f * s * p + m;
}

// erfc(z) and exp(-z^2) for z >= 0: t exp(-z^2 + P(t)), t = 1 / (1 + z / 2), P the Chebyshev fit of Numerical
// Recipes' erfcc (fractional error under 1.2e-7 for every z).
template <class V>
FASTNN_INLINE V erfc_nonneg(V z, V& gauss) {
  const V t = 1.0f / (1.0f + 0.5f * z);
  V p = V{} + 0.17087277f;
  for (float c : {-0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f, -0.18628806f, 0.09678418f, 0.37409196f,
                  1.00002368f, -1.26551223f})
    p = p * t + c;
  gauss = exp_of(V{} - z * z);
  return t * exp_of(p - z * z);
}

// erf: 2/sqrt(pi) times its odd Taylor series through x^15 below |x| = 0.5 (the next term is under 1e-9 of the sum),
// 1 - erfc(|x|) with x's sign above (within 3 ulp); its gradient 2/sqrt(pi) exp(-x^2) g.
struct Erf {
  template <class V> FASTNN_INLINE V forward(V x) const {
    const V z = x * x, a = x < 0.0f ? V{} - x : x;
    V p = V{} - 1.4925650358406252e-05f;
    for (float c : {1.2055332981789665e-04f, -8.548327023450853e-04f, 5.223977625442188e-03f, -2.6866170645131252e-02f,
                    0.11283791670955128f, -0.37612638903183754f, 1.1283791670955126f})
      p = p * z + c;
    V gauss;
    const V big = 1.0f - erfc_nonneg(a, gauss);
    return a < 0.5f ? x * p : (x < 0.0f ? V{} - big : big);
  }
  template <class V> FASTNN_INLINE V backward(V g, V x) const { return 1.1283791670955126f * exp_of(V{} - x * x) * g; }
};

// sin(x) (Cos: cos(x)) for floats: |x| = j pi/4 + r with j even and |r| <= pi/4 (pi/4 in three parts, Cephes'
// reduction, good to |x| = 8192), then Cephes' polynomials for sin r and cos r and the quadrant's choice and sign
// (within 2 ulp of libm where |sin x| > 1e-3, 8e-8 absolute near its zeros); lanes beyond 8192, inf and NaN go to libm.
template <bool Cos, class V>
FASTNN_INLINE V sin_cos_of(V x) {
  using I = LanesOf<V>;
  const V a = x < 0.0f ? V{} - x : x, ac = a <= 8192.0f ? a : V{};  // (NaN and large lanes: libm below)
  I j;
  if constexpr (std::is_same_v<V, float>) j = int32_t(ac * 1.27323954473516f);
  else j = __builtin_convertvector(ac * 1.27323954473516f, I);
  j += j & 1;
  V y;
  if constexpr (std::is_same_v<V, float>) y = float(j);
  else y = __builtin_convertvector(j, V);
  const V r = ((ac - y * 0.78515625f) - y * 2.4187564849853515625e-4f) - y * 3.77489497744594108e-8f, z = r * r;
  const V sr = ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f) * z * r + r;
  const V cr =
      ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f) * z * z - 0.5f * z + 1.0f;
  const I q = ((j >> 1) + (Cos ? 1 : 0)) & 3;  // cos(x) = sin(|x| + pi/2)
  V v = (q & 1) ? cr : sr;
  I bits, sign;
  std::memcpy(&bits, &v, sizeof bits);
  std::memcpy(&sign, &x, sizeof sign);
  bits ^= -((q >> 1) & 1) & int32_t(0x80000000u);           // quadrants 2 and 3: negated
  if constexpr (!Cos) bits ^= sign & int32_t(0x80000000u);  // sin(-x) = -sin(x)
  std::memcpy(&v, &bits, sizeof v);
  const auto far = !(a <= 8192.0f);
  bool any = false;
  for (int l = 0; l < int(sizeof(V) / sizeof(float)); ++l) any |= bool(far[l]);
  if (any)
    for (int l = 0; l < int(sizeof(V) / sizeof(float)); ++l)
      if (far[l]) v[l] = Cos ? std::cos(x[l]) : std::sin(x[l]);
  return v;
}

struct Sin {
  template <class V> FASTNN_INLINE V forward(V x) const { return sin_cos_of<false>(x); }
  template <class V> FASTNN_INLINE V backward(V g, V x) const { return g * sin_cos_of<true>(x); }
};
struct Cos {
  template <class V> FASTNN_INLINE V forward(V x) const { return sin_cos_of<true>(x); }
  template <class V> FASTNN_INLINE V backward(V g, V x) const { return g * (V{} - sin_cos_of<false>(x)); }
};

// The unary table's ops: forward(x), and backward(g, x) = g op'(x) where the gradient reads the input.
struct Exp {
  template <class V> FASTNN_INLINE V forward(V x) const { return exp_of(x); }
};
struct Log {
  template <class V> FASTNN_INLINE V forward(V x) const { return log_of(x); }
};
struct Log1p {
  template <class V> FASTNN_INLINE V forward(V x) const { return log1p_of(x); }
};
struct Sigmoid {
  template <class V> FASTNN_INLINE V forward(V x) const { return sigmoid_of(x); }
};
struct Tanh {
  template <class V> FASTNN_INLINE V forward(V x) const { return tanh_of(x); }
};
struct Silu {  // torch's forms: x / (1 + exp(-x)); g s (1 + x (1 - s)), s = sigmoid(x)
  template <class V> FASTNN_INLINE V forward(V x) const { return x / (1.0f + exp_of(V{} - x)); }
  template <class V> FASTNN_INLINE V backward(V g, V x) const {
    const V s = sigmoid_of(x);
    return g * s * (1.0f + x * (1.0f - s));
  }
};
struct LogSigmoid {  // -softplus(-x); g / (1 + exp(x))
  template <class V> FASTNN_INLINE V forward(V x) const { return V{} - softplus_neg_of(x); }
  template <class V> FASTNN_INLINE V backward(V g, V x) const { return g / (1.0f + exp_of(x)); }
};
// mish(x) = x tanh(softplus(x)) = x t, t = n / (n + 2) with e = exp(x), n = e (e + 2); exp's argument stops at 20,
// where t is 1 in float. The gradient t + x sigmoid(x) (1 - t^2) takes 1 - t as 2 / (n + 2), without cancellation,
// and as 0 above 20 (so that x (1 - t) stays 0 for large x, and is NaN at inf as torch's).
struct Mish {
  template <class V> FASTNN_INLINE V forward(V x) const {
    const V e = exp_of(x > 20.0f ? V{} + 20.0f : x), n = e * (e + 2.0f);
    return x * (n / (n + 2.0f));
  }
  template <class V> FASTNN_INLINE V backward(V g, V x) const {
    const V e = exp_of(x > 20.0f ? V{} + 20.0f : x), n = e * (e + 2.0f), t = n / (n + 2.0f);
    const V one_minus_t = x > 20.0f ? V{} : 2.0f / (n + 2.0f);
    return g * (t + x * (e / (1.0f + e)) * (one_minus_t * (1.0f + t)));
  }
};

// A libm function of one float applied lane by lane (the compiler makes one instruction per vector of it where the
// instruction set has one: the roundings from SSE4.1 on, sqrt everywhere).
template <float (*F)(float)>
struct PerLane {
  template <class V> FASTNN_INLINE V forward(V x) const {
    for (int l = 0; l < int(sizeof(V) / sizeof(float)); ++l) x[l] = F(x[l]);
    return x;
  }
};
FASTNN_INLINE float floor_f(float v) { return std::floor(v); }
FASTNN_INLINE float ceil_f(float v) { return std::ceil(v); }
FASTNN_INLINE float trunc_f(float v) { return std::trunc(v); }
FASTNN_INLINE float round_f(float v) { return std::nearbyint(v); }  // halves to even
FASTNN_INLINE float sqrt_f(float v) { return std::sqrt(v); }
using Floor = PerLane<floor_f>;
using Ceil = PerLane<ceil_f>;
using Trunc = PerLane<trunc_f>;
using Round = PerLane<round_f>;
using Sqrt = PerLane<sqrt_f>;

// 1 / sqrt, 1 / x, and hardswish / hardsigmoid with std::max / std::min's rules (NaN stays): the table's arithmetic,
// one instruction per vector on every instruction set.
struct Rsqrt {
  template <class V> FASTNN_INLINE V forward(V x) const { return 1.0f / Sqrt{}.forward(x); }
};
struct Reciprocal {
  template <class V> FASTNN_INLINE V forward(V x) const { return 1.0f / x; }
};
template <class V>
FASTNN_INLINE V relu6_of_shifted(V x) {  // min(max(x + 3, 0), 6)
  V h = x + 3.0f;
  h = h < 0.0f ? V{} : h;
  return 6.0f < h ? V{} + 6.0f : h;
}
struct Hardswish {
  template <class V> FASTNN_INLINE V forward(V x) const { return x * relu6_of_shifted(x) / 6.0f; }
};
struct Hardsigmoid {
  template <class V> FASTNN_INLINE V forward(V x) const { return relu6_of_shifted(x) / 6.0f; }
};

struct Relu {  // the unary table's row: x < 0 ? 0 : x; its gradient from the output v: v <= 0 ? 0 : g
  template <class V> FASTNN_INLINE V forward(V x) const { return x < 0.0f ? V{} : x; }
  template <class V> FASTNN_INLINE V backward(V g, V v) const { return v <= 0.0f ? V{} : g; }
};

// The activations with parameters.
struct GeluErf {  // 0.5 x erfc(-x / sqrt 2) (erfc(-z) = 2 - erfc(z)); g (0.5 erfc(-x / sqrt 2) + x phi(x))
  template <bool Grad, class V> FASTNN_INLINE V apply(V g, V x) const {
    const V z = x * -0.70710678118654752f, az = z < 0.0f ? V{} - z : z;
    V gauss;
    V c = erfc_nonneg(az, gauss);
    c = z < 0.0f ? 2.0f - c : c;
    if constexpr (Grad) return g * (0.5f * c + x * gauss * 0.3989422804014327f);
    else return 0.5f * x * c;
  }
  template <class V> FASTNN_INLINE V forward(V x) const { return apply<false>(x, x); }
  template <class V> FASTNN_INLINE V backward(V g, V x) const { return apply<true>(g, x); }
};
struct GeluTanh {  // 0.5 x (1 + tanh(k (x + c x^3))) and its derivative times g
  static constexpr float k = 0.7978845608028654f, c = 0.044715f;
  template <class V> FASTNN_INLINE V forward(V x) const {
    const V x2 = x * x;
    return 0.5f * x * (1.0f + tanh_of(k * (x + c * x2 * x)));
  }
  template <class V> FASTNN_INLINE V backward(V g, V x) const {
    const V x2 = x * x, t = tanh_of(k * (x + c * x2 * x));
    return g * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * k * (1.0f + 3.0f * c * x2));
  }
};
struct Softplus {  // softplus(-(-beta x)) / beta
  float beta, threshold;
  template <class V> FASTNN_INLINE V forward(V x) const {
    const V bx = x * beta;
    return bx > threshold ? x : softplus_neg_of(V{} - bx) / beta;
  }
  template <class V> FASTNN_INLINE V backward(V g, V x) const {
    const V bx = x * beta;
    return bx > threshold ? g : g * sigmoid_of(bx);
  }
};
struct Elu {
  float neg_coef, pos_coef, input_scale;
  template <class V> FASTNN_INLINE V forward(V x) const {
    return x <= 0.0f ? expm1_of(x * input_scale) * neg_coef : x * pos_coef;
  }
  template <class V> FASTNN_INLINE V backward(V g, V x) const {
    return x <= 0.0f ? g * input_scale * neg_coef * exp_of(x * input_scale) : g * pos_coef;
  }
};
struct SoftplusNeg {
  template <class V> FASTNN_INLINE V forward(V x) const { return softplus_neg_of(x); }
};

// y[i] = f.forward(x[i]), or with Grad f.backward(g[i], x[i]): L lanes at a time, then one.
template <bool Grad, int L, class F>
FASTNN_INLINE void map_lanes(const F& f, int64_t n, const float* g, const float* x, float* y) {
  using V = Vec<float, L>;
  using V1 = Vec<float, 1>;
  const F fn = f;  // a local copy: its fields stay in registers across the stores
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    V v;
    std::memcpy(&v, x + i, sizeof v);
    if constexpr (Grad) {
      V gv;
      std::memcpy(&gv, g + i, sizeof gv);
      v = fn.backward(gv, v);
    } else {
      v = fn.forward(v);
    }
    std::memcpy(y + i, &v, sizeof v);
  }
  for (; i < n; ++i) {
    if constexpr (Grad) y[i] = fn.backward(V1{g[i]}, V1{x[i]})[0];
    else y[i] = fn.forward(V1{x[i]})[0];
  }
}

template <int L>
FASTNN_INLINE void unary_lanes(VecUnary op, int64_t n, const float* x, float* y) {
  switch (op) {
    case VecUnary::Exp: return map_lanes<false, L>(Exp{}, n, nullptr, x, y);
    case VecUnary::Log: return map_lanes<false, L>(Log{}, n, nullptr, x, y);
    case VecUnary::Log1p: return map_lanes<false, L>(Log1p{}, n, nullptr, x, y);
    case VecUnary::Erf: return map_lanes<false, L>(Erf{}, n, nullptr, x, y);
    case VecUnary::Sin: return map_lanes<false, L>(Sin{}, n, nullptr, x, y);
    case VecUnary::Cos: return map_lanes<false, L>(Cos{}, n, nullptr, x, y);
    case VecUnary::Sigmoid: return map_lanes<false, L>(Sigmoid{}, n, nullptr, x, y);
    case VecUnary::Tanh: return map_lanes<false, L>(Tanh{}, n, nullptr, x, y);
    case VecUnary::Silu: return map_lanes<false, L>(Silu{}, n, nullptr, x, y);
    case VecUnary::LogSigmoid: return map_lanes<false, L>(LogSigmoid{}, n, nullptr, x, y);
    case VecUnary::Mish: return map_lanes<false, L>(Mish{}, n, nullptr, x, y);
    case VecUnary::Sqrt: return map_lanes<false, L>(Sqrt{}, n, nullptr, x, y);
    case VecUnary::Rsqrt: return map_lanes<false, L>(Rsqrt{}, n, nullptr, x, y);
    case VecUnary::Reciprocal: return map_lanes<false, L>(Reciprocal{}, n, nullptr, x, y);
    case VecUnary::Hardswish: return map_lanes<false, L>(Hardswish{}, n, nullptr, x, y);
    case VecUnary::Hardsigmoid: return map_lanes<false, L>(Hardsigmoid{}, n, nullptr, x, y);
    case VecUnary::Floor: return map_lanes<false, L>(Floor{}, n, nullptr, x, y);
    case VecUnary::Ceil: return map_lanes<false, L>(Ceil{}, n, nullptr, x, y);
    case VecUnary::Trunc: return map_lanes<false, L>(Trunc{}, n, nullptr, x, y);
    case VecUnary::Round: return map_lanes<false, L>(Round{}, n, nullptr, x, y);
    case VecUnary::Relu: return map_lanes<false, L>(Relu{}, n, nullptr, x, y);
    case VecUnary::None: break;
  }
}

template <int L>
FASTNN_INLINE void unary_backward_lanes(VecUnary op, int64_t n, const float* g, const float* x, float* dx) {
  switch (op) {
    case VecUnary::Silu: return map_lanes<true, L>(Silu{}, n, g, x, dx);
    case VecUnary::Erf: return map_lanes<true, L>(Erf{}, n, g, x, dx);
    case VecUnary::Sin: return map_lanes<true, L>(Sin{}, n, g, x, dx);
    case VecUnary::Cos: return map_lanes<true, L>(Cos{}, n, g, x, dx);
    case VecUnary::LogSigmoid: return map_lanes<true, L>(LogSigmoid{}, n, g, x, dx);
    case VecUnary::Mish: return map_lanes<true, L>(Mish{}, n, g, x, dx);
    case VecUnary::Relu: return map_lanes<true, L>(Relu{}, n, g, x, dx);
    default: break;
  }
}

template <bool Grad, int L>
FASTNN_INLINE void activation_lanes(VecActivation op, const VecActivationArgs& a, int64_t n, const float* g,
                                    const float* x, float* y) {
  switch (op) {
    case VecActivation::GeluErf: return map_lanes<Grad, L>(GeluErf{}, n, g, x, y);
    case VecActivation::GeluTanh: return map_lanes<Grad, L>(GeluTanh{}, n, g, x, y);
    case VecActivation::Softplus: return map_lanes<Grad, L>(Softplus{a.beta, a.threshold}, n, g, x, y);
    case VecActivation::Elu: return map_lanes<Grad, L>(Elu{a.neg_coef, a.pos_coef, a.input_scale}, n, g, x, y);
  }
}

// Per instruction set: <name>_<isa>(args) runs <name>_lanes<L>(args) compiled for that target.
#define FASTNN_UNARY_KERNELS(SUFFIX, TARGET, L)                                                                       \
  TARGET void unary_##SUFFIX(VecUnary op, int64_t n, const float* x, float* y) { unary_lanes<L>(op, n, x, y); }       \
  TARGET void unary_backward_##SUFFIX(VecUnary op, int64_t n, const float* g, const float* x, float* dx) {            \
    unary_backward_lanes<L>(op, n, g, x, dx);                                                                         \
  }                                                                                                                   \
  TARGET void activation_##SUFFIX(bool grad, VecActivation op, const VecActivationArgs& a, int64_t n, const float* g, \
                                  const float* x, float* y) {                                                         \
    if (grad) activation_lanes<true, L>(op, a, n, g, x, y);                                                           \
    else activation_lanes<false, L>(op, a, n, g, x, y);                                                               \
  }                                                                                                                   \
  TARGET void softplus_neg_##SUFFIX(int64_t n, const float* x, float* y) {                                            \
    map_lanes<false, L>(SoftplusNeg{}, n, nullptr, x, y);                                                             \
  }

FASTNN_UNARY_KERNELS(generic, , 4)
#ifdef FASTNN_X86
FASTNN_UNARY_KERNELS(avx2, FASTNN_TARGET_AVX2, 8)
FASTNN_UNARY_KERNELS(avx512, FASTNN_TARGET_AVX512, 16)
#endif
#undef FASTNN_UNARY_KERNELS

}  // namespace

void vec_unary(VecUnary op, int64_t n, const float* x, float* y) { FASTNN_PICK_ISA(unary, op, n, x, y); }
void vec_unary_backward(VecUnary op, int64_t n, const float* g, const float* x, float* dx) {
  FASTNN_PICK_ISA(unary_backward, op, n, g, x, dx);
}
void activation_forward(VecActivation op, const VecActivationArgs& args, int64_t n, const float* x, float* y) {
  FASTNN_PICK_ISA(activation, false, op, args, n, nullptr, x, y);
}
void activation_backward(VecActivation op, const VecActivationArgs& args, int64_t n, const float* g, const float* x,
                         float* dx) {
  FASTNN_PICK_ISA(activation, true, op, args, n, g, x, dx);
}
void softplus_neg(int64_t n, const float* x, float* y) { FASTNN_PICK_ISA(softplus_neg, n, x, y); }

}  // namespace fastnn::kernels
