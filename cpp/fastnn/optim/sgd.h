// Fused optimizer update rules: one call updates every parameter of a group.
#pragma once
#include <vector>

#include "fastnn/tensor.h"

namespace fastnn {

struct SGDOptions {
  double lr = 0.01, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false, maximize = false;
};

// torch.optim.SGD's step for `params` (skipping those without .grad). `momentum_buffers[i]` is
// created on first use (null in, tensor out), as torch does.
void sgd_step(const std::vector<TensorPtr>& params, std::vector<TensorPtr>& momentum_buffers, const SGDOptions& opt);

}  // namespace fastnn
