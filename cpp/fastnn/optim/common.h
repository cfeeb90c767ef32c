// Shared checks for the fused optimizer steps.
#pragma once
#include <vector>

#include "fastnn/error.h"
#include "fastnn/autograd/grad_mode.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/ops.h"
#include "fastnn/tensor.h"

namespace fastnn {

// Checks that `state` has one tensor per parameter, each shaped like it and of its compute dtype.
inline void check_state(const char* opt, const char* what, const std::vector<TensorPtr>& params,
                        const std::vector<TensorPtr>& state) {
  FASTNN_CHECK(state.size() == params.size(), "[", opt, "] got ", state.size(), " ", what, " tensors for ",
               params.size(), " parameters");
  for (size_t i = 0; i < params.size(); ++i) {
    FASTNN_CHECK(state[i] && state[i]->shape() == params[i]->shape() &&
                     state[i]->dtype() == compute_dtype(params[i]->dtype()) && state[i]->is_contiguous(),
                 "[", opt, "] ", what, " ", i, " must be a contiguous ", dtype_name(compute_dtype(params[i]->dtype())),
                 " tensor shaped like its parameter ", params[i]->shape());
  }
}

// The parameter's gradient as a contiguous tensor of the parameter's dtype.
// A float16/bfloat16 parameter steps as a float32 copy (its state is float32), written back rounded once
// per step by write_back.
inline TensorPtr compute_copy(const TensorPtr& t) { return cast(t, compute_dtype(t->dtype())); }
inline void write_back(TensorPtr p, const TensorPtr& updated) {
  if (updated == p) return;
  GradModeGuard no_grad(false);
  copy_(p, updated);
}

inline TensorPtr checked_grad(const char* opt, const TensorPtr& p, size_t i) {
  FASTNN_CHECK_STATE(p->grad(), "[", opt, "] parameter ", i, " has no gradient");
  FASTNN_CHECK_STATE(p->is_contiguous(), "[", opt, "] parameter ", i, " is not contiguous");
  FASTNN_CHECK_TYPE(is_floating(p->dtype()) && p->grad()->dtype() == p->dtype(), "[", opt, "] parameter ", i,
                    " has dtype ", dtype_name(p->dtype()), " but its grad has ", dtype_name(p->grad()->dtype()));
  return contiguous(p->grad());
}

}  // namespace fastnn
