// Normalisation ops beyond batch_norm (declared in ops.h): layer, RMS, group and instance norm,
// fused kernels with one backward node each.
#pragma once
#include <optional>

#include "fastnn/tensor.h"

namespace fastnn {

// torch.nn.functional.layer_norm: normalises over the trailing dims `normalized_shape` (weight and
// bias, optional, have that shape). Node: NativeLayerNormBackward0.
TensorPtr layer_norm(const TensorPtr& input, const Shape& normalized_shape, const TensorPtr& weight,
                     const TensorPtr& bias, double eps);
// torch.nn.functional.rms_norm: x / sqrt(mean(x^2) + eps) * weight over the trailing dims; no eps means
// the dtype's machine epsilon. Node: FusedRmsNormBackward0.
TensorPtr rms_norm(const TensorPtr& input, const Shape& normalized_shape, const TensorPtr& weight,
                   std::optional<double> eps);
// torch.nn.functional.group_norm over (N, C, *) in num_groups groups of channels. Node: NativeGroupNormBackward0.
TensorPtr group_norm(const TensorPtr& input, int64_t num_groups, const TensorPtr& weight, const TensorPtr& bias,
                     double eps);
// torch.instance_norm over (N, C, *): each (sample, channel) normalised with its own statistics
// (use_input_stats; updating the running statistics when given) or with the running ones.
TensorPtr instance_norm(const TensorPtr& input, const TensorPtr& weight, const TensorPtr& bias,
                        const TensorPtr& running_mean, const TensorPtr& running_var, bool use_input_stats,
                        double momentum, double eps);

}  // namespace fastnn
