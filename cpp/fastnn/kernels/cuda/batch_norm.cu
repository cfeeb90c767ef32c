// Batch normalisation on a GPU: one block per channel (grid-stride over channels). The statistics add in double, each
// thread a fixed stride of the channel's elements, then the block's fixed tree: the same bits on every run.
#include <cuda_runtime.h>

#include <cmath>

#include "fastnn/kernels/cuda/batch_norm.h"
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
  forward_kernel<T><<<row_blocks(s.C), kThreads>>>(s, static_cast<const T*>(x), static_cast<const T*>(w),
                                                   static_cast<const T*>(b), static_cast<T*>(rm), static_cast<T*>(rv),
                                                   training, momentum, eps, static_cast<T*>(y), mean, invstd);
}

template <class T>
void backward(const BatchNormShape& s, const void* x, const void* g, const void* w, const double* mean,
              const double* invstd, bool training, void* gx, void* gw, void* gb) {
  backward_kernel<T><<<row_blocks(s.C), kThreads>>>(s, static_cast<const T*>(x), static_cast<const T*>(g),
                                                    static_cast<const T*>(w), mean, invstd, training,
                                                    static_cast<T*>(gx), static_cast<T*>(gw), static_cast<T*>(gb));
}

}  // namespace

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
