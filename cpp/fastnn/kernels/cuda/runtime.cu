// The CUDA build's side of device.h: device discovery, raw memory, copies and synchronisation through the CUDA
// runtime (linked statically, so a machine without a driver imports fastnn and sees no GPU).
#include <cuda_runtime.h>

#include "fastnn/device.h"
#include "fastnn/error.h"
#include "fastnn/kernels/cuda/layout.cuh"

namespace fastnn::cuda {
namespace {

// Turns a failed runtime call into a RuntimeError naming what was being done.
void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error state for the next call
    throw std::runtime_error(str("[cuda] ", what, " failed: ", cudaGetErrorString(e)));
  }
}

// Makes GPU `index` current on the calling thread (memory calls act on the current device).
void use(int index) { check(cudaSetDevice(index), "cudaSetDevice"); }

}  // namespace

void use_device(int index, const char* op) {
  const cudaError_t e = cudaSetDevice(index);
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw std::runtime_error(str("[", op, "] cudaSetDevice(", index, ") failed: ", cudaGetErrorString(e)));
  }
}

void check_launch(const char* op) {
  const cudaError_t e = cudaGetLastError();  // a bad launch configuration; faults in the kernel surface later
  if (e != cudaSuccess) throw std::runtime_error(str("[", op, "] the CUDA kernel failed: ", cudaGetErrorString(e)));
}

bool built() { return true; }

#ifdef FASTNN_CUDA_EMULATED
bool emulated() { return true; }
#else
bool emulated() { return false; }
#endif

int device_count() {
  static int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {  // no driver or no GPU: none, and no error left behind
      cudaGetLastError();
      n = 0;
    }
    return n;
  }();
  return count;
}

void check_device(int index, const char* op) {
  const int n = device_count();
  if (n == 0)
    throw std::runtime_error(
        str("[", op, "] device 'cuda' is not available: no CUDA GPU was found by this CUDA build of fastnn"));
  if (index < 0 || index >= n)
    throw std::runtime_error(str("[", op, "] CUDA error: invalid device ordinal cuda:", index, " (this machine has ", n,
                                 " GPU", n == 1 ? "" : "s", ")"));
}

void* malloc(size_t bytes, int index, const char* op) {
  use(index);
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes);
  if (e == cudaErrorMemoryAllocation) {  // the allocator frees its cache and tries once more
    cudaGetLastError();
    return nullptr;
  }
  check(e, op);
  return p;
}

void free(void* p, int index) {
  // Called from Storage's destructor, also while the process exits and the runtime is being torn down: a failure
  // is cleared and ignored, never thrown.
  if (cudaSetDevice(index) != cudaSuccess || cudaFree(p) != cudaSuccess) cudaGetLastError();
}

void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  const cudaMemcpyKind kind = dst_device.is_cpu()
                                  ? (src_device.is_cpu() ? cudaMemcpyHostToHost : cudaMemcpyDeviceToHost)
                              : src_device.is_cpu() ? cudaMemcpyHostToDevice
                                                    : cudaMemcpyDeviceToDevice;
  use(dst_device.is_cuda() ? dst_device.index : src_device.index);
  if (kind == cudaMemcpyDeviceToDevice && dst_device.index != src_device.index)
    check(cudaMemcpyPeer(dst, dst_device.index, src, src_device.index, bytes), "cudaMemcpyPeer");
  else check(cudaMemcpy(dst, src, bytes, kind), "cudaMemcpy");  // synchronous with respect to the host
}

void synchronize(int index) {
  use(index);
  check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
}

}  // namespace fastnn::cuda
