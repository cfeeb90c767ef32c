// max_pool2d and average pooling on a GPU, float32 and float64 (kernels/cuda/pool.cu; in a CPU-only build device.cpp
// defines them to throw). The CPU kernels' semantics (kernels/cpu/pool.h): first maximum in scan order, NaN wins,
// padding never chosen.
#pragma once
#include <cstdint>

namespace fastnn::cuda {

// With `adaptive`, adaptive_max_pool2d's windows (kernels/pool_window.h): only planes, H, W, oH and oW count.
struct PoolShape {
  int64_t planes, H, W, oH, oW, kH, kW, sH, sW, pH, pW, dH, dW;
  bool adaptive;
};

// out and indices (planes, oH, oW) from in (planes, H, W), all contiguous; indices[p, oh, ow] = h * W + w.
void max_pool2d_forward(bool is_double, const PoolShape& s, const void* in, void* out, int64_t* indices, int index);
// grad_in (planes, H, W), overwritten: each input element sums the output gradients that chose it, in output order.
void max_pool2d_backward(bool is_double, const PoolShape& s, const void* grad_out, const int64_t* indices,
                         void* grad_in, int index);

// Average pooling (avg_pool2d's windows and divisors, or adaptive_avg_pool2d's when `adaptive`: then only planes, H, W,
// oH and oW count), the CPU's sums in the CPU's order (kernels/pool_window.h).
struct AvgPoolShape {
  int64_t planes, H, W, oH, oW, kH, kW, sH, sW, pH, pW;
  bool count_include_pad, adaptive;
  int64_t divisor_override;  // used when > 0
};
void avg_pool2d_forward(bool is_double, const AvgPoolShape& s, const void* in, void* out, int index);
// grad_in (planes, H, W), overwritten: each input element adds its windows' shares in output order.
void avg_pool2d_backward(bool is_double, const AvgPoolShape& s, const void* grad_out, void* grad_in, int index);

}  // namespace fastnn::cuda
