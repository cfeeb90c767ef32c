// Vectorised float32 forms of the transcendental activations: the unary table's exp, log, log1p, erf, sin, cos,
// sigmoid, tanh, silu, log_sigmoid and mish (and its sqrt, rsqrt, reciprocal, hardswish, hardsigmoid and roundings,
// with the table's exact arithmetic: one instruction per vector, the roundings from SSE4.1 on, libm's below),
// the activations with parameters (GELU, softplus, the elu family) and softplus(-x) for the losses; forward and, where
// the gradient reads the input, backward. Compiled per instruction set and chosen at run time. Every lane and the
// scalar tail compute the same arithmetic (vec_math.h), so an element's value depends only on its input and the
// instruction set. float64 keeps the scalar rules (for gradchecks, not speed).
#pragma once
#include <cstdint>
#include <string_view>

namespace fastnn::kernels {

enum class VecUnary {
  None,
  Exp,
  Log,
  Log1p,
  Erf,
  Sin,
  Cos,
  Sigmoid,
  Tanh,
  Silu,
  LogSigmoid,
  Mish,
  Sqrt,
  Rsqrt,
  Reciprocal,
  Hardswish,
  Hardsigmoid,
  Floor,
  Ceil,
  Trunc,
  Round,
  Relu
};

// The vectorised form of the unary table's op `name`, or None.
constexpr VecUnary vec_unary_of(std::string_view name) {
  return name == "exp"           ? VecUnary::Exp
         : name == "log"         ? VecUnary::Log
         : name == "log1p"       ? VecUnary::Log1p
         : name == "erf"         ? VecUnary::Erf
         : name == "sin"         ? VecUnary::Sin
         : name == "cos"         ? VecUnary::Cos
         : name == "sigmoid"     ? VecUnary::Sigmoid
         : name == "tanh"        ? VecUnary::Tanh
         : name == "silu"        ? VecUnary::Silu
         : name == "log_sigmoid" ? VecUnary::LogSigmoid
         : name == "mish"        ? VecUnary::Mish
         : name == "sqrt"        ? VecUnary::Sqrt
         : name == "rsqrt"       ? VecUnary::Rsqrt
         : name == "reciprocal"  ? VecUnary::Reciprocal
         : name == "hardswish"   ? VecUnary::Hardswish
         : name == "hardsigmoid" ? VecUnary::Hardsigmoid
         : name == "floor"       ? VecUnary::Floor
         : name == "ceil"        ? VecUnary::Ceil
         : name == "trunc"       ? VecUnary::Trunc
         : name == "round"       ? VecUnary::Round  // halves to even
         : name == "relu"        ? VecUnary::Relu
                                 : VecUnary::None;
}

// Whether vec_unary_backward has `op`: the ops whose gradient reads the input, and relu (its gradient reads the
// output, as the unary table's row does: v <= 0 ? 0 : g); the others' reads their output and is a product or two.
constexpr bool has_vec_unary_backward(VecUnary op) {
  return op == VecUnary::Erf || op == VecUnary::Sin || op == VecUnary::Cos || op == VecUnary::Silu ||
         op == VecUnary::LogSigmoid || op == VecUnary::Mish || op == VecUnary::Relu;
}

// y[i] = op(x[i]) for i in [0, n), on this thread (the caller splits the work). y may be x.
void vec_unary(VecUnary op, int64_t n, const float* x, float* y);
// dx[i] = g[i] * op'(x[i]) for an op with has_vec_unary_backward; on this thread. dx may alias g or x.
void vec_unary_backward(VecUnary op, int64_t n, const float* g, const float* x, float* dx);

// The activations with parameters that have vectorised float32 forms:
// - GeluErf: 0.5 x erfc(-x / sqrt 2) (a few ulps for |x| <= 2, then relative error about 2e-7 x^2, so the negative
//   tail keeps its precision where 1 + erf cancels); GeluTanh: torch's tanh approximation.
// - Softplus: x where beta x > threshold, else log1p(exp(beta x)) / beta (gradient: sigmoid(beta x)).
// - Elu (elu, selu, celu as torch's elu(x, alpha, scale, input_scale)): x <= 0 ? expm1(x input_scale) neg_coef
//   : x pos_coef, with neg_coef = alpha scale and pos_coef = scale, in float as torch's.
enum class VecActivation { GeluErf, GeluTanh, Softplus, Elu };
struct VecActivationArgs {
  float beta = 1, threshold = 20;                     // Softplus
  float neg_coef = 1, pos_coef = 1, input_scale = 1;  // Elu
};

// y = op(x), or dx = g * op'(x), over float32, on this thread; y/dx may alias the inputs.
void activation_forward(VecActivation op, const VecActivationArgs& args, int64_t n, const float* x, float* y);
void activation_backward(VecActivation op, const VecActivationArgs& args, int64_t n, const float* g, const float* x,
                         float* dx);

// y = softplus(-x) = log1p(exp(-|x|)) + max(-x, 0) over float32 (binary cross entropy with logits), within a few
// ulps; NaN stays NaN. On this thread; y may be x.
void softplus_neg(int64_t n, const float* x, float* y);

}  // namespace fastnn::kernels
