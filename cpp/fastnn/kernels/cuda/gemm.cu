// A tiled GEMM: each block computes a 64 x 64 tile of C with 256 threads (4 x 4 outputs each), staging 16-wide
// slices of A and B in shared memory. Operands are read through their strides, so views need no copy. Every output
// adds its K products in order (no split-K, no atomics): the same inputs give the same bits on every run.
#include <cuda_runtime.h>

#include "fastnn/kernels/cuda/gemm.h"
#include "fastnn/kernels/cuda/layout.cuh"

namespace fastnn::cuda {
namespace {

constexpr int kTile = 64, kDepth = 16, kPer = 4;  // C tile kTile x kTile, K slice kDepth, kPer x kPer per thread

template <class T>
__global__ void gemm_kernel(int64_t batch, int64_t M, int64_t N, int64_t K, const T* A, int64_t a_b, int64_t a_r,
                            int64_t a_c, const T* B, int64_t b_b, int64_t b_r, int64_t b_c, T* C, int64_t c_b,
                            int64_t ldc, bool accumulate) {
  __shared__ T As[kDepth][kTile + 1];  // As[k][i] = A(i0 + i, k0 + k); +1 keeps the columns on separate banks
  __shared__ T Bs[kDepth][kTile];      // Bs[k][j] = B(k0 + k, j0 + j)
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int64_t i0 = int64_t(blockIdx.y) * kTile, j0 = int64_t(blockIdx.x) * kTile;
  for (int64_t b = blockIdx.z; b < batch; b += gridDim.z) {
    const T* a = A + b * a_b;
    const T* bb = B + b * b_b;
    T acc[kPer][kPer] = {};
    for (int64_t k0 = 0; k0 < K; k0 += kDepth) {
      for (int e = threadIdx.x; e < kDepth * kTile; e += kThreads) {  // 1,024 elements of each slice
        const int k = e / kTile, r = e % kTile;
        const int64_t gi = i0 + r, gk = k0 + k, gj = j0 + r;
        As[k][r] = gi < M && gk < K ? a[gi * a_r + gk * a_c] : T(0);
        Bs[k][r] = gk < K && gj < N ? bb[gk * b_r + gj * b_c] : T(0);
      }
      __syncthreads();
      for (int k = 0; k < kDepth; ++k) {
        T av[kPer], bv[kPer];
        for (int p = 0; p < kPer; ++p) av[p] = As[k][ty + 16 * p], bv[p] = Bs[k][tx + 16 * p];
        for (int p = 0; p < kPer; ++p)
          for (int q = 0; q < kPer; ++q) acc[p][q] += av[p] * bv[q];
      }
      __syncthreads();
    }
    T* c = C + b * c_b;
    for (int p = 0; p < kPer; ++p)
      for (int q = 0; q < kPer; ++q) {
        const int64_t i = i0 + ty + 16 * p, j = j0 + tx + 16 * q;
        if (i < M && j < N) c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[p][q] : acc[p][q];
      }
  }
}

}  // namespace

void gemm(bool is_double, int64_t batch, int64_t M, int64_t N, int64_t K, MatrixRef a, MatrixRef b, void* c,
          int64_t c_batch, int64_t ldc, bool accumulate, int index) {
  if (batch == 0 || M == 0 || N == 0) return;
  const int64_t tiles_m = (M + kTile - 1) / kTile, tiles_n = (N + kTile - 1) / kTile;
  FASTNN_CHECK(tiles_m <= 65535, "[mm] a CUDA product of ", M, " rows (at most ", 65535 * int64_t(kTile), ")");
  FASTNN_CHECK(tiles_n <= int64_t(INT32_MAX), "[mm] a CUDA product of ", N, " columns");
  use_device(index, "mm");
  const dim3 grid(unsigned(tiles_n), unsigned(tiles_m), unsigned(batch < 65535 ? batch : 65535));
  if (is_double)
    FASTNN_LAUNCH(grid, kThreads, gemm_kernel<double>)(
        batch, M, N, K, static_cast<const double*>(a.data), a.batch, a.rows, a.cols, static_cast<const double*>(b.data),
        b.batch, b.rows, b.cols, static_cast<double*>(c), c_batch, ldc, accumulate);
  else
    FASTNN_LAUNCH(grid, kThreads, gemm_kernel<float>)(batch, M, N, K, static_cast<const float*>(a.data), a.batch,
                                                      a.rows, a.cols, static_cast<const float*>(b.data), b.batch,
                                                      b.rows, b.cols, static_cast<float*>(c), c_batch, ldc, accumulate);
  check_launch("mm");
}

}  // namespace fastnn::cuda
