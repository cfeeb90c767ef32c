// Resampling (F.interpolate) as separable taps: output coordinate i along a dim reads `taps` input
// coordinates idx[i*taps + t] with weights wt[i*taps + t] (1 tap: nearest; 2: linear; 4: cubic).
#pragma once
#include <cstdint>
#include <vector>

namespace fastnn::kernels {

// Nearest2d: torch's 2-D nearest, which maps equal and doubled sizes exactly (i and i/2) whatever the scale factor.
enum class UpsampleMode { Nearest, Nearest2d, NearestExact, Linear, Cubic };

// The taps of one dim, with torch's source-coordinate rules: `scale` > 0 is the user's scale factor
// (the source coordinate then uses 1/scale), else in/out; align_corners for Linear and Cubic.
template <class T>
void upsample_taps(UpsampleMode mode, int64_t in, int64_t out, double scale, bool align_corners,
                   std::vector<int64_t>& idx, std::vector<T>& wt);

// out (planes, oH, oW) = sum over taps wh * (sum over taps ww * in (planes, H, W)).
template <class T>
void upsample_forward(const T* in, int64_t planes, int64_t H, int64_t W, int64_t oH, int64_t oW, int th,
                      const int64_t* ih, const T* wh, int tw, const int64_t* iw, const T* ww, T* out);
// The adjoint: grad_in (planes, H, W) overwritten; each plane gathered by one thread in output order.
template <class T>
void upsample_backward(const T* grad_out, int64_t planes, int64_t H, int64_t W, int64_t oH, int64_t oW, int th,
                       const int64_t* ih, const T* wh, int tw, const int64_t* iw, const T* ww, T* grad_in);

}  // namespace fastnn::kernels
