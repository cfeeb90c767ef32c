// Helpers shared by the op files (not part of the public op API).
#pragma once
#include <functional>

#include "fastnn/error.h"
#include "fastnn/tensor.h"

namespace fastnn {

// A null TensorPtr means "no tensor" (an absent bias or weight; the bindings pass None only where an
// argument is optional): ops check the tensors they require (TypeError naming the op) before touching them.
inline void check_defined(const TensorPtr& t, const char* op, const char* what = "input") {
  FASTNN_CHECK_TYPE(t != nullptr, "[", op, "] expected a Tensor for '", what, "', got None");
}

// `t`'s values converted to `dtype` with no autograd record (t itself when already that dtype).
TensorPtr cast(const TensorPtr& t, DType dtype);
// The 0-d tensor `value` as a `dtype` scalar; a floating value with no int64 value is an error naming `op`.
TensorPtr scalar_as(const TensorPtr& value, DType dtype, const char* op);
// An in-place op computed out of place: `compute` returns the result, which is written into self.
// With `track` (autograd records the op), compute gets a private copy of self that carries self's
// history, so whatever it saves for backward stays valid, and self takes over the result's history.
void inplace_with_history(TensorPtr& self, const char* op, bool track,
                          const std::function<TensorPtr(const TensorPtr&)>& compute);
// Throws unless `shape` equals self's shape (in-place ops cannot grow their destination).
void check_inplace_shape(const TensorPtr& self, const Shape& shape, const char* op);

}  // namespace fastnn
