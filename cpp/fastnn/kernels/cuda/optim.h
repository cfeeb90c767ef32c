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

// One step of an adaptive optimizer (a rule of FASTNN_OPTIM_RULES) over the n elements of p and of its state tensors
// s0..s2 (null where the rule's options leave them out). One overload per rule and dtype.
#define FASTNN_CUDA_OPTIM_DECL(RULE)                                                                              \
  void optimizer_update(const rules::RULE<float>& rule, void* p, const void* grad, void* s0, void* s1, void* s2,  \
                        int64_t n, int index);                                                                    \
  void optimizer_update(const rules::RULE<double>& rule, void* p, const void* grad, void* s0, void* s1, void* s2, \
                        int64_t n, int index);
FASTNN_OPTIM_RULES(FASTNN_CUDA_OPTIM_DECL)
#undef FASTNN_CUDA_OPTIM_DECL

}  // namespace fastnn::cuda
