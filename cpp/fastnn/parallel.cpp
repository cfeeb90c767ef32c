#include "fastnn/parallel.h"

#include <atomic>

#include "fastnn/error.h"

namespace fastnn {
namespace {

std::atomic<int> g_num_threads{0};  // 0: not set, OpenMP's default applies

}  // namespace

void set_num_threads(int n) {
  FASTNN_CHECK(n > 0, "[set_num_threads] expected a positive number of threads, got ", n);
  g_num_threads.store(n, std::memory_order_relaxed);
}

int get_num_threads() {
#ifdef _OPENMP
  const int n = g_num_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace fastnn
