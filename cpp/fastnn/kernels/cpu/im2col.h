// im2col / col2im on raw pointers: convolution as a GEMM. Zero padding, any stride and dilation.
#pragma once
#include <cstdint>

namespace fastnn::kernels {

// Unfolds one image (C,H,W) into the (C*kH*kW) x (outH*outW) matrix col, whose rows start ldcol
// elements apart (ldcol >= outH*outW: several images' matrices can sit side by side); zero padding.
template <class T> void im2col(const T* im, int64_t C, int64_t H, int64_t W, int64_t kH, int64_t kW, int64_t padH,
                               int64_t padW, int64_t strideH, int64_t strideW, int64_t dilH, int64_t dilW, int64_t outH,
                               int64_t outW, T* col, int64_t ldcol);

// Adjoint of im2col: im[(C,H,W)] = sum of col entries that read each pixel (im is overwritten, or added to
// when `accumulate`).
template <class T> void col2im(const T* col, int64_t ldcol, int64_t C, int64_t H, int64_t W, int64_t kH, int64_t kW,
                               int64_t padH, int64_t padW, int64_t strideH, int64_t strideW, int64_t dilH, int64_t dilW,
                               int64_t outH, int64_t outW, T* im, bool accumulate = false);

// Both take a band of output rows [oh0, oh0 + rows) as the whole output of a convolution with padH shifted
// by -oh0 * strideH (the band's first output row reads input row oh0 * strideH - padH); padH may then be
// negative.

}  // namespace fastnn::kernels
