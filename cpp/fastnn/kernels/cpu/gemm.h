// Matrix multiply on raw strided pointers: packed, cache-blocked, with SIMD micro-kernels chosen
// at run time (AVX-512, AVX2+FMA, or portable C++; see simd.h). Results are bitwise identical at any number
// of threads: K is never split across threads and its block boundaries depend on K alone.
#pragma once
#include <cstdint>

namespace fastnn::kernels {

// C[M,N] = A[M,K] * B[K,N]  (or C += A*B when accumulate). A element (i,k) is at A[i*a_rs + k*a_cs],
// B element (k,j) at B[k*b_rs + j*b_cs] (so transposed operands cost nothing), C row-major with row stride ldc.
template <class T> void gemm(int64_t M, int64_t N, int64_t K, const T* A, int64_t a_rs, int64_t a_cs,
                             const T* B, int64_t b_rs, int64_t b_cs, T* C, int64_t ldc, bool accumulate);

}  // namespace fastnn::kernels
