// Sorting rows on a GPU (kernels/cuda/sort.cu; in a CPU-only build device.cpp defines it to throw): sort, argsort,
// topk, kthvalue, median.
#pragma once
#include <cstdint>

#include "fastnn/dtype.h"

namespace fastnn::cuda {

// Positions [first, k) of each row's order (rows x n, contiguous): values and indices as rows of k - first. The
// order is ops/sort.cpp's (NaN largest, equal values by index, `descending` reversing the values only), so the
// result equals the CPU's. With `nan_wins` (median) a row holding a NaN gives its first NaN. One thread per element
// finds its rank by counting (n^2 / row: fine for the rows these ops see, not for very long ones).
void order_rows(const void* x, int64_t rows, int64_t n, int64_t first, int64_t k, bool descending, bool nan_wins,
                DType dtype, void* values, int64_t* indices, int index);

}  // namespace fastnn::cuda
