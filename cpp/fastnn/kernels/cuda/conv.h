// conv2d on a GPU as im2col + GEMM, float32 and float64 (kernels/cuda/conv.cu; in a CPU-only build device.cpp
// defines them to throw). Called by ops/conv.cpp, which checks the shapes and allocates the scratch.
#pragma once
#include <cstdint>

namespace fastnn::cuda {

// x (N, C, H, W), w (O, C / groups, kH, kW), y (N, O, oH, oW), all contiguous.
struct ConvShape {
  int64_t N, C, H, W, O, kH, kW, oH, oW, groups, sH, sW, pH, pW, dH, dW;
};

// Images go `chunk` at a time through two scratch matrices: col (K x chunk * oH * oW, K = C / groups * kH * kW) and
// tile (O / groups x chunk * oH * oW).
struct ConvScratch {
  void* col;
  void* tile;
  int64_t chunk;
};

// y = conv(x, w) + bias (bias may be null).
void conv2d_forward(bool is_double, const ConvShape& s, const void* x, const void* w, const void* bias, void* y,
                    const ConvScratch& scratch, int index);
// The input gradient gx (N, C, H, W) and the weight gradient gw (O, C / groups, kH, kW), each overwritten, for the
// output gradient gy; a null gx or gw is not computed. Each element sums in a fixed order: deterministic.
void conv2d_backward(bool is_double, const ConvShape& s, const void* x, const void* w, const void* gy, void* gx,
                     void* gw, const ConvScratch& scratch, int index);

// F.unfold: cols (N, K, oH * oW), K = C * kH * kW, from x (N, C, H, W) (groups 1, O unused); F.fold, its adjoint:
// x overwritten, each element summing its taps in (ki, kj) order.
void unfold(bool is_double, const ConvShape& s, const void* x, void* cols, int index);
void fold(bool is_double, const ConvShape& s, const void* cols, void* x, int index);

}  // namespace fastnn::cuda
