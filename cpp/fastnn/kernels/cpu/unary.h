// Vectorised float32 forms of the unary table's transcendental ops (exp, sigmoid, tanh, silu) and GELU, compiled per
// instruction set and chosen at run time. Every lane and the scalar tail compute the same arithmetic
// (vec_math.h), so an element's value depends only on its input and the instruction set.
#pragma once
#include <cstdint>
#include <string_view>

namespace fastnn::kernels {

enum class VecUnary { None, Exp, Sigmoid, Tanh, Silu };

// The vectorised form of the unary table's op `name`, or None.
constexpr VecUnary vec_unary_of(std::string_view name) {
  return name == "exp"       ? VecUnary::Exp
         : name == "sigmoid" ? VecUnary::Sigmoid
         : name == "tanh"    ? VecUnary::Tanh
         : name == "silu"    ? VecUnary::Silu
                             : VecUnary::None;
}

// y[i] = op(x[i]) for i in [0, n), on this thread (the caller splits the work). y may be x.
void vec_unary(VecUnary op, int64_t n, const float* x, float* y);

// GELU over float32, exact (0.5 x erfc(-x / sqrt 2): a few ulps for |x| <= 2, then relative error about 2e-7 x^2,
// so the negative tail keeps its precision where 1 + erf cancels) or torch's tanh approximation, and its gradient dx =
// g * gelu'(x); on this thread. y/dx may alias x.
void gelu_forward(bool tanh, int64_t n, const float* x, float* y);
void gelu_backward(bool tanh, int64_t n, const float* g, const float* x, float* dx);

// y = softplus(-x) = log1p(exp(-|x|)) + max(-x, 0) over float32 (binary cross entropy with logits), within a few
// ulps; NaN stays NaN. On this thread; y may be x.
void softplus_neg(int64_t n, const float* x, float* y);

}  // namespace fastnn::kernels
