// Fused optimizer updates on a GPU, float32 and float64 (kernels/cuda/optim.cu; in a CPU-only build device.cpp
// defines them to throw). The formulas of optim/sgd.cpp and optim/adaptive.cpp, elementwise over contiguous tensors.
#pragma once
#include <cstdint>

namespace fastnn::cuda {

struct SgdRule {
  double lr, weight_decay, momentum, dampening;
  bool nesterov, maximize;
};
// p -= lr * step(grad), buf (null without momentum) updated; `first`: buf starts as the gradient.
void sgd_update(bool is_double, void* p, const void* grad, void* buf, int64_t n, const SgdRule& rule, bool first,
                int index);

struct AdamRule {
  double weight_decay, beta1, beta2, eps, step_size, bc2_sqrt;  // step_size = lr / (1 - beta1^t), bc2_sqrt as named
  double decay;                                                 // 1 - lr * weight_decay (decoupled)
  bool decoupled, maximize;
};
// One Adam/AdamW step of p with exp_avg m, exp_avg_sq v and (amsgrad, else null) max_exp_avg_sq vmax.
void adam_update(bool is_double, void* p, const void* grad, void* m, void* v, void* vmax, int64_t n,
                 const AdamRule& rule, int index);

}  // namespace fastnn::cuda
