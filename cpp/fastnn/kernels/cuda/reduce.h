// Reductions on a GPU, float32 and float64 (kernels/cuda/reduce.cu; in a CPU-only build device.cpp defines them to
// throw). Deterministic: each sum runs in a fixed order (no atomics), so the same input gives the same bits.
#pragma once
#include <cstdint>

namespace fastnn::cuda {

// out[o] = scale * sum of rows[o * reduced + r] over r < reduced, for o < outputs (rows contiguous). On GPU `index`.
void row_sums(const void* rows, int64_t outputs, int64_t reduced, double scale, bool is_double, void* out, int index);

}  // namespace fastnn::cuda
