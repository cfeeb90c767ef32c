// Reductions on a GPU (kernels/cuda/reduce.cu; in a CPU-only build device.cpp defines them to
// throw). Deterministic: each sum runs in a fixed order (no atomics), so the same input gives the same bits.
#pragma once
#include <cstdint>

#include "fastnn/dtype.h"

namespace fastnn::cuda {

// out[o] = scale * sum of rows[o * reduced + r] over r < reduced, for o < outputs (rows contiguous), in `dtype`
// (float32, float64 or int64; scale 1 for int64). On GPU `index`.
void row_sums(const void* rows, int64_t outputs, int64_t reduced, double scale, DType dtype, void* out, int index);
// out[o] = the index r of the largest (is_max) or smallest element of row o: the first one, NaN counting as the
// extreme (torch's argmax/argmin). float32 or float64 rows.
void row_arg_extreme(const void* rows, int64_t outputs, int64_t reduced, bool is_double, bool is_max, int64_t* out,
                     int index);

}  // namespace fastnn::cuda
