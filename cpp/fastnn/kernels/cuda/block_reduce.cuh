// Block-wide reductions for kernels that give one block a row (or a channel): every thread passes its partial value
// and gets the block's total, combined in a fixed tree (the same order on every run: no atomics).
#pragma once
#include "fastnn/kernels/cuda/layout.cuh"

namespace fastnn::cuda {

// `max` combines with the CPU's maximum rule (NaN wins) instead of adding. Called by all kThreads threads of the
// block; a block may call it any number of times in a row.
template <class T>
__device__ T block_reduce(T v, bool max = false) {
  __shared__ T partial[kThreads];
  partial[threadIdx.x] = v;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) {
      const T a = partial[threadIdx.x], b = partial[threadIdx.x + half];
      partial[threadIdx.x] = max ? (b > a || b != b ? b : a) : a + b;
    }
    __syncthreads();
  }
  const T total = partial[0];
  __syncthreads();  // partial is reused by the next call
  return total;
}

// Blocks for one block per row (grid-stride over rows beyond the grid's limit).
inline unsigned row_blocks(int64_t rows) { return unsigned(rows < 1 ? 1 : rows < 65535 ? rows : 65535); }

}  // namespace fastnn::cuda
