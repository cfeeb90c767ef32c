// The unary table's ops (ops/unary_table.h) on a GPU, float32 and float64 (kernels/cuda/unary.cu; in a
// CPU-only build device.cpp defines them to throw). Called by ops/unary.cpp for tensors on a GPU.
#pragma once
#include <cstdint>

#include "fastnn/ops/unary_table.h"

namespace fastnn::cuda {

enum class UnaryOp : int {
#define FASTNN_UNARY_ENUM(NAME, ...) NAME,
  FASTNN_UNARY_OPS(FASTNN_UNARY_ENUM)
#undef FASTNN_UNARY_ENUM
};

// y[i] = op(x's element i in row-major order of the layout (shape, strides)); y is contiguous. On GPU `index`.
void unary_forward(UnaryOp op, bool is_double, const void* x, const int64_t* shape, const int64_t* strides, int ndim,
                   int64_t n, void* y, int index);
// out[i] = op's derivative rule at (g[i], v[i]), v the saved input or output (all contiguous).
void unary_backward(UnaryOp op, bool is_double, const void* g, const void* v, void* out, int64_t n, int index);

}  // namespace fastnn::cuda
