// Batched LU on a GPU, one thread per matrix (kernels/cuda/linalg.cu; in a CPU-only build device.cpp defines them to
// throw): ops/linalg_rules.h's lu_factor and lu_solve, the CPU's code. For the small matrices these ops see.
#pragma once
#include <cstdint>

namespace fastnn::cuda {

// a (batch, n, n) contiguous, factored in place; perm (batch, n); sign (batch): lu_factor's result.
void lu_factor_batched(bool is_double, void* a, int64_t batch, int64_t n, int64_t* perm, int64_t* sign, int index);
// x (batch, n, m) = A^-1 b for b (batch, n, m), from lu and perm (batch-wise).
void lu_solve_batched(bool is_double, const void* lu, const int64_t* perm, int64_t batch, int64_t n, const void* b,
                      int64_t m, void* x, int index);

}  // namespace fastnn::cuda
