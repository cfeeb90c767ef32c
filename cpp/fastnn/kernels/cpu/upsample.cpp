#include "fastnn/kernels/cpu/upsample.h"

#include <algorithm>
#include <cmath>

#include "fastnn/parallel.h"

namespace fastnn::kernels {
namespace {

// Output-to-input scale: a given scale factor's reciprocal, else in/out (torch computes it in the op's type).
template <class S>
S inverse_scale(int64_t in, int64_t out, double scale) {
  return scale > 0 ? S(1.0 / scale) : S(in) / S(out);
}

// Keys' cubic convolution weights (A = -0.75) for the four taps around fraction t.
template <class T>
void cubic_weights(T t, T* w) {
  const T A = T(-0.75);
  auto near = [&](T x) { return ((A + 2) * x - (A + 3)) * x * x + 1; };       // |x| <= 1
  auto far = [&](T x) { return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; };  // 1 < |x| < 2
  w[0] = far(t + 1);
  w[1] = near(t);
  w[2] = near(1 - t);
  w[3] = far(2 - t);
}

}  // namespace

template <class T>
void upsample_taps(UpsampleMode mode, int64_t in, int64_t out, double scale, bool align_corners,
                   std::vector<int64_t>& idx, std::vector<T>& wt) {
  const int taps = mode == UpsampleMode::Linear ? 2 : mode == UpsampleMode::Cubic ? 4 : 1;
  idx.assign(size_t(out * taps), 0);
  wt.assign(size_t(out * taps), T(1));
  if (mode == UpsampleMode::Nearest2d && (out == in || out == 2 * in)) {
    for (int64_t i = 0; i < out; ++i) idx[size_t(i)] = out == in ? i : i / 2;
    return;
  }
  if (mode == UpsampleMode::Nearest || mode == UpsampleMode::Nearest2d || mode == UpsampleMode::NearestExact) {
    const float s = inverse_scale<float>(in, out, scale);  // torch's nearest modes use float coordinates
    for (int64_t i = 0; i < out; ++i) {
      const int64_t src = mode == UpsampleMode::NearestExact ? int64_t(std::floor(float((i + 0.5) * double(s))))
                                                             : int64_t(std::floor(float(i) * s));
      idx[size_t(i)] = std::min(src, in - 1);
    }
    return;
  }
  const T s = align_corners ? (out > 1 ? T(in - 1) / T(out - 1) : T(0)) : inverse_scale<T>(in, out, scale);
  for (int64_t i = 0; i < out; ++i) {
    T real = align_corners ? s * T(i) : T(double(s) * (i + 0.5) - 0.5);
    int64_t* ix = &idx[size_t(i * taps)];
    T* w = &wt[size_t(i * taps)];
    if (mode == UpsampleMode::Linear) {
      if (real < 0) real = 0;
      const int64_t i0 = std::min(int64_t(real), in - 1);
      const T l1 = std::min(std::max(real - T(i0), T(0)), T(1));
      ix[0] = i0, ix[1] = i0 + (i0 < in - 1 ? 1 : 0);
      w[0] = T(1) - l1, w[1] = l1;
    } else {  // cubic: taps i0-1 .. i0+2, clamped to the input
      const int64_t i0 = int64_t(std::floor(real));
      cubic_weights<T>(real - T(i0), w);
      for (int t = 0; t < 4; ++t) ix[t] = std::clamp<int64_t>(i0 - 1 + t, 0, in - 1);
    }
  }
}

template <class T>
void upsample_forward(const T* in, int64_t planes, int64_t H, int64_t W, int64_t oH, int64_t oW, int th,
                      const int64_t* ih, const T* wh, int tw, const int64_t* iw, const T* ww, T* out) {
  parallel_for(planes * oH, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(oW * th * tw, 1)),
               [&](int64_t r0, int64_t r1) {
                 for (int64_t r = r0; r < r1; ++r) {
                   const int64_t p = r / oH, i = r % oH;
                   T* dst = out + r * oW;
                   for (int64_t j = 0; j < oW; ++j) {
                     T acc = 0;
                     for (int a = 0; a < th; ++a) {
                       const T* row = in + (p * H + ih[i * th + a]) * W;
                       T inner = 0;
                       for (int b = 0; b < tw; ++b) inner += ww[j * tw + b] * row[iw[j * tw + b]];
                       acc += wh[i * th + a] * inner;
                     }
                     dst[j] = acc;
                   }
                 }
               });
}

template <class T>
void upsample_backward(const T* grad_out, int64_t planes, int64_t H, int64_t W, int64_t oH, int64_t oW, int th,
                       const int64_t* ih, const T* wh, int tw, const int64_t* iw, const T* ww, T* grad_in) {
  parallel_for(planes, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(H * W + oH * oW * th * tw, 1)),
               [&](int64_t p0, int64_t p1) {
                 for (int64_t p = p0; p < p1; ++p) {
                   T* gi = grad_in + p * H * W;
                   std::fill(gi, gi + H * W, T(0));
                   for (int64_t i = 0; i < oH; ++i) {
                     const T* go = grad_out + (p * oH + i) * oW;
                     for (int a = 0; a < th; ++a) {
                       T* row = gi + ih[i * th + a] * W;
                       const T h = wh[i * th + a];
                       for (int64_t j = 0; j < oW; ++j)
                         for (int b = 0; b < tw; ++b) row[iw[j * tw + b]] += h * ww[j * tw + b] * go[j];
                     }
                   }
                 }
               });
}

#define FASTNN_UPSAMPLE_INSTANTIATE(T)                                                                           \
  template void upsample_taps<T>(UpsampleMode, int64_t, int64_t, double, bool, std::vector<int64_t>&,            \
                                 std::vector<T>&);                                                               \
  template void upsample_forward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int, const int64_t*,  \
                                    const T*, int, const int64_t*, const T*, T*);                                \
  template void upsample_backward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int, const int64_t*, \
                                     const T*, int, const int64_t*, const T*, T*);
FASTNN_UPSAMPLE_INSTANTIATE(float)
FASTNN_UPSAMPLE_INSTANTIATE(double)
#undef FASTNN_UPSAMPLE_INSTANTIATE

}  // namespace fastnn::kernels
