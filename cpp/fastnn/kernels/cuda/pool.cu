// max_pool2d and average pooling on a GPU: one thread per output scans its window; backward gathers, one thread per
// input element adding the output gradients of the windows that chose (or cover) it in output order (no atomics): the
// CPU's additions in the CPU's order.
#include <cuda_runtime.h>

#include <cmath>

#include "fastnn/kernels/cuda/layout.cuh"
#include "fastnn/kernels/cuda/pool.h"
#include "fastnn/kernels/pool_window.h"

namespace fastnn::cuda {
namespace {

template <class T>
__global__ void max_forward_kernel(const T* in, PoolShape s, T* out, int64_t* indices) {
  FASTNN_GRID_LOOP(e, s.planes * s.oH * s.oW) {
    const int64_t ow = e % s.oW, oh = e / s.oW % s.oH, plane = e / (s.oW * s.oH);
    const T* x = in + plane * s.H * s.W;
    T best_val = -INFINITY;
    int64_t best = -1;
    auto consider = [&](int64_t h, int64_t w) {
      const T v = x[h * s.W + w];
      if (best < 0) best = h * s.W + w;  // the first in-range tap when no value beats -inf
      if (v > best_val || v != v) best_val = v, best = h * s.W + w;
    };
    if (s.adaptive) {
      const int64_t w0 = kernels::adaptive_start(ow, s.W, s.oW), w1 = kernels::adaptive_end(ow, s.W, s.oW);
      for (int64_t h = kernels::adaptive_start(oh, s.H, s.oH); h < kernels::adaptive_end(oh, s.H, s.oH); ++h)
        for (int64_t w = w0; w < w1; ++w) consider(h, w);
    } else {
      const int64_t h_start = oh * s.sH - s.pH, w_start = ow * s.sW - s.pW;
      for (int64_t ki = 0; ki < s.kH; ++ki) {
        const int64_t h = h_start + ki * s.dH;
        if (h < 0 || h >= s.H) continue;
        for (int64_t kj = 0; kj < s.kW; ++kj) {
          const int64_t w = w_start + kj * s.dW;
          if (w >= 0 && w < s.W) consider(h, w);
        }
      }
    }
    out[e] = best_val;
    indices[e] = best;
  }
}

// The first window index (oh or ow) whose window can reach input position i: start * stride - pad + (k - 1) * dil
// >= i.
__device__ inline int64_t first_window(int64_t i, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
  const int64_t need = i + pad - (k - 1) * dil;
  return need <= 0 ? 0 : (need + stride - 1) / stride;
}

template <class T>
__global__ void max_backward_kernel(const T* grad_out, const int64_t* indices, PoolShape s, T* grad_in) {
  FASTNN_GRID_LOOP(e, s.planes * s.H * s.W) {
    const int64_t at = e % (s.H * s.W), plane = e / (s.H * s.W), h = at / s.W, w = at % s.W;
    // the outputs whose windows cover (h, w): [oh0, oh1) x [ow0, ow1)
    int64_t oh0, oh1, ow0, ow1;
    if (s.adaptive) {  // output i covers h exactly when adaptive_start(h, oH, H) <= i < adaptive_end(h, oH, H)
      oh0 = kernels::adaptive_start(h, s.oH, s.H), oh1 = kernels::adaptive_end(h, s.oH, s.H);
      ow0 = kernels::adaptive_start(w, s.oW, s.W), ow1 = kernels::adaptive_end(w, s.oW, s.W);
    } else {
      oh0 = first_window(h, s.kH, s.sH, s.pH, s.dH), ow0 = first_window(w, s.kW, s.sW, s.pW, s.dW);
      oh1 = (h + s.pH) / s.sH + 1 < s.oH ? (h + s.pH) / s.sH + 1 : s.oH;
      ow1 = (w + s.pW) / s.sW + 1 < s.oW ? (w + s.pW) / s.sW + 1 : s.oW;
    }
    const int64_t* idx = indices + plane * s.oH * s.oW;
    const T* g = grad_out + plane * s.oH * s.oW;
    T acc = 0;
    for (int64_t oh = oh0; oh < oh1; ++oh)
      for (int64_t ow = ow0; ow < ow1; ++ow)
        if (idx[oh * s.oW + ow] == at) acc += g[oh * s.oW + ow];
    grad_in[e] = acc;
  }
}

// Output (oh, ow)'s window: avg_pool2d's, or adaptive_avg_pool2d's (divided by its size).
__device__ inline kernels::AvgWindow window_of(const AvgPoolShape& s, int64_t oh, int64_t ow) {
  if (!s.adaptive)
    return kernels::avg_window(s.H, s.W, s.kH, s.kW, s.sH, s.sW, s.pH, s.pW, s.count_include_pad, s.divisor_override,
                               oh, ow);
  const int64_t h0 = kernels::adaptive_start(oh, s.H, s.oH), h1 = kernels::adaptive_end(oh, s.H, s.oH);
  const int64_t w0 = kernels::adaptive_start(ow, s.W, s.oW), w1 = kernels::adaptive_end(ow, s.W, s.oW);
  return {h0, h1, w0, w1, (h1 - h0) * (w1 - w0)};
}

// The output rows (or columns) whose windows may cover input row i, as [lo, hi): for avg_pool2d those starting at or
// before i and reaching past it, for the adaptive pool floor(i * out / in) .. floor((i + 1) * out / in).
__device__ inline void covering(const AvgPoolShape& s, int64_t i, int64_t in, int64_t out, int64_t k, int64_t stride,
                                int64_t pad, int64_t& lo, int64_t& hi) {
  if (s.adaptive) {
    lo = i * out / in;
    hi = (i + 1) * out / in + 1;
  } else {
    const int64_t past = i + pad - k;  // windows starting at or before this reach no further than i
    lo = past < 0 ? 0 : past / stride + 1;
    hi = (i + pad) / stride + 1;
  }
  hi = hi < out ? hi : out;
}

template <class T>
__global__ void avg_forward_kernel(const T* in, AvgPoolShape s, T* out) {
  FASTNN_GRID_LOOP(e, s.planes * s.oH * s.oW) {
    const int64_t ow = e % s.oW, oh = e / s.oW % s.oH, plane = e / (s.oW * s.oH);
    const T* x = in + plane * s.H * s.W;
    const kernels::AvgWindow win = window_of(s, oh, ow);
    T sum = 0;
    for (int64_t h = win.h0; h < win.h1; ++h)
      for (int64_t w = win.w0; w < win.w1; ++w) sum += x[h * s.W + w];
    out[e] = win.h0 < win.h1 && win.w0 < win.w1 ? sum / T(win.divisor) : T(0);
  }
}

template <class T>
__global__ void avg_backward_kernel(const T* grad_out, AvgPoolShape s, T* grad_in) {
  FASTNN_GRID_LOOP(e, s.planes * s.H * s.W) {
    const int64_t w = e % s.W, h = e / s.W % s.H, plane = e / (s.W * s.H);
    const T* g = grad_out + plane * s.oH * s.oW;
    int64_t oh0, oh1, ow0, ow1;
    covering(s, h, s.H, s.oH, s.kH, s.sH, s.pH, oh0, oh1);
    covering(s, w, s.W, s.oW, s.kW, s.sW, s.pW, ow0, ow1);
    T acc = 0;
    for (int64_t oh = oh0; oh < oh1; ++oh)
      for (int64_t ow = ow0; ow < ow1; ++ow) {
        const kernels::AvgWindow win = window_of(s, oh, ow);
        if (h >= win.h0 && h < win.h1 && w >= win.w0 && w < win.w1) acc += g[oh * s.oW + ow] / T(win.divisor);
      }
    grad_in[e] = acc;
  }
}

}  // namespace

void avg_pool2d_forward(bool is_double, const AvgPoolShape& s, const void* in, void* out, int index) {
  const int64_t n = s.planes * s.oH * s.oW;
  if (n == 0) return;
  use_device(index, "avg_pool2d");
  if (is_double)
    FASTNN_LAUNCH(blocks_for(n), kThreads, avg_forward_kernel<double>)(static_cast<const double*>(in), s,
                                                                       static_cast<double*>(out));
  else
    FASTNN_LAUNCH(blocks_for(n), kThreads, avg_forward_kernel<float>)(static_cast<const float*>(in), s,
                                                                      static_cast<float*>(out));
  check_launch("avg_pool2d");
}

void avg_pool2d_backward(bool is_double, const AvgPoolShape& s, const void* grad_out, void* grad_in, int index) {
  const int64_t n = s.planes * s.H * s.W;
  if (n == 0) return;
  use_device(index, "avg_pool2d backward");
  if (is_double)
    FASTNN_LAUNCH(blocks_for(n), kThreads, avg_backward_kernel<double>)(static_cast<const double*>(grad_out), s,
                                                                        static_cast<double*>(grad_in));
  else
    FASTNN_LAUNCH(blocks_for(n), kThreads, avg_backward_kernel<float>)(static_cast<const float*>(grad_out), s,
                                                                       static_cast<float*>(grad_in));
  check_launch("avg_pool2d backward");
}

void max_pool2d_forward(bool is_double, const PoolShape& s, const void* in, void* out, int64_t* indices, int index) {
  const int64_t n = s.planes * s.oH * s.oW;
  if (n == 0) return;
  use_device(index, "max_pool2d");
  if (is_double)
    FASTNN_LAUNCH(blocks_for(n), kThreads, max_forward_kernel<double>)(static_cast<const double*>(in), s,
                                                                       static_cast<double*>(out), indices);
  else
    FASTNN_LAUNCH(blocks_for(n), kThreads, max_forward_kernel<float>)(static_cast<const float*>(in), s,
                                                                      static_cast<float*>(out), indices);
  check_launch("max_pool2d");
}

void max_pool2d_backward(bool is_double, const PoolShape& s, const void* grad_out, const int64_t* indices,
                         void* grad_in, int index) {
  const int64_t n = s.planes * s.H * s.W;
  if (n == 0) return;
  use_device(index, "max_pool2d backward");
  if (is_double)
    FASTNN_LAUNCH(blocks_for(n), kThreads, max_backward_kernel<double>)(static_cast<const double*>(grad_out), indices,
                                                                        s, static_cast<double*>(grad_in));
  else
    FASTNN_LAUNCH(blocks_for(n), kThreads, max_backward_kernel<float>)(static_cast<const float*>(grad_out), indices, s,
                                                                       static_cast<float*>(grad_in));
  check_launch("max_pool2d backward");
}

}  // namespace fastnn::cuda
