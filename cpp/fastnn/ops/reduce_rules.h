// Per-row reduction rules compiled for the CPU loops (reduce_stats.cpp) and the CUDA kernels (kernels/cuda/reduce.cu)
// alike (host_device.h), so both devices give the same bits.
#pragma once
#include <cstdint>
#include <type_traits>

#include "fastnn/arith.h"
#include "fastnn/host_device.h"

namespace fastnn::rules {

// a * b: in double for floats, wrapping around for integers.
template <class A> FASTNN_HOST_DEVICE A mul_acc(A a, A b) {
  if constexpr (std::is_floating_point_v<A>) return a * b;
  else return wrapping_mul(a, b);
}

// The product of r[0..n): floats multiplied in double, integers wrapping around; eight interleaved partial products
// (independent multiplies instead of one chain), then the tail into the first, combined in a fixed tree.
template <class T> FASTNN_HOST_DEVICE T prod_of_row(const T* r, int64_t n) {
  using A = std::conditional_t<std::is_floating_point_v<T>, double, T>;
  A acc[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k) acc[k] = mul_acc(acc[k], A(r[j + k]));
  for (; j < n; ++j) acc[0] = mul_acc(acc[0], A(r[j]));
  for (int h = 4; h >= 1; h /= 2)
    for (int k = 0; k < h; ++k) acc[k] = mul_acc(acc[k], acc[k + h]);
  return T(acc[0]);
}

// d[j] = g * (the product of r's other elements): exclusive suffix times exclusive prefix products in double
// (exact with zeros, no division). Floats only.
template <class T> FASTNN_HOST_DEVICE void prod_row_grads(const T* r, int64_t n, T g, T* d) {
  double suffix = 1;
  for (int64_t j = n - 1; j >= 0; --j) {
    d[j] = T(suffix);
    suffix *= r[j];
  }
  double prefix = 1;
  for (int64_t j = 0; j < n; ++j) {
    d[j] = T(double(g) * prefix * double(d[j]));
    prefix *= r[j];
  }
}

// Running max (min) of x[0..n) into v, with the index where it was reached in idx: the last of equal values; a NaN is
// kept from where it appears, the index moving to each later NaN (torch's cummax/cummin).
template <class T> FASTNN_HOST_DEVICE void cumext_row(const T* x, int64_t n, bool is_max, T* v, int64_t* idx) {
  if (n == 0) return;
  T best = x[0];
  int64_t at = 0;
  for (int64_t i = 0; i < n; ++i) {
    const T c = x[i];
    if (c != c || (best == best && (is_max ? c >= best : c <= best))) best = c, at = i;
    v[i] = best;
    idx[i] = at;
  }
}

}  // namespace fastnn::rules
