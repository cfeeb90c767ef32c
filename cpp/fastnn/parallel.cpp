#include "fastnn/parallel.h"

#include "fastnn/error.h"

namespace fastnn {

void set_num_threads(int n) {
  FASTNN_CHECK(n > 0, "[set_num_threads] expected a positive number of threads, got ", n);
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
}

int get_num_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace fastnn
