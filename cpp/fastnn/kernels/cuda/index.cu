// Row gathers and their deterministic adjoint on a GPU: the adjoint gathers too (each output row sums the rows that
// picked it, in the order the caller listed them), so no two threads write one element and no atomics are used.
#include <cuda_runtime.h>

#include "fastnn/kernels/cuda/index.h"
#include "fastnn/kernels/cuda/layout.cuh"

namespace fastnn::cuda {
namespace {

template <class Word>
__global__ void gather_kernel(const Word* table, const int64_t* idx, int64_t n, int64_t dim, Word* out) {
  FASTNN_GRID_LOOP(e, n * dim) out[e] = table[idx[e / dim] * dim + e % dim];
}

template <class T>
__global__ void sum_rows_kernel(const T* g, const int64_t* starts, const int64_t* positions, int64_t rows, int64_t dim,
                                int64_t skip, T* grad) {
  FASTNN_GRID_LOOP(e, rows * dim) {
    const int64_t r = e / dim, d = e % dim;
    T acc = 0;
    if (r != skip)
      for (int64_t k = starts[r]; k < starts[r + 1]; ++k) acc += g[positions[k] * dim + d];
    grad[e] = acc;
  }
}

// Output element i (row-major over the index's shape, laid out by `il`; `sl` is src's layout over that shape with
// dim's stride 0): src's element at i's coordinates with dim's replaced by the index.
template <class Word>
__global__ void gather_along_kernel(const Word* src, Layout sl, int64_t dim_stride, const int64_t* idx, int64_t n,
                                    Word* out) {
  FASTNN_GRID_LOOP(i, n) out[i] = src[offset_of(sl, i) + idx[i] * dim_stride];
}

// Destination element e (row-major over `in`): the index positions sharing its other coordinates, along dim in order.
template <class T>
__global__ void scatter_along_dim_kernel(ScatterKind kind, T* dst, const T* src, bool src_is_value, const int64_t* idx,
                                         Layout ix, Layout in, int dim, int64_t n) {
  FASTNN_GRID_LOOP(e, n) {
    int64_t rest = e, base = 0, target = 0, stride = 1, dim_stride = 0;
    bool inside = true;
    for (int d = in.ndim - 1; d >= 0; --d) {  // e's coordinates, and where they sit in the contiguous index
      const int64_t c = rest % in.shape[d];
      rest /= in.shape[d];
      if (d == dim) target = c, dim_stride = stride;
      else if (c < ix.shape[d]) base += c * stride;
      else inside = false;
      stride *= ix.shape[d];
    }
    T acc = dst[e];
    if (inside)
      for (int64_t k = 0; k < ix.shape[dim]; ++k) {
        const int64_t p = base + k * dim_stride;
        if (idx[p] != target) continue;
        const T v = src_is_value ? src[0] : src[p];
        acc = kind == ScatterKind::Assign ? v : kind == ScatterKind::Add ? T(acc + v) : T(acc * v);
      }
    dst[e] = acc;
  }
}

template <class Word>
__global__ void index_gather_kernel(const Word* src, const int64_t* pre, const int64_t* mid, int64_t M,
                                    const int64_t* post, int64_t Q, int64_t n, Word* dst) {
  FASTNN_GRID_LOOP(e, n) dst[e] = src[pre[e / (M * Q)] + mid[e / Q % M] + post[e % Q]];
}

// One destination (p, u, q) per thread: its listed sources folded in order.
template <class T>
__global__ void index_scatter_kernel(bool accumulate, T* dst, const T* src, const int64_t* pre, const int64_t* unique,
                                     const int64_t* starts, const int64_t* positions, int64_t U, int64_t M,
                                     const int64_t* post, int64_t Q, int64_t n) {
  FASTNN_GRID_LOOP(e, n) {
    const int64_t p = e / (U * Q), u = e / Q % U, q = e % Q;
    T* d = dst + pre[p] + unique[u] + post[q];
    T v = *d;
    for (int64_t k = starts[u]; k < starts[u + 1]; ++k) {
      const T s = src[(p * M + positions[k]) * Q + q];
      v = accumulate ? T(v + s) : s;
    }
    *d = v;
  }
}

}  // namespace

void index_gather(const void* src, const int64_t* pre, int64_t P, const int64_t* mid, int64_t M, const int64_t* post,
                  int64_t Q, size_t itemsize, void* dst, int index) {
  const int64_t n = P * M * Q;
  if (n == 0) return;
  use_device(index, "index");
  with_word(itemsize, "index", [&](auto word) {
    using Word = decltype(word);
    FASTNN_LAUNCH(blocks_for(n), kThreads, index_gather_kernel<Word>)
    (static_cast<const Word*>(src), pre, mid, M, post, Q, n, static_cast<Word*>(dst));
  });
  check_launch("index");
}

void index_scatter(bool accumulate, DType dtype, void* dst, const void* src, const int64_t* pre, int64_t P,
                   const int64_t* unique, const int64_t* starts, const int64_t* positions, int64_t U, int64_t M,
                   const int64_t* post, int64_t Q, int index) {
  const int64_t n = P * U * Q;
  if (n == 0) return;
  use_device(index, "index_put_");
  auto launch = [&](auto value) {
    using T = decltype(value);
    FASTNN_LAUNCH(blocks_for(n), kThreads, index_scatter_kernel<T>)
    (accumulate, static_cast<T*>(dst), static_cast<const T*>(src), pre, unique, starts, positions, U, M, post, Q, n);
  };
  if (accumulate) with_number(dtype, "index_put_", launch);
  else with_word(itemsize(dtype), "index_put_", launch);  // an assignment moves bits: every dtype
  check_launch("index_put_");
}

void gather_along(const void* src, const int64_t* src_strides, const int64_t* idx, const int64_t* shape, int ndim,
                  int64_t dim, size_t itemsize, void* out, int index) {
  int64_t n = 1, strides[kMaxDims];
  for (int d = 0; d < ndim && d < kMaxDims; ++d) n *= shape[d], strides[d] = d == dim ? 0 : src_strides[d];
  if (n == 0) return;
  const Layout sl = make_layout(shape, strides, ndim, "gather");
  use_device(index, "gather");
  with_word(itemsize, "gather", [&](auto word) {
    using Word = decltype(word);
    FASTNN_LAUNCH(blocks_for(n), kThreads, gather_along_kernel<Word>)
    (static_cast<const Word*>(src), sl, src_strides[dim], idx, n, static_cast<Word*>(out));
  });
  check_launch("gather");
}

void scatter_along_dim(ScatterKind kind, DType dtype, void* dst, const int64_t* dst_shape, const void* src,
                       bool src_is_value, const int64_t* idx, const int64_t* idx_shape, int ndim, int64_t dim,
                       int index) {
  int64_t n = 1, unit[kMaxDims];
  for (int d = 0; d < ndim && d < kMaxDims; ++d) n *= dst_shape[d], unit[d] = 1;
  if (n == 0) return;
  const Layout ix = make_layout(idx_shape, unit, ndim, "scatter"),
               in = make_layout(dst_shape, unit, ndim, "scatter");  // (only their shapes are read)
  use_device(index, "scatter");
  with_number(dtype, "scatter", [&](auto value) {
    using T = decltype(value);
    FASTNN_LAUNCH(blocks_for(n), kThreads, scatter_along_dim_kernel<T>)
    (kind, static_cast<T*>(dst), static_cast<const T*>(src), src_is_value, idx, ix, in, int(dim), n);
  });
  check_launch("scatter");
}

void gather_rows(const void* table, const int64_t* idx, int64_t n, int64_t dim, size_t itemsize, void* out, int index) {
  if (n * dim == 0) return;
  use_device(index, "embedding");
  with_word(itemsize, "embedding", [&](auto word) {
    using Word = decltype(word);
    FASTNN_LAUNCH(blocks_for(n * dim), kThreads, gather_kernel<Word>)
    (static_cast<const Word*>(table), idx, n, dim, static_cast<Word*>(out));
  });
  check_launch("embedding");
}

void sum_rows_by_index(bool is_double, const void* g, const int64_t* starts, const int64_t* positions, int64_t rows,
                       int64_t dim, int64_t skip, void* grad, int index) {
  if (rows * dim == 0) return;
  use_device(index, "embedding backward");
  if (is_double)
    FASTNN_LAUNCH(blocks_for(rows * dim), kThreads, sum_rows_kernel<double>)(
        static_cast<const double*>(g), starts, positions, rows, dim, skip, static_cast<double*>(grad));
  else
    FASTNN_LAUNCH(blocks_for(rows * dim), kThreads, sum_rows_kernel<float>)(
        static_cast<const float*>(g), starts, positions, rows, dim, skip, static_cast<float*>(grad));
  check_launch("embedding backward");
}

}  // namespace fastnn::cuda
