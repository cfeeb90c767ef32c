// Row sorting on a GPU by ranks: element i of a row lands at its rank, the number of elements ordered before it
// under ops/sort.cpp's total order; a total order gives distinct ranks, so the result is exact and deterministic.
#include <cuda_runtime.h>

#include "fastnn/kernels/cuda/layout.cuh"
#include "fastnn/kernels/cuda/sort.h"

namespace fastnn::cuda {
namespace {

// Whether position a comes before position b: NaN is the largest value, equal values keep their index order.
template <class T>
__device__ bool before(const T* row, int64_t a, int64_t b, bool descending) {
  const T va = row[a], vb = row[b];
  const bool na = va != va, nb = vb != vb;
  if (na != nb) return descending ? na : nb;
  if (!na && va != vb) return descending ? va > vb : va < vb;
  return a < b;
}

template <class T>
__global__ void order_kernel(const T* x, int64_t rows, int64_t n, int64_t first, int64_t k, bool descending,
                             bool nan_wins, T* values, int64_t* indices) {
  const int64_t m = k - first;
  FASTNN_GRID_LOOP(e, rows * n) {
    const int64_t r = e / n, i = e % n;
    const T* row = x + r * n;
    if (nan_wins) {  // the row's first NaN fills its outputs (the thread of position 0 writes them)
      int64_t at = 0;
      while (at < n && row[at] == row[at]) ++at;
      if (at < n) {
        if (i == 0)
          for (int64_t j = 0; j < m; ++j) values[r * m + j] = row[at], indices[r * m + j] = at;
        continue;
      }
    }
    int64_t rank = 0;
    for (int64_t j = 0; j < n; ++j) rank += before(row, j, i, descending);
    if (rank >= first && rank < k) values[r * m + rank - first] = row[i], indices[r * m + rank - first] = i;
  }
}

}  // namespace

void order_rows(const void* x, int64_t rows, int64_t n, int64_t first, int64_t k, bool descending, bool nan_wins,
                DType dtype, void* values, int64_t* indices, int index) {
  if (rows * n == 0 || k <= first) return;
  use_device(index, "sort");
  auto launch = [&](auto value) {
    using T = decltype(value);
    FASTNN_LAUNCH(blocks_for(rows * n), kThreads, order_kernel<T>)
    (static_cast<const T*>(x), rows, n, first, k, descending, nan_wins, static_cast<T*>(values), indices);
  };
  switch (dtype) {
    case DType::Float64: launch(double{}); break;
    case DType::Float32: launch(float{}); break;
    case DType::Int64: launch(int64_t{}); break;
    case DType::Int32: launch(int32_t{}); break;
    default: throw std::invalid_argument(str("[sort] CUDA tensors of dtype ", dtype_name(dtype)));
  }
  check_launch("sort");
}

}  // namespace fastnn::cuda
