// The elementwise unary ops, one row each:
//   X(name, torch node name, dtypes, what backward saves, forward f(x), backward f(g, v))
// dtypes: FLOAT (integers and bools are promoted to float32), NUMERIC (float and int64; bools refused) or
// ALL (NUMERIC, and bools pass through unchanged: sign).
// saves: INPUT (v = x), OUTPUT (v = y, the result) or NOTHING. Adding an op is one row here
// (ops.h declares it from the table) and a row in the tests.
// float32 runs SIMD kernels instead (kernels/cpu/unary.h; float64 uses these) for exp, log, log1p, erf, sin, cos,
// sigmoid, tanh, silu, log_sigmoid and mish (within a few ulps of these forms; erf, sin, cos, silu, log_sigmoid and
// mish backward too), and sqrt, rsqrt, reciprocal, hardswish, hardsigmoid, floor, ceil, trunc, round, relu (these
// bits; relu backward too).
#pragma once

#define FASTNN_UNARY_OPS(X)                                                                                        \
  X(neg, NegBackward0, NUMERIC, NOTHING, wrapping_neg(x), -g)                                                      \
  X(exp, ExpBackward0, FLOAT, OUTPUT, std::exp(x), g* v)                                                           \
  X(log, LogBackward0, FLOAT, INPUT, std::log(x), g / v)                                                           \
  X(sqrt, SqrtBackward0, FLOAT, OUTPUT, std::sqrt(x), g / (2 * v))                                                 \
  X(abs, AbsBackward0, NUMERIC, INPUT, wrapping_abs(x), v > 0 ? g : v < 0 ? -g : scalar_t(0))                      \
  X(relu, ReluBackward0, NUMERIC, OUTPUT, x < 0 ? scalar_t(0) : x, v <= 0 ? scalar_t(0) : g)                       \
  X(sigmoid, SigmoidBackward0, FLOAT, OUTPUT, 1 / (1 + std::exp(-x)), g * v * (1 - v))                             \
  X(tanh, TanhBackward0, FLOAT, OUTPUT, std::tanh(x), g * (1 - v * v))                                             \
  X(reciprocal, ReciprocalBackward0, FLOAT, OUTPUT, 1 / x, -g * (v * v))                                           \
  X(sign, SignBackward0, ALL, NOTHING, scalar_t((0 < x) - (x < 0)), scalar_t(0))                                   \
  X(floor, FloorBackward0, NUMERIC, NOTHING, floor_of(x), scalar_t(0))                                             \
  X(ceil, CeilBackward0, NUMERIC, NOTHING, ceil_of(x), scalar_t(0))                                                \
  X(round, RoundBackward0, NUMERIC, NOTHING, round_half_even(x), scalar_t(0))                                      \
  X(trunc, TruncBackward0, NUMERIC, NOTHING, trunc_of(x), scalar_t(0))                                             \
  X(sin, SinBackward0, FLOAT, INPUT, std::sin(x), g* std::cos(v))                                                  \
  X(cos, CosBackward0, FLOAT, INPUT, std::cos(x), g * -std::sin(v))                                                \
  X(tan, TanBackward0, FLOAT, OUTPUT, std::tan(x), g * (1 + v * v))                                                \
  X(log1p, Log1PBackward0, FLOAT, INPUT, std::log1p(x), g / (v + 1))                                               \
  X(expm1, Expm1Backward0, FLOAT, OUTPUT, std::expm1(x), g*(v + 1))                                                \
  X(erf, ErfBackward0, FLOAT, INPUT, std::erf(x), scalar_t(M_2_SQRTPI) * std::exp(-(v * v)) * g)                   \
  X(log2, Log2Backward0, FLOAT, INPUT, std::log2(x), g / (v * scalar_t(M_LN2)))                                    \
  X(log10, Log10Backward0, FLOAT, INPUT, std::log10(x), g / (v * scalar_t(M_LN10)))                                \
  X(rsqrt, RsqrtBackward0, FLOAT, OUTPUT, 1 / std::sqrt(x), scalar_t(-0.5) * g * (v * v * v))                      \
  X(exp2, Exp2Backward0, FLOAT, OUTPUT, std::exp2(x), g * v * scalar_t(M_LN2))                                     \
  X(silu, SiluBackward0, FLOAT, INPUT, x / (1 + std::exp(-x)),                                                     \
    g / (1 + std::exp(-v)) * (1 + v * (1 - 1 / (1 + std::exp(-v)))))                                               \
  X(log_sigmoid, LogSigmoidBackward0, FLOAT, INPUT, std::min(x, scalar_t(0)) - std::log1p(std::exp(-std::abs(x))), \
    g / (1 + std::exp(v)))                                                                                         \
  X(mish, MishBackward0, FLOAT, INPUT, x* std::tanh(std::log1p(std::exp(x))),                                      \
    g*(std::tanh(std::log1p(std::exp(v))) +                                                                        \
       v / (1 + std::exp(-v)) * (1 - std::tanh(std::log1p(std::exp(v))) * std::tanh(std::log1p(std::exp(v))))))    \
  X(hardswish, HardswishBackward0, FLOAT, INPUT,                                                                   \
    x* std::min(std::max(x + scalar_t(3), scalar_t(0)), scalar_t(6)) / scalar_t(6),                                \
    v <= -3 ? scalar_t(0)                                                                                          \
    : v < 3 ? g * (v / scalar_t(3) + scalar_t(0.5))                                                                \
            : g)                                                                                                   \
  X(hardsigmoid, HardsigmoidBackward0, FLOAT, INPUT,                                                               \
    std::min(std::max(x + scalar_t(3), scalar_t(0)), scalar_t(6)) / scalar_t(6),                                   \
    v > -3 && v < 3 ? g * scalar_t(1.0f / 6.0f) : scalar_t(0)) /* torch's float constant */
