// Matrix products on a GPU, float32 and float64 (kernels/cuda/gemm.cu; in a CPU-only build device.cpp defines them
// to throw). Deterministic: each output element sums its products in k order, whatever the shapes around it.
#pragma once
#include <cstdint>

namespace fastnn::cuda {

// A strided operand of a batched product: element (b, i, j) at data + b * batch + i * rows + j * cols.
struct MatrixRef {
  const void* data;
  int64_t batch, rows, cols;
};

// For b < batch: C[b] (M x N, row-major, row stride ldc, C[b] at c + b * c_batch) = A[b] (M x K) @ B[b] (K x N),
// or += when `accumulate`. Transposed operands are strides (nothing is copied). On GPU `index`.
void gemm(bool is_double, int64_t batch, int64_t M, int64_t N, int64_t K, MatrixRef a, MatrixRef b, void* c,
          int64_t c_batch, int64_t ldc, bool accumulate, int index);

}  // namespace fastnn::cuda
