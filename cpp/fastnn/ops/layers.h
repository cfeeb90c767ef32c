// Layer ops beyond the core: 1-D and transposed convolution, adaptive max pooling, padding,
// interpolation, pixel shuffle and fold/unfold. Arguments as torch's (already expanded by Python).
#pragma once
#include <optional>
#include <string>

#include "fastnn/ops/ops.h"

namespace fastnn {

// 1-D convolution of (N, C, L) or (C, L) input with (O, C/groups, k) weight (ConvolutionBackward0).
TensorPtr conv1d(const TensorPtr& input, const TensorPtr& weight, const TensorPtr& bias, IntList stride,
                 IntList padding, IntList dilation, int64_t groups);
// Transposed convolution (the adjoint of conv in the input) over 1 or 2 spatial dims; weight is
// (C_in, C_out/groups, k...). ConvolutionBackward0.
TensorPtr conv_transpose1d(const TensorPtr& input, const TensorPtr& weight, const TensorPtr& bias, IntList stride,
                           IntList padding, IntList output_padding, int64_t groups, IntList dilation);
TensorPtr conv_transpose2d(const TensorPtr& input, const TensorPtr& weight, const TensorPtr& bias, IntList stride,
                           IntList padding, IntList output_padding, int64_t groups, IntList dilation);

// Adaptive max pooling over (N, C, H, W) or (C, H, W): (output, int64 indices h*W+w). AdaptiveMaxPool2DBackward0.
std::pair<TensorPtr, TensorPtr> adaptive_max_pool2d(const TensorPtr& input, IntList output_size);

// F.pad's constant mode: pads[2i], pads[2i+1] pad the last dims from the last backwards; negative pads crop.
TensorPtr constant_pad_nd(const TensorPtr& input, IntList pad, double value);
// F.pad's reflect / replicate / circular modes over the last pad.size()/2 (1, 2 or 3) dims.
TensorPtr reflection_pad(const TensorPtr& input, IntList pad);
TensorPtr replication_pad(const TensorPtr& input, IntList pad);
TensorPtr circular_pad(const TensorPtr& input, IntList pad);

// Resampling of the last 1 or 2 dims to `size` with mode "nearest", "nearest-exact", "linear",
// "bilinear" or "bicubic"; `scales` (one per dim, or empty) are torch's scale factors passed down
// (then the source coordinate uses 1/scale rather than in/out).
TensorPtr upsample(const TensorPtr& input, IntList size, const std::vector<double>& scales, const std::string& mode,
                   bool align_corners);

// (*, C*r*r, H, W) -> (*, C, H*r, W*r) and its inverse.
TensorPtr pixel_shuffle(const TensorPtr& input, int64_t upscale_factor);
TensorPtr pixel_unshuffle(const TensorPtr& input, int64_t downscale_factor);

// F.unfold: (N, C, H, W) or (C, H, W) -> (N, C*kH*kW, L); F.fold its adjoint (sums overlaps).
TensorPtr unfold_im2col(const TensorPtr& input, IntList kernel_size, IntList dilation, IntList padding, IntList stride);
TensorPtr fold_col2im(const TensorPtr& input, IntList output_size, IntList kernel_size, IntList dilation,
                      IntList padding, IntList stride);

}  // namespace fastnn
