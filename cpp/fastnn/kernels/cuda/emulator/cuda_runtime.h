// A stand-in for CUDA's runtime header when fastnn's CUDA kernels are compiled as C++ and run on the CPU
// (-DFASTNN_CUDA_EMULATOR=ON, docs/cuda.md): "device" memory is host memory with a guard page after each block, a
// launch runs the grid's blocks one after another and a block's threads as fibers that switch at __syncthreads. It
// runs the CUDA code paths (host logic and kernels) on a machine without a GPU: slow, and blind to races between
// threads and to anything the hardware does differently, but it catches wrong indexing, reads or writes past a
// buffer's end (a segfault at the faulting access), wrong devices and missing kernels.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#define FASTNN_CUDA_EMULATED 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static thread_local  // one block runs at a time on a host thread

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

// The running thread's coordinates, set by the emulator before it resumes a thread.
inline thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace fastnn::cuda::emu {

// Runs body(ctx) once for every thread of the grid (threadIdx etc. set for each).
void run_grid(dim3 grid, dim3 block, void (*body)(void*), void* ctx);
// __syncthreads: the calling thread waits until every thread of its block has reached it (or finished).
void sync_threads();

// FASTNN_LAUNCH's call: launch(grid, block, kernel)(args...) runs kernel(args...) on every thread; the arguments are
// copied once, as a launch copies them to the device.
template <class Kernel>
struct Launch {
  dim3 grid, block;
  Kernel kernel;
  template <class... Args>
  void operator()(Args... args) const {
    auto call = [&] { kernel(args...); };
    run_grid(grid, block, [](void* c) { (*static_cast<decltype(call)*>(c))(); }, &call);
  }
};
template <class Kernel>
Launch<Kernel> launch(dim3 grid, dim3 block, Kernel kernel) {
  return {grid, block, kernel};
}

}  // namespace fastnn::cuda::emu

inline void __syncthreads() { fastnn::cuda::emu::sync_threads(); }

// Device code calls the math functions unqualified, with float and double overloads, as CUDA declares them.
using std::ceil, std::erf, std::exp, std::expm1, std::fabs, std::floor, std::fmax, std::fmin, std::isinf, std::isnan,
    std::log, std::log1p, std::pow, std::sqrt, std::tanh;

// The runtime API calls fastnn makes (kernels/cuda/runtime.cu), on host memory.
enum cudaError_t { cudaSuccess = 0, cudaErrorMemoryAllocation = 2, cudaErrorInvalidDevice = 101 };
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3
};
const char* cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetLastError();
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaSetDevice(int index);
cudaError_t cudaMalloc(void** p, size_t bytes);
cudaError_t cudaFree(void* p);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyPeer(void* dst, int dst_device, const void* src, int src_device, size_t bytes);
cudaError_t cudaDeviceSynchronize();
