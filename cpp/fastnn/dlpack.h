// The DLPack ABI (https://dmlc.github.io/dlpack/latest/c_api.html), written from the public
// specification: the structs other libraries (torch, NumPy, JAX, CuPy) pass through PyCapsules to
// share tensors without copying. Only the layout matters across libraries; the names follow the spec.
#pragma once
#include <cstdint>

namespace fastnn {

// The version fastnn produces and understands (a consumer must refuse a newer major version).
constexpr uint32_t kDLPackMajorVersion = 1;
constexpr uint32_t kDLPackMinorVersion = 0;

struct DLPackVersion {
  uint32_t major;
  uint32_t minor;
};

// DLDeviceType (a C enum: int-sized). fastnn's tensors are on the CPU.
enum DLDeviceType : int32_t {
  kDLCPU = 1,
  kDLCUDA = 2,
  kDLCUDAHost = 3,
  kDLOpenCL = 4,
  kDLVulkan = 7,
  kDLMetal = 8,
  kDLVPI = 9,
  kDLROCM = 10,
  kDLROCMHost = 11,
  kDLExtDev = 12,
  kDLCUDAManaged = 13,
  kDLOneAPI = 14,
  kDLWebGPU = 15,
  kDLHexagon = 16,
  kDLMAIA = 17,
};

struct DLDevice {
  DLDeviceType device_type;
  int32_t device_id;
};

// DLDataTypeCode; codes 7 and up are the float8/6/4 formats fastnn has no dtype for.
enum DLDataTypeCode : uint8_t {
  kDLInt = 0,
  kDLUInt = 1,
  kDLFloat = 2,
  kDLOpaqueHandle = 3,
  kDLBfloat = 4,
  kDLComplex = 5,
  kDLBool = 6,
};

struct DLDataType {
  uint8_t code;    // a DLDataTypeCode
  uint8_t bits;    // bits per lane: bool is 8
  uint16_t lanes;  // 1 for every scalar type
};

// shape and strides have ndim entries, in elements; strides may be null (compact row-major). The
// first element is at (char*)data + byte_offset.
struct DLTensor {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;
  uint64_t byte_offset;
};

// The legacy (DLPack < 1.0) managed tensor, in a capsule named "dltensor". The consumer renames the
// capsule "used_dltensor" and calls deleter(self) once it no longer needs the memory.
struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor* self);
};

// DLManagedTensorVersioned's flags.
constexpr uint64_t kDLPackFlagReadOnly = uint64_t(1) << 0;  // the consumer must not write
constexpr uint64_t kDLPackFlagIsCopied = uint64_t(1) << 1;  // the producer made a copy for this export
constexpr uint64_t kDLPackFlagIsSubbyteTypePadded = uint64_t(1) << 2;

// The versioned (DLPack >= 1.0) managed tensor, in a capsule named "dltensor_versioned" (renamed
// "used_dltensor_versioned" when consumed). Produced only for consumers that ask with max_version >= (1, 0).
struct DLManagedTensorVersioned {
  DLPackVersion version;
  void* manager_ctx;
  void (*deleter)(DLManagedTensorVersioned* self);
  uint64_t flags;
  DLTensor dl_tensor;
};

}  // namespace fastnn
