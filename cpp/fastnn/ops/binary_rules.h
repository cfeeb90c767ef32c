// The elementwise binary ops beyond + - * / as scalar rules, compiled for the CPU loops (binary.cpp,
// binary_extra.cpp) and the CUDA kernels (kernels/cuda/binary.cu) alike (host_device.h), so both devices compute
// the same formulas. Integer division by zero and integers to negative powers are refused by the callers first.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "fastnn/arith.h"
#include "fastnn/host_device.h"

namespace fastnn::rules {

// x ** y; an integer base by squaring, wrapping around.
template <class T> FASTNN_HOST_DEVICE T pow_of(T x, T y) {
  if constexpr (std::is_floating_point_v<T>) return std::pow(x, y);
  else return wrapping_pow(x, uint64_t(y));
}

// Python's x // y. Floats: the quotient of x - fmod(x, y) rounded to the nearest integer, lowered by one where
// fmod's sign differs from y's; division by zero is x / y (inf or nan).
template <class T> FASTNN_HOST_DEVICE T floor_div(T x, T y) {
  if constexpr (std::is_unsigned_v<T>) {
    return T(x / y);
  } else if constexpr (std::is_integral_v<T>) {
    if (y == -1) return wrapping_neg(x);  // INT64_MIN // -1 wraps around, as torch
    T q = x / y;
    return (x % y != 0 && (x < 0) != (y < 0)) ? T(q - 1) : q;
  } else {
    if (y == 0) return x / y;
    T m = std::fmod(x, y);
    T d = (x - m) / y;
    if (m != 0 && (y < 0) != (m < 0)) d -= 1;
    if (d == 0) return std::copysign(T(0), x / y);
    T f = std::floor(d);
    return d - f > T(0.5) ? f + 1 : f;
  }
}

// C's x % y (the sign of x).
template <class T> FASTNN_HOST_DEVICE T fmod_of(T x, T y) {
  if constexpr (std::is_unsigned_v<T>) return T(x % y);
  else if constexpr (std::is_integral_v<T>) return y == -1 ? T(0) : T(x % y);  // (INT64_MIN % -1 is undefined)
  else return std::fmod(x, y);
}

// x mod y with the sign of y (Python's %): fmod, moved by y where the signs differ.
template <class T> FASTNN_HOST_DEVICE T remainder_of(T x, T y) {
  T m = fmod_of(x, y);
  if constexpr (std::is_unsigned_v<T>) return m;
  else return m != 0 && (m < 0) != (y < 0) ? T(m + y) : m;
}

// x / y rounded toward zero (fmod's quotient, for its gradient).
template <class T> FASTNN_HOST_DEVICE T trunc_div(T x, T y) {
  if constexpr (std::is_unsigned_v<T>) return T(x / y);
  else if constexpr (std::is_integral_v<T>) return y == -1 ? wrapping_neg(x) : T(x / y);
  else return std::trunc(x / y);
}

template <class T> FASTNN_HOST_DEVICE T atan2_of(T y, T x) {
  if constexpr (std::is_floating_point_v<T>) return std::atan2(y, x);
  else return T(0);  // (not reached: atan2 computes in a floating dtype)
}

}  // namespace fastnn::rules
