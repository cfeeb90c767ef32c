// Gathers and scatters through precomputed element offsets (advanced indexing, gather/scatter along a
// dim, index_add). Every destination element is written by one thread; elements reached more than
// once are combined in index order, so results are the same bits at any thread count.
#pragma once
#include <cstdint>
#include <vector>

#include "fastnn/dtype.h"

namespace fastnn::kernels {

// How a scatter combines a source value with the destination.
enum class ScatterMode { Assign, Add, Multiply };

// Element offsets of the row-major walk over `dims` (sizes from `shape`, steps from `strides`).
std::vector<int64_t> walk_offsets(const std::vector<int64_t>& shape, const std::vector<int64_t>& strides,
                                  const std::vector<int64_t>& dims);

// Advanced indexing, with the destination (or source) viewed as [P, M, Q] at offsets pre[p] + mid[m] + post[q]:
// dst[(p*M + m)*Q + q] = src[pre[p] + mid[m] + post[q]]   (dst contiguous).
void index_gather(DType dtype, const void* src, void* dst, const std::vector<int64_t>& pre,
                  const std::vector<int64_t>& mid, const std::vector<int64_t>& post);
// dst[pre[p] + mid[m] + post[q]] (op)= src[(p*M + m)*Q + q]   (src contiguous; Assign or Add; m in order).
void index_scatter(DType dtype, void* dst, const void* src, const std::vector<int64_t>& pre,
                   const std::vector<int64_t>& mid, const std::vector<int64_t>& post, ScatterMode mode);

// Along one dim, for an index tensor viewed as contiguous [O, N, I]:
// dst[(o*N + n)*I + i] = src[outer[o] + index[(o*N + n)*I + i] * stride + inner[i]]   (dst contiguous).
void dim_gather(DType dtype, const void* src, void* dst, const int64_t* index, const std::vector<int64_t>& outer,
                int64_t n, int64_t stride, const std::vector<int64_t>& inner);
// dst[outer[o] + index[(o*N + n)*I + i] * stride + inner[i]] (op)= src[(o*N + n)*I + i]; a null-stepping
// source (src_step 0) is one value. n runs in order for each (o, i).
void dim_scatter(DType dtype, void* dst, const void* src, int64_t src_step, const int64_t* index,
                 const std::vector<int64_t>& outer, int64_t n, int64_t stride, const std::vector<int64_t>& inner,
                 ScatterMode mode);

// The number of true values in mask[0, n).
int64_t count_true(const bool* mask, int64_t n);
// Row-major coordinates of the true elements of a contiguous bool tensor of `shape`: out[k][j] for the j-th true
// element and dim k. Each out[k] holds count_true + 1 values (the last is scratch: every element writes there).
void nonzero_coords(const bool* mask, const std::vector<int64_t>& shape, int64_t* const* out);

}  // namespace fastnn::kernels
