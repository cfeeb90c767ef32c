// The losses' elementwise terms on a GPU: each rule of ops/loss_rules.h compiled as device code, one grid-stride
// kernel per rule and dtype, each output element reading x and t through their broadcast layouts.
#include <cuda_runtime.h>

#include "fastnn/kernels/cuda/layout.cuh"
#include "fastnn/kernels/cuda/loss.h"

namespace fastnn::cuda {
namespace {

template <class Rule, class T>
__global__ void term_kernel(Rule rule, const T* x, Layout lx, const T* t, Layout lt, int64_t n, T* out) {
  FASTNN_GRID_LOOP(i, n) out[i] = rule(x[offset_of(lx, i)], t[offset_of(lt, i)]);
}

template <class Rule>
void term(const Rule& rule, bool is_double, const void* x, const int64_t* x_strides, const void* t,
          const int64_t* t_strides, const int64_t* shape, int ndim, int64_t n, void* out, int index) {
  if (n == 0) return;
  const Layout lx = make_layout(shape, x_strides, ndim, "loss"), lt = make_layout(shape, t_strides, ndim, "loss");
  use_device(index, "loss");
  if (is_double)
    FASTNN_LAUNCH(blocks_for(n), kThreads, term_kernel<Rule, double>)(
        rule, static_cast<const double*>(x), lx, static_cast<const double*>(t), lt, n, static_cast<double*>(out));
  else
    FASTNN_LAUNCH(blocks_for(n), kThreads, term_kernel<Rule, float>)(
        rule, static_cast<const float*>(x), lx, static_cast<const float*>(t), lt, n, static_cast<float*>(out));
  check_launch("loss");
}

}  // namespace

#define FASTNN_CUDA_LOSS_DEF(RULE)                                                                                \
  void loss_term(const rules::RULE& rule, bool is_double, const void* x, const int64_t* x_strides, const void* t, \
                 const int64_t* t_strides, const int64_t* shape, int ndim, int64_t n, void* out, int index) {     \
    term(rule, is_double, x, x_strides, t, t_strides, shape, ndim, n, out, index);                                \
  }
FASTNN_LOSS_TERMS(FASTNN_CUDA_LOSS_DEF)
#undef FASTNN_CUDA_LOSS_DEF

}  // namespace fastnn::cuda
