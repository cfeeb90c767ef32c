// exp, sigmoid and tanh in arithmetic that runs on SIMD vectors (libm's expf is a call per element and
// costs more than the products around it). Templates over V: a GCC vector of floats (Vec<float, L>, L = 1
// for scalar tails) or double, which goes to libm (float64 is for gradchecks, not speed). Include only
// from kernel files compiled per instruction set (the bodies take their caller's target).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "fastnn/kernels/cpu/simd.h"

// Every function here is always inlined, so returning vectors changes no calling convention.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace fastnn::kernels {

// The int32 vector with V's lanes.
template <class V>
using LanesOf = std::conditional_t<std::is_same_v<V, float>, int32_t, Vec<int32_t, sizeof(V) / sizeof(float)>>;

// x = exp(x) for floats: x = n ln2 + r with |r| <= ln2 / 2, exp(r) by Cephes' polynomial (within 2 ulp of
// expf), times 2^n applied as two exact power-of-two factors, so that the result underflows through the
// subnormals to 0 (below about -103.9) and overflows to inf (above about 88.72) as expf does; NaN for NaN.
// V is float or a vector of floats, I the matching int32 type. In place (vectors by reference: no ABI change).
template <class V, class I = LanesOf<V>>
FASTNN_INLINE void exp_approx(V& x) {
  const V zero = V{} + 0.0f, xc0 = x != x ? zero : x;  // NaN: computed on 0, put back at the end
  const V xc = xc0 < -104.0f ? zero - 104.0f : (xc0 > 89.0f ? zero + 89.0f : xc0);
  const V n = (xc * 1.44269504f + 12582912.0f) - 12582912.0f;  // round to nearest by the 1.5 * 2^23 trick
  const V r = xc - n * 0.693359375f + n * 2.12194440e-4f;
  V y = zero + 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.0f;
  I n1, n2;  // n = n1 + n2, each in [-75, 64]: 2^n1 and 2^n2 are normal floats
  if constexpr (std::is_same_v<V, float>) n1 = int32_t(n);
  else n1 = __builtin_convertvector(n, I);
  n2 = n1 >> 1;
  n1 -= n2;
  n1 = (n1 + 127) << 23;
  n2 = (n2 + 127) << 23;
  V s1, s2;
  std::memcpy(&s1, &n1, sizeof s1);
  std::memcpy(&s2, &n2, sizeof s2);
  y = y * s1 * s2;  // exact unless the result is subnormal or overflows: then one rounding, as expf
  x = x != x ? x : (x < -104.0f ? zero : y);
}

template <class V>
FASTNN_INLINE V exp_of(V x) {
  if constexpr (std::is_same_v<V, double>) {
    return std::exp(x);
  } else {
    exp_approx(x);
    return x;
  }
}

template <class V>
FASTNN_INLINE V sigmoid_of(V x) {
  return 1.0f / (1.0f + exp_of(V{} - x));
}

// log for floats: x = m 2^e with m in [sqrt(1/2), sqrt(2)), log(m) = f - f^2 / 2 + f^3 P(f) with f = m - 1 and Cephes'
// polynomial, plus e ln 2 in two parts (within 1 ulp of the exact value); subnormals scaled by 2^23 first; 0 gives
// -inf, a negative x NaN, inf inf, NaN NaN.
template <class V>
FASTNN_INLINE V log_of(V x) {
  if constexpr (std::is_same_v<V, double>) {
    return std::log(x);
  } else {
    using I = LanesOf<V>;
    const V zero = V{} + 0.0f, inf = zero + __builtin_inff();
    const auto tiny = x < 1.17549435e-38f;  // subnormal (or not positive): scaled, then fixed below
    const V xs = tiny ? x * 8388608.0f : x;
    I bits;
    std::memcpy(&bits, &xs, sizeof bits);
    I e = ((bits >> 23) & 0xff) - 126;
    e = tiny ? e - 23 : e;
    bits = (bits & int32_t(0x807fffff)) | 0x3f000000;  // the mantissa as m in [0.5, 1)
    V m;
    std::memcpy(&m, &bits, sizeof m);
    const auto low = m < 0.707106781186547524f;
    e = low ? e - 1 : e;
    m = low ? m + m : m;
    V ef;
    if constexpr (std::is_same_v<V, float>) ef = float(e);
    else ef = __builtin_convertvector(e, V);
    const V f = m - 1.0f, z = f * f;
    V y = zero + 7.0376836292e-2f;
    for (float c : {-1.1514610310e-1f, 1.1676998740e-1f, -1.2420140846e-1f, 1.4249322787e-1f, -1.6668057665e-1f,
                    2.0000714765e-1f, -2.4999993993e-1f, 3.3333331174e-1f})
      y = y * f + c;
    y = y * f * z + ef * -2.12194440e-4f - 0.5f * z;
    V r = f + y + ef * 0.693359375f;
    r = x < 0.0f ? zero + __builtin_nanf("") : r;
    r = x == 0.0f ? zero - inf : r;
    r = x == inf ? inf : r;
    return x != x ? x : r;
  }
}

// log1p for floats: log(u) x / (u - 1) with u = 1 + x rounded (the quotient corrects u's rounding), x itself where
// u == 1; within 3 ulp. -1 gives -inf, below it NaN, inf inf.
template <class V>
FASTNN_INLINE V log1p_of(V x) {
  if constexpr (std::is_same_v<V, double>) {
    return std::log1p(x);
  } else {
    const V u = 1.0f + x, r = log_of(u) * (x / (u - 1.0f));
    const V inf = V{} + __builtin_inff();
    return u == 1.0f ? x : (x == inf ? inf : r);
  }
}

// tanh: below |x| = 0.5 the odd Taylor series through x^17 (the next term is under 1e-9 relative), above it
// 1 - 2 / (exp(2|x|) + 1) with x's sign; within 2 ulp of the exact value. (glibc's tanhf goes through
// expm1f, which took a sixth of an LSTM training step.)
template <class V>
FASTNN_INLINE V tanh_of(V x) {
  if constexpr (std::is_same_v<V, double>) {
    return std::tanh(x);
  } else {
    using I = LanesOf<V>;
    I bits, sign;
    std::memcpy(&bits, &x, sizeof x);
    sign = bits & int32_t(0x80000000u);
    bits &= 0x7fffffff;
    V a;
    std::memcpy(&a, &bits, sizeof a);
    constexpr double c[] = {-1.0 / 3,         2.0 / 15,          -17.0 / 315,           62.0 / 2835,
                            -1382.0 / 155925, 21844.0 / 6081075, -929569.0 / 638512875, 6404582.0 / 10854718875};
    const V z = x * x;
    V p = V{} + float(c[7]);
    for (int k = 6; k >= 0; --k) p = float(c[k]) + z * p;
    const V small = x + x * z * p;
    V e = a * 2.0f;
    exp_approx(e);
    V big = 1.0f - 2.0f / (e + 1.0f);
    std::memcpy(&bits, &big, sizeof big);
    bits |= sign;
    std::memcpy(&big, &bits, sizeof big);
    return a < 0.5f ? small : big;
  }
}

}  // namespace fastnn::kernels
