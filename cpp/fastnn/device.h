// Device: where a storage's bytes live, the CPU or a CUDA GPU (as torch.device), and the few
// runtime calls the core needs from a GPU backend (memory, copies, synchronisation). They are
// implemented by kernels/cuda/runtime.cu in a CUDA build (FASTNN_CUDA) and by device.cpp otherwise,
// where every call that needs a GPU throws a clear error.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "fastnn/dtype.h"

namespace fastnn {

enum class DeviceType : int8_t { CPU = 0, CUDA = 1 };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;  // the GPU's ordinal for CUDA; 0 for the CPU
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

inline Device cuda_device(int index) { return Device{DeviceType::CUDA, index}; }

namespace cuda {
// Whether this build has the CUDA backend (FASTNN_CUDA), and whether that backend is the CPU emulator's
// (FASTNN_CUDA_EMULATOR: one "GPU" whose kernels run on the CPU, for tests).
bool built();
bool emulated();
// GPUs the process can use: 0 without the backend, a driver or a GPU (never throws).
int device_count();
// Throws a RuntimeError naming `op` unless cuda:`index` exists.
void check_device(int index, const char* op);
// Raw device memory on GPU `index` (cudaMalloc); null when the GPU is out of memory (the caching allocator then
// empties its arena, retries and raises OutOfMemory naming `op`); other failures throw.
void* malloc(size_t bytes, int index, const char* op);
// Never throws (storages free from destructors, also at exit).
void free(void* p, int index);
// Copies `bytes` between any two devices (host memory is pageable; returns when the copy is done).
void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);
// Waits for all work queued on GPU `index`.
void synchronize(int index);
// dst (contiguous) <- the `numel` elements of `itemsize` bytes at src in the layout (shape, strides), on GPU
// `index` (kernels/cuda/copy.cu).
void strided_copy(void* dst, const void* src, const int64_t* shape, const int64_t* strides, int ndim, int64_t numel,
                  size_t itemsize, int index);
// dst (layout shape, dst_strides) <- src (layout shape, src_strides; 0 along broadcast dims), both on GPU `index`.
void strided_to_strided(void* dst, const int64_t* dst_strides, const void* src, const int64_t* src_strides,
                        const int64_t* shape, int ndim, int64_t numel, size_t itemsize, int index);
// Every element of the strided view at dst (shape, strides) set to the `itemsize` bytes at value (host memory).
void fill(void* dst, const int64_t* shape, const int64_t* strides, int ndim, int64_t numel, const void* value,
          size_t itemsize, int index);
// y (contiguous, dtype `to`) <- the `n` elements of x (dtype `from`) in the layout (shape, strides), converted, on
// GPU `index` (kernels/cuda/convert.cu; float16 and bfloat16 are refused so far).
void convert(const void* x, DType from, const int64_t* shape, const int64_t* strides, int ndim, int64_t n, void* y,
             DType to, int index);
}  // namespace cuda

}  // namespace fastnn
