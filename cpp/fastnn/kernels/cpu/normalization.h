// Layer, RMS and group normalisation on raw pointers over contiguous rows. Statistics are one pass of
// shifted sums (chunks of 512 values summed in the input's precision, chunks added in double); mean and
// rstd (1 / sqrt(var + eps)) are kept in double per row.
// Work is split by rows in fixed-size blocks, never by thread count, and per-block partial sums are
// added in block order, so every result is bitwise the same at any number of threads.
#pragma once
#include <cstdint>

namespace fastnn::kernels {

// x as `rows` rows of n: y = (x - mean) * rstd * w[j] + b[j] (w, b may be null). With `rms` the mean
// is not subtracted and rstd = 1 / sqrt(mean(x^2) + eps) (mean[] is then written as 0).
template <class T> void layer_norm_forward(const T* x, const T* w, const T* b, int64_t rows, int64_t n, double eps,
                                           bool rms, T* y, double* mean, double* rstd);

// Gradients of layer_norm_forward given gy; any of gx, gw, gb may be null (not needed). gw/gb are
// written whole (zero when rows == 0).
template <class T> void layer_norm_backward(const T* gy, const T* x, const double* mean, const double* rstd, const T* w,
                                            int64_t rows, int64_t n, bool rms, T* gx, T* gw, T* gb);

// x as (N, C, S) in G groups of C / G channels: each (sample, group) is one contiguous row of
// (C / G) * S values normalised together, then y = xhat * w[c] + b[c]. mean and rstd are (N, G).
template <class T> void group_norm_forward(const T* x, const T* w, const T* b, int64_t N, int64_t C, int64_t S,
                                           int64_t G, double eps, T* y, double* mean, double* rstd);

// Gradients of group_norm_forward; any of gx, gw, gb may be null.
template <class T> void group_norm_backward(const T* gy, const T* x, const double* mean, const double* rstd, const T* w,
                                            int64_t N, int64_t C, int64_t S, int64_t G, T* gx, T* gw, T* gb);

// Instance norm's running statistics from the (N, C) per-instance mean and rstd over S values each:
// running = (1 - momentum) * running + momentum * (the batch average of the mean / the unbiased variance).
template <class T> void instance_norm_update_running(const double* mean, const double* rstd, int64_t N, int64_t C,
                                                     int64_t S, double eps, double momentum, T* running_mean,
                                                     T* running_var);

}  // namespace fastnn::kernels
