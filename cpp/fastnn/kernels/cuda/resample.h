// Resampling by per-dim tap tables on a GPU: F.pad's reflect/replicate/circular modes (one tap of weight 1) and
// F.interpolate (nearest: 1 tap, linear: 2, cubic: 4). kernels/cuda/resample.cu; in a CPU-only build device.cpp
// defines them to throw. The tables are built on the host (ops/pad.cpp, ops/upsample.cpp) and copied over.
#pragma once
#include <cstdint>

namespace fastnn::cuda {

// One spatial dim, as device pointers: output coordinate o reads input coordinates idx[o * taps + t] weighted by
// wt[o * taps + t] (wt null: weight 1). The backward reads, for input coordinate c, the entries o * taps + t listed
// in inv[inv_start[c] .. inv_start[c + 1]), ascending.
struct TapDim {
  int64_t in, out;
  int taps;
  const int64_t* idx;
  const void* wt;
  const int64_t* inv_start;
  const int64_t* inv;
};
struct TapDims {
  TapDim d[3];  // (D, H, W); an unused leading dim has in = out = taps = 1 and idx = {0}
};

// y (planes, D', H', W') = sum over taps wd * (sum wh * (sum ww * x)), x (planes, D, H, W); both contiguous, float32
// or float64. The CPU's order (kernels/cpu/upsample.cpp, pad.cpp).
void resample_forward(bool is_double, const void* x, int64_t planes, const TapDims& dims, void* y, int index);
// The adjoint: gx (planes, D, H, W) overwritten, each element summing (wd wh ww) gy over the outputs that read it in
// output order (the CPU's order; no atomics).
void resample_backward(bool is_double, const void* gy, int64_t planes, const TapDims& dims, void* gx, int index);

}  // namespace fastnn::cuda
