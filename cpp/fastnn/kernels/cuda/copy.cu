// Strided -> contiguous copies on a GPU (a non-contiguous tensor made contiguous, e.g. before it leaves the GPU).
#include <cuda_runtime.h>

#include <cstdint>

#include "fastnn/device.h"
#include "fastnn/error.h"

namespace fastnn::cuda {
namespace {

constexpr int kMaxDims = 16;

// A layout passed by value to the kernel.
struct Layout {
  int64_t shape[kMaxDims];
  int64_t strides[kMaxDims];
  int ndim;
};

// One thread per element: linear index i (row-major over shape) -> the element's offset in src.
template <class Word>
__global__ void gather(Word* dst, const Word* src, Layout layout, int64_t numel) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < numel; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t rest = i, offset = 0;
    for (int d = layout.ndim - 1; d >= 0; --d) {
      offset += rest % layout.shape[d] * layout.strides[d];
      rest /= layout.shape[d];
    }
    dst[i] = src[offset];
  }
}

template <class Word>
void launch(void* dst, const void* src, const Layout& layout, int64_t numel) {
  constexpr int kThreads = 256;
  const int64_t blocks = (numel + kThreads - 1) / kThreads;
  gather<Word><<<unsigned(blocks < 65535 ? blocks : 65535), kThreads>>>(static_cast<Word*>(dst),
                                                                        static_cast<const Word*>(src), layout, numel);
}

}  // namespace

void strided_copy(void* dst, const void* src, const int64_t* shape, const int64_t* strides, int ndim, int64_t numel,
                  size_t itemsize, int index) {
  if (numel == 0) return;
  FASTNN_CHECK(ndim <= kMaxDims, "[copy] a CUDA tensor of ", ndim, " dimensions (at most ", kMaxDims, ")");
  Layout layout{};
  layout.ndim = ndim;
  for (int d = 0; d < ndim; ++d) layout.shape[d] = shape[d], layout.strides[d] = strides[d];
  const cudaError_t set = cudaSetDevice(index);
  if (set != cudaSuccess) throw std::runtime_error(str("[copy] cudaSetDevice failed: ", cudaGetErrorString(set)));
  switch (itemsize) {
    case 1: launch<uint8_t>(dst, src, layout, numel); break;
    case 2: launch<uint16_t>(dst, src, layout, numel); break;
    case 4: launch<uint32_t>(dst, src, layout, numel); break;
    case 8: launch<uint64_t>(dst, src, layout, numel); break;
    default: throw std::invalid_argument(str("[copy] elements of ", itemsize, " bytes"));
  }
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) throw std::runtime_error(str("[copy] the CUDA copy kernel failed: ", cudaGetErrorString(e)));
}

}  // namespace fastnn::cuda
