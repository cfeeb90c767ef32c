// Strided -> contiguous copies on a GPU (a non-contiguous tensor made contiguous, e.g. before it leaves the GPU),
// copies between any two layouts of one shape (into a view: cat, slice assignment), and fills of a strided view.
#include <cuda_runtime.h>

#include <cstdint>

#include "fastnn/device.h"
#include "fastnn/kernels/cuda/layout.cuh"

namespace fastnn::cuda {
namespace {

// One thread per element, grid-stride: linear index i (row-major over the shape) -> the element's offset in src.
template <class Word>
__global__ void gather(Word* dst, const Word* src, Layout layout, int64_t numel) {
  FASTNN_GRID_LOOP(i, numel) dst[i] = src[offset_of(layout, i)];
}

template <class Word>
__global__ void scatter_kernel(Word* dst, Layout dst_layout, const Word* src, Layout src_layout, int64_t numel) {
  FASTNN_GRID_LOOP(i, numel) dst[offset_of(dst_layout, i)] = src[offset_of(src_layout, i)];
}

template <class Word>
__global__ void fill_kernel(Word* dst, Layout layout, int64_t numel, Word value) {
  FASTNN_GRID_LOOP(i, numel) dst[offset_of(layout, i)] = value;
}

}  // namespace

void strided_copy(void* dst, const void* src, const int64_t* shape, const int64_t* strides, int ndim, int64_t numel,
                  size_t itemsize, int index) {
  if (numel == 0) return;
  const Layout layout = make_layout(shape, strides, ndim, "copy");
  use_device(index, "copy");
  with_word(itemsize, "copy", [&](auto word) {
    using Word = decltype(word);
    FASTNN_LAUNCH(blocks_for(numel), kThreads, gather<Word>)
    (static_cast<Word*>(dst), static_cast<const Word*>(src), layout, numel);
  });
  check_launch("copy");
}

void strided_to_strided(void* dst, const int64_t* dst_strides, const void* src, const int64_t* src_strides,
                        const int64_t* shape, int ndim, int64_t numel, size_t itemsize, int index) {
  if (numel == 0) return;
  const Layout dl = make_layout(shape, dst_strides, ndim, "copy_"), sl = make_layout(shape, src_strides, ndim, "copy_");
  use_device(index, "copy_");
  with_word(itemsize, "copy_", [&](auto word) {
    using Word = decltype(word);
    FASTNN_LAUNCH(blocks_for(numel), kThreads, scatter_kernel<Word>)
    (static_cast<Word*>(dst), dl, static_cast<const Word*>(src), sl, numel);
  });
  check_launch("copy_");
}

void fill(void* dst, const int64_t* shape, const int64_t* strides, int ndim, int64_t numel, const void* value,
          size_t itemsize, int index) {
  if (numel == 0) return;
  const Layout layout = make_layout(shape, strides, ndim, "fill_");
  use_device(index, "fill_");
  with_word(itemsize, "fill_", [&](auto word) {
    using Word = decltype(word);
    FASTNN_LAUNCH(blocks_for(numel), kThreads, fill_kernel<Word>)
    (static_cast<Word*>(dst), layout, numel, *static_cast<const Word*>(value));
  });
  check_launch("fill_");
}

}  // namespace fastnn::cuda
