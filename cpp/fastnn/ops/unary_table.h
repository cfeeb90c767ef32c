// The elementwise unary ops, one row each:
//   X(name, torch node name, dtypes, what backward saves, forward f(x), backward f(g, v))
// dtypes: FLOAT (integers are promoted to float32) or NUMERIC (float and int64).
// saves: INPUT (v = x), OUTPUT (v = y, the result) or NOTHING. Adding an op is one row here
// plus its declaration in ops.h and a row in the tests.
#pragma once

#define FASTNN_UNARY_OPS(X)                                                                        \
  X(neg, NegBackward0, NUMERIC, NOTHING, wrapping_neg(x), -g)                                      \
  X(exp, ExpBackward0, FLOAT, OUTPUT, std::exp(x), g * v)                                          \
  X(log, LogBackward0, FLOAT, INPUT, std::log(x), g / v)                                           \
  X(sqrt, SqrtBackward0, FLOAT, OUTPUT, std::sqrt(x), g / (2 * v))                                 \
  X(abs, AbsBackward0, NUMERIC, INPUT, wrapping_abs(x), v > 0 ? g : v < 0 ? -g : scalar_t(0))      \
  X(relu, ReluBackward0, NUMERIC, OUTPUT, x < 0 ? scalar_t(0) : x, v <= 0 ? scalar_t(0) : g)    \
  X(sigmoid, SigmoidBackward0, FLOAT, OUTPUT, 1 / (1 + std::exp(-x)), g * v * (1 - v))             \
  X(tanh, TanhBackward0, FLOAT, OUTPUT, std::tanh(x), g * (1 - v * v))                            \
  X(reciprocal, ReciprocalBackward0, FLOAT, OUTPUT, 1 / x, -g * (v * v))
