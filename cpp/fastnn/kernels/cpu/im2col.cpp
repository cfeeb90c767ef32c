// im2col copies each kernel tap's shifted (and strided) view of a channel into one row of col;
// col2im gathers those rows back, one input row per task, so no two threads touch a pixel and each
// pixel sums its taps in the fixed (ki, kj) order.
#include "fastnn/kernels/cpu/im2col.h"

#include <algorithm>
#include <cstring>

#include "fastnn/parallel.h"

namespace fastnn::kernels {
namespace {

// Elements of work per parallel chunk (below this a call stays on one thread).
constexpr int64_t kChunkWork = 32768;

// The output columns [lo, hi) whose input column ow*stride + offset lies inside [0, W).
struct ColRange {
  int64_t lo, hi;
};
ColRange valid_cols(int64_t offset, int64_t stride, int64_t W, int64_t outW) {
  const int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const int64_t hi = W - 1 - offset < 0 ? 0 : (W - 1 - offset) / stride + 1;
  return {std::min(lo, outW), std::clamp(hi, std::min(lo, outW), outW)};
}

}  // namespace

template <class T>
void im2col(const T* im, int64_t C, int64_t H, int64_t W, int64_t kH, int64_t kW, int64_t padH, int64_t padW,
            int64_t strideH, int64_t strideW, int64_t dilH, int64_t dilW, int64_t outH, int64_t outW, T* col) {
  const int64_t plane = outH * outW;
  if (plane <= 0) return;
  parallel_for(C * kH * kW, std::max<int64_t>(1, kChunkWork / plane), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {  // r = (c, ki, kj): one row of col
      const int64_t c = r / (kH * kW), ki = r / kW % kH, kj = r % kW;
      const int64_t off_w = kj * dilW - padW;
      const ColRange cols = valid_cols(off_w, strideW, W, outW);
      for (int64_t oh = 0; oh < outH; ++oh) {
        T* dst = col + r * plane + oh * outW;
        const int64_t ih = oh * strideH - padH + ki * dilH;
        if (ih < 0 || ih >= H) {
          std::fill(dst, dst + outW, T(0));
          continue;
        }
        const T* src = im + (c * H + ih) * W;
        std::fill(dst, dst + cols.lo, T(0));
        if (strideW == 1) {
          std::copy(src + cols.lo + off_w, src + cols.hi + off_w, dst + cols.lo);
        } else {
          for (int64_t ow = cols.lo; ow < cols.hi; ++ow) dst[ow] = src[ow * strideW + off_w];
        }
        std::fill(dst + cols.hi, dst + outW, T(0));
      }
    }
  });
}

template <class T>
void col2im(const T* col, int64_t C, int64_t H, int64_t W, int64_t kH, int64_t kW, int64_t padH, int64_t padW,
            int64_t strideH, int64_t strideW, int64_t dilH, int64_t dilW, int64_t outH, int64_t outW, T* im) {
  const int64_t plane = outH * outW;
  const int64_t row_work = std::max<int64_t>(1, kH * kW * std::max(W, outW));
  parallel_for(C * H, std::max<int64_t>(1, kChunkWork / row_work), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {  // r = (c, ih): one input row
      const int64_t c = r / H, ih = r % H;
      T* dst = im + r * W;
      std::fill(dst, dst + W, T(0));
      for (int64_t ki = 0; ki < kH; ++ki) {
        // The output row reading input row ih through tap ki, if any.
        const int64_t t = ih + padH - ki * dilH;
        if (t < 0 || t % strideH != 0 || t / strideH >= outH) continue;
        const int64_t oh = t / strideH;
        for (int64_t kj = 0; kj < kW; ++kj) {
          const int64_t off_w = kj * dilW - padW;
          const ColRange cols = valid_cols(off_w, strideW, W, outW);
          const T* src = col + ((c * kH + ki) * kW + kj) * plane + oh * outW;
          if (strideW == 1) {
            for (int64_t ow = cols.lo; ow < cols.hi; ++ow) dst[ow + off_w] += src[ow];
          } else {
            for (int64_t ow = cols.lo; ow < cols.hi; ++ow) dst[ow * strideW + off_w] += src[ow];
          }
        }
      }
    }
  });
}

template void im2col<float>(const float*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                            int64_t, int64_t, int64_t, int64_t, int64_t, float*);
template void im2col<double>(const double*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                             int64_t, int64_t, int64_t, int64_t, int64_t, double*);
template void col2im<float>(const float*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                            int64_t, int64_t, int64_t, int64_t, int64_t, float*);
template void col2im<double>(const double*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                             int64_t, int64_t, int64_t, int64_t, int64_t, double*);

}  // namespace fastnn::kernels
