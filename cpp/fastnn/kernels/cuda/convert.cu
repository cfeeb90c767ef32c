// Element type conversion on a GPU (tensor.to(dtype), mixed-dtype arithmetic): every pair of bool, uint8, int8,
// int16, int32, int64, float32 and float64, from any strided layout into a contiguous result, as the CPU's convert<>:
// a value becomes bool as `v != 0` (NaN is true), a float becomes an integer through int64 (int_cast.h; the GPU's own
// conversion saturates where x86 wraps), anything else as a C++ conversion.
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "fastnn/device.h"
#include "fastnn/int_cast.h"
#include "fastnn/kernels/cuda/layout.cuh"

namespace fastnn::cuda {
namespace {

template <class Out, class In>
__device__ Out convert_value(In v) {
  if constexpr (std::is_same_v<Out, bool>) return v != In(0);
  else if constexpr (std::is_integral_v<Out> && std::is_floating_point_v<In>) return float_to_int<Out>(v);
  else return Out(v);
}

template <class In, class Out>
__global__ void convert_kernel(const In* x, Layout layout, int64_t n, Out* y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = convert_value<Out>(x[offset_of(layout, i)]);
}

// Calls f(T{}) for the C++ type of `dtype`.
template <class F>
void with_type(DType dtype, const F& f) {
  switch (dtype) {
    case DType::Bool: return f(bool{});
    case DType::UInt8: return f(uint8_t{});
    case DType::Int8: return f(int8_t{});
    case DType::Int16: return f(int16_t{});
    case DType::Int32: return f(int32_t{});
    case DType::Int64: return f(int64_t{});
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    default: throw TypeError(str("[to] CUDA tensors of dtype ", dtype_name(dtype), " are not supported yet"));
  }
}

}  // namespace

void convert(const void* x, DType from, const int64_t* shape, const int64_t* strides, int ndim, int64_t n, void* y,
             DType to, int index) {
  if (n == 0) return;
  const Layout layout = make_layout(shape, strides, ndim, "to");
  use_device(index, "to");
  with_type(from, [&](auto in) {
    with_type(to, [&](auto out) {
      using In = decltype(in);
      using Out = decltype(out);
      FASTNN_LAUNCH(blocks_for(n), kThreads, convert_kernel<In, Out>)(static_cast<const In*>(x), layout, n,
                                                                      static_cast<Out*>(y));
    });
  });
  check_launch("to");
}

}  // namespace fastnn::cuda
