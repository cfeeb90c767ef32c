// Attention ops (attention.cpp).
#pragma once
#include <optional>

#include "fastnn/tensor.h"

namespace fastnn {

// torch.nn.functional.scaled_dot_product_attention: softmax(scale * Q K^T + mask) V over query (..., L, E),
// key (..., S, E) and value (..., S, Ev) with broadcast batch dims; attn_mask (null: none) is bool (true takes
// part) or floating (added), broadcastable to (..., L, S); scale null means 1 / sqrt(E); dropout draws from
// the default generator; enable_gqa lets key/value have fewer heads (dim -3) dividing the query's.
TensorPtr scaled_dot_product_attention(const TensorPtr& query, const TensorPtr& key, const TensorPtr& value,
                                       const TensorPtr& attn_mask, double dropout_p, bool is_causal,
                                       std::optional<double> scale, bool enable_gqa);

}  // namespace fastnn
