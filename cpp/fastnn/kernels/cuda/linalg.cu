// Batched LU factorization and solves on a GPU: one thread per matrix runs ops/linalg_rules.h.
#include <cuda_runtime.h>

#include <cstdint>

#include "fastnn/kernels/cuda/layout.cuh"
#include "fastnn/kernels/cuda/linalg.h"
#include "fastnn/ops/linalg_rules.h"

namespace fastnn::cuda {
namespace {

template <class T>
__global__ void lu_factor_kernel(T* a, int64_t batch, int64_t n, int64_t* perm, int64_t* sign) {
  FASTNN_GRID_LOOP(b, batch) sign[b] = rules::lu_factor(a + b * n * n, n, perm + b * n);
}

template <class T>
__global__ void lu_solve_kernel(const T* lu, const int64_t* perm, int64_t batch, int64_t n, const T* rhs, int64_t m,
                                T* x) {
  FASTNN_GRID_LOOP(b, batch) rules::lu_solve(lu + b * n * n, perm + b * n, n, rhs + b * n * m, m, x + b * n * m);
}

}  // namespace

void lu_factor_batched(bool is_double, void* a, int64_t batch, int64_t n, int64_t* perm, int64_t* sign, int index) {
  if (batch == 0) return;
  use_device(index, "linalg.lu_factor");
  if (is_double)
    FASTNN_LAUNCH(blocks_for(batch), kThreads, lu_factor_kernel<double>)(static_cast<double*>(a), batch, n, perm, sign);
  else
    FASTNN_LAUNCH(blocks_for(batch), kThreads, lu_factor_kernel<float>)(static_cast<float*>(a), batch, n, perm, sign);
  check_launch("linalg.lu_factor");
}

void lu_solve_batched(bool is_double, const void* lu, const int64_t* perm, int64_t batch, int64_t n, const void* b,
                      int64_t m, void* x, int index) {
  if (batch == 0) return;
  use_device(index, "linalg.solve");
  if (is_double)
    FASTNN_LAUNCH(blocks_for(batch), kThreads, lu_solve_kernel<double>)(
        static_cast<const double*>(lu), perm, batch, n, static_cast<const double*>(b), m, static_cast<double*>(x));
  else
    FASTNN_LAUNCH(blocks_for(batch), kThreads, lu_solve_kernel<float>)(
        static_cast<const float*>(lu), perm, batch, n, static_cast<const float*>(b), m, static_cast<float*>(x));
  check_launch("linalg.solve");
}

}  // namespace fastnn::cuda
