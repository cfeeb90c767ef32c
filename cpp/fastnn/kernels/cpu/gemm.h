// Matrix multiply on raw strided pointers: packed, cache-blocked, with SIMD micro-kernels chosen
// at run time (AVX-512, AVX2+FMA, or portable C++; see simd.h). Results are bitwise identical at any number
// of threads: K is never split across threads and its block boundaries depend on K alone.
#pragma once
#include <cstdint>
#include <vector>

namespace fastnn::kernels {

// C[M,N] = A[M,K] * B[K,N]  (or C += A*B when accumulate). A element (i,k) is at A[i*a_rs + k*a_cs],
// B element (k,j) at B[k*b_rs + j*b_cs] (so transposed operands cost nothing), C row-major with row stride ldc.
// With a bias (N values, accumulate false): C[i,j] = bias[j] + (A*B)[i,j], the bias added as C's old value would
// be, so the bits are those of filling C with the bias and accumulating.
template <class T> void gemm(int64_t M, int64_t N, int64_t K, const T* A, int64_t a_rs, int64_t a_cs, const T* B,
                             int64_t b_rs, int64_t b_cs, T* C, int64_t ldc, bool accumulate, const T* bias = nullptr);

// B (K, N) packed once for many products with different A (a recurrent layer's weight, used at every time
// step): gemm_packed_b then skips the packing of B that gemm does at every call. Packed for the instruction
// set chosen at packing time (kernel_isa()).
template <class T>
struct PackedB {
  int64_t K = 0, N = 0;
  int isa = 0;
  std::vector<T> data;
};
template <class T> PackedB<T> pack_b(int64_t K, int64_t N, const T* B, int64_t b_rs, int64_t b_cs);
// C[M,N] (+)= A[M,K] * B with B packed by pack_b; always the packed-panel algorithm (never gemm's dot-product
// or tiny-product paths), so every M gives the same per-element sums.
template <class T> void gemm_packed_b(int64_t M, const T* A, int64_t a_rs, int64_t a_cs, const PackedB<T>& B, T* C,
                                      int64_t ldc, bool accumulate);

}  // namespace fastnn::kernels
