// LU factorization with partial pivoting and the triangular solves after it, for one small dense matrix, compiled
// for the CPU loops (ops/linalg_solve.cpp) and the CUDA kernels (kernels/cuda/linalg.cu) alike (host_device.h): a
// batch of matrices is one call per matrix on either device, so both give the same bits.
#pragma once
#include <cstdint>

#include "fastnn/host_device.h"

namespace fastnn::rules {

// a (n x n, row-major) becomes its LU factors in place: PA = LU, L unit lower (below the diagonal), U upper. perm[i]
// is the row of A that row i of PA came from. Returns the permutation's sign (+1 or -1), or 0 when a pivot is exactly
// zero (A singular: the factors are then incomplete).
template <class T> FASTNN_HOST_DEVICE int lu_factor(T* a, int64_t n, int64_t* perm) {
  int sign = 1;
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  for (int64_t k = 0; k < n; ++k) {
    int64_t p = k;  // the largest |a[i][k]| at or below the diagonal
    for (int64_t i = k + 1; i < n; ++i)
      if ((a[i * n + k] < 0 ? -a[i * n + k] : a[i * n + k]) > (a[p * n + k] < 0 ? -a[p * n + k] : a[p * n + k])) p = i;
    if (a[p * n + k] == T(0)) return 0;
    if (p != k) {
      for (int64_t j = 0; j < n; ++j) {
        const T t = a[k * n + j];
        a[k * n + j] = a[p * n + j];
        a[p * n + j] = t;
      }
      const int64_t t = perm[k];
      perm[k] = perm[p];
      perm[p] = t;
      sign = -sign;
    }
    for (int64_t i = k + 1; i < n; ++i) {
      const T f = a[i * n + k] / a[k * n + k];
      a[i * n + k] = f;
      for (int64_t j = k + 1; j < n; ++j) a[i * n + j] -= f * a[k * n + j];
    }
  }
  return sign;
}

// x (n x m, row-major) = A^-1 b from A's LU factors: b's rows permuted, then forward and back substitution.
template <class T> FASTNN_HOST_DEVICE void lu_solve(const T* lu, const int64_t* perm, int64_t n, const T* b, int64_t m,
                                                    T* x) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < m; ++c) {
      T s = b[perm[i] * m + c];
      for (int64_t j = 0; j < i; ++j) s -= lu[i * n + j] * x[j * m + c];
      x[i * m + c] = s;
    }
  for (int64_t i = n - 1; i >= 0; --i)
    for (int64_t c = 0; c < m; ++c) {
      T s = x[i * m + c];
      for (int64_t j = i + 1; j < n; ++j) s -= lu[i * n + j] * x[j * m + c];
      x[i * m + c] = s / lu[i * n + i];
    }
}

}  // namespace fastnn::rules
