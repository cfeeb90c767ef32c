// Losses with their own kernel and backward node in torch (loss.cpp, loss_margin.cpp); the composite ones are composed
// in fastnn.nn.functional as torch composes them.
#pragma once
#include "fastnn/ops/ops.h"

namespace fastnn {

// 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), d = input - target (HuberLossBackward0).
TensorPtr huber_loss(const TensorPtr& input, const TensorPtr& target, Reduction reduction, double delta);
// log(1 + exp(-target * input)); the target is not differentiable (SoftMarginLossBackward0).
TensorPtr soft_margin_loss(const TensorPtr& input, const TensorPtr& target, Reduction reduction);
// Per row: sum over classes j != y of max(0, margin - x[y] + x[j])^p (times weight[y]) / C, p 1 or 2
// (MultiMarginLossBackward0). input (C) or (N, C), target () / (1) or (N) int64.
TensorPtr multi_margin_loss(const TensorPtr& input, const TensorPtr& target, int64_t p, double margin,
                            const TensorPtr& weight, Reduction reduction);
// Per row: sum over its targets y (target's entries before the first -1) and non-targets k of
// max(0, 1 - (x[y] - x[k])) / C (MultilabelMarginLossBackward0). target has the input's shape.
TensorPtr multilabel_margin_loss(const TensorPtr& input, const TensorPtr& target, Reduction reduction);

}  // namespace fastnn
