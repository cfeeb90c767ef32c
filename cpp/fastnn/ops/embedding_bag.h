// embedding_bag and embedding's max_norm renormalisation (embedding_bag.cpp).
#pragma once
#include "fastnn/ops/ops.h"

namespace fastnn {

// Bags of rows of weight (N, D): bag b holds indices[offsets[b] : offsets[b + 1]] (the last bag runs to the end;
// with include_last_offset the last offset must be that end), reduced by mode 0 sum (times per_sample_weights when
// given), 1 mean or 2 max; indices equal to padding_idx (-1: none) are skipped; an empty bag gives zeros.
// Returns (B, D) (EmbeddingBagBackward0, gradients for weight and per_sample_weights).
TensorPtr embedding_bag(const TensorPtr& weight, const TensorPtr& indices, const TensorPtr& offsets, int64_t mode,
                        bool scale_grad_by_freq, const TensorPtr& per_sample_weights, bool include_last_offset,
                        int64_t padding_idx);

// torch's embedding_renorm_: each row of weight named in indices whose norm_type-norm exceeds max_norm is
// scaled by max_norm / (norm + 1e-7), in place and outside autograd.
void embedding_renorm_(TensorPtr& weight, const TensorPtr& indices, double max_norm, double norm_type);

}  // namespace fastnn
