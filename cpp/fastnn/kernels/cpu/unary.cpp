#include "fastnn/kernels/cpu/unary.h"

#include <cstring>

#include "fastnn/kernels/cpu/simd.h"
#include "fastnn/kernels/cpu/vec_math.h"

namespace fastnn::kernels {
namespace {

template <VecUnary Op, class V>
FASTNN_INLINE V apply(V x) {
  if constexpr (Op == VecUnary::Exp) return exp_of(x);
  else if constexpr (Op == VecUnary::Sigmoid) return sigmoid_of(x);
  else if constexpr (Op == VecUnary::Tanh) return tanh_of(x);
  else return x / (1.0f + exp_of(V{} - x));  // silu, in torch's form
}

// L lanes at a time, then one.
template <VecUnary Op, int L>
FASTNN_INLINE void run(int64_t n, const float* x, float* y) {
  using V = Vec<float, L>;
  using V1 = Vec<float, 1>;
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    V v;
    std::memcpy(&v, x + i, sizeof v);
    v = apply<Op>(v);
    std::memcpy(y + i, &v, sizeof v);
  }
  for (; i < n; ++i) y[i] = apply<Op>(V1{x[i]})[0];
}

template <int L>
FASTNN_INLINE void dispatch(VecUnary op, int64_t n, const float* x, float* y) {
  switch (op) {
    case VecUnary::Exp: return run<VecUnary::Exp, L>(n, x, y);
    case VecUnary::Sigmoid: return run<VecUnary::Sigmoid, L>(n, x, y);
    case VecUnary::Tanh: return run<VecUnary::Tanh, L>(n, x, y);
    case VecUnary::Silu: return run<VecUnary::Silu, L>(n, x, y);
    case VecUnary::None: break;
  }
}

void vec_unary_generic(VecUnary op, int64_t n, const float* x, float* y) { dispatch<4>(op, n, x, y); }
#ifdef FASTNN_X86
FASTNN_TARGET_AVX2 void vec_unary_avx2(VecUnary op, int64_t n, const float* x, float* y) { dispatch<8>(op, n, x, y); }
FASTNN_TARGET_AVX512 void vec_unary_avx512(VecUnary op, int64_t n, const float* x, float* y) {
  dispatch<16>(op, n, x, y);
}
#endif

}  // namespace

void vec_unary(VecUnary op, int64_t n, const float* x, float* y) {
#ifdef FASTNN_X86
  switch (kernel_isa()) {
    case Isa::Avx512: return vec_unary_avx512(op, n, x, y);
    case Isa::Avx2: return vec_unary_avx2(op, n, x, y);
    default: break;
  }
#endif
  vec_unary_generic(op, n, x, y);
}

}  // namespace fastnn::kernels
