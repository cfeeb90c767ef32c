// A tensor's layout passed by value to a kernel, and the element offset of a row-major linear index; the launch macro.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "fastnn/dtype.h"
#include "fastnn/error.h"

// kernel<<<grid, block>>>(args) is written FASTNN_LAUNCH(grid, block, kernel)(args): the same launch under nvcc, and
// a call of the CPU emulator (emulator/cuda_runtime.h) when the kernels are compiled as C++ (FASTNN_CUDA_EMULATOR).
#ifdef FASTNN_CUDA_EMULATED
#define FASTNN_LAUNCH(grid, block, ...) \
  ::fastnn::cuda::emu::launch(grid, block, [&](const auto&... args) { __VA_ARGS__(args...); })
#else
#define FASTNN_LAUNCH(grid, block, ...) __VA_ARGS__<<<grid, block>>>
#endif

namespace fastnn::cuda {

constexpr int kMaxDims = 16;
constexpr int kThreads = 256;

struct Layout {
  int64_t shape[kMaxDims];
  int64_t strides[kMaxDims];
  int ndim;
  bool contiguous;  // offset(i) == i: the fast path
};

inline Layout make_layout(const int64_t* shape, const int64_t* strides, int ndim, const char* op) {
  FASTNN_CHECK(ndim <= kMaxDims, "[", op, "] a CUDA tensor of ", ndim, " dimensions (at most ", kMaxDims, ")");
  Layout l{};
  l.ndim = ndim;
  l.contiguous = true;
  int64_t expect = 1;
  for (int d = ndim - 1; d >= 0; --d) {
    l.shape[d] = shape[d], l.strides[d] = strides[d];
    if (shape[d] != 1 && strides[d] != expect) l.contiguous = false;
    expect *= shape[d];
  }
  return l;
}

__device__ inline int64_t offset_of(const Layout& l, int64_t i) {
  if (l.contiguous) return i;
  int64_t offset = 0;
  for (int d = l.ndim - 1; d >= 0; --d) {
    offset += i % l.shape[d] * l.strides[d];
    i /= l.shape[d];
  }
  return offset;
}

// A grid-stride loop: `i` takes each value in [0, n) on exactly one thread of the launch.
#define FASTNN_GRID_LOOP(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

// Blocks for a grid-stride loop over n elements (one for none: a launch needs a block).
inline unsigned blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return unsigned(b < 1 ? 1 : b < 65535 ? b : 65535);
}

// Calls f(Word{}) with the unsigned type of `itemsize` bytes: kernels that only move elements (copies, gathers,
// selections) serve every dtype through its bits.
template <class F>
void with_word(size_t itemsize, const char* op, const F& f) {
  switch (itemsize) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    case 8: return f(uint64_t{});
  }
  throw std::invalid_argument(str("[", op, "] elements of ", itemsize, " bytes"));
}

// Calls f(T{}) with the C++ type of float32, float64 or int64 (what the folding kernels compute in); other dtypes are
// refused naming `op`.
template <class F>
void with_number(DType dtype, const char* op, const F& f) {
  switch (dtype) {
    case DType::Float64: return f(double{});
    case DType::Float32: return f(float{});
    case DType::Int64: return f(int64_t{});
    default: throw std::invalid_argument(str("[", op, "] CUDA tensors of dtype ", dtype_name(dtype)));
  }
}

// Makes GPU `index` current and turns a failed launch into a RuntimeError naming `op`.
void use_device(int index, const char* op);
void check_launch(const char* op);

}  // namespace fastnn::cuda
