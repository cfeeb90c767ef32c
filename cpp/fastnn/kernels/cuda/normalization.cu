// Batch normalisation (one block per channel) and layer/RMS normalisation (one block per row) on a GPU, grid-stride
// over channels or rows. The statistics add in double, each thread a fixed stride of the elements, then the block's
// fixed tree; layer norm's weight and bias gradients are column sums, one thread per column adding the rows in
// order: the same bits on every run.
#include <cuda_runtime.h>

#include <cmath>

#include "fastnn/kernels/cuda/normalization.h"
#include "fastnn/kernels/cuda/block_reduce.cuh"
#include "fastnn/kernels/cuda/layout.cuh"

namespace fastnn::cuda {
namespace {

// The channel's k-th element (k < N * S) in x viewed as (N, C, S).
__device__ inline int64_t at(const BatchNormShape& s, int64_t c, int64_t k) {
  return (k / s.S * s.C + c) * s.S + k % s.S;
}

template <class T>
__global__ void forward_kernel(BatchNormShape s, const T* x, const T* w, const T* b, T* rmean, T* rvar, bool training,
                               double momentum, double eps, T* y, double* mean, double* invstd) {
  const int64_t count = s.N * s.S;
  for (int64_t c = blockIdx.x; c < s.C; c += gridDim.x) {
    double mu, istd;
    if (training) {
      double sum = 0;
      for (int64_t k = threadIdx.x; k < count; k += kThreads) sum += x[at(s, c, k)];
      mu = block_reduce<double>(sum) / double(count);
      double sq = 0;
      for (int64_t k = threadIdx.x; k < count; k += kThreads) {
        const double d = x[at(s, c, k)] - mu;
        sq += d * d;
      }
      sq = block_reduce<double>(sq);
      istd = 1.0 / sqrt(sq / double(count) + eps);
      if (threadIdx.x == 0) {
        invstd[s.C + c] = sq;
        if (rmean) rmean[c] = T((1 - momentum) * rmean[c] + momentum * mu);
        if (rvar) rvar[c] = T((1 - momentum) * rvar[c] + momentum * sq / double(count - 1));
      }
    } else {
      mu = rmean ? double(rmean[c]) : 0.0;
      istd = 1.0 / sqrt((rvar ? double(rvar[c]) : 1.0) + eps);
    }
    if (threadIdx.x == 0) mean[c] = mu, invstd[c] = istd;
    const double wc = w ? double(w[c]) : 1.0;
    const T scale = T(istd * wc), shift = T((b ? double(b[c]) : 0.0) - mu * istd * wc);
    for (int64_t k = threadIdx.x; k < count; k += kThreads) y[at(s, c, k)] = x[at(s, c, k)] * scale + shift;
  }
}

template <class T>
__global__ void backward_kernel(BatchNormShape s, const T* x, const T* g, const T* w, const double* mean,
                                const double* invstd, bool training, T* gx, T* gw, T* gb) {
  const int64_t count = s.N * s.S;
  for (int64_t c = blockIdx.x; c < s.C; c += gridDim.x) {
    double sg = 0, sgx = 0;
    for (int64_t k = threadIdx.x; k < count; k += kThreads) {
      const int64_t i = at(s, c, k);
      sg += g[i];
      sgx += g[i] * (x[i] - mean[c]) * invstd[c];
    }
    sg = block_reduce<double>(sg);
    sgx = block_reduce<double>(sgx);
    if (threadIdx.x == 0) {
      if (gw) gw[c] = T(sgx);
      if (gb) gb[c] = T(sg);
    }
    if (!gx) continue;
    const double wc = w ? double(w[c]) : 1.0;
    for (int64_t k = threadIdx.x; k < count; k += kThreads) {
      const int64_t i = at(s, c, k);
      const double xhat = (x[i] - mean[c]) * invstd[c];
      const double d = training ? (g[i] - sg / double(count) - xhat * sgx / double(count)) : double(g[i]);
      gx[i] = T(d * invstd[c] * wc);
    }
  }
}

template <class T>
void forward(const BatchNormShape& s, const void* x, const void* w, const void* b, void* rm, void* rv, bool training,
             double momentum, double eps, void* y, double* mean, double* invstd) {
  FASTNN_LAUNCH(row_blocks(s.C), kThreads, forward_kernel<T>)(
      s, static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(b), static_cast<T*>(rm),
      static_cast<T*>(rv), training, momentum, eps, static_cast<T*>(y), mean, invstd);
}

template <class T>
void backward(const BatchNormShape& s, const void* x, const void* g, const void* w, const double* mean,
              const double* invstd, bool training, void* gx, void* gw, void* gb) {
  FASTNN_LAUNCH(row_blocks(s.C), kThreads, backward_kernel<T>)(
      s, static_cast<const T*>(x), static_cast<const T*>(g), static_cast<const T*>(w), mean, invstd, training,
      static_cast<T*>(gx), static_cast<T*>(gw), static_cast<T*>(gb));
}

template <class T>
__global__ void layer_norm_forward_kernel(const T* x, const T* w, const T* b, int64_t rows, int64_t n, double eps,
                                          bool rms, T* y, double* mean, double* rstd) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    if (n == 0) {  // no values: the CPU's statistics of an empty row (the block agrees: n is the same for all)
      if (threadIdx.x == 0) mean[r] = 0, rstd[r] = 1 / sqrt(eps);
      continue;
    }
    const T k = rms ? T(0) : xr[0];  // sums shifted by the first value: a large offset does not cancel the variance
    double s = 0, q = 0;
    for (int64_t j = threadIdx.x; j < n; j += kThreads) {
      const double d = double(xr[j] - k);
      s += d, q += d * d;
    }
    s = block_reduce<double>(s);
    q = block_reduce<double>(q);
    const double shifted_mean = s / double(n), sq = q / double(n) - shifted_mean * shifted_mean;
    const double var = rms ? q / double(n) : (sq > 0 ? sq : 0.0);
    const double mu = rms ? 0.0 : double(k) + shifted_mean, rs = 1 / sqrt(var + eps);
    if (threadIdx.x == 0) mean[r] = mu, rstd[r] = rs;
    const T m = T(mu), rt = T(rs);
    for (int64_t j = threadIdx.x; j < n; j += kThreads) {
      T v = (xr[j] - m) * rt;
      if (w) v *= w[j];
      if (b) v += b[j];
      yr[j] = v;
    }
  }
}

template <class T>
__global__ void layer_norm_input_grad_kernel(const T* g, const T* x, const double* mean, const double* rstd, const T* w,
                                             int64_t rows, int64_t n, bool rms, T* gx) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T *xr = x + r * n, *gr = g + r * n;
    const T m = T(mean[r]), rs = T(rstd[r]);
    // gx = rstd * (a - mean(a) - xhat * mean(a * xhat)), a = gy * w (mean(a) dropped for RMS norm)
    double sa = 0, sax = 0;
    for (int64_t j = threadIdx.x; j < n; j += kThreads) {
      const T a = w ? gr[j] * w[j] : gr[j];
      sa += double(a), sax += double(a * ((xr[j] - m) * rs));
    }
    sa = block_reduce<double>(sa);
    sax = block_reduce<double>(sax);
    const T ca = T(rms ? 0.0 : sa / double(n)), cx = T(sax / double(n));
    for (int64_t j = threadIdx.x; j < n; j += kThreads)
      gx[r * n + j] = rs * ((w ? gr[j] * w[j] : gr[j]) - ca - (xr[j] - m) * rs * cx);
  }
}

template <class T>
__global__ void layer_norm_param_grad_kernel(const T* g, const T* x, const double* mean, const double* rstd,
                                             int64_t rows, int64_t n, T* gw, T* gb) {
  FASTNN_GRID_LOOP(j, n) {
    double sw = 0, sb = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const T gv = g[r * n + j];
      sw += double(gv * ((x[r * n + j] - T(mean[r])) * T(rstd[r])));
      sb += double(gv);
    }
    if (gw) gw[j] = T(sw);
    if (gb) gb[j] = T(sb);
  }
}

}  // namespace

void layer_norm_forward(bool is_double, const void* x, const void* w, const void* b, int64_t rows, int64_t n,
                        double eps, bool rms, void* y, double* mean, double* rstd, int index) {
  if (rows == 0) return;
  use_device(index, "layer_norm");
  if (is_double)
    FASTNN_LAUNCH(row_blocks(rows), kThreads, layer_norm_forward_kernel<double>)(
        static_cast<const double*>(x), static_cast<const double*>(w), static_cast<const double*>(b), rows, n, eps, rms,
        static_cast<double*>(y), mean, rstd);
  else
    FASTNN_LAUNCH(row_blocks(rows), kThreads, layer_norm_forward_kernel<float>)(
        static_cast<const float*>(x), static_cast<const float*>(w), static_cast<const float*>(b), rows, n, eps, rms,
        static_cast<float*>(y), mean, rstd);
  check_launch("layer_norm");
}

void layer_norm_backward(bool is_double, const void* gy, const void* x, const double* mean, const double* rstd,
                         const void* w, int64_t rows, int64_t n, bool rms, void* gx, void* gw, void* gb, int index) {
  use_device(index, "layer_norm backward");
  if (gx && rows > 0) {
    if (is_double)
      FASTNN_LAUNCH(row_blocks(rows), kThreads, layer_norm_input_grad_kernel<double>)(
          static_cast<const double*>(gy), static_cast<const double*>(x), mean, rstd, static_cast<const double*>(w),
          rows, n, rms, static_cast<double*>(gx));
    else
      FASTNN_LAUNCH(row_blocks(rows), kThreads, layer_norm_input_grad_kernel<float>)(
          static_cast<const float*>(gy), static_cast<const float*>(x), mean, rstd, static_cast<const float*>(w), rows,
          n, rms, static_cast<float*>(gx));
  }
  if ((gw || gb) && n > 0) {
    if (is_double)
      FASTNN_LAUNCH(blocks_for(n), kThreads, layer_norm_param_grad_kernel<double>)(
          static_cast<const double*>(gy), static_cast<const double*>(x), mean, rstd, rows, n, static_cast<double*>(gw),
          static_cast<double*>(gb));
    else
      FASTNN_LAUNCH(blocks_for(n), kThreads, layer_norm_param_grad_kernel<float>)(
          static_cast<const float*>(gy), static_cast<const float*>(x), mean, rstd, rows, n, static_cast<float*>(gw),
          static_cast<float*>(gb));
  }
  check_launch("layer_norm backward");
}

void batch_norm_forward(bool is_double, const BatchNormShape& s, const void* x, const void* w, const void* b,
                        void* running_mean, void* running_var, bool training, double momentum, double eps, void* y,
                        double* mean, double* invstd, int index) {
  if (s.C == 0) return;
  use_device(index, "batch_norm");
  if (is_double) forward<double>(s, x, w, b, running_mean, running_var, training, momentum, eps, y, mean, invstd);
  else forward<float>(s, x, w, b, running_mean, running_var, training, momentum, eps, y, mean, invstd);
  check_launch("batch_norm");
}

void batch_norm_backward(bool is_double, const BatchNormShape& s, const void* x, const void* gy, const void* w,
                         const double* mean, const double* invstd, bool training, void* gx, void* gw, void* gb,
                         int index) {
  if (s.C == 0) return;
  use_device(index, "batch_norm backward");
  if (is_double) backward<double>(s, x, gy, w, mean, invstd, training, gx, gw, gb);
  else backward<float>(s, x, gy, w, mean, invstd, training, gx, gw, gb);
  check_launch("batch_norm backward");
}

}  // namespace fastnn::cuda
