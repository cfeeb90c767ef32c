// Softmax rows on a GPU: one block per row (grid-stride over rows); thread t reduces elements t, t + 256, ... in
// order, then the block combines its partials in a fixed tree, so the same input gives the same bits.
#include <cuda_runtime.h>

#include <cmath>

#include "fastnn/kernels/cuda/block_reduce.cuh"
#include "fastnn/kernels/cuda/layout.cuh"
#include "fastnn/kernels/cuda/softmax.h"

namespace fastnn::cuda {
namespace {

template <class T>
__global__ void softmax_kernel(const T* x, T* y, int64_t rows, int64_t n, bool log) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    T mx = -INFINITY;
    for (int64_t i = threadIdx.x; i < n; i += kThreads) mx = xr[i] > mx || xr[i] != xr[i] ? xr[i] : mx;
    mx = block_reduce<T>(mx, true);
    if (isinf(mx) && mx < 0) mx = 0;  // all -inf: avoid inf - inf
    double s = 0;
    for (int64_t i = threadIdx.x; i < n; i += kThreads) s += exp(double(xr[i] - mx));
    s = block_reduce<double>(s);
    if (log) {
      const T ls = T(::log(s));
      for (int64_t i = threadIdx.x; i < n; i += kThreads) yr[i] = xr[i] - mx - ls;
    } else {
      const T inv = T(1.0 / s);
      for (int64_t i = threadIdx.x; i < n; i += kThreads) yr[i] = T(exp(xr[i] - mx)) * inv;
    }
  }
}

template <class T>
__global__ void softmax_backward_kernel(const T* g, const T* y, T* dx, int64_t rows, int64_t n, bool log) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T *gr = g + r * n, *yr = y + r * n;
    T* dr = dx + r * n;
    double s = 0;
    for (int64_t i = threadIdx.x; i < n; i += kThreads) s += log ? double(gr[i]) : double(gr[i]) * yr[i];
    s = block_reduce<double>(s);
    for (int64_t i = threadIdx.x; i < n; i += kThreads)
      dr[i] = log ? gr[i] - T(exp(yr[i]) * s) : yr[i] * (gr[i] - T(s));
  }
}

template <class T>
__global__ void nll_pick_kernel(const T* logp, int64_t rs, int64_t cs, const int64_t* target, const T* w, int64_t m,
                                int64_t ignore, T* picked) {
  FASTNN_GRID_LOOP(i, m) picked[i] = target[i] == ignore ? T(0) : -w[i] * logp[i * rs + target[i] * cs];
}

template <class T>
__global__ void nll_backward_kernel(const T* g, bool per_row, double divisor, const int64_t* target, const T* w,
                                    int64_t m, int64_t c, int64_t ignore, T* grad) {
  FASTNN_GRID_LOOP(e, m * c) {
    const int64_t i = e / c;
    const T gv = per_row ? g[i] : T(double(g[0]) / divisor);
    grad[e] = target[i] != ignore && target[i] == e % c ? -w[i] * gv : T(0);
  }
}

}  // namespace

void softmax_rows(bool is_double, const void* x, void* y, int64_t rows, int64_t n, bool log, int index) {
  if (rows == 0 || n == 0) return;
  use_device(index, "softmax");
  if (is_double)
    FASTNN_LAUNCH(row_blocks(rows), kThreads, softmax_kernel<double>)(static_cast<const double*>(x),
                                                                      static_cast<double*>(y), rows, n, log);
  else
    FASTNN_LAUNCH(row_blocks(rows), kThreads, softmax_kernel<float>)(static_cast<const float*>(x),
                                                                     static_cast<float*>(y), rows, n, log);
  check_launch("softmax");
}

void softmax_backward_rows(bool is_double, const void* g, const void* y, void* dx, int64_t rows, int64_t n, bool log,
                           int index) {
  if (rows == 0 || n == 0) return;
  use_device(index, "softmax backward");
  if (is_double)
    FASTNN_LAUNCH(row_blocks(rows), kThreads, softmax_backward_kernel<double>)(
        static_cast<const double*>(g), static_cast<const double*>(y), static_cast<double*>(dx), rows, n, log);
  else
    FASTNN_LAUNCH(row_blocks(rows), kThreads, softmax_backward_kernel<float>)(
        static_cast<const float*>(g), static_cast<const float*>(y), static_cast<float*>(dx), rows, n, log);
  check_launch("softmax backward");
}

void nll_pick(bool is_double, const void* logp, int64_t row_stride, int64_t col_stride, const int64_t* target,
              const void* weight, int64_t m, int64_t ignore, void* picked, int index) {
  if (m == 0) return;
  use_device(index, "nll_loss");
  if (is_double)
    FASTNN_LAUNCH(blocks_for(m), kThreads, nll_pick_kernel<double>)(
        static_cast<const double*>(logp), row_stride, col_stride, target, static_cast<const double*>(weight), m, ignore,
        static_cast<double*>(picked));
  else
    FASTNN_LAUNCH(blocks_for(m), kThreads, nll_pick_kernel<float>)(
        static_cast<const float*>(logp), row_stride, col_stride, target, static_cast<const float*>(weight), m, ignore,
        static_cast<float*>(picked));
  check_launch("nll_loss");
}

void nll_backward(bool is_double, const void* grad_out, bool per_row, double divisor, const int64_t* target,
                  const void* weight, int64_t m, int64_t c, int64_t ignore, void* grad, int index) {
  if (m * c == 0) return;
  use_device(index, "nll_loss backward");
  if (is_double)
    FASTNN_LAUNCH(blocks_for(m * c), kThreads, nll_backward_kernel<double>)(
        static_cast<const double*>(grad_out), per_row, divisor, target, static_cast<const double*>(weight), m, c,
        ignore, static_cast<double*>(grad));
  else
    FASTNN_LAUNCH(blocks_for(m * c), kThreads, nll_backward_kernel<float>)(
        static_cast<const float*>(grad_out), per_row, divisor, target, static_cast<const float*>(weight), m, c, ignore,
        static_cast<float*>(grad));
  check_launch("nll_loss backward");
}

}  // namespace fastnn::cuda
