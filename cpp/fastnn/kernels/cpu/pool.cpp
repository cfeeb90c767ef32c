// TEMPORARY naive version by the lead (to unblock integration); the kernels helper replaces it.
#include "fastnn/kernels/cpu/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace fastnn::kernels {

template <class T>
void max_pool2d_forward(const T* in, int64_t planes, int64_t H, int64_t W, int64_t outH, int64_t outW, int64_t kH,
                        int64_t kW, int64_t sH, int64_t sW, int64_t pH, int64_t pW, int64_t dH, int64_t dW, T* out,
                        int64_t* indices) {
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oh = 0; oh < outH; ++oh)
      for (int64_t ow = 0; ow < outW; ++ow) {
        T best = -std::numeric_limits<T>::infinity();
        int64_t bi = -1;
        for (int64_t i = 0; i < kH; ++i)
          for (int64_t j = 0; j < kW; ++j) {
            int64_t h = oh * sH - pH + i * dH, w = ow * sW - pW + j * dW;
            if (h < 0 || h >= H || w < 0 || w >= W) continue;
            T v = in[(p * H + h) * W + w];
            if (bi < 0 || v > best || std::isnan(v)) {
              if (bi >= 0 && std::isnan(best)) continue;
              best = v;
              bi = h * W + w;
            }
          }
        out[(p * outH + oh) * outW + ow] = best;
        indices[(p * outH + oh) * outW + ow] = bi;
      }
}

template <class T>
void max_pool2d_backward(const T* grad_out, const int64_t* indices, int64_t planes, int64_t H, int64_t W, int64_t outH,
                         int64_t outW, T* grad_in) {
  std::fill(grad_in, grad_in + planes * H * W, T(0));
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t o = 0; o < outH * outW; ++o) grad_in[p * H * W + indices[p * outH * outW + o]] += grad_out[p * outH * outW + o];
}

static int64_t divisor(int64_t oh, int64_t ow, int64_t H, int64_t W, int64_t kH, int64_t kW, int64_t sH, int64_t sW,
                       int64_t pH, int64_t pW, bool cip, int64_t over) {
  if (over > 0) return over;
  int64_t hs = oh * sH - pH, ws = ow * sW - pW;
  int64_t he = std::min(hs + kH, H + pH), we = std::min(ws + kW, W + pW);
  int64_t pool = (he - hs) * (we - ws);
  hs = std::max<int64_t>(hs, 0), ws = std::max<int64_t>(ws, 0);
  he = std::min(he, H), we = std::min(we, W);
  return cip ? pool : (he - hs) * (we - ws);
}

template <class T>
void avg_pool2d_forward(const T* in, int64_t planes, int64_t H, int64_t W, int64_t outH, int64_t outW, int64_t kH,
                        int64_t kW, int64_t sH, int64_t sW, int64_t pH, int64_t pW, bool cip, int64_t over, T* out) {
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oh = 0; oh < outH; ++oh)
      for (int64_t ow = 0; ow < outW; ++ow) {
        T s = 0;
        for (int64_t h = std::max<int64_t>(oh * sH - pH, 0); h < std::min(oh * sH - pH + kH, H); ++h)
          for (int64_t w = std::max<int64_t>(ow * sW - pW, 0); w < std::min(ow * sW - pW + kW, W); ++w) s += in[(p * H + h) * W + w];
        out[(p * outH + oh) * outW + ow] = s / T(divisor(oh, ow, H, W, kH, kW, sH, sW, pH, pW, cip, over));
      }
}

template <class T>
void avg_pool2d_backward(const T* g, int64_t planes, int64_t H, int64_t W, int64_t outH, int64_t outW, int64_t kH,
                         int64_t kW, int64_t sH, int64_t sW, int64_t pH, int64_t pW, bool cip, int64_t over, T* gi) {
  std::fill(gi, gi + planes * H * W, T(0));
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oh = 0; oh < outH; ++oh)
      for (int64_t ow = 0; ow < outW; ++ow) {
        T v = g[(p * outH + oh) * outW + ow] / T(divisor(oh, ow, H, W, kH, kW, sH, sW, pH, pW, cip, over));
        for (int64_t h = std::max<int64_t>(oh * sH - pH, 0); h < std::min(oh * sH - pH + kH, H); ++h)
          for (int64_t w = std::max<int64_t>(ow * sW - pW, 0); w < std::min(ow * sW - pW + kW, W); ++w) gi[(p * H + h) * W + w] += v;
      }
}

#define INST(T)                                                                                                      \
  template void max_pool2d_forward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, \
                                      int64_t, int64_t, int64_t, int64_t, int64_t, T*, int64_t*);                    \
  template void max_pool2d_backward<T>(const T*, const int64_t*, int64_t, int64_t, int64_t, int64_t, int64_t, T*);   \
  template void avg_pool2d_forward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, \
                                      int64_t, int64_t, int64_t, bool, int64_t, T*);                                 \
  template void avg_pool2d_backward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, \
                                       int64_t, int64_t, int64_t, bool, int64_t, T*);
INST(float)
INST(double)

}  // namespace fastnn::kernels
