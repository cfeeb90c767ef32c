// Batch, layer and RMS normalisation on a GPU, float32 and float64 (kernels/cuda/normalization.cu; in a CPU-only
// build device.cpp defines them to throw). The CPU's formulas (ops/normalization.cpp, kernels/cpu/normalization.h):
// statistics in double, in a fixed order.
#pragma once
#include <cstdint>

namespace fastnn::cuda {

// x viewed as (N, C, S), contiguous.
struct BatchNormShape {
  int64_t N, C, S;
};

// y = (x - mean) * invstd * w + b per channel (w, b may be null). Training: the batch's mean and invstd, written to
// mean[c], invstd[c], with invstd[C + c] = the sum of squared deviations; running_mean/var (may be null) move by
// `momentum` towards the batch's mean and unbiased variance. Otherwise the running statistics are used (null: 0 and
// 1) and written to mean/invstd. mean and invstd are device arrays of doubles (C and 2C).
void batch_norm_forward(bool is_double, const BatchNormShape& s, const void* x, const void* w, const void* b,
                        void* running_mean, void* running_var, bool training, double momentum, double eps, void* y,
                        double* mean, double* invstd, int index);
// The gradients for gy (gx, gw, gb may each be null: not needed), from the forward's mean and invstd.
void batch_norm_backward(bool is_double, const BatchNormShape& s, const void* x, const void* gy, const void* w,
                         const double* mean, const double* invstd, bool training, void* gx, void* gw, void* gb,
                         int index);

// x as `rows` contiguous rows of n: y = (x - mean) * rstd * w[j] + b[j] (w, b may be null); mean and rstd (device
// arrays of `rows` doubles) are written. With `rms` the mean is not subtracted (written as 0) and rstd is
// 1 / sqrt(mean(x^2) + eps).
void layer_norm_forward(bool is_double, const void* x, const void* w, const void* b, int64_t rows, int64_t n,
                        double eps, bool rms, void* y, double* mean, double* rstd, int index);
// Its gradients for gy; gx, gw, gb may each be null (not needed). gw and gb sum over the rows in row order.
void layer_norm_backward(bool is_double, const void* gy, const void* x, const double* mean, const double* rstd,
                         const void* w, int64_t rows, int64_t n, bool rms, void* gx, void* gw, void* gb, int index);

}  // namespace fastnn::cuda
