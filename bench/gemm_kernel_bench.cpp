// Times fastnn::kernels::gemm and prints GFLOP/s per shape (compare with NumPy on the same machine).
// Build: g++ -std=c++17 -O3 -fopenmp -Icpp bench/gemm_kernel_bench.cpp cpp/fastnn/kernels/cpu/gemm.cpp cpp/fastnn/kernels/cpu/simd.cpp
// Usage: gemm_kernel_bench [float|double] [generic|avx2|avx512]   (threads: OMP_NUM_THREADS)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "fastnn/kernels/cpu/gemm.h"
#include "fastnn/kernels/cpu/simd.h"

using fastnn::kernels::Isa;

struct Shape {
  int64_t M, N, K;
  bool ta, tb;  // A / B stored transposed
};

template <class T>
void bench(const Shape& s) {
  std::mt19937 rng(0);
  std::uniform_real_distribution<double> dist(-1, 1);
  std::vector<T> A(s.M * s.K), B(s.K * s.N), C(s.M * s.N);
  for (auto& x : A) x = T(dist(rng));
  for (auto& x : B) x = T(dist(rng));
  const int64_t a_rs = s.ta ? 1 : s.K, a_cs = s.ta ? s.M : 1;
  const int64_t b_rs = s.tb ? 1 : s.N, b_cs = s.tb ? s.K : 1;
  auto once = [&] {
    fastnn::kernels::gemm<T>(s.M, s.N, s.K, A.data(), a_rs, a_cs, B.data(), b_rs, b_cs, C.data(), s.N, false);
  };
  const double flops = 2.0 * s.M * s.N * s.K;
  const int reps = std::max(3, int(2e9 / flops));
  once();
  double best = 1e30;
  for (int trial = 0; trial < 5; ++trial) {
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) once();
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
    best = std::min(best, dt);
  }
  std::printf("M=%5lld N=%5lld K=%5lld %s%s  %8.2f us  %7.1f GFLOP/s\n", (long long)s.M, (long long)s.N,
              (long long)s.K, s.ta ? "At" : "A ", s.tb ? "Bt" : "B ", best * 1e6, flops / best * 1e-9);
}

int main(int argc, char** argv) {
  const bool dbl = argc > 1 && !std::strcmp(argv[1], "double");
  if (argc > 2) {
    const Isa isa = !std::strcmp(argv[2], "generic") ? Isa::Generic
                        : !std::strcmp(argv[2], "avx2") ? Isa::Avx2
                                                         : Isa::Avx512;
    fastnn::kernels::set_kernel_isa(isa);
  }
  const Shape shapes[] = {
      {256, 256, 256, false, false},  {1024, 1024, 1024, false, false}, {2048, 2048, 2048, false, false},
      {1024, 1024, 1024, true, false}, {1024, 1024, 1024, false, true},
      // LeNet (batch 64): conv forward per image, linear forward, and backward variants.
      {6, 784, 25, false, false},     {16, 100, 150, false, false},     {64, 120, 400, false, true},
      {64, 84, 120, false, true},     {64, 10, 84, false, true},        {64, 400, 120, false, false},
      {120, 400, 64, true, false},    {10, 84, 64, true, false},        {25, 784, 6, true, false},
      {6, 25, 784, false, true},      {150, 100, 16, true, false},      {16, 150, 100, false, true},
  };
  for (const Shape& s : shapes) dbl ? bench<double>(s) : bench<float>(s);
}
