#include "fastnn/kernels/cpu/adaptive_pool.h"

#include <algorithm>
#include <cmath>

#include "fastnn/kernels/pool_window.h"
#include "fastnn/parallel.h"

namespace fastnn::kernels {

template <class T>
void adaptive_avg_pool2d_forward(const T* in, int64_t planes, int64_t H, int64_t W, int64_t oH, int64_t oW, T* out) {
  parallel_for(planes, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(H * W, 1)), [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* plane = in + p * H * W;
      for (int64_t i = 0; i < oH; ++i) {
        int64_t h0 = adaptive_start(i, H, oH), h1 = adaptive_end(i, H, oH);
        for (int64_t j = 0; j < oW; ++j) {
          int64_t w0 = adaptive_start(j, W, oW), w1 = adaptive_end(j, W, oW);
          T sum = 0;
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) sum += plane[h * W + w];
          out[(p * oH + i) * oW + j] = sum / T((h1 - h0) * (w1 - w0));
        }
      }
    }
  });
}

template <class T>
void adaptive_avg_pool2d_backward(const T* grad_out, int64_t planes, int64_t H, int64_t W, int64_t oH, int64_t oW,
                                  T* grad_in) {
  // Each plane is written by one thread; windows may overlap, so cells are added in a fixed order.
  parallel_for(planes, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(H * W, 1)), [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      T* plane = grad_in + p * H * W;
      std::fill(plane, plane + H * W, T(0));
      for (int64_t i = 0; i < oH; ++i) {
        int64_t h0 = adaptive_start(i, H, oH), h1 = adaptive_end(i, H, oH);
        for (int64_t j = 0; j < oW; ++j) {
          int64_t w0 = adaptive_start(j, W, oW), w1 = adaptive_end(j, W, oW);
          T g = grad_out[(p * oH + i) * oW + j] / T((h1 - h0) * (w1 - w0));
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) plane[h * W + w] += g;
        }
      }
    }
  });
}

template <class T>
void adaptive_max_pool2d_forward(const T* in, int64_t planes, int64_t H, int64_t W, int64_t oH, int64_t oW, T* out,
                                 int64_t* indices) {
  parallel_for(planes, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(H * W, 1)), [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* plane = in + p * H * W;
      for (int64_t i = 0; i < oH; ++i) {
        int64_t h0 = adaptive_start(i, H, oH), h1 = adaptive_end(i, H, oH);
        for (int64_t j = 0; j < oW; ++j) {
          int64_t w0 = adaptive_start(j, W, oW), w1 = adaptive_end(j, W, oW);
          int64_t best = h0 * W + w0;
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) {
              const T v = plane[h * W + w];
              if (v > plane[best] || std::isnan(v)) best = h * W + w;
            }
          out[(p * oH + i) * oW + j] = plane[best];
          indices[(p * oH + i) * oW + j] = best;
        }
      }
    }
  });
}

template void adaptive_avg_pool2d_forward<float>(const float*, int64_t, int64_t, int64_t, int64_t, int64_t, float*);
template void adaptive_avg_pool2d_forward<double>(const double*, int64_t, int64_t, int64_t, int64_t, int64_t, double*);
template void adaptive_avg_pool2d_backward<float>(const float*, int64_t, int64_t, int64_t, int64_t, int64_t, float*);
template void adaptive_avg_pool2d_backward<double>(const double*, int64_t, int64_t, int64_t, int64_t, int64_t, double*);

template void adaptive_max_pool2d_forward<float>(const float*, int64_t, int64_t, int64_t, int64_t, int64_t, float*,
                                                 int64_t*);
template void adaptive_max_pool2d_forward<double>(const double*, int64_t, int64_t, int64_t, int64_t, int64_t, double*,
                                                  int64_t*);

}  // namespace fastnn::kernels
