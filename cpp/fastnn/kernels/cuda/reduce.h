// Reductions on a GPU (kernels/cuda/reduce.cu; in a CPU-only build device.cpp defines them to
// throw). Deterministic: each sum runs in a fixed order (no atomics), so the same input gives the same bits.
#pragma once
#include <cstddef>
#include <cstdint>

#include "fastnn/dtype.h"

namespace fastnn::cuda {

// out[o] = scale * sum of rows[o * reduced + r] over r < reduced, for o < outputs (rows contiguous), in `dtype`
// (float32, float64 or int64; scale 1 for int64). On GPU `index`.
void row_sums(const void* rows, int64_t outputs, int64_t reduced, double scale, DType dtype, void* out, int index);
// out[o] = the index r of the largest (is_max) or smallest element of row o: the first one, NaN counting as the
// extreme (torch's argmax/argmin); values[o] = that element when values is not null. float32, float64 or int64 rows.
void row_arg_extreme(const void* rows, int64_t outputs, int64_t reduced, DType dtype, bool is_max, int64_t* out,
                     void* values, int index);
// For each element i of a layout `shape` (n elements): dst[dst_offset(i) + idx[idx_offset(i)] * dim_stride] =
// src[src_offset(i)], elements of `itemsize` bytes; the offsets come from each operand's strides (dst's with 0 along
// the picked dim). The gradient of picking one element along a dim (max/min along a dim).
void scatter_along(void* dst, const int64_t* dst_strides, int64_t dim_stride, const void* src,
                   const int64_t* src_strides, const int64_t* idx, const int64_t* idx_strides, const int64_t* shape,
                   int ndim, int64_t n, size_t itemsize, int index);

// y's rows = the running sums (is_prod: products) of x's rows (rows x n, contiguous), from the end when `reverse`:
// one thread per row in order, floats accumulating in double and int64 wrapping, as the CPU's scan.
void scan_rows(const void* x, void* y, int64_t rows, int64_t n, bool is_prod, bool reverse, DType dtype, int index);

// v's rows and idx's = the running max (is_max) or min of x's rows and where each was reached (reduce_rules.h's
// cumext_row), rows x n contiguous: one thread per row. float32, float64 or int64.
void scan_extreme_rows(const void* x, void* v, int64_t* idx, int64_t rows, int64_t n, bool is_max, DType dtype,
                       int index);
// out[o] = the product of row o of `rows` (outputs x reduced, contiguous) as ops/reduce_rules.h computes it: one
// thread per row, in order. float32, float64 or int64.
void row_prods(const void* rows, int64_t outputs, int64_t reduced, DType dtype, void* out, int index);
// grads' row o = g[o] * the product of row o's other elements (reduce_rules.h's prod_row_grads); float32 or float64.
void row_prod_grads(const void* rows, const void* g, int64_t outputs, int64_t reduced, DType dtype, void* grads,
                    int index);

}  // namespace fastnn::cuda
