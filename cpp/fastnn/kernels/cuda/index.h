// Row gathers on a GPU (kernels/cuda/index.cu; in a CPU-only build device.cpp defines them to throw): embedding.
#pragma once
#include <cstddef>
#include <cstdint>

namespace fastnn::cuda {

// out[i, :] = table[idx[i], :] for i < n, rows of `dim` elements of `itemsize` bytes (all contiguous).
void gather_rows(const void* table, const int64_t* idx, int64_t n, int64_t dim, size_t itemsize, void* out, int index);
// grad[r, :] = sum of g[p, :] over the positions p listed for row r, in their order (positions[starts[r] ..
// starts[r + 1]]), for r < rows; row `skip` (when >= 0) stays 0. float32 or float64; fixed order, no atomics.
void sum_rows_by_index(bool is_double, const void* g, const int64_t* starts, const int64_t* positions, int64_t rows,
                       int64_t dim, int64_t skip, void* grad, int index);

}  // namespace fastnn::cuda
