// Bitwise ops on integer and bool tensors (binary_extra.cpp, beside the logical ops): torch's &, |, ^, ~.
#pragma once
#include "fastnn/tensor.h"

namespace fastnn {

TensorPtr bitwise_and(const TensorPtr& a, const TensorPtr& b);
TensorPtr bitwise_or(const TensorPtr& a, const TensorPtr& b);
TensorPtr bitwise_xor(const TensorPtr& a, const TensorPtr& b);
TensorPtr bitwise_not(const TensorPtr& x);

}  // namespace fastnn
