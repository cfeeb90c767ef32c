// Dropout masks on a GPU: random_bits.h is the CPU's generator compiled as device code, so a mask drawn with a seed
// is the same on every run and on either device.
#include <cuda_runtime.h>

#include "fastnn/kernels/cuda/layout.cuh"
#include "fastnn/kernels/cuda/random.h"
#include "fastnn/random_bits.h"

namespace fastnn::cuda {
namespace {

template <class T>
__global__ void dropout_kernel(uint64_t seed, uint64_t counter, double p, T scale, int64_t n, T* out) {
  FASTNN_GRID_LOOP(i, n) out[i] = uniform_double(random_bits(seed, counter + uint64_t(i))) < p ? T(0) : scale;
}

}  // namespace

void dropout_mask(uint64_t seed, uint64_t counter, double p, double scale, bool is_double, int64_t n, void* out,
                  int index) {
  if (n == 0) return;
  use_device(index, "dropout");
  if (is_double)
    FASTNN_LAUNCH(blocks_for(n), kThreads, dropout_kernel<double>)(seed, counter, p, scale, n,
                                                                   static_cast<double*>(out));
  else
    FASTNN_LAUNCH(blocks_for(n), kThreads, dropout_kernel<float>)(seed, counter, p, float(scale), n,
                                                                  static_cast<float*>(out));
  check_launch("dropout");
}

}  // namespace fastnn::cuda
