// Recurrent layers. Per layer and direction: one GEMM projects every time step's input at once, then
// each step is one GEMM (h_prev @ W_hh^T) and one fused gate kernel (kernels/cpu/rnn.h). Sequences of
// different lengths follow torch's packed layout: step t has batch_sizes[t] rows, the first rows of
// the step before (sequences sorted by decreasing length), so a state buffer of B rows holds every
// sequence's latest state and, at the end, its final one. Backward runs the steps in reverse with the
// gate-backward kernel and one GEMM per step for h_prev's gradient; the weight gradients, the input's
// gradient and the bias sums are then one GEMM (or column sum) each over all steps. GEMMs never split
// their K dimension across threads and gate rows are independent, so results do not depend on the
// thread count. On a GPU a layer is composed of GPU ops instead (layer_composed).
#include "fastnn/ops/rnn.h"

#include <algorithm>

#include "fastnn/autograd/node.h"
#include "fastnn/kernels/cpu/gemm.h"
#include "fastnn/ops/internal.h"

namespace fastnn {
namespace {

using kernels::rnn_gates;
using kernels::rnn_saved;

const char* layer_name(RnnMode m) { return m == RnnMode::Lstm ? "LSTM" : m == RnnMode::Gru ? "GRU" : "RNN"; }

// Sizes of one layer in one direction.
struct LayerGeom {
  RnnMode mode;
  int64_t N, B, I, H, Ho, G;  // rows, batch, input size, hidden size, output size (projection or H), gate rows
  std::vector<int64_t> batch_sizes, offsets;
  bool reverse, proj;
  int64_t T() const { return int64_t(batch_sizes.size()); }
  int64_t A() const { return rnn_saved(mode) * H; }
  int64_t step(int64_t s) const { return reverse ? T() - 1 - s : s; }  // the time step processed s-th
  bool lstm() const { return mode == RnnMode::Lstm; }
};

// What the forward computes for backward: h_prev of every row (N, Ho), the gate values (N, A), for LSTM
// c and c_prev (N, H), and with a projection the unprojected h (N, H).
struct LayerSaved {
  TensorPtr hprev, act, c, cprev, h;
};

template <class T> T* data_or_null(const TensorPtr& t) { return t ? t->mutable_data<T>() : nullptr; }

// C (M, N) = A @ B with A (M, K) row-major or transposed, B likewise: zero when K is 0.
template <class T>
void matmul(int64_t M, int64_t N, int64_t K, const T* a, bool a_t, const T* b, bool b_t, T* c, bool accumulate) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate) std::fill(c, c + M * N, T(0));
    return;
  }
  kernels::gemm<T>(M, N, K, a, a_t ? 1 : K, a_t ? M : 1, b, b_t ? 1 : N, b_t ? K : 1, c, N, accumulate);
}

// dst (n, N) (+)= src (n, K) @ the packed matrix.
template <class T>
void step_matmul(int64_t n, const T* src, const kernels::PackedB<T>& w, T* dst, bool accumulate) {
  kernels::gemm_packed_b<T>(n, src, w.K, 1, w, dst, w.N, accumulate);
}

// The per-step products read W_hh^T (and W_hr^T) packed once for all steps.
template <class T>
void layer_forward(const LayerGeom& g, const T* x, const T* h0, const T* c0, const T* w_ih, const T* w_hh,
                   const T* b_ih, const T* b_hh, const T* w_hr, T* out, T* hn, T* cn, const LayerSaved& sv) {
  const int64_t H = g.H, Ho = g.Ho, G = g.G, A = g.A();
  TensorPtr gi_buf = Tensor::empty({g.N, G}, dtype_of<T>::value, layer_name(g.mode));
  TensorPtr gh_buf = Tensor::empty({g.B, G}, dtype_of<T>::value, layer_name(g.mode));
  T *gi = gi_buf->mutable_data<T>(), *gh = gh_buf->mutable_data<T>();
  T *hprev = data_or_null<T>(sv.hprev), *act = data_or_null<T>(sv.act), *c = data_or_null<T>(sv.c);
  T *cprev = data_or_null<T>(sv.cprev), *h = data_or_null<T>(sv.h);
  const auto w_hh_t = kernels::pack_b<T>(Ho, G, w_hh, 1, Ho);
  const auto w_hr_t = g.proj ? kernels::pack_b<T>(H, Ho, w_hr, 1, H) : kernels::PackedB<T>();
  matmul<T>(g.N, G, g.I, x, false, w_ih, true, gi, false);  // every step's x @ W_ih^T at once
  if (b_ih) kernels::add_row_bias<T>(g.N, G, b_ih, gi);
  std::copy(h0, h0 + g.B * Ho, hn);
  if (g.lstm()) std::copy(c0, c0 + g.B * H, cn);
  for (int64_t s = 0; s < g.T(); ++s) {
    const int64_t t = g.step(s), n = g.batch_sizes[t], o = g.offsets[t];
    if (n == 0) continue;
    T* hp = hprev + o * Ho;
    std::copy(hn, hn + n * Ho, hp);
    step_matmul<T>(n, hp, w_hh_t, gh, false);
    T *cp = nullptr, *cc = nullptr;
    if (g.lstm()) {
      cp = cprev + o * H, cc = c + o * H;
      std::copy(cn, cn + n * H, cp);
    }
    T* hdst = g.proj ? h + o * H : out + o * Ho;
    kernels::rnn_cell_forward<T>(g.mode, n, H, gi + o * G, gh, b_hh, hp, cp, hdst, cc, act + o * A);
    if (g.proj) step_matmul<T>(n, hdst, w_hr_t, out + o * Ho, false);
    std::copy(out + o * Ho, out + (o + n) * Ho, hn);
    if (cc) std::copy(cc, cc + n * H, cn);
  }
}

// Gradients of a layer (null pointers: not needed, except dh0 and dc0 which carry the running state).
template <class T>
void layer_backward(const LayerGeom& g, const T* x, const T* w_ih, const T* w_hh, const T* w_hr, const LayerSaved& sv,
                    const T* dout, const T* dhn, const T* dcn, T* dx, T* dh0, T* dc0, T* dw_ih, T* dw_hh, T* db_ih,
                    T* db_hh, T* dw_hr) {
  const int64_t H = g.H, Ho = g.Ho, G = g.G, A = g.A();
  const DType dt = dtype_of<T>::value;
  const char* op = layer_name(g.mode);
  const bool gru = g.mode == RnnMode::Gru;
  TensorPtr dgi_buf = Tensor::empty({g.N, G}, dt, op), dgh_buf = gru ? Tensor::empty({g.N, G}, dt, op) : dgi_buf;
  TensorPtr dr_buf = g.proj ? Tensor::empty({g.N, Ho}, dt, op) : nullptr;
  TensorPtr dh_buf = g.proj ? Tensor::empty({g.B, H}, dt, op) : nullptr;
  T *dgi = dgi_buf->mutable_data<T>(), *dgh = dgh_buf->mutable_data<T>();
  T *dr = data_or_null<T>(dr_buf), *dh = data_or_null<T>(dh_buf);
  const T *hprev = data_or_null<T>(sv.hprev), *act = data_or_null<T>(sv.act), *c = data_or_null<T>(sv.c);
  const T *cprev = data_or_null<T>(sv.cprev), *h = data_or_null<T>(sv.h);
  const auto w_hh_p = kernels::pack_b<T>(G, Ho, w_hh, Ho, 1);
  const auto w_hr_p = g.proj ? kernels::pack_b<T>(Ho, H, w_hr, H, 1) : kernels::PackedB<T>();
  // dh0 holds the gradient of each sequence's latest h (dc0: of c) while the steps run backwards.
  std::copy(dhn, dhn + g.B * Ho, dh0);
  if (g.lstm()) std::copy(dcn, dcn + g.B * H, dc0);
  for (int64_t s = g.T() - 1; s >= 0; --s) {
    const int64_t t = g.step(s), n = g.batch_sizes[t], o = g.offsets[t];
    if (n == 0) continue;
    const T *d1 = dh0, *d2 = dout + o * Ho;
    if (g.proj) {
      std::transform(dh0, dh0 + n * Ho, d2, dr + o * Ho, [](T a, T b) { return a + b; });
      step_matmul<T>(n, dr + o * Ho, w_hr_p, dh, false);
      d1 = dh, d2 = nullptr;
    }
    kernels::rnn_cell_backward<T>(g.mode, n, H, d1, d2, dc0, act + o * A, g.lstm() ? cprev + o * H : nullptr,
                                  g.lstm() ? c + o * H : nullptr, hprev + o * Ho, dgi + o * G, dgh + o * G,
                                  gru ? dh0 : nullptr);
    step_matmul<T>(n, dgh + o * G, w_hh_p, dh0, gru);
  }
  if (dx) matmul<T>(g.N, g.I, G, dgi, false, w_ih, false, dx, false);
  if (dw_ih) matmul<T>(G, g.I, g.N, dgi, true, x, false, dw_ih, false);
  if (dw_hh) matmul<T>(G, Ho, g.N, dgh, true, hprev, false, dw_hh, false);
  if (db_ih) kernels::column_sums<T>(g.N, G, dgi, db_ih);
  if (db_hh && db_ih && dgh == dgi) std::copy(db_ih, db_ih + G, db_hh);  // LSTM, RNN: one gate gradient
  else if (db_hh) kernels::column_sums<T>(g.N, G, dgh, db_hh);
  if (dw_hr) matmul<T>(Ho, H, g.N, dr, true, h, false, dw_hr, false);
}

// Inputs: x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr; outputs: output, h_n (, c_n).
class RnnLayerBackward : public Node {
 public:
  RnnLayerBackward(LayerGeom g, const TensorPtr& x, const TensorPtr& w_ih, const TensorPtr& w_hh, const TensorPtr& w_hr,
                   LayerSaved sv)
      : g_(std::move(g)),
        x_(x),
        w_ih_(w_ih),
        w_hh_(w_hh),
        w_hr_(w_hr ? SavedTensor(w_hr) : SavedTensor()),
        sv_(std::move(sv)) {}
  std::string name() const override {
    switch (g_.mode) {
      case RnnMode::Tanh: return "RnnTanhLayerBackward0";
      case RnnMode::Relu: return "RnnReluLayerBackward0";
      case RnnMode::Lstm: return "LstmLayerBackward0";
      default: return "GruLayerBackward0";
    }
  }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    // (unpacking throws torch's message when a backward already freed the saved values)
    TensorPtr x = x_.unpack(*this), w_ih = w_ih_.unpack(*this), w_hh = w_hh_.unpack(*this);
    TensorPtr w_hr = w_hr_.defined() ? w_hr_.unpack(*this) : nullptr;
    TensorPtr dout = contiguous(grads[0]), dhn = contiguous(grads[1]);
    TensorPtr dcn = g_.lstm() ? contiguous(grads[2]) : nullptr;
    const DType dt = x->dtype();
    auto maybe = [&](size_t i, const Shape& s) { return needs_input_grad(i) ? Tensor::empty(s, dt) : nullptr; };
    std::vector<TensorPtr> r(8);
    r[0] = maybe(0, {g_.N, g_.I});
    r[1] = Tensor::empty({g_.B, g_.Ho}, dt);
    r[2] = g_.lstm() ? Tensor::empty({g_.B, g_.H}, dt) : nullptr;
    r[3] = maybe(3, w_ih->shape());
    r[4] = maybe(4, w_hh->shape());
    r[5] = maybe(5, {g_.G});
    r[6] = maybe(6, {g_.G});
    r[7] = w_hr ? maybe(7, w_hr->shape()) : nullptr;
    FASTNN_DISPATCH_FLOAT(dt, layer_name(g_.mode), [&] {
      using T = scalar_t;
      auto ptr = [](const TensorPtr& t) { return data_or_null<T>(t); };
      layer_backward<T>(g_, ptr(x), ptr(w_ih), ptr(w_hh), ptr(w_hr), sv_, ptr(dout), ptr(dhn), ptr(dcn), ptr(r[0]),
                        ptr(r[1]), ptr(r[2]), ptr(r[3]), ptr(r[4]), ptr(r[5]), ptr(r[6]), ptr(r[7]));
    });
    if (!needs_input_grad(1)) r[1] = nullptr;
    if (!needs_input_grad(2)) r[2] = nullptr;
    return r;
  }
  void release_saved() override {
    x_.reset();
    w_ih_.reset();
    w_hh_.reset();
    w_hr_.reset();
    sv_ = LayerSaved();
  }

 private:
  LayerGeom g_;
  SavedTensor x_, w_ih_, w_hh_, w_hr_;
  LayerSaved sv_;  // internal buffers, never seen by users
};

// On a GPU: the layer composed of GPU ops (every step's input projection in one product, then per step a product
// and the gate ops, as the CPU kernel computes them), recorded by autograd op by op.
std::vector<TensorPtr> layer_composed(const LayerGeom& g, const TensorPtr& input, const TensorPtr& h0,
                                      const TensorPtr& c0, const TensorPtr& w_ih, const TensorPtr& w_hh,
                                      const TensorPtr& b_ih, const TensorPtr& b_hh, const TensorPtr& w_hr) {
  check_cuda_float(input->dtype(), layer_name(g.mode));
  const int64_t H = g.H;
  TensorPtr gi = matmul(input, t(w_ih));
  if (b_ih) gi = add(gi, b_ih, 1);
  TensorPtr h = h0, c = c0;  // each sequence's latest state, (B, Ho) and (B, H)
  std::vector<TensorPtr> outs(g.T());
  auto part = [H](const TensorPtr& m, int64_t k) { return narrow(m, 1, k * H, H); };  // gate k's columns
  auto keep_rest = [](const TensorPtr& fresh, const TensorPtr& state, int64_t n) {    // rows past n keep theirs
    const int64_t rows = state->shape()[0];
    return n < rows ? cat({fresh, narrow(state, 0, n, rows - n)}, 0) : fresh;
  };
  for (int64_t s = 0; s < g.T(); ++s) {
    const int64_t t = g.step(s), n = g.batch_sizes[t];
    if (n == 0) continue;
    const TensorPtr hp = narrow(h, 0, 0, n), xi = narrow(gi, 0, g.offsets[t], n);
    TensorPtr gh = matmul(hp, fastnn::t(w_hh));
    if (b_hh) gh = add(gh, b_hh, 1);
    TensorPtr hn, cn;
    switch (g.mode) {
      case RnnMode::Tanh: hn = tanh(add(xi, gh, 1)); break;
      case RnnMode::Relu: hn = relu(add(xi, gh, 1)); break;
      case RnnMode::Lstm: {
        const TensorPtr i = sigmoid(add(part(xi, 0), part(gh, 0), 1)), f = sigmoid(add(part(xi, 1), part(gh, 1), 1));
        const TensorPtr gg = tanh(add(part(xi, 2), part(gh, 2), 1)), o = sigmoid(add(part(xi, 3), part(gh, 3), 1));
        cn = add(mul(f, narrow(c, 0, 0, n)), mul(i, gg), 1);
        hn = mul(o, tanh(cn));
        break;
      }
      case RnnMode::Gru: {
        const TensorPtr r = sigmoid(add(part(xi, 0), part(gh, 0), 1)), z = sigmoid(add(part(xi, 1), part(gh, 1), 1));
        const TensorPtr nn = tanh(add(part(xi, 2), mul(r, part(gh, 2)), 1));
        hn = add(mul(sub(scalar_tensor(1, z->dtype(), true), z, 1), nn), mul(z, hp), 1);
        break;
      }
    }
    if (w_hr) hn = matmul(hn, fastnn::t(w_hr));
    outs[t] = hn;
    h = keep_rest(hn, h, n);
    if (cn) c = keep_rest(cn, c, n);
  }
  std::vector<TensorPtr> rows;  // the packed layout: step by step
  for (const TensorPtr& o : outs)
    if (o) rows.push_back(o);
  TensorPtr out = rows.empty() ? Tensor::empty({0, g.Ho}, input->dtype(), "rnn", input->device()) : cat(rows, 0);
  return {out, h, g.lstm() ? c : nullptr};
}

void check_weight(const TensorPtr& w, const Shape& shape, DType dt, const char* op, const char* what) {
  check_defined(w, op, what);
  FASTNN_CHECK_TYPE(w->dtype() == dt, "[", op, "] expected ", what, " of dtype ", dtype_name(dt), ", got ",
                    dtype_name(w->dtype()));
  FASTNN_CHECK(w->shape() == shape, "[", op, "] expected ", what, " of shape ", shape, ", got ", w->shape());
}

}  // namespace

std::vector<TensorPtr> rnn_layer(RnnMode mode, const TensorPtr& input, const std::vector<int64_t>& batch_sizes,
                                 bool reverse, const TensorPtr& h0, const TensorPtr& c0, const TensorPtr& w_ih,
                                 const TensorPtr& w_hh, const TensorPtr& b_ih, const TensorPtr& b_hh,
                                 const TensorPtr& w_hr) {
  const char* op = layer_name(mode);
  check_defined(input, op);
  check_defined(w_ih, op, "weight_ih");
  check_defined(w_hh, op, "weight_hh");
  check_defined(h0, op, "h0");
  const DType dt = input->dtype();
  FASTNN_CHECK_TYPE(is_floating(dt), "[", op, "] expected a floating-point input, got ", dtype_name(dt));
  FASTNN_CHECK(input->dim() == 2, "[", op, "] expected a 2-D input (rows, input_size), got shape ", input->shape());
  FASTNN_CHECK(w_ih->dim() == 2 && w_ih->shape()[0] % rnn_gates(mode) == 0 && w_ih->shape()[0] > 0, "[", op,
               "] expected weight_ih of shape (", rnn_gates(mode), " * hidden_size, input_size), got ", w_ih->shape());
  LayerGeom g{mode,
              input->shape()[0],
              0,
              input->shape()[1],
              w_ih->shape()[0] / rnn_gates(mode),
              0,
              w_ih->shape()[0],
              batch_sizes,
              {},
              reverse,
              w_hr != nullptr};
  FASTNN_CHECK(g.T() > 0, "[", op, "] expected at least one time step");
  g.B = batch_sizes[0];
  int64_t total = 0;
  for (int64_t t = 0; t < g.T(); ++t) {
    FASTNN_CHECK(batch_sizes[t] >= 0 && batch_sizes[t] <= (t ? batch_sizes[t - 1] : batch_sizes[0]), "[", op,
                 "] batch_sizes must be non-negative and non-increasing, got ", batch_sizes);
    g.offsets.push_back(total);
    total += batch_sizes[t];
  }
  FASTNN_CHECK(total == g.N, "[", op, "] batch_sizes sum to ", total, " but the input has ", g.N, " rows");
  check_weight(w_ih, {g.G, g.I}, dt, op, "weight_ih");
  if (w_hr) check_weight(w_hr, {w_hr->dim() == 2 ? w_hr->shape()[0] : -1, g.H}, dt, op, "weight_hr");
  g.Ho = w_hr ? w_hr->shape()[0] : g.H;
  FASTNN_CHECK(!w_hr || mode == RnnMode::Lstm, "[", op, "] a projection (weight_hr) is only supported for LSTM");
  check_weight(w_hh, {g.G, g.Ho}, dt, op, "weight_hh");
  if (b_ih) check_weight(b_ih, {g.G}, dt, op, "bias_ih");
  if (b_hh) check_weight(b_hh, {g.G}, dt, op, "bias_hh");
  check_weight(h0, {g.B, g.Ho}, dt, op, "h0");
  if (mode == RnnMode::Lstm) check_weight(c0, {g.B, g.H}, dt, op, "c0");
  else FASTNN_CHECK(!c0, "[", op, "] only LSTM takes a cell state c0");

  if (common_device({&input, &h0, &c0, &w_ih, &w_hh, &b_ih, &b_hh, &w_hr}, op).is_cuda())
    return layer_composed(g, input, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr);
  auto plain = [](const TensorPtr& t) { return t ? contiguous(t->detach()) : nullptr; };
  TensorPtr x = plain(input), wi = plain(w_ih), wh = plain(w_hh), bi = plain(b_ih), bh = plain(b_hh), wr = plain(w_hr);
  TensorPtr out = Tensor::empty({g.N, g.Ho}, dt, op), hn = Tensor::empty({g.B, g.Ho}, dt, op);
  TensorPtr cn = g.lstm() ? Tensor::empty({g.B, g.H}, dt, op) : nullptr;
  LayerSaved sv{Tensor::empty({g.N, g.Ho}, dt, op), Tensor::empty({g.N, g.A()}, dt, op),
                g.lstm() ? Tensor::empty({g.N, g.H}, dt, op) : nullptr,
                g.lstm() ? Tensor::empty({g.N, g.H}, dt, op) : nullptr,
                wr ? Tensor::empty({g.N, g.H}, dt, op) : nullptr};
  TensorPtr h0c = plain(h0), c0c = plain(c0);
  FASTNN_DISPATCH_FLOAT(dt, op, [&] {
    using T = scalar_t;
    auto ptr = [](const TensorPtr& t) { return data_or_null<T>(t); };
    layer_forward<T>(g, ptr(x), ptr(h0c), ptr(c0c), ptr(wi), ptr(wh), ptr(bi), ptr(bh), ptr(wr), ptr(out), ptr(hn),
                     ptr(cn), sv);
  });
  if (any_requires_grad({&input, &h0, &c0, &w_ih, &w_hh, &b_ih, &b_hh, &w_hr})) {
    auto node = std::make_shared<RnnLayerBackward>(g, x, wi, wh, wr, sv);
    if (cn) record(node, {&input, &h0, &c0, &w_ih, &w_hh, &b_ih, &b_hh, &w_hr}, {&out, &hn, &cn});
    else record(node, {&input, &h0, &c0, &w_ih, &w_hh, &b_ih, &b_hh, &w_hr}, {&out, &hn});
  }
  return {out, hn, cn};
}

std::vector<TensorPtr> rnn(RnnMode mode, const TensorPtr& input, const std::vector<int64_t>& batch_sizes,
                           const TensorPtr& hx, const TensorPtr& cx, const std::vector<TensorPtr>& weights,
                           bool has_bias, bool has_proj, int64_t num_layers, bool bidirectional, double dropout,
                           bool train) {
  const char* op = layer_name(mode);
  const int64_t D = bidirectional ? 2 : 1, per = 2 + (has_bias ? 2 : 0) + (has_proj ? 1 : 0);
  FASTNN_CHECK(num_layers > 0, "[", op, "] num_layers must be greater than zero, got ", num_layers);
  FASTNN_CHECK(int64_t(weights.size()) == per * num_layers * D, "[", op, "] expected ", per * num_layers * D,
               " weights, got ", weights.size());
  FASTNN_CHECK(dropout >= 0 && dropout <= 1, "[", op, "] dropout must be in [0, 1], got ", dropout);
  check_defined(hx, op, "hx");
  FASTNN_CHECK(hx->dim() == 3 && hx->shape()[0] == num_layers * D, "[", op, "] expected hx of shape (", num_layers * D,
               ", batch, hidden), got ", hx->shape());
  if (mode == RnnMode::Lstm) {
    check_defined(cx, op, "cx");
    FASTNN_CHECK(cx->dim() == 3 && cx->shape()[0] == num_layers * D, "[", op, "] expected cx of shape (",
                 num_layers * D, ", batch, hidden), got ", cx->shape());
  }
  TensorPtr layer_in = input;
  std::vector<TensorPtr> hs, cs;
  for (int64_t l = 0; l < num_layers; ++l) {
    std::vector<TensorPtr> outs;
    for (int64_t d = 0; d < D; ++d) {
      const TensorPtr* w = weights.data() + (l * D + d) * per;
      auto r = rnn_layer(mode, layer_in, batch_sizes, d == 1, select(hx, 0, l * D + d),
                         cx ? select(cx, 0, l * D + d) : nullptr, w[0], w[1], has_bias ? w[2] : nullptr,
                         has_bias ? w[3] : nullptr, has_proj ? w[per - 1] : nullptr);
      outs.push_back(r[0]);
      hs.push_back(r[1]);
      if (r[2]) cs.push_back(r[2]);
    }
    layer_in = D == 1 ? outs[0] : cat(outs, 1);
    if (dropout > 0 && train && l + 1 < num_layers) layer_in = fastnn::dropout(layer_in, dropout, true);
  }
  return {layer_in, stack(hs, 0), cs.empty() ? nullptr : stack(cs, 0)};
}

}  // namespace fastnn
