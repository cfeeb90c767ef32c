// Measures this machine's peak FP32 FMA rate per core (the PEAK_GFLOPS_PER_CORE in bench/lenet.py).
// Build and run: g++ -O2 -mavx512f -mfma bench/fma_peak.cpp -o /tmp/fma_peak && /tmp/fma_peak
// (two copies at once, `/tmp/fma_peak & /tmp/fma_peak; wait`, checks that it scales per core.)
// 12 independent accumulators cover FMA latency x pipes; zmm and ymm rates show whether the core
// has full-width 512-bit FMA units (Zen 4 does not: AVX-512 runs on 256-bit pipes, same FLOP/cycle).
#include <immintrin.h>

#include <chrono>
#include <cstdio>

static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

int main() {
  const long iters = 200000000;
  for (int rep = 0; rep < 3; ++rep) {
    __m512 a[12];
    const __m512 b = _mm512_set1_ps(1.0000001f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(float(i));
    const double t0 = now();
    for (long n = 0; n < iters; ++n) {
#pragma GCC unroll 12
      for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], b, c);
    }
    const double dt = now() - t0;
    float s = 0;
    for (int i = 0; i < 12; ++i) s += _mm512_reduce_add_ps(a[i]);
    std::printf("zmm FMA: %.1f GFLOP/s per core (checksum %g)\n", iters * 12.0 * 16 * 2 / dt * 1e-9, s);
  }
  __m256 d[12];
  const __m256 e = _mm256_set1_ps(1.0000001f), f = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < 12; ++i) d[i] = _mm256_set1_ps(float(i));
  const double t0 = now();
  for (long n = 0; n < iters; ++n) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) d[i] = _mm256_fmadd_ps(d[i], e, f);
  }
  const double dt = now() - t0;
  float tmp[8], s = 0;
  for (int i = 0; i < 12; ++i) {
    _mm256_storeu_ps(tmp, d[i]);
    s += tmp[0];
  }
  std::printf("ymm FMA: %.1f GFLOP/s per core (checksum %g)\n", iters * 12.0 * 8 * 2 / dt * 1e-9, s);
}
