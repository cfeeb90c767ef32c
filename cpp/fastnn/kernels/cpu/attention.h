// Scaled dot-product attention, fused: softmax(scale * Q K^T + mask) V per (batch, head) problem and
// block of query rows, so only a block's scores exist at a time. Forward keeps each row's logsumexp (and, when
// asked, the attention weights); backward takes the weights kept, or recomputes them from the logsumexp. Work is split
// by problem and row block (forward) or by problem (backward, whose key/value gradients sum over all row blocks in
// order), never by thread count.
#pragma once
#include <cstdint>

namespace fastnn::kernels {

// One strided operand: problem b's element (r, c) is at data[offsets[b] + r * rs + c * cs].
template <class T>
struct AttentionOperand {
  const T* data = nullptr;
  const int64_t* offsets = nullptr;
  int64_t rs = 0, cs = 0;
};

// `problems` attention problems of L query rows, S keys, head size E and value size Ev.
template <class T>
struct AttentionProblem {
  int64_t problems = 0, L = 0, S = 0, E = 0, Ev = 0;
  AttentionOperand<T> q, k, v;
  AttentionOperand<T> mask;  // (L, S), added to the scaled scores; data null: no mask
  bool causal = false;       // key j > query row i takes no part (torch's upper-left alignment)
  T scale = 1;
  // Dropout on the attention weights: element (b, i, j) is dropped when the uniform draw for counter
  // `counter + (b * L + i) * S + j` is below p; kept ones are scaled by 1 / (1 - p).
  double dropout_p = 0;
  uint64_t seed = 0, counter = 0;
};

// out (problems, L, Ev) and lse (problems, L), contiguous. A row with no key taking part (all masked,
// or S == 0) gets zeros and lse = +inf. weights (problems, L, S), when not null: the softmax before dropout.
template <class T>
void attention_forward(const AttentionProblem<T>& p, T* out, T* lse, T* weights = nullptr);

// Gradients from grad_out (problems, L, Ev) and the forward's lse (or its weights, when kept), all contiguous:
// gq (problems, L, E), gk (problems, S, E), gv (problems, S, Ev), gmask (problems, L, S) (that of the scores after
// the mask is added); each may be null when not needed.
template <class T>
void attention_backward(const AttentionProblem<T>& p, const T* grad_out, const T* lse, const T* weights, T* gq, T* gk,
                        T* gv, T* gmask);

}  // namespace fastnn::kernels
