// Row-wise softmax and log_softmax on a GPU, and the nll_loss gather/scatter (kernels/cuda/softmax.cu; in a CPU-only
// build device.cpp defines them to throw). float32 and float64, contiguous rows; fixed-order sums (deterministic).
#pragma once
#include <cstdint>

namespace fastnn::cuda {

// y[r] = (log_)softmax(x[r]) for `rows` rows of n, max-shifted, sums in double (the CPU kernel's formula).
void softmax_rows(bool is_double, const void* x, void* y, int64_t rows, int64_t n, bool log, int index);
// softmax: dx = y * (g - sum(g * y));  log_softmax: dx = g - exp(y) * sum(g).
void softmax_backward_rows(bool is_double, const void* g, const void* y, void* dx, int64_t rows, int64_t n, bool log,
                           int index);

// picked[i] = target[i] == ignore ? 0 : -weight[i] * logp[i * row_stride + target[i] * col_stride], i < m.
void nll_pick(bool is_double, const void* logp, int64_t row_stride, int64_t col_stride, const int64_t* target,
              const void* weight, int64_t m, int64_t ignore, void* picked, int index);
// grad (m x c, overwritten) = -weight[i] * g at (i, target[i]) for rows not ignored, else 0; g is grad_out[i]
// (per_row) or grad_out[0] / divisor.
void nll_backward(bool is_double, const void* grad_out, bool per_row, double divisor, const int64_t* target,
                  const void* weight, int64_t m, int64_t c, int64_t ignore, void* grad, int index);

}  // namespace fastnn::cuda
