// Row sums and argmax/argmin on a GPU: one block per row (grid-stride over rows); thread t adds elements t, t + 256,
// ... in order, then the block halves its partial sums in a fixed tree. The order depends on the shape only:
// deterministic.
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "fastnn/kernels/cuda/block_reduce.cuh"
#include "fastnn/kernels/cuda/layout.cuh"
#include "fastnn/kernels/cuda/reduce.h"
#include "fastnn/ops/reduce_rules.h"

namespace fastnn::cuda {
namespace {

template <class T>
__global__ void row_sums_kernel(const T* rows, int64_t outputs, int64_t reduced, T scale, T* out) {
  for (int64_t o = blockIdx.x; o < outputs; o += gridDim.x) {
    const T* row = rows + o * reduced;
    T s = 0;
    for (int64_t r = threadIdx.x; r < reduced; r += kThreads) s += row[r];
    s = block_reduce<T>(s);
    if (threadIdx.x == 0) out[o] = s * scale;
  }
}

// Whether (vb, ib) beats (va, ia): NaN beats any number, then the larger (is_max) or smaller value, then the smaller
// index; so the winner is the first extreme in row order whatever order the candidates meet in.
template <class T>
__device__ bool beats(T vb, int64_t ib, T va, int64_t ia, bool is_max) {
  const bool na = va != va, nb = vb != vb;
  if (na || nb) return nb && (!na || ib < ia);
  if (vb == va) return ib < ia;
  return is_max ? vb > va : vb < va;
}

template <class T>
__global__ void row_arg_kernel(const T* rows, int64_t outputs, int64_t reduced, bool is_max, int64_t* out, T* values) {
  __shared__ T best_v[kThreads];
  __shared__ int64_t best_i[kThreads];
  for (int64_t o = blockIdx.x; o < outputs; o += gridDim.x) {
    const T* row = rows + o * reduced;
    T v = 0;
    int64_t at = -1;  // no element yet
    for (int64_t r = threadIdx.x; r < reduced; r += kThreads)
      if (at < 0 || beats(row[r], r, v, at, is_max)) v = row[r], at = r;
    best_v[threadIdx.x] = v, best_i[threadIdx.x] = at;
    __syncthreads();
    for (int half = kThreads / 2; half > 0; half /= 2) {
      const int t = threadIdx.x;
      if (t < half && best_i[t + half] >= 0 &&
          (best_i[t] < 0 || beats(best_v[t + half], best_i[t + half], best_v[t], best_i[t], is_max)))
        best_v[t] = best_v[t + half], best_i[t] = best_i[t + half];
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      out[o] = best_i[0];
      if (values) values[o] = best_v[0];
    }
    __syncthreads();
  }
}

// One element i: the source element goes to its row's picked position (each destination written at most once).
template <class Word>
__global__ void scatter_kernel(Word* dst, Layout dl, int64_t dim_stride, const Word* src, Layout sl, const int64_t* idx,
                               Layout il, int64_t n) {
  FASTNN_GRID_LOOP(i, n) dst[offset_of(dl, i) + idx[offset_of(il, i)] * dim_stride] = src[offset_of(sl, i)];
}

template <class T>
__global__ void scan_kernel(const T* x, T* y, int64_t rows, int64_t n, bool is_prod, bool reverse) {
  using A = std::conditional_t<std::is_floating_point_v<T>, double, uint64_t>;  // uint64: int64 wraps
  FASTNN_GRID_LOOP(r, rows) {
    A acc = is_prod ? A(1) : A(0);
    for (int64_t k = 0; k < n; ++k) {
      const int64_t i = r * n + (reverse ? n - 1 - k : k);
      acc = is_prod ? A(acc * A(x[i])) : A(acc + A(x[i]));
      y[i] = T(acc);
    }
  }
}

template <class T>
__global__ void prod_kernel(const T* rows, int64_t outputs, int64_t reduced, T* out) {
  FASTNN_GRID_LOOP(o, outputs) out[o] = rules::prod_of_row(rows + o * reduced, reduced);
}

template <class T>
__global__ void prod_grads_kernel(const T* rows, const T* g, int64_t outputs, int64_t reduced, T* grads) {
  FASTNN_GRID_LOOP(o, outputs) rules::prod_row_grads(rows + o * reduced, reduced, g[o], grads + o * reduced);
}

template <class T>
__global__ void cumext_kernel(const T* x, T* v, int64_t* idx, int64_t rows, int64_t n, bool is_max) {
  FASTNN_GRID_LOOP(r, rows) rules::cumext_row(x + r * n, n, is_max, v + r * n, idx + r * n);
}

}  // namespace

void scan_extreme_rows(const void* x, void* v, int64_t* idx, int64_t rows, int64_t n, bool is_max, DType dtype,
                       int index) {
  if (rows * n == 0) return;
  const char* op = is_max ? "cummax" : "cummin";
  use_device(index, op);
  with_number(dtype, op, [&](auto value) {
    using T = decltype(value);
    FASTNN_LAUNCH(blocks_for(rows), kThreads, cumext_kernel<T>)
    (static_cast<const T*>(x), static_cast<T*>(v), idx, rows, n, is_max);
  });
  check_launch(op);
}

void row_prods(const void* rows, int64_t outputs, int64_t reduced, DType dtype, void* out, int index) {
  if (outputs == 0) return;
  use_device(index, "prod");
  with_number(dtype, "prod", [&](auto value) {
    using T = decltype(value);
    FASTNN_LAUNCH(blocks_for(outputs), kThreads, prod_kernel<T>)
    (static_cast<const T*>(rows), outputs, reduced, static_cast<T*>(out));
  });
  check_launch("prod");
}

void row_prod_grads(const void* rows, const void* g, int64_t outputs, int64_t reduced, DType dtype, void* grads,
                    int index) {
  if (outputs * reduced == 0) return;
  use_device(index, "prod");
  with_number(dtype, "prod", [&](auto value) {
    using T = decltype(value);
    if constexpr (std::is_floating_point_v<T>) {
      FASTNN_LAUNCH(blocks_for(outputs), kThreads, prod_grads_kernel<T>)
      (static_cast<const T*>(rows), static_cast<const T*>(g), outputs, reduced, static_cast<T*>(grads));
    }
  });
  check_launch("prod");
}

void scan_rows(const void* x, void* y, int64_t rows, int64_t n, bool is_prod, bool reverse, DType dtype, int index) {
  if (rows * n == 0) return;
  use_device(index, "cumsum");
  with_number(dtype, "cumsum", [&](auto value) {
    using T = decltype(value);
    FASTNN_LAUNCH(blocks_for(rows), kThreads, scan_kernel<T>)
    (static_cast<const T*>(x), static_cast<T*>(y), rows, n, is_prod, reverse);
  });
  check_launch("cumsum");
}

void row_sums(const void* rows, int64_t outputs, int64_t reduced, double scale, DType dtype, void* out, int index) {
  if (outputs == 0) return;
  use_device(index, "sum");
  if (dtype == DType::Float64)
    FASTNN_LAUNCH(row_blocks(outputs), kThreads, row_sums_kernel<double>)(static_cast<const double*>(rows), outputs,
                                                                          reduced, scale, static_cast<double*>(out));
  else if (dtype == DType::Float32)
    FASTNN_LAUNCH(row_blocks(outputs), kThreads, row_sums_kernel<float>)(
        static_cast<const float*>(rows), outputs, reduced, float(scale), static_cast<float*>(out));
  else
    FASTNN_LAUNCH(row_blocks(outputs), kThreads, row_sums_kernel<int64_t>)(
        static_cast<const int64_t*>(rows), outputs, reduced, int64_t(1), static_cast<int64_t*>(out));
  check_launch("sum");
}

void row_arg_extreme(const void* rows, int64_t outputs, int64_t reduced, DType dtype, bool is_max, int64_t* out,
                     void* values, int index) {
  if (outputs == 0) return;
  const char* op = is_max ? "argmax" : "argmin";
  use_device(index, op);
  with_number(dtype, op, [&](auto value) {
    using T = decltype(value);
    FASTNN_LAUNCH(row_blocks(outputs), kThreads, row_arg_kernel<T>)
    (static_cast<const T*>(rows), outputs, reduced, is_max, out, static_cast<T*>(values));
  });
  check_launch(op);
}

void scatter_along(void* dst, const int64_t* dst_strides, int64_t dim_stride, const void* src,
                   const int64_t* src_strides, const int64_t* idx, const int64_t* idx_strides, const int64_t* shape,
                   int ndim, int64_t n, size_t itemsize, int index) {
  if (n == 0) return;
  const Layout dl = make_layout(shape, dst_strides, ndim, "scatter"),
               sl = make_layout(shape, src_strides, ndim, "scatter"),
               il = make_layout(shape, idx_strides, ndim, "scatter");
  use_device(index, "scatter");
  if (itemsize == 8)
    FASTNN_LAUNCH(blocks_for(n), kThreads, scatter_kernel<uint64_t>)(static_cast<uint64_t*>(dst), dl, dim_stride,
                                                                     static_cast<const uint64_t*>(src), sl, idx, il, n);
  else
    FASTNN_LAUNCH(blocks_for(n), kThreads, scatter_kernel<uint32_t>)(static_cast<uint32_t*>(dst), dl, dim_stride,
                                                                     static_cast<const uint32_t*>(src), sl, idx, il, n);
  check_launch("scatter");
}

}  // namespace fastnn::cuda
