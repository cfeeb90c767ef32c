// Elementwise arithmetic (float32, float64 and the integer dtypes) and comparisons on a GPU, with broadcasting
// (kernels/cuda/binary.cu; in a CPU-only build device.cpp defines it to throw). Called by ops/binary.cpp when an
// operand is on a GPU.
#pragma once
#include <cstddef>
#include <cstdint>

#include "fastnn/dtype.h"

namespace fastnn::cuda {

// Add/Sub: a + alpha * b, a - alpha * b; Max/Min: torch.maximum/minimum (a NaN on either side wins); the rest as
// ops/binary_rules.h computes them (Atan2 floating only; integer divisors checked non-zero by the caller); Bit*:
// & | ^ of integers.
enum class BinaryOp : int {
  Add,
  Sub,
  Mul,
  Div,
  Max,
  Min,
  Pow,
  FloorDivide,
  Fmod,
  Remainder,
  TruncDiv,
  Atan2,
  BitAnd,
  BitOr,
  BitXor
};

// out[i] = op(a, b) at output element i (row-major over `shape`, out contiguous); a_strides and b_strides are the
// operands' strides broadcast to `shape` (0 along broadcast dims); a, b and out of `dtype` (not bool or 16-bit; Div
// floating only). On GPU `index`.
void binary_forward(BinaryOp op, DType dtype, const void* a, const int64_t* a_strides, const void* b,
                    const int64_t* b_strides, const int64_t* shape, int ndim, double alpha, int64_t n, void* out,
                    int index);

enum class CompareKind : int { Eq, Ne, Lt, Le, Gt, Ge };  // ops.h's CompareOp order

// out[i] = (a op b) at output element i, as binary_forward lays them out; a and b of dtype `dt` (float32, float64
// or int64), out bool.
void compare_forward(CompareKind op, DType dt, const void* a, const int64_t* a_strides, const void* b,
                     const int64_t* b_strides, const int64_t* shape, int ndim, int64_t n, bool* out, int index);

// out[i] = cond ? a : b at output element i (cond bool; a, b and out elements of `itemsize` bytes), each operand
// through its broadcast strides: where and masked_fill.
void select_forward(const bool* cond, const int64_t* cond_strides, const void* a, const int64_t* a_strides,
                    const void* b, const int64_t* b_strides, const int64_t* shape, int ndim, int64_t n, size_t itemsize,
                    void* out, int index);

}  // namespace fastnn::cuda
