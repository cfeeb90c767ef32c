// a + alpha * b, a - alpha * b, a * b, a / b, the binary_rules.h ops and the comparisons on a GPU, with broadcasting:
// one grid-stride kernel per op and dtype; each output element reads its operands through their broadcast layouts.
// Integers wrap, as the CPU's wrapping_add/wrapping_mul: the arithmetic is done in uint64 and truncated.
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "fastnn/kernels/cuda/binary.h"
#include "fastnn/kernels/cuda/layout.cuh"
#include "fastnn/ops/binary_rules.h"

namespace fastnn::cuda {
namespace {

template <BinaryOp kOp, class T>
__device__ T apply(T x, T y, T alpha) {
  if constexpr (kOp == BinaryOp::Pow) return rules::pow_of(x, y);
  else if constexpr (kOp == BinaryOp::FloorDivide) return rules::floor_div(x, y);
  else if constexpr (kOp == BinaryOp::Fmod) return rules::fmod_of(x, y);
  else if constexpr (kOp == BinaryOp::Remainder) return rules::remainder_of(x, y);
  else if constexpr (kOp == BinaryOp::TruncDiv) return rules::trunc_div(x, y);
  else if constexpr (kOp == BinaryOp::Atan2) return rules::atan2_of(x, y);
  else if constexpr (kOp == BinaryOp::BitAnd || kOp == BinaryOp::BitOr || kOp == BinaryOp::BitXor) {
    if constexpr (std::is_integral_v<T>)
      return kOp == BinaryOp::BitAnd ? T(x & y) : kOp == BinaryOp::BitOr ? T(x | y) : T(x ^ y);
    else return T(0);  // (refused on the host)
  } else if constexpr (kOp == BinaryOp::Max || kOp == BinaryOp::Min) {
    if constexpr (!std::is_integral_v<T>) {
      if (x != x) return x;
      if (y != y) return y;
    }
    return (kOp == BinaryOp::Max ? x > y : x < y) ? x : y;
  } else if constexpr (std::is_integral_v<T>) {
    const uint64_t a = uint64_t(x), b = uint64_t(y), k = uint64_t(alpha);
    if constexpr (kOp == BinaryOp::Add) return T(a + k * b);
    else if constexpr (kOp == BinaryOp::Sub) return T(a - k * b);
    else return T(a * b);  // (integer division is refused on the host)
  } else if constexpr (kOp == BinaryOp::Add) return x + alpha * y;
  else if constexpr (kOp == BinaryOp::Sub) return x - alpha * y;
  else if constexpr (kOp == BinaryOp::Mul) return x * y;
  else return x / y;
}

template <BinaryOp kOp, class T>
__global__ void binary_kernel(const T* a, Layout la, const T* b, Layout lb, T alpha, int64_t n, T* out) {
  FASTNN_GRID_LOOP(i, n) out[i] = apply<kOp, T>(a[offset_of(la, i)], b[offset_of(lb, i)], alpha);
}

template <BinaryOp kOp, class T>
void launch(const void* a, const Layout& la, const void* b, const Layout& lb, double alpha, int64_t n, void* out) {
  FASTNN_LAUNCH(blocks_for(n), kThreads, binary_kernel<kOp, T>)(static_cast<const T*>(a), la, static_cast<const T*>(b),
                                                                lb, T(alpha), n, static_cast<T*>(out));
}

template <class T>
void launch_op(BinaryOp op, const void* a, const Layout& la, const void* b, const Layout& lb, double alpha, int64_t n,
               void* out) {
  switch (op) {
    case BinaryOp::Add: return launch<BinaryOp::Add, T>(a, la, b, lb, alpha, n, out);
    case BinaryOp::Sub: return launch<BinaryOp::Sub, T>(a, la, b, lb, alpha, n, out);
    case BinaryOp::Mul: return launch<BinaryOp::Mul, T>(a, la, b, lb, alpha, n, out);
    case BinaryOp::Div: return launch<BinaryOp::Div, T>(a, la, b, lb, alpha, n, out);
    case BinaryOp::Max: return launch<BinaryOp::Max, T>(a, la, b, lb, alpha, n, out);
    case BinaryOp::Min: return launch<BinaryOp::Min, T>(a, la, b, lb, alpha, n, out);
    case BinaryOp::Pow: return launch<BinaryOp::Pow, T>(a, la, b, lb, alpha, n, out);
    case BinaryOp::FloorDivide: return launch<BinaryOp::FloorDivide, T>(a, la, b, lb, alpha, n, out);
    case BinaryOp::Fmod: return launch<BinaryOp::Fmod, T>(a, la, b, lb, alpha, n, out);
    case BinaryOp::Remainder: return launch<BinaryOp::Remainder, T>(a, la, b, lb, alpha, n, out);
    case BinaryOp::TruncDiv: return launch<BinaryOp::TruncDiv, T>(a, la, b, lb, alpha, n, out);
    case BinaryOp::Atan2: return launch<BinaryOp::Atan2, T>(a, la, b, lb, alpha, n, out);
    case BinaryOp::BitAnd: return launch<BinaryOp::BitAnd, T>(a, la, b, lb, alpha, n, out);
    case BinaryOp::BitOr: return launch<BinaryOp::BitOr, T>(a, la, b, lb, alpha, n, out);
    case BinaryOp::BitXor: return launch<BinaryOp::BitXor, T>(a, la, b, lb, alpha, n, out);
  }
}

template <class T>
__global__ void compare_kernel(CompareKind op, const T* a, Layout la, const T* b, Layout lb, int64_t n, bool* out) {
  FASTNN_GRID_LOOP(i, n) {
    const T x = a[offset_of(la, i)], y = b[offset_of(lb, i)];
    switch (op) {
      case CompareKind::Eq: out[i] = x == y; break;
      case CompareKind::Ne: out[i] = x != y; break;
      case CompareKind::Lt: out[i] = x < y; break;
      case CompareKind::Le: out[i] = x <= y; break;
      case CompareKind::Gt: out[i] = x > y; break;
      case CompareKind::Ge: out[i] = x >= y; break;
    }
  }
}

template <class T>
void launch_compare(CompareKind op, const void* a, const Layout& la, const void* b, const Layout& lb, int64_t n,
                    bool* out) {
  FASTNN_LAUNCH(blocks_for(n), kThreads, compare_kernel<T>)(op, static_cast<const T*>(a), la, static_cast<const T*>(b),
                                                            lb, n, out);
}

template <class Word>
__global__ void select_kernel(const bool* cond, Layout lc, const Word* a, Layout la, const Word* b, Layout lb,
                              int64_t n, Word* out) {
  FASTNN_GRID_LOOP(i, n) out[i] = cond[offset_of(lc, i)] ? a[offset_of(la, i)] : b[offset_of(lb, i)];
}

}  // namespace

void select_forward(const bool* cond, const int64_t* cond_strides, const void* a, const int64_t* a_strides,
                    const void* b, const int64_t* b_strides, const int64_t* shape, int ndim, int64_t n, size_t itemsize,
                    void* out, int index) {
  if (n == 0) return;
  const Layout lc = make_layout(shape, cond_strides, ndim, "where"), la = make_layout(shape, a_strides, ndim, "where"),
               lb = make_layout(shape, b_strides, ndim, "where");
  use_device(index, "where");
  with_word(itemsize, "where", [&](auto word) {
    using Word = decltype(word);
    FASTNN_LAUNCH(blocks_for(n), kThreads, select_kernel<Word>)
    (cond, lc, static_cast<const Word*>(a), la, static_cast<const Word*>(b), lb, n, static_cast<Word*>(out));
  });
  check_launch("where");
}

void compare_forward(CompareKind op, DType dt, const void* a, const int64_t* a_strides, const void* b,
                     const int64_t* b_strides, const int64_t* shape, int ndim, int64_t n, bool* out, int index) {
  if (n == 0) return;
  const Layout la = make_layout(shape, a_strides, ndim, "compare"), lb = make_layout(shape, b_strides, ndim, "compare");
  use_device(index, "compare");
  if (dt == DType::Float64) launch_compare<double>(op, a, la, b, lb, n, out);
  else if (dt == DType::Float32) launch_compare<float>(op, a, la, b, lb, n, out);
  else launch_compare<int64_t>(op, a, la, b, lb, n, out);
  check_launch("compare");
}

void binary_forward(BinaryOp op, DType dtype, const void* a, const int64_t* a_strides, const void* b,
                    const int64_t* b_strides, const int64_t* shape, int ndim, double alpha, int64_t n, void* out,
                    int index) {
  if (n == 0) return;
  const Layout la = make_layout(shape, a_strides, ndim, "binary"), lb = make_layout(shape, b_strides, ndim, "binary");
  use_device(index, "binary");
  switch (dtype) {
    case DType::Float64: launch_op<double>(op, a, la, b, lb, alpha, n, out); break;
    case DType::Float32: launch_op<float>(op, a, la, b, lb, alpha, n, out); break;
    case DType::Int64: launch_op<int64_t>(op, a, la, b, lb, alpha, n, out); break;
    case DType::Int32: launch_op<int32_t>(op, a, la, b, lb, alpha, n, out); break;
    case DType::Int16: launch_op<int16_t>(op, a, la, b, lb, alpha, n, out); break;
    case DType::Int8: launch_op<int8_t>(op, a, la, b, lb, alpha, n, out); break;
    case DType::UInt8: launch_op<uint8_t>(op, a, la, b, lb, alpha, n, out); break;
    default: throw std::invalid_argument(str("[binary] CUDA arithmetic on ", dtype_name(dtype)));
  }
  check_launch("binary");
}

}  // namespace fastnn::cuda
