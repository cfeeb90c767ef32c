// Recurrent layers (nn.RNN, nn.LSTM, nn.GRU and their cells) over sequences in torch's packed layout:
// `input` is (N, input_size) with the rows of time step t at offset sum(batch_sizes[:t]), batch_sizes
// non-increasing (a padded (T, B, I) sequence is T steps of B rows). Each layer and direction is one
// autograd node (LstmLayerBackward0, GruLayerBackward0, RnnTanhLayerBackward0, RnnReluLayerBackward0)
// whose backward gives the gradients of the input, the initial states and every weight.
#pragma once
#include <vector>

#include "fastnn/kernels/cpu/rnn.h"
#include "fastnn/tensor.h"

namespace fastnn {

using kernels::RnnMode;

// One layer in one direction (reverse: from the last step to the first). h0: (B, Hout), c0: (B, H) for
// LSTM (else null), weights as torch's weight_ih_l0 (G, I), weight_hh_l0 (G, Hout), bias_ih_l0 and
// bias_hh_l0 (G) or null, weight_hr_l0 (Hout, H) or null, with G = gates * H and Hout = H unless
// projected. Returns {output (N, Hout), h_n (B, Hout), c_n (B, H) or null}; each sequence's final
// state is taken at its own last step.
std::vector<TensorPtr> rnn_layer(RnnMode mode, const TensorPtr& input, const std::vector<int64_t>& batch_sizes,
                                 bool reverse, const TensorPtr& h0, const TensorPtr& c0, const TensorPtr& w_ih,
                                 const TensorPtr& w_hh, const TensorPtr& b_ih, const TensorPtr& b_hh,
                                 const TensorPtr& w_hr);

// Stacked layers, each direction's outputs concatenated along features, dropout between layers when
// training. hx: (L * D, B, Hout), cx: (L * D, B, H) for LSTM; weights per layer and direction in torch's
// order (w_ih, w_hh, then b_ih, b_hh with has_bias, then w_hr with has_proj). Returns {output
// (N, D * Hout), h_n (L * D, B, Hout), c_n (L * D, B, H) or null}.
std::vector<TensorPtr> rnn(RnnMode mode, const TensorPtr& input, const std::vector<int64_t>& batch_sizes,
                           const TensorPtr& hx, const TensorPtr& cx, const std::vector<TensorPtr>& weights,
                           bool has_bias, bool has_proj, int64_t num_layers, bool bidirectional, double dropout,
                           bool train);

}  // namespace fastnn
