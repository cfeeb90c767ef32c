// Adaptive average and max pooling: output cell (i, j) averages input rows [floor(i*H/oH), ceil((i+1)*H/oH))
// and the matching columns, as torch's adaptive_avg_pool2d does.
#pragma once
#include <cstdint>

namespace fastnn::kernels {

// out (planes, oH, oW) from in (planes, H, W), both contiguous.
template <class T>
void adaptive_avg_pool2d_forward(const T* in, int64_t planes, int64_t H, int64_t W, int64_t oH, int64_t oW, T* out);
// grad_in (planes, H, W) is overwritten: each output cell's gradient spread evenly over its window.
template <class T>
void adaptive_avg_pool2d_backward(const T* grad_out, int64_t planes, int64_t H, int64_t W, int64_t oH, int64_t oW,
                                  T* grad_in);

// Adaptive max pooling over the same windows: out and indices (h*W+w of the first maximum in scan
// order; every NaN takes over, as in torch) of (planes, oH, oW). The backward pass is max_pool2d_backward (pool.h).
template <class T>
void adaptive_max_pool2d_forward(const T* in, int64_t planes, int64_t H, int64_t W, int64_t oH, int64_t oW, T* out,
                                 int64_t* indices);

}  // namespace fastnn::kernels
