// The CPU-only build's side of device.h and kernels/cuda/*.h: no GPU exists, and asking for one says how to get one.
#include "fastnn/device.h"

#include "fastnn/error.h"
#include "fastnn/kernels/cuda/activation.h"
#include "fastnn/kernels/cuda/normalization.h"
#include "fastnn/kernels/cuda/binary.h"
#include "fastnn/kernels/cuda/conv.h"
#include "fastnn/kernels/cuda/embedding_bag.h"
#include "fastnn/kernels/cuda/gemm.h"
#include "fastnn/kernels/cuda/index.h"
#include "fastnn/kernels/cuda/linalg.h"
#include "fastnn/kernels/cuda/loss.h"
#include "fastnn/kernels/cuda/optim.h"
#include "fastnn/kernels/cuda/pool.h"
#include "fastnn/kernels/cuda/random.h"
#include "fastnn/kernels/cuda/reduce.h"
#include "fastnn/kernels/cuda/resample.h"
#include "fastnn/kernels/cuda/softmax.h"
#include "fastnn/kernels/cuda/unary.h"

#ifndef FASTNN_CUDA
namespace fastnn::cuda {
namespace {
[[noreturn]] void not_built(const char* op) {
  throw std::runtime_error(str("[", op,
                               "] device 'cuda' is not available: fastnn was built for the CPU only (build it with "
                               "-DFASTNN_CUDA=ON, see docs/cuda.md)"));
}
}  // namespace

bool built() { return false; }
bool emulated() { return false; }
int device_count() { return 0; }
void check_device(int, const char* op) { not_built(op); }
void* malloc(size_t, int, const char* op) { not_built(op); }
void free(void*, int) {}
void copy(void*, Device, const void*, Device, size_t) { not_built("copy"); }
void synchronize(int) { not_built("cuda.synchronize"); }
void strided_copy(void*, const void*, const int64_t*, const int64_t*, int, int64_t, size_t, int) { not_built("copy"); }
void unary_forward(UnaryOp, bool, const void*, const int64_t*, const int64_t*, int, int64_t, void*, int) {
  not_built("unary");
}
void unary_backward(UnaryOp, bool, const void*, const void*, void*, int64_t, int) { not_built("unary"); }
void binary_forward(BinaryOp, DType, const void*, const int64_t*, const void*, const int64_t*, const int64_t*, int,
                    double, int64_t, void*, int) {
  not_built("binary");
}
void compare_forward(CompareKind, DType, const void*, const int64_t*, const void*, const int64_t*, const int64_t*, int,
                     int64_t, bool*, int) {
  not_built("compare");
}
void select_forward(const bool*, const int64_t*, const void*, const int64_t*, const void*, const int64_t*,
                    const int64_t*, int, int64_t, size_t, void*, int) {
  not_built("where");
}
void row_sums(const void*, int64_t, int64_t, double, DType, void*, int) { not_built("sum"); }
void scan_rows(const void*, void*, int64_t, int64_t, bool, bool, DType, int) { not_built("cumsum"); }
void resample_forward(bool, const void*, int64_t, const TapDims&, void*, int) { not_built("resample"); }
void resample_backward(bool, const void*, int64_t, const TapDims&, void*, int) { not_built("resample"); }
void row_prods(const void*, int64_t, int64_t, DType, void*, int) { not_built("prod"); }
void scan_extreme_rows(const void*, void*, int64_t*, int64_t, int64_t, bool, DType, int) { not_built("cummax"); }
void row_prod_grads(const void*, const void*, int64_t, int64_t, DType, void*, int) { not_built("prod"); }
void order_rows(const void*, int64_t, int64_t, int64_t, int64_t, bool, bool, DType, void*, int64_t*, int) {
  not_built("sort");
}
void row_arg_extreme(const void*, int64_t, int64_t, DType, bool, int64_t*, void*, int) { not_built("argmax"); }
void scatter_along(void*, const int64_t*, int64_t, const void*, const int64_t*, const int64_t*, const int64_t*,
                   const int64_t*, int, int64_t, size_t, int) {
  not_built("scatter");
}
void strided_to_strided(void*, const int64_t*, const void*, const int64_t*, const int64_t*, int, int64_t, size_t, int) {
  not_built("copy_");
}
void fill(void*, const int64_t*, const int64_t*, int, int64_t, const void*, size_t, int) { not_built("fill_"); }
void gemm(bool, int64_t, int64_t, int64_t, int64_t, MatrixRef, MatrixRef, void*, int64_t, int64_t, bool, int) {
  not_built("mm");
}
void conv2d_forward(bool, const ConvShape&, const void*, const void*, const void*, void*, const ConvScratch&, int) {
  not_built("conv2d");
}
void conv2d_backward(bool, const ConvShape&, const void*, const void*, const void*, void*, void*, const ConvScratch&,
                     int) {
  not_built("conv2d");
}
void unfold(bool, const ConvShape&, const void*, void*, int) { not_built("unfold"); }
void fold(bool, const ConvShape&, const void*, void*, int) { not_built("fold"); }
void embedding_bag_forward(bool, const void*, int64_t, const int64_t*, const int64_t*, const int64_t*, int64_t, int64_t,
                           int, const void*, void*, int64_t*, int) {
  not_built("embedding_bag");
}
void embedding_bag_backward_sum(bool, const void*, int64_t, int64_t, const int64_t*, const int64_t*, const int64_t*,
                                int, const void*, const int64_t*, bool, void*, int) {
  not_built("embedding_bag");
}
void embedding_bag_backward_max(bool, const void*, int64_t, int64_t, const int64_t*, void*, int) {
  not_built("embedding_bag");
}
void embedding_bag_backward_psw(bool, const void*, const void*, int64_t, const int64_t*, const int64_t*, int64_t, void*,
                                int) {
  not_built("embedding_bag");
}
void lu_factor_batched(bool, void*, int64_t, int64_t, int64_t*, int64_t*, int) { not_built("linalg.lu_factor"); }
void lu_solve_batched(bool, const void*, const int64_t*, int64_t, int64_t, const void*, int64_t, void*, int) {
  not_built("linalg.solve");
}
void max_pool2d_forward(bool, const PoolShape&, const void*, void*, int64_t*, int) { not_built("max_pool2d"); }
void max_pool2d_backward(bool, const PoolShape&, const void*, const int64_t*, void*, int) { not_built("max_pool2d"); }
void avg_pool2d_forward(bool, const AvgPoolShape&, const void*, void*, int) { not_built("avg_pool2d"); }
void avg_pool2d_backward(bool, const AvgPoolShape&, const void*, void*, int) { not_built("avg_pool2d"); }
void softmax_rows(bool, const void*, void*, int64_t, int64_t, bool, int) { not_built("softmax"); }
void softmax_backward_rows(bool, const void*, const void*, void*, int64_t, int64_t, bool, int) { not_built("softmax"); }
void nll_pick(bool, const void*, int64_t, int64_t, const int64_t*, const void*, int64_t, int64_t, void*, int) {
  not_built("nll_loss");
}
void nll_backward(bool, const void*, bool, double, const int64_t*, const void*, int64_t, int64_t, int64_t, void*, int) {
  not_built("nll_loss");
}
void batch_norm_forward(bool, const BatchNormShape&, const void*, const void*, const void*, void*, void*, bool, double,
                        double, void*, double*, double*, int) {
  not_built("batch_norm");
}
void batch_norm_backward(bool, const BatchNormShape&, const void*, const void*, const void*, const double*,
                         const double*, bool, void*, void*, void*, int) {
  not_built("batch_norm");
}
void layer_norm_forward(bool, const void*, const void*, const void*, int64_t, int64_t, double, bool, void*, double*,
                        double*, int) {
  not_built("layer_norm");
}
void layer_norm_backward(bool, const void*, const void*, const double*, const double*, const void*, int64_t, int64_t,
                         bool, void*, void*, void*, int) {
  not_built("layer_norm");
}
void dropout_mask(uint64_t, uint64_t, double, double, bool, int64_t, void*, int) { not_built("dropout"); }
#define FASTNN_CUDA_ACTIVATION_STUB(RULE)                                                                             \
  void activation_forward(const rules::RULE&, bool, const void*, const int64_t*, const int64_t*, int, int64_t, void*, \
                          int) {                                                                                      \
    not_built("activation");                                                                                          \
  }                                                                                                                   \
  void activation_backward(const rules::RULE&, bool, const void*, const void*, void*, int64_t, int) {                 \
    not_built("activation");                                                                                          \
  }
FASTNN_PARAM_ACTIVATIONS(FASTNN_CUDA_ACTIVATION_STUB)
#undef FASTNN_CUDA_ACTIVATION_STUB
void gather_rows(const void*, const int64_t*, int64_t, int64_t, size_t, void*, int) { not_built("embedding"); }
void index_gather(const void*, const int64_t*, int64_t, const int64_t*, int64_t, const int64_t*, int64_t, size_t, void*,
                  int) {
  not_built("index");
}
void index_scatter(bool, DType, void*, const void*, const int64_t*, int64_t, const int64_t*, const int64_t*,
                   const int64_t*, int64_t, int64_t, const int64_t*, int64_t, int) {
  not_built("index_put_");
}
void gather_along(const void*, const int64_t*, const int64_t*, const int64_t*, int, int64_t, size_t, void*, int) {
  not_built("gather");
}
void scatter_along_dim(ScatterKind, DType, void*, const int64_t*, const void*, bool, const int64_t*, const int64_t*,
                       int, int64_t, int) {
  not_built("scatter");
}
void sum_rows_by_index(bool, const void*, const int64_t*, const int64_t*, int64_t, int64_t, int64_t, void*, int) {
  not_built("embedding");
}
#define FASTNN_CUDA_LOSS_STUB(RULE)                                                                                  \
  void loss_term(const rules::RULE&, bool, const void*, const int64_t*, const void*, const int64_t*, const int64_t*, \
                 int, int64_t, void*, int) {                                                                         \
    not_built("loss");                                                                                               \
  }
FASTNN_LOSS_TERMS(FASTNN_CUDA_LOSS_STUB)
#undef FASTNN_CUDA_LOSS_STUB
void sgd_update(bool, void*, const void*, void*, int64_t, const SgdRule&, bool, int) { not_built("SGD"); }
#define FASTNN_CUDA_OPTIM_STUB(RULE)                                                                         \
  void optimizer_update(const rules::RULE<float>&, void*, const void*, void*, void*, void*, int64_t, int) {  \
    not_built("optimizer step");                                                                             \
  }                                                                                                          \
  void optimizer_update(const rules::RULE<double>&, void*, const void*, void*, void*, void*, int64_t, int) { \
    not_built("optimizer step");                                                                             \
  }
FASTNN_OPTIM_RULES(FASTNN_CUDA_OPTIM_STUB)
#undef FASTNN_CUDA_OPTIM_STUB
void convert(const void*, DType, const int64_t*, const int64_t*, int, int64_t, void*, DType, int) { not_built("to"); }
}  // namespace fastnn::cuda
#endif
