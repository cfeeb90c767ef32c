#include "fastnn/optim/sgd.h"

#include "fastnn/error.h"
#include "fastnn/kernels/cpu/simd.h"
#include "fastnn/kernels/cuda/optim.h"
#include "fastnn/ops/ops.h"
#include "fastnn/optim/common.h"
#include "fastnn/optim/update_rules.h"
#include "fastnn/parallel.h"

namespace fastnn {
namespace {

template <bool... kFlags>
struct SgdFlags {};

// One parameter's update over [b, e), elementwise (all contiguous, same dtype): rules::sgd_update. The pointers are
// restrict, so each variant of the flags is one vector loop.
template <class T, bool kMaximize, bool kDecay, bool kMomentum, bool kFirst, bool kNesterov>
FASTNN_INLINE void sgd_range_body(SgdFlags<kMaximize, kDecay, kMomentum, kFirst, kNesterov>, T* __restrict p,
                                  const T* __restrict grad, T* __restrict buf, int64_t b, int64_t e, T lr, T wd, T mom,
                                  T damp) {
  T unused = 0;
  for (int64_t i = b; i < e; ++i)
    rules::sgd_update<T, kMaximize, kDecay, kMomentum, kFirst, kNesterov>(p[i], grad[i], kMomentum ? buf[i] : unused,
                                                                          lr, wd, mom, damp);
}

// The loop compiled per instruction set (an SGD step with momentum on LeNet's 62k parameters 22.5 -> 19-21 us on Zen 4,
// where the baseline's 4-lane loop was a tenth of a compiled batch-1 step). Multiply-adds contract to FMAs where the
// target has them, so the bits may differ between instruction sets, never between thread counts.
#define FASTNN_SGD_RANGE(SUFFIX, TARGET)                                                                             \
  template <class F, class T> TARGET void sgd_range_##SUFFIX(F f, T* p, const T* grad, T* buf, int64_t b, int64_t e, \
                                                             T lr, T wd, T mom, T damp) {                            \
    sgd_range_body(f, p, grad, buf, b, e, lr, wd, mom, damp);                                                        \
  }
FASTNN_SGD_RANGE(generic, )
#ifdef FASTNN_X86
FASTNN_SGD_RANGE(avx2, FASTNN_TARGET_AVX2)
FASTNN_SGD_RANGE(avx512, FASTNN_TARGET_AVX512)
#endif
#undef FASTNN_SGD_RANGE

template <class F, class T>
void sgd_range(F f, T* p, const T* grad, T* buf, int64_t b, int64_t e, T lr, T wd, T mom, T damp) {
  using kernels::Isa;
  using kernels::kernel_isa;
  FASTNN_PICK_ISA(sgd_range, f, p, grad, buf, b, e, lr, wd, mom, damp);
}

template <class T, bool... kFlags>
void sgd_kernel(T* p, const T* grad, T* buf, int64_t n, const SGDOptions& o, bool first) {
  if constexpr (sizeof...(kFlags) < 5) {  // turn the next run-time option into a template flag
    const bool next[] = {o.maximize, o.weight_decay != 0, buf != nullptr, first, o.nesterov};
    if (next[sizeof...(kFlags)]) return sgd_kernel<T, kFlags..., true>(p, grad, buf, n, o, first);
    return sgd_kernel<T, kFlags..., false>(p, grad, buf, n, o, first);
  } else {
    const T lr = T(o.lr), wd = T(o.weight_decay), mom = T(o.momentum), damp = T(1 - o.dampening);
    // Four loads and two stores per element: a split pays only past a few L2-sized chunks.
    parallel_for(n, 4 * kGrainSize, [&](int64_t b, int64_t e) {
      sgd_range(SgdFlags<kFlags...>(), p, grad, buf, b, e, lr, wd, mom, damp);
    });
  }
}

}  // namespace

void sgd_step(const std::vector<TensorPtr>& params, std::vector<TensorPtr>& momentum_buffers, const SGDOptions& opt) {
  FASTNN_CHECK(momentum_buffers.size() == params.size(), "[SGD] got ", momentum_buffers.size(),
               " momentum buffers for ", params.size(), " parameters");
  // nesterov with dampening or without momentum is refused by the SGD constructor only; a parameter
  // group may still ask for it, and torch then runs the formula as written.
  for (size_t i = 0; i < params.size(); ++i) {
    const TensorPtr& p = params[i];
    if (!p->grad()) continue;
    FASTNN_CHECK_STATE(p->is_contiguous(), "[SGD] parameter ", i, " is not contiguous");
    TensorPtr g = contiguous(p->grad());
    FASTNN_CHECK(g->storage() != p->storage(), "[SGD] parameter ", i, " and its gradient share memory");
    FASTNN_CHECK_TYPE(is_floating(p->dtype()) && g->dtype() == p->dtype(), "[SGD] parameter ", i, " has dtype ",
                      dtype_name(p->dtype()), " but its grad has ", dtype_name(g->dtype()));
    common_device({&p, &g}, "SGD");
    TensorPtr pc = compute_copy(p);
    g = compute_copy(g);
    bool first = false;
    if (opt.momentum != 0 && !momentum_buffers[i]) {
      momentum_buffers[i] = Tensor::empty(p->shape(), pc->dtype(), "SGD", p->device());
      first = true;
    }
    TensorPtr& buf = momentum_buffers[i];
    FASTNN_CHECK_TYPE(!buf || (buf->dtype() == pc->dtype() && buf->shape() == p->shape() && buf->is_contiguous()),
                      "[SGD] momentum buffer ", i, " must be a contiguous ", dtype_name(pc->dtype()),
                      " tensor shaped like its parameter ", p->shape());
    if (p->device().is_cuda()) {
      FASTNN_CHECK_STATE(!buf || buf->device() == p->device(), "[SGD] momentum buffer ", i, " is on ",
                         buf->device().str(), ", its parameter on ", p->device().str());
      check_cuda_float(pc->dtype(), "SGD");
      const cuda::SgdRule rule{opt.lr, opt.weight_decay, opt.momentum, opt.dampening, opt.nesterov, opt.maximize};
      cuda::sgd_update(pc->dtype() == DType::Float64, pc->device_data(), g->device_data(),
                       opt.momentum != 0 ? buf->device_data() : nullptr, p->numel(), rule, first, p->device().index);
    } else
      FASTNN_DISPATCH_FLOAT(pc->dtype(), "SGD", [&] {
        sgd_kernel<scalar_t>(pc->mutable_data<scalar_t>(), g->data<scalar_t>(),
                             opt.momentum != 0 ? buf->mutable_data<scalar_t>() : nullptr, p->numel(), opt, first);
      });
    write_back(p, pc);
    p->bump_version();
  }
}

}  // namespace fastnn
