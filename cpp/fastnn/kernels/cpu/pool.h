// 2-D max and average pooling on raw pointers over contiguous (H, W) planes, with PyTorch's
// semantics (window placement, tie and NaN rules, divisors), bit for bit.
#pragma once
#include <cstdint>

namespace fastnn::kernels {

// Max pooling over `planes` contiguous (H,W) planes; indices[p, oh, ow] = h*W+w of the chosen input
// (the first maximum in scan order; NaN wins, as in PyTorch), -inf padding never chosen.
template <class T> void max_pool2d_forward(const T* in, int64_t planes, int64_t H, int64_t W, int64_t outH,
                                           int64_t outW, int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t pH,
                                           int64_t pW, int64_t dH, int64_t dW, T* out, int64_t* indices);

// grad_in (planes,H,W) is overwritten: zero, then grad_out scattered through indices.
template <class T> void max_pool2d_backward(const T* grad_out, const int64_t* indices, int64_t planes, int64_t H,
                                            int64_t W, int64_t outH, int64_t outW, T* grad_in);

// Average pooling with PyTorch's avg_pool2d semantics (ceil_mode windows that start in the padding
// are handled by the caller's outH/outW; count_include_pad; divisor_override if > 0).
template <class T> void avg_pool2d_forward(const T* in, int64_t planes, int64_t H, int64_t W, int64_t outH,
                                           int64_t outW, int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t pH,
                                           int64_t pW, bool count_include_pad, int64_t divisor_override, T* out);

// Gradient of avg_pool2d_forward: grad_in (planes,H,W) is overwritten.
template <class T> void avg_pool2d_backward(const T* grad_out, int64_t planes, int64_t H, int64_t W, int64_t outH,
                                            int64_t outW, int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t pH,
                                            int64_t pW, bool count_include_pad, int64_t divisor_override, T* grad_in);

}  // namespace fastnn::kernels
