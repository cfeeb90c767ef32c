// Row reductions and softmax on contiguous values, compiled per instruction set (each row on one thread).
// A sum has one arithmetic on every instruction set: the first n - n % (2W) values go
// through two accumulators of W lanes (16 floats or 8 doubles; GCC vectors an ISA holds in one, two or four
// registers) in the input's precision, in blocks of kSumBlock values; each block's lanes are added into W double
// lanes, and those are summed at the end in a fixed tree; the last n % (2W) values are then added in double one by
// one. So a row shorter than 2W is a plain double sum in index order.
#pragma once
#include <cstdint>

namespace fastnn::kernels {

constexpr int64_t kSumBlock = 512;

// The sum of x[0, n).
template <class T> double sum(const T* x, int64_t n);
// The sum of x[i] * y[i], as sum does (the products contract into multiply-adds where the instruction set has
// them, so dot's bits, unlike sum's, may differ between instruction sets; never between thread counts).
template <class T> double dot(const T* x, const T* y, int64_t n);

// The max (is_max) or min of x[0, n): NaN if any value is NaN; -inf (+inf) when n == 0.
template <class T> T extreme(const T* x, int64_t n, bool is_max);

// One row of n values: y = softmax(x) or log_softmax(x), shifted by the row's max (a row of -inf only is
// shifted by 0; NaN anywhere gives NaN). float's exp is the vectorised one of vec_math.h, double's libm's.
template <class T> void softmax_row(const T* x, T* y, int64_t n, bool log);
// Its gradient given y and g: softmax dx = y * (g - sum(g * y)); log_softmax dx = g - exp(y) * sum(g).
template <class T> void softmax_backward_row(const T* g, const T* y, T* dx, int64_t n, bool log);
// log(sum(exp(x[0, n)))), the exps shifted by the row's max (not when it is infinite: -inf and inf come out as
// themselves), summed as sum does; NaN if any value is NaN. float's exp is the vectorised one, double's libm's.
template <class T> T logsumexp_row(const T* x, int64_t n);

}  // namespace fastnn::kernels
