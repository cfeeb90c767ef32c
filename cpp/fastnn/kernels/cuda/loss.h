// The losses' elementwise terms (ops/loss_rules.h) on a GPU, float32 and float64: one overload per rule, generated
// from FASTNN_LOSS_TERMS (kernels/cuda/loss.cu; in a CPU-only build device.cpp defines them to throw).
#pragma once
#include <cstdint>

#include "fastnn/ops/loss_rules.h"

namespace fastnn::cuda {

// out[i] = rule(x, t) at output element i (row-major over `shape`, out contiguous); x_strides and t_strides are the
// operands' strides broadcast to `shape`. On GPU `index`.
#define FASTNN_CUDA_LOSS_DECL(RULE)                                                                               \
  void loss_term(const rules::RULE& rule, bool is_double, const void* x, const int64_t* x_strides, const void* t, \
                 const int64_t* t_strides, const int64_t* shape, int ndim, int64_t n, void* out, int index);
FASTNN_LOSS_TERMS(FASTNN_CUDA_LOSS_DECL)
#undef FASTNN_CUDA_LOSS_DECL

}  // namespace fastnn::cuda
