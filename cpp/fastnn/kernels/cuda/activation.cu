// The activations with parameters on a GPU: each rule of ops/activation_rules.h, compiled as device code, in one
// forward and one backward grid-stride kernel per rule and dtype (values widened to double, as on the CPU).
#include <cuda_runtime.h>

#include "fastnn/kernels/cuda/activation.h"
#include "fastnn/kernels/cuda/layout.cuh"

namespace fastnn::cuda {
namespace {

template <class Rule, class T>
__global__ void forward_kernel(Rule rule, const T* x, Layout layout, int64_t n, T* y) {
  FASTNN_GRID_LOOP(i, n) y[i] = T(rule.forward(double(x[offset_of(layout, i)])));
}

template <class Rule, class T>
__global__ void backward_kernel(Rule rule, const T* g, const T* x, int64_t n, T* out) {
  FASTNN_GRID_LOOP(i, n) out[i] = T(rule.backward(double(g[i]), double(x[i])));
}

template <class Rule>
void forward(const Rule& rule, bool is_double, const void* x, const int64_t* shape, const int64_t* strides, int ndim,
             int64_t n, void* y, int index) {
  if (n == 0) return;
  const Layout layout = make_layout(shape, strides, ndim, "activation");
  use_device(index, "activation");
  if (is_double)
    FASTNN_LAUNCH(blocks_for(n), kThreads, forward_kernel<Rule, double>)(rule, static_cast<const double*>(x), layout, n,
                                                                         static_cast<double*>(y));
  else
    FASTNN_LAUNCH(blocks_for(n), kThreads, forward_kernel<Rule, float>)(rule, static_cast<const float*>(x), layout, n,
                                                                        static_cast<float*>(y));
  check_launch("activation");
}

template <class Rule>
void backward(const Rule& rule, bool is_double, const void* g, const void* x, void* out, int64_t n, int index) {
  if (n == 0) return;
  use_device(index, "activation backward");
  if (is_double)
    FASTNN_LAUNCH(blocks_for(n), kThreads, backward_kernel<Rule, double>)(
        rule, static_cast<const double*>(g), static_cast<const double*>(x), n, static_cast<double*>(out));
  else
    FASTNN_LAUNCH(blocks_for(n), kThreads, backward_kernel<Rule, float>)(
        rule, static_cast<const float*>(g), static_cast<const float*>(x), n, static_cast<float*>(out));
  check_launch("activation backward");
}

}  // namespace

#define FASTNN_CUDA_ACTIVATION_DEF(RULE)                                                                     \
  void activation_forward(const rules::RULE& rule, bool is_double, const void* x, const int64_t* shape,      \
                          const int64_t* strides, int ndim, int64_t n, void* y, int index) {                 \
    forward(rule, is_double, x, shape, strides, ndim, n, y, index);                                          \
  }                                                                                                          \
  void activation_backward(const rules::RULE& rule, bool is_double, const void* g, const void* x, void* out, \
                           int64_t n, int index) {                                                           \
    backward(rule, is_double, g, x, out, n, index);                                                          \
  }
FASTNN_PARAM_ACTIVATIONS(FASTNN_CUDA_ACTIVATION_DEF)
#undef FASTNN_CUDA_ACTIVATION_DEF

}  // namespace fastnn::cuda
