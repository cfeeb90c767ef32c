// Activations with hyperparameters, along a dim or with a learnable weight (activation.cpp). Names,
// formulas, subgradients at the kinks and backward node names follow torch.
#pragma once
#include "fastnn/ops/ops.h"

namespace fastnn {

// x > 0 ? x : alpha (exp(x) - 1) (EluBackward0).
TensorPtr elu(const TensorPtr& x, double alpha);
// elu with torch's fixed alpha and scale (EluBackward0, as torch records it).
TensorPtr selu(const TensorPtr& x);
// max(0, x) + min(0, alpha (exp(x / alpha) - 1)) (CeluBackward0).
TensorPtr celu(const TensorPtr& x, double alpha);
// x clamped to [min_val, max_val]; the gradient is 0 at and beyond the bounds (HardtanhBackward0).
TensorPtr hardtanh(const TensorPtr& x, double min_val, double max_val);
// 0 for -lambd <= x <= lambd, else x (HardshrinkBackward0).
TensorPtr hardshrink(const TensorPtr& x, double lambd);
// x - lambd above lambd, x + lambd below -lambd, else 0 (SoftshrinkBackward0).
TensorPtr softshrink(const TensorPtr& x, double lambd);
// x <= threshold ? value : x (ThresholdBackward0).
TensorPtr threshold(const TensorPtr& x, double threshold, double value);
// max(x, min) for a floating x, as torch's clamp_min (ClampMinBackward0: the gradient passes where x >= min).
TensorPtr clamp_min(const TensorPtr& x, double min);
// a * sigmoid(b) for the two halves a, b of x along dim (GluBackward0).
TensorPtr glu(const TensorPtr& x, int64_t dim);
// x > 0 ? x : weight * x, weight (1 value, or C along dim 1 of an x of 2+ dims) (PreluKernelBackward0).
TensorPtr prelu(const TensorPtr& x, const TensorPtr& weight);

// In-place forms: self overwritten, taking over the op's node (elu_, selu_ and celu_ record torch's in-place
// names EluBackward1 / CeluBackward1, threshold_ ThresholdBackward1; the others their out-of-place names).
void elu_(TensorPtr& x, double alpha);
void selu_(TensorPtr& x);
void celu_(TensorPtr& x, double alpha);
void hardtanh_(TensorPtr& x, double min_val, double max_val);
void threshold_(TensorPtr& x, double threshold, double value);

}  // namespace fastnn
