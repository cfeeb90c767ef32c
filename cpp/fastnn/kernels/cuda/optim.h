// Fused optimizer updates on a GPU, float32 and float64 (kernels/cuda/optim.cu; in a CPU-only build device.cpp
// defines them to throw): optim/update_rules.h's element updates, the CPU loops' own formulas.
#pragma once
#include <cstdint>

#include "fastnn/optim/update_rules.h"

namespace fastnn::cuda {

struct SgdRule {
  double lr, weight_decay, momentum, dampening;
  bool nesterov, maximize;
};
// p -= lr * step(grad), buf (null without momentum) updated; `first`: buf starts as the gradient.
void sgd_update(bool is_double, void* p, const void* grad, void* buf, int64_t n, const SgdRule& rule, bool first,
                int index);

// One Adam/AdamW step of p with exp_avg m, exp_avg_sq v and (amsgrad, else null) max_exp_avg_sq vmax.
void adam_update(const rules::AdamStep<float>& step, void* p, const void* grad, void* m, void* v, void* vmax, int64_t n,
                 int index);
void adam_update(const rules::AdamStep<double>& step, void* p, const void* grad, void* m, void* v, void* vmax,
                 int64_t n, int index);

}  // namespace fastnn::cuda
