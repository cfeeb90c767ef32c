// The input windows of average pooling, shared by the CPU kernels (kernels/cpu/pool.cpp, adaptive_pool.cpp) and the
// CUDA kernels (kernels/cuda/pool.cu), so both devices pool over the same cells with the same divisors.
#pragma once
#include <cstdint>

#include "fastnn/host_device.h"

namespace fastnn::kernels {

// Output (oh, ow)'s window [h0, h1) x [w0, w1), clipped to the input, and its divisor (PyTorch's avg_pool2d: the
// padded window's size with count_include_pad, else the clipped one's; divisor_override when > 0). An empty window
// (only padding, with ceil_mode) gives 0.
struct AvgWindow {
  int64_t h0, h1, w0, w1, divisor;
};
FASTNN_HOST_DEVICE inline AvgWindow avg_window(int64_t H, int64_t W, int64_t kH, int64_t kW, int64_t sH, int64_t sW,
                                               int64_t pH, int64_t pW, bool count_include_pad, int64_t divisor_override,
                                               int64_t oh, int64_t ow) {
  int64_t h0 = oh * sH - pH, w0 = ow * sW - pW;
  int64_t h1 = h0 + kH < H + pH ? h0 + kH : H + pH, w1 = w0 + kW < W + pW ? w0 + kW : W + pW;
  const int64_t padded_size = (h1 - h0) * (w1 - w0);
  h0 = h0 > 0 ? h0 : 0;
  w0 = w0 > 0 ? w0 : 0;
  h1 = h1 < H ? h1 : H;
  w1 = w1 < W ? w1 : W;
  const int64_t divisor = divisor_override > 0 ? divisor_override
                          : count_include_pad  ? padded_size
                                               : (h1 - h0) * (w1 - w0);
  return {h0, h1, w0, w1, divisor};
}

// Adaptive pooling's window along one dim: output i of `out` covers input [start, end) of `in`.
FASTNN_HOST_DEVICE inline int64_t adaptive_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
FASTNN_HOST_DEVICE inline int64_t adaptive_end(int64_t i, int64_t in, int64_t out) {
  return ((i + 1) * in + out - 1) / out;
}

}  // namespace fastnn::kernels
