// Integer helpers shared by the kernels and ops; the wrapping ones compile for the CPU and the GPU alike.
#pragma once
#include <cstdint>
#include <type_traits>

#include "fastnn/host_device.h"

namespace fastnn {

// The smallest integer >= a / b, for b > 0 and any sign of a.
constexpr int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -(-a / b); }

// x + y, x - y, x * y, -x: for integers wrapping around on overflow (two's complement, as torch computes
// them) instead of C++'s undefined behaviour; plain arithmetic for floats.
template <class T> FASTNN_HOST_DEVICE T wrapping_add(T x, T y) {
  if constexpr (std::is_integral_v<T>) return T(std::make_unsigned_t<T>(x) + std::make_unsigned_t<T>(y));
  else return x + y;
}
template <class T> FASTNN_HOST_DEVICE T wrapping_sub(T x, T y) {
  if constexpr (std::is_integral_v<T>) return T(std::make_unsigned_t<T>(x) - std::make_unsigned_t<T>(y));
  else return x - y;
}
template <class T> FASTNN_HOST_DEVICE T wrapping_mul(T x, T y) {
  if constexpr (std::is_integral_v<T>) return T(std::make_unsigned_t<T>(x) * std::make_unsigned_t<T>(y));
  else return x * y;
}
template <class T> FASTNN_HOST_DEVICE T wrapping_neg(T x) {
  if constexpr (std::is_integral_v<T>) return wrapping_sub(T(0), x);
  else return -x;  // (0.0 - 0.0 is +0.0, not -0.0)
}
// x ** e for an integer x by squaring, wrapping around like wrapping_mul.
template <class T> FASTNN_HOST_DEVICE T wrapping_pow(T x, uint64_t e) {
  T r = 1;
  for (; e; e >>= 1, x = wrapping_mul(x, x))
    if (e & 1) r = wrapping_mul(r, x);
  return r;
}

}  // namespace fastnn
