// Row gathers on a GPU (kernels/cuda/index.cu; in a CPU-only build device.cpp defines them to throw): embedding,
// index_select, gather.
#pragma once
#include <cstddef>
#include <cstdint>

#include "fastnn/dtype.h"

namespace fastnn::cuda {

// out[i, :] = table[idx[i], :] for i < n, rows of `dim` elements of `itemsize` bytes (all contiguous).
void gather_rows(const void* table, const int64_t* idx, int64_t n, int64_t dim, size_t itemsize, void* out, int index);
// grad[r, :] = sum of g[p, :] over the positions p listed for row r, in their order (positions[starts[r] ..
// starts[r + 1]]), for r < rows; row `skip` (when >= 0) stays 0. float32 or float64; fixed order, no atomics.
void sum_rows_by_index(bool is_double, const void* g, const int64_t* starts, const int64_t* positions, int64_t rows,
                       int64_t dim, int64_t skip, void* grad, int index);

// Advanced indexing (x[idx], x[mask]), the tensor viewed as [P, M, Q] at offsets pre[p] + mid[m] + post[q] (the
// index dims in the middle): dst[(p*M + m)*Q + q] = src[pre[p] + mid[m] + post[q]], dst contiguous.
void index_gather(const void* src, const int64_t* pre, int64_t P, const int64_t* mid, int64_t M, const int64_t* post,
                  int64_t Q, size_t itemsize, void* dst, int index);
// Its adjoint and index_put_: the m sharing a mid offset are grouped (unique[u], with positions[starts[u] ..
// starts[u + 1]] listing them in order); dst[pre[p] + unique[u] + post[q]] becomes the last listed m's src[(p*M +
// m)*Q + q] (assign), or itself plus each of them in order (accumulate: float32, float64, int64), as the CPU does.
void index_scatter(bool accumulate, DType dtype, void* dst, const void* src, const int64_t* pre, int64_t P,
                   const int64_t* unique, const int64_t* starts, const int64_t* positions, int64_t U, int64_t M,
                   const int64_t* post, int64_t Q, int index);

// gather along `dim`: out (contiguous, the index's shape) at position p = src's element at p with its `dim`
// coordinate replaced by idx[p] (idx contiguous, in range). src_strides are src's strides; shape the index's.
void gather_along(const void* src, const int64_t* src_strides, const int64_t* idx, const int64_t* shape, int ndim,
                  int64_t dim, size_t itemsize, void* out, int index);
// scatter along `dim` (and gather's gradient): each element of dst (contiguous, dst_shape) folds in, in index order
// along dim, the src values (contiguous, the index's shape; or the one value src points to when src_is_value) whose
// index picked it: the last one (Assign), their sum (Add) or product (Multiply) with dst's value. float32, float64
// or int64; one thread per destination element, no atomics.
enum class ScatterKind : int { Assign, Add, Multiply };  // kernels::ScatterMode's order
void scatter_along_dim(ScatterKind kind, DType dtype, void* dst, const int64_t* dst_shape, const void* src,
                       bool src_is_value, const int64_t* idx, const int64_t* idx_shape, int ndim, int64_t dim,
                       int index);

}  // namespace fastnn::cuda
