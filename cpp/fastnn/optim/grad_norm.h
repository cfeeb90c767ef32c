// Gradient norms for torch.nn.utils' clipping helpers.
#pragma once
#include <vector>

#include "fastnn/tensor.h"

namespace fastnn {

// torch.nn.utils.get_total_norm for a non-empty list: the norm_type-norm of the tensors' own norm_type-norms,
// a 0-d tensor of the widest of their dtypes. `op` names errors.
TensorPtr total_norm(const std::vector<TensorPtr>& tensors, double norm_type, const char* op);

}  // namespace fastnn
