// The activations with parameters (ops/activation_rules.h) on a GPU, float32 and float64: one overload per rule,
// generated from FASTNN_PARAM_ACTIVATIONS (kernels/cuda/activation.cu; in a CPU-only build device.cpp defines them
// to throw). Called by ops/activation.cpp for tensors on a GPU.
#pragma once
#include <cstdint>

#include "fastnn/ops/activation_rules.h"

namespace fastnn::cuda {

// y[i] = rule.forward(x's element i in row-major order of the layout (shape, strides)); y contiguous. On GPU `index`.
// out[i] = rule.backward(g[i], x[i]), all contiguous.
#define FASTNN_CUDA_ACTIVATION_DECL(RULE)                                                                    \
  void activation_forward(const rules::RULE& rule, bool is_double, const void* x, const int64_t* shape,      \
                          const int64_t* strides, int ndim, int64_t n, void* y, int index);                  \
  void activation_backward(const rules::RULE& rule, bool is_double, const void* g, const void* x, void* out, \
                           int64_t n, int index);
FASTNN_PARAM_ACTIVATIONS(FASTNN_CUDA_ACTIVATION_DECL)
#undef FASTNN_CUDA_ACTIVATION_DECL

}  // namespace fastnn::cuda
