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
