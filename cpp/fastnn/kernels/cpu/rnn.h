// Fused gate kernels of the recurrent layers (RNN tanh/relu, LSTM, GRU): one step for n rows, every
// gate, activation and state update of a row in one loop. The matrix products around them (input
// projection, h @ W_hh^T, projections) are the caller's GEMMs. Rows are independent, so results do
// not depend on how rows are split across threads.
#pragma once
#include <cstdint>

namespace fastnn::kernels {

enum class RnnMode { Tanh, Relu, Lstm, Gru };

// Gate rows per hidden unit: 1 (RNN), 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n).
inline int64_t rnn_gates(RnnMode m) { return m == RnnMode::Lstm ? 4 : m == RnnMode::Gru ? 3 : 1; }
// Values saved per row for backward (the `act` buffer's row length, in units of H): RNN 1 (h itself),
// LSTM 4 (i, f, g, o after their activations), GRU 4 (r, z, n and W_hn h + b_hn).
inline int64_t rnn_saved(RnnMode m) { return m == RnnMode::Lstm || m == RnnMode::Gru ? 4 : 1; }

// One forward step. gi: (n, G) input projections (b_ih included), gh: (n, G) = h_prev @ W_hh^T, b_hh:
// (G) or null, G = rnn_gates(m) * H. hprev: (n, H) (GRU), cprev/c: (n, H) (LSTM). Writes h: (n, H) and
// act: (n, rnn_saved(m) * H) (for RNN act may be h itself).
template <class T>
void rnn_cell_forward(RnnMode m, int64_t n, int64_t H, const T* gi, const T* gh, const T* b_hh, const T* hprev,
                      const T* cprev, T* h, T* c, T* act);

// One backward step. dh: (n, H) gradient of h (plus dh2 when not null). dc: (n, H) LSTM: in, the
// gradient of c; out, that of c_prev. act, cprev, c, hprev as saved by the forward. Writes dgi: (n, G)
// gradient of the input projection, dgh: (n, G) that of h_prev @ W_hh^T + b_hh (GRU only; for the
// other modes it equals dgi), and for GRU dhprev: (n, H) the part of h_prev's gradient that does not go
// through W_hh (may alias dh: each element is read before it is written).
template <class T>
void rnn_cell_backward(RnnMode m, int64_t n, int64_t H, const T* dh, const T* dh2, T* dc, const T* act, const T* cprev,
                       const T* c, const T* hprev, T* dgi, T* dgh, T* dhprev);

// out[r, j] += bias[j] for an (n, G) row-major out.
template <class T> void add_row_bias(int64_t n, int64_t G, const T* bias, T* out);
// out[j] = sum over r of in[r, j], rows added in order (each column by one thread).
template <class T> void column_sums(int64_t n, int64_t G, const T* in, T* out);

}  // namespace fastnn::kernels
