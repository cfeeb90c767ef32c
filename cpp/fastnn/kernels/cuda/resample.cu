// Tap-table resampling on a GPU (resample.h): one thread per output element forward, one per input element backward
// (a gather over the inverse tables, so each gradient sums in a fixed order).
#include <cuda_runtime.h>

#include <cstdint>

#include "fastnn/kernels/cuda/layout.cuh"
#include "fastnn/kernels/cuda/resample.h"

namespace fastnn::cuda {
namespace {

template <class T>
__device__ T weight_of(const TapDim& d, int64_t e) {
  return d.wt ? static_cast<const T*>(d.wt)[e] : T(1);
}

// sum over t of w(t) * term(t), starting from the first term (a single tap of weight 1 copies exactly, -0.0 too).
template <class T, class F>
__device__ T tap_sum(const TapDim& d, int64_t o, const F& term) {
  T acc = T(0);
  for (int t = 0; t < d.taps; ++t) {
    const int64_t e = o * d.taps + t;
    const T v = d.wt ? weight_of<T>(d, e) * term(d.idx[e]) : term(d.idx[e]);
    acc = t == 0 ? v : acc + v;
  }
  return acc;
}

template <class T>
__global__ void forward_kernel(const T* x, int64_t planes, TapDims dims, T* y) {
  const TapDim &dd = dims.d[0], &dh = dims.d[1], &dw = dims.d[2];
  FASTNN_GRID_LOOP(i, planes * dd.out * dh.out * dw.out) {
    const int64_t ow = i % dw.out, oh = i / dw.out % dh.out, od = i / (dw.out * dh.out) % dd.out;
    const T* plane = x + i / (dw.out * dh.out * dd.out) * dd.in * dh.in * dw.in;
    y[i] = tap_sum<T>(dd, od, [&](int64_t d) {
      return tap_sum<T>(dh, oh, [&](int64_t h) {
        const T* row = plane + (d * dh.in + h) * dw.in;
        return tap_sum<T>(dw, ow, [&](int64_t w) { return row[w]; });
      });
    });
  }
}

template <class T>
__global__ void backward_kernel(const T* gy, int64_t planes, TapDims dims, T* gx) {
  const TapDim &dd = dims.d[0], &dh = dims.d[1], &dw = dims.d[2];
  FASTNN_GRID_LOOP(i, planes * dd.in * dh.in * dw.in) {
    const int64_t w = i % dw.in, h = i / dw.in % dh.in, d = i / (dw.in * dh.in) % dd.in;
    const T* plane = gy + i / (dw.in * dh.in * dd.in) * dd.out * dh.out * dw.out;
    T acc = T(0);
    for (int64_t a = dd.inv_start[d]; a < dd.inv_start[d + 1]; ++a) {
      const int64_t ea = dd.inv[a];
      const T wd = weight_of<T>(dd, ea);
      for (int64_t b = dh.inv_start[h]; b < dh.inv_start[h + 1]; ++b) {
        const int64_t eb = dh.inv[b];
        const T* row = plane + (ea / dd.taps * dh.out + eb / dh.taps) * dw.out;
        const T wdh = wd * weight_of<T>(dh, eb);
        for (int64_t c = dw.inv_start[w]; c < dw.inv_start[w + 1]; ++c) {
          const int64_t ec = dw.inv[c];
          acc += wdh * weight_of<T>(dw, ec) * row[ec / dw.taps];
        }
      }
    }
    gx[i] = acc;
  }
}

template <class T>
void launch(bool backward, const void* in, int64_t planes, const TapDims& dims, void* out) {
  int64_t n = planes;
  for (const TapDim& d : dims.d) n *= backward ? d.in : d.out;
  if (n == 0) return;
  if (backward)
    FASTNN_LAUNCH(blocks_for(n), kThreads, backward_kernel<T>)(static_cast<const T*>(in), planes, dims,
                                                               static_cast<T*>(out));
  else
    FASTNN_LAUNCH(blocks_for(n), kThreads, forward_kernel<T>)(static_cast<const T*>(in), planes, dims,
                                                              static_cast<T*>(out));
}

}  // namespace

void resample_forward(bool is_double, const void* x, int64_t planes, const TapDims& dims, void* y, int index) {
  use_device(index, "resample");
  if (is_double) launch<double>(false, x, planes, dims, y);
  else launch<float>(false, x, planes, dims, y);
  check_launch("resample");
}

void resample_backward(bool is_double, const void* gy, int64_t planes, const TapDims& dims, void* gx, int index) {
  use_device(index, "resample backward");
  if (is_double) launch<double>(true, gy, planes, dims, gx);
  else launch<float>(true, gy, planes, dims, gx);
  check_launch("resample backward");
}

}  // namespace fastnn::cuda
