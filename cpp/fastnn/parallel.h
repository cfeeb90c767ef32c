// Threading: OpenMP when built with it. Work is always split by problem shape (fixed-size
// chunks), never by thread count, so results are bitwise identical at any number of threads.
#pragma once
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fastnn {

// The number of threads fastnn's parallel regions use, for every calling thread (as torch's
// set_num_threads; OpenMP's own setting is per thread). Default: OpenMP's (OMP_NUM_THREADS or the cores).
void set_num_threads(int n);
int get_num_threads();

// Elements per chunk for elementwise loops; below this much work a loop stays on one thread.
constexpr int64_t kGrainSize = 32768;

// The calling thread's number inside parallel_for (0 outside): picks one of the per-thread scratch
// buffers allocated before the loop. Which buffer a chunk uses never changes its result.
inline int thread_index() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// Calls f(begin, end) over [0, n) in chunks of `grain`, on at most `threads` threads. A caller
// that keeps per-thread state sizes it by the same `threads` it passes here: reading
// get_num_threads() twice would race with another thread's set_num_threads.
template <class F>
void parallel_for(int64_t n, int64_t grain, const F& f, int threads) {
  if (n <= 0) return;
  int64_t chunks = (n + grain - 1) / grain;
#ifdef _OPENMP
  if (chunks > 1 && !omp_in_parallel() && threads > 1) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t c = 0; c < chunks; ++c) f(c * grain, c + 1 == chunks ? n : (c + 1) * grain);
    return;
  }
#endif
  for (int64_t c = 0; c < chunks; ++c) f(c * grain, c + 1 == chunks ? n : (c + 1) * grain);
}

// The same with the current thread count.
template <class F>
void parallel_for(int64_t n, int64_t grain, const F& f) {
  parallel_for(n, grain, f, get_num_threads());
}

}  // namespace fastnn
