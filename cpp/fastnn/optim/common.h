// Shared checks for the fused optimizer steps.
#pragma once
#include <vector>

#include "fastnn/error.h"
#include "fastnn/ops/ops.h"
#include "fastnn/tensor.h"

namespace fastnn {

// Checks that `state` has one tensor per parameter, each shaped and typed like it.
inline void check_state(const char* opt, const char* what, const std::vector<TensorPtr>& params,
                        const std::vector<TensorPtr>& state) {
  FASTNN_CHECK(state.size() == params.size(), "[", opt, "] got ", state.size(), " ", what, " tensors for ", params.size(),
               " parameters");
  for (size_t i = 0; i < params.size(); ++i) {
    FASTNN_CHECK(state[i] && state[i]->shape() == params[i]->shape() && state[i]->dtype() == params[i]->dtype() &&
                     state[i]->is_contiguous(),
                 "[", opt, "] ", what, " ", i, " must be a contiguous tensor shaped like its parameter ", params[i]->shape());
  }
}

// The parameter's gradient as a contiguous tensor of the parameter's dtype.
inline TensorPtr checked_grad(const char* opt, const TensorPtr& p, size_t i) {
  FASTNN_CHECK_STATE(p->grad(), "[", opt, "] parameter ", i, " has no gradient");
  FASTNN_CHECK_STATE(p->is_contiguous(), "[", opt, "] parameter ", i, " is not contiguous");
  FASTNN_CHECK_TYPE(is_floating(p->dtype()) && p->grad()->dtype() == p->dtype(), "[", opt, "] parameter ", i,
                    " has dtype ", dtype_name(p->dtype()), " but its grad has ", dtype_name(p->grad()->dtype()));
  return contiguous(p->grad());
}

}  // namespace fastnn
