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

template <class Word>
void launch_gather(const void* table, const int64_t* idx, int64_t n, int64_t dim, void* out) {
  FASTNN_LAUNCH(blocks_for(n * dim), kThreads, gather_kernel<Word>)(static_cast<const Word*>(table), idx, n, dim,
                                                                    static_cast<Word*>(out));
}

}  // namespace

void gather_rows(const void* table, const int64_t* idx, int64_t n, int64_t dim, size_t itemsize, void* out, int index) {
  if (n * dim == 0) return;
  use_device(index, "embedding");
  switch (itemsize) {
    case 1: launch_gather<uint8_t>(table, idx, n, dim, out); break;
    case 2: launch_gather<uint16_t>(table, idx, n, dim, out); break;
    case 4: launch_gather<uint32_t>(table, idx, n, dim, out); break;
    default: launch_gather<uint64_t>(table, idx, n, dim, out); break;
  }
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
