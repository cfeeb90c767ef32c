// Helpers shared by the op files (not part of the public op API).
#pragma once
#include <cmath>
#include <cstdint>
#include <functional>
#include <type_traits>

#include "fastnn/error.h"
#include "fastnn/tensor.h"

namespace fastnn {

// A null TensorPtr means "no tensor" (an absent bias or weight; the bindings pass None only where an
// argument is optional): ops check the tensors they require (TypeError naming the op) before touching them.
inline void check_defined(const TensorPtr& t, const char* op, const char* what = "input") {
  FASTNN_CHECK_TYPE(t != nullptr, "[", op, "] expected a Tensor for '", what, "', got None");
}

// x + y, x - y, x * y, -x: for integers wrapping around on overflow (two's complement, as torch computes
// them) instead of C++'s undefined behaviour; plain arithmetic for floats.
template <class T> T wrapping_add(T x, T y) {
  if constexpr (std::is_integral_v<T>) return T(std::make_unsigned_t<T>(x) + std::make_unsigned_t<T>(y));
  else return x + y;
}
template <class T> T wrapping_sub(T x, T y) {
  if constexpr (std::is_integral_v<T>) return T(std::make_unsigned_t<T>(x) - std::make_unsigned_t<T>(y));
  else return x - y;
}
template <class T> T wrapping_mul(T x, T y) {
  if constexpr (std::is_integral_v<T>) return T(std::make_unsigned_t<T>(x) * std::make_unsigned_t<T>(y));
  else return x * y;
}
template <class T> T wrapping_neg(T x) {
  if constexpr (std::is_integral_v<T>) return wrapping_sub(T(0), x);
  else return -x;  // (0.0 - 0.0 is +0.0, not -0.0)
}
// x ** e for an integer x by squaring, wrapping around like wrapping_mul.
template <class T> T wrapping_pow(T x, uint64_t e) {
  T r = 1;
  for (; e; e >>= 1, x = wrapping_mul(x, x))
    if (e & 1) r = wrapping_mul(r, x);
  return r;
}
template <class T> T wrapping_abs(T x) {
  if constexpr (std::is_integral_v<T>) return x < 0 ? wrapping_neg(x) : x;
  else return std::abs(x);  // (-0.0 and a negative nan lose their sign)
}

// Whether a double has an int64 value: inside [-2^63, 2^63), not nan (converting any other is undefined behaviour).
inline bool fits_int64(double v) { return v >= -9223372036854775808.0 && v < 9223372036854775808.0; }

// v as T; a floating value with no int64 value (nan, inf, beyond 2^63) becomes INT64_MIN, what torch gives
// on x86, instead of C++'s undefined behaviour.
template <class T, class S> T convert(S v) {
  if constexpr (std::is_same_v<T, int64_t> && std::is_floating_point_v<S>) return fits_int64(v) ? T(v) : INT64_MIN;
  else return static_cast<T>(v);
}

// `t`'s values converted to `dtype` with no autograd record (t itself when already that dtype).
TensorPtr cast(const TensorPtr& t, DType dtype);
// The 0-d tensor `value` as a `dtype` scalar; a floating value with no int64 value is an error naming `op`.
TensorPtr scalar_as(const TensorPtr& value, DType dtype, const char* op);
// An in-place op computed out of place: `compute` returns the result, which is written into self.
// With `track` (autograd records the op), compute gets a private copy of self that carries self's
// history, so whatever it saves for backward stays valid, and self takes over the result's history.
void inplace_with_history(TensorPtr& self, const char* op, bool track,
                          const std::function<TensorPtr(const TensorPtr&)>& compute);
// Throws unless `shape` equals self's shape (in-place ops cannot grow their destination).
void check_inplace_shape(const TensorPtr& self, const Shape& shape, const char* op);

}  // namespace fastnn
