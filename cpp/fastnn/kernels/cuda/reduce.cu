// Row sums on a GPU: one block per row (grid-stride over rows); thread t adds elements t, t + 256, ... in order,
// then the block halves its partial sums in a fixed tree. The order depends on the shape only: deterministic.
#include <cuda_runtime.h>

#include <cstdint>

#include "fastnn/kernels/cuda/layout.cuh"
#include "fastnn/kernels/cuda/reduce.h"

namespace fastnn::cuda {
namespace {

template <class T>
__global__ void row_sums_kernel(const T* rows, int64_t outputs, int64_t reduced, T scale, T* out) {
  __shared__ T partial[kThreads];
  for (int64_t o = blockIdx.x; o < outputs; o += gridDim.x) {
    const T* row = rows + o * reduced;
    T s = 0;
    for (int64_t r = threadIdx.x; r < reduced; r += kThreads) s += row[r];
    partial[threadIdx.x] = s;
    __syncthreads();
    for (int half = kThreads / 2; half > 0; half /= 2) {
      if (int(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
      __syncthreads();
    }
    if (threadIdx.x == 0) out[o] = partial[0] * scale;
    __syncthreads();  // partial is reused by the block's next row
  }
}

}  // namespace

void row_sums(const void* rows, int64_t outputs, int64_t reduced, double scale, bool is_double, void* out, int index) {
  if (outputs == 0) return;
  use_device(index, "sum");
  const unsigned blocks = unsigned(outputs < 65535 ? outputs : 65535);
  if (is_double)
    row_sums_kernel<double>
        <<<blocks, kThreads>>>(static_cast<const double*>(rows), outputs, reduced, scale, static_cast<double*>(out));
  else
    row_sums_kernel<float><<<blocks, kThreads>>>(static_cast<const float*>(rows), outputs, reduced, float(scale),
                                                 static_cast<float*>(out));
  check_launch("sum");
}

}  // namespace fastnn::cuda
