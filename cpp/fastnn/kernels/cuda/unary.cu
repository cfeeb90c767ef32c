// The unary table (ops/unary_table.h) on a GPU: each row's forward and derivative expressions compiled as device
// code, one grid-stride kernel per row and dtype. The expressions are the CPU's, so the two devices compute the
// same formula (the CPU's float32 SIMD kernels for exp/sigmoid/tanh/silu are within 2 ulp of it).
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "fastnn/kernels/cuda/layout.cuh"
#include "fastnn/kernels/cuda/unary.h"

namespace fastnn::cuda {
namespace {

// The helpers the table's expressions name, for the float types the GPU path takes.
template <class T>
__device__ T wrapping_neg(T x) {
  return -x;
}
template <class T>
__device__ T wrapping_abs(T x) {
  return std::fabs(x);
}
template <class T>
__device__ T floor_of(T x) {
  return std::floor(x);
}
template <class T>
__device__ T ceil_of(T x) {
  return std::ceil(x);
}
template <class T>
__device__ T trunc_of(T x) {
  return std::trunc(x);
}
template <class T>
__device__ T round_half_even(T x) {
  return std::nearbyint(x);
}

#define FASTNN_CUDA_UNARY(NAME, NODE, KIND, SAVES, FWD, BWD)      \
  struct NAME##_rule {                                            \
    template <class scalar_t>                                     \
    __device__ static scalar_t forward(scalar_t x) {              \
      return FWD;                                                 \
    }                                                             \
    template <class scalar_t>                                     \
    __device__ static scalar_t backward(scalar_t g, scalar_t v) { \
      return BWD;                                                 \
    }                                                             \
  };
FASTNN_UNARY_OPS(FASTNN_CUDA_UNARY)
#undef FASTNN_CUDA_UNARY

template <class Rule, class T>
__global__ void forward_kernel(const T* x, Layout layout, int64_t n, T* y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = Rule::template forward<T>(x[offset_of(layout, i)]);
}

template <class Rule, class T>
__global__ void backward_kernel(const T* g, const T* v, int64_t n, T* out) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = Rule::template backward<T>(g[i], v[i]);
}

// Calls f(Rule{}) for the table row `op`.
template <class F>
void with_rule(UnaryOp op, const F& f) {
  switch (op) {
#define FASTNN_CUDA_UNARY_CASE(NAME, ...) \
  case UnaryOp::NAME: return f(NAME##_rule{});
    FASTNN_UNARY_OPS(FASTNN_CUDA_UNARY_CASE)
#undef FASTNN_CUDA_UNARY_CASE
  }
}

}  // namespace

void unary_forward(UnaryOp op, bool is_double, const void* x, const int64_t* shape, const int64_t* strides, int ndim,
                   int64_t n, void* y, int index) {
  if (n == 0) return;
  const Layout layout = make_layout(shape, strides, ndim, "unary");
  use_device(index, "unary");
  with_rule(op, [&](auto rule) {
    using Rule = decltype(rule);
    if (is_double)
      FASTNN_LAUNCH(blocks_for(n), kThreads, forward_kernel<Rule, double>)(static_cast<const double*>(x), layout, n,
                                                                           static_cast<double*>(y));
    else
      FASTNN_LAUNCH(blocks_for(n), kThreads, forward_kernel<Rule, float>)(static_cast<const float*>(x), layout, n,
                                                                          static_cast<float*>(y));
  });
  check_launch("unary");
}

void unary_backward(UnaryOp op, bool is_double, const void* g, const void* v, void* out, int64_t n, int index) {
  if (n == 0) return;
  use_device(index, "unary backward");
  with_rule(op, [&](auto rule) {
    using Rule = decltype(rule);
    if (is_double)
      FASTNN_LAUNCH(blocks_for(n), kThreads, backward_kernel<Rule, double>)(
          static_cast<const double*>(g), static_cast<const double*>(v), n, static_cast<double*>(out));
    else
      FASTNN_LAUNCH(blocks_for(n), kThreads, backward_kernel<Rule, float>)(
          static_cast<const float*>(g), static_cast<const float*>(v), n, static_cast<float*>(out));
  });
  check_launch("unary backward");
}

}  // namespace fastnn::cuda
