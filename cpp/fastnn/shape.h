// Shapes, strides and broadcasting (all sizes and strides are in elements).
#pragma once
#include <cstdint>
#include <vector>

namespace fastnn {

using Shape = std::vector<int64_t>;

// Product of sizes; throws ValueError naming `op` on a negative size or 64-bit overflow.
int64_t checked_numel(const Shape& shape, const char* op);
// Row-major strides for `shape`; throws ValueError naming `op` when they overflow 64 bits (possible
// only for a zero-size shape such as (0, 2**62, 2**62), as torch refuses too).
Shape contiguous_strides(const Shape& shape, const char* op = "tensor");
// True when (shape, strides) lays elements out densely in row-major order.
bool is_contiguous(const Shape& shape, const Shape& strides);
// Broadcast two shapes as torch does; throws ValueError naming `op` when they do not fit.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Maps a possibly negative dim into [0, ndim); throws IndexError naming `op`.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);
// Strides that read a tensor of `shape`/`strides` as if it had `out_shape` (0 on broadcast dims).
Shape broadcast_strides(const Shape& shape, const Shape& strides, const Shape& out_shape);

}  // namespace fastnn
