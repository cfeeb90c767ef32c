// Strided -> contiguous copies on a GPU (a non-contiguous tensor made contiguous, e.g. before it leaves the GPU).
#include <cuda_runtime.h>

#include <cstdint>

#include "fastnn/device.h"
#include "fastnn/kernels/cuda/layout.cuh"

namespace fastnn::cuda {
namespace {

// One thread per element, grid-stride: linear index i (row-major over the shape) -> the element's offset in src.
template <class Word>
__global__ void gather(Word* dst, const Word* src, Layout layout, int64_t numel) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < numel; i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = src[offset_of(layout, i)];
}

template <class Word>
void launch(void* dst, const void* src, const Layout& layout, int64_t numel) {
  gather<Word><<<blocks_for(numel), kThreads>>>(static_cast<Word*>(dst), static_cast<const Word*>(src), layout, numel);
}

}  // namespace

void strided_copy(void* dst, const void* src, const int64_t* shape, const int64_t* strides, int ndim, int64_t numel,
                  size_t itemsize, int index) {
  if (numel == 0) return;
  const Layout layout = make_layout(shape, strides, ndim, "copy");
  use_device(index, "copy");
  switch (itemsize) {
    case 1: launch<uint8_t>(dst, src, layout, numel); break;
    case 2: launch<uint16_t>(dst, src, layout, numel); break;
    case 4: launch<uint32_t>(dst, src, layout, numel); break;
    case 8: launch<uint64_t>(dst, src, layout, numel); break;
    default: throw std::invalid_argument(str("[copy] elements of ", itemsize, " bytes"));
  }
  check_launch("copy");
}

}  // namespace fastnn::cuda
