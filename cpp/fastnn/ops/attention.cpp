// Scaled dot-product attention: argument checks, the batch layout (broadcast batch dims, grouped-query
// heads), the fused kernel and its backward node (on a GPU: composed of GPU ops). The kernel reads every operand
// through its strides, so transposed heads (as MultiheadAttention makes them) are not copied.
#include "fastnn/ops/attention.h"

#include <cmath>
#include <limits>

#include "fastnn/autograd/grad_mode.h"
#include "fastnn/autograd/node.h"
#include "fastnn/error.h"
#include "fastnn/kernels/cpu/attention.h"
#include "fastnn/kernels/cuda/random.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/ops.h"
#include "fastnn/random.h"

namespace fastnn {
namespace {

constexpr const char* kOp = "scaled_dot_product_attention";
// At most this many attention weights (4 MB of float32) are kept from the forward for the backward.
constexpr int64_t kKeptWeights = int64_t(1) << 20;

// The output's batch dims and the matrix sizes: L query rows, S keys, head size E, value size Ev.
struct Layout {
  Shape batch;
  int64_t problems = 1, L = 0, S = 0, E = 0, Ev = 0;
  Shape full(int64_t rows, int64_t cols) const {
    Shape s = batch;
    s.push_back(rows);
    s.push_back(cols);
    return s;
  }
};

// What the kernel does besides the product: causal mask, scale, dropout (its generator draw).
struct Settings {
  bool causal = false;
  double scale = 1, dropout_p = 0;
  uint64_t seed = 0, counter = 0;
};

// x's dims before its trailing matrix.
Shape leading(const TensorPtr& x) { return Shape(x->shape().begin(), x->shape().end() - 2); }

// Whether `shape` broadcasts to `target` without changing it.
bool broadcasts_to(const Shape& shape, const Shape& target) {
  if (shape.size() > target.size()) return false;
  for (size_t i = 1; i <= shape.size(); ++i)
    if (shape[shape.size() - i] != 1 && shape[shape.size() - i] != target[target.size() - i]) return false;
  return true;
}

Layout check_and_layout(const TensorPtr& q, const TensorPtr& k, const TensorPtr& v, const TensorPtr& mask,
                        double dropout_p, bool is_causal, bool enable_gqa) {
  check_defined(q, kOp, "query");
  check_defined(k, kOp, "key");
  check_defined(v, kOp, "value");
  FASTNN_CHECK(q->dim() >= 2 && k->dim() >= 2 && v->dim() >= 2, "[", kOp,
               "] expected query, key and value to be at least 2-D, got shapes ", q->shape(), ", ", k->shape(), " and ",
               v->shape());
  FASTNN_CHECK_TYPE(is_floating(q->dtype()), "[", kOp, "] expected floating-point query, key and value, got ",
                    dtype_name(q->dtype()));
  FASTNN_CHECK_TYPE(
      k->dtype() == q->dtype() && v->dtype() == q->dtype(), "[", kOp,
      "] Expected query, key, and value to have the same dtype, but got query.dtype: ", dtype_name(q->dtype()),
      " key.dtype: ", dtype_name(k->dtype()), " and value.dtype: ", dtype_name(v->dtype()), " instead.");
  FASTNN_CHECK(q->shape().back() == k->shape().back(), "[", kOp,
               "] expected query and key to have the same size in the last dim, got query ", q->shape(), " and key ",
               k->shape());
  FASTNN_CHECK(k->shape()[k->dim() - 2] == v->shape()[v->dim() - 2], "[", kOp,
               "] expected key and value to have the same sequence length (dim -2), got key ", k->shape(),
               " and value ", v->shape());
  FASTNN_CHECK(dropout_p >= 0 && dropout_p <= 1, "[", kOp, "] dropout probability has to be between 0 and 1, but got ",
               dropout_p);
  Shape qb = leading(q), kb = leading(k), vb = leading(v);
  if (enable_gqa && !qb.empty() && !kb.empty() && !vb.empty()) {
    // grouped-query attention: key/value head h serves query heads [h * G, (h + 1) * G)
    const int64_t heads = qb.back();
    FASTNN_CHECK((kb.back() == heads || (kb.back() > 0 && heads % kb.back() == 0)) &&
                     (vb.back() == heads || (vb.back() > 0 && heads % vb.back() == 0)),
                 "[", kOp, "] Number of heads in key and value must divide the number of heads in query, got query ",
                 q->shape(), ", key ", k->shape(), " and value ", v->shape());
    kb.back() = vb.back() = heads;
  }
  Layout lay;
  try {
    lay.batch = broadcast_shapes(broadcast_shapes(qb, kb, kOp), vb, kOp);
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument(str("[", kOp, "] the batch dims of query ", q->shape(), ", key ", k->shape(),
                                    " and value ", v->shape(), " do not broadcast"));
  }
  for (int64_t s : lay.batch) lay.problems *= s;
  lay.L = q->shape()[q->dim() - 2];
  lay.S = k->shape()[k->dim() - 2];
  lay.E = q->shape().back();
  lay.Ev = v->shape().back();
  if (mask) {
    FASTNN_CHECK(!is_causal, "[", kOp, "] Explicit attn_mask should not be set when is_causal=True");
    FASTNN_CHECK_TYPE(
        mask->dtype() == DType::Bool || mask->dtype() == DType::Float32 || mask->dtype() == q->dtype(), "[", kOp,
        "] Expected attn_mask dtype to be bool or float or to match query dtype, but got attn_mask.dtype: ",
        dtype_name(mask->dtype()), " and query.dtype: ", dtype_name(q->dtype()), " instead.");
    FASTNN_CHECK(mask->dim() >= 2 && broadcasts_to(mask->shape(), lay.full(lay.L, lay.S)), "[", kOp,
                 "] attn_mask of shape ", mask->shape(), " cannot be broadcast to the attention weights' shape ",
                 lay.full(lay.L, lay.S));
  }
  return lay;
}

// Stride of x's dim -from_end, 0 where x has no such dim or it has size 1 (broadcast).
int64_t inner_stride(const Tensor& x, int64_t from_end) {
  const int64_t d = x.dim() - from_end;
  return d >= 0 && x.shape()[d] != 1 ? x.strides()[d] : 0;
}

// Offset of x's trailing matrix for each index of `batch`, row-major. x's leading dims align right with
// batch; a size-1 dim broadcasts, and a smaller one (grouped-query heads) is indexed by index / group.
std::vector<int64_t> batch_offsets(const Tensor& x, const Layout& lay) {
  const int64_t nb = int64_t(lay.batch.size()), lead = std::max<int64_t>(x.dim() - 2, 0);
  std::vector<int64_t> stride(nb, 0), group(nb, 1);
  for (int64_t d = nb - lead; d < nb; ++d) {
    const int64_t size = x.shape()[d - (nb - lead)];
    if (size != 1) {
      stride[d] = x.strides()[d - (nb - lead)];
      group[d] = size ? lay.batch[d] / size : 1;
    }
  }
  std::vector<int64_t> out(lay.problems);
  Shape idx(nb, 0);
  for (int64_t b = 0; b < lay.problems; ++b) {
    int64_t off = 0;
    for (int64_t d = 0; d < nb; ++d) off += idx[d] / group[d] * stride[d];
    out[b] = off;
    for (int64_t d = nb - 1; d >= 0; --d) {
      if (++idx[d] < lay.batch[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

// The kernel's view of one call; `offsets` keeps the per-problem offsets it points into.
template <class T>
kernels::AttentionProblem<T> make_problem(const Layout& lay, const Settings& set, const TensorPtr& q,
                                          const TensorPtr& k, const TensorPtr& v, const TensorPtr& mask,
                                          std::vector<std::vector<int64_t>>& offsets) {
  kernels::AttentionProblem<T> p;
  p.problems = lay.problems;
  p.L = lay.L;
  p.S = lay.S;
  p.E = lay.E;
  p.Ev = lay.Ev;
  auto operand = [&](const TensorPtr& x) {
    offsets.push_back(batch_offsets(*x, lay));
    return kernels::AttentionOperand<T>{x->data<T>(), offsets.back().data(), inner_stride(*x, 2), inner_stride(*x, 1)};
  };
  offsets.reserve(4);
  p.q = operand(q);
  p.k = operand(k);
  p.v = operand(v);
  if (mask) p.mask = operand(mask);
  p.causal = set.causal;
  p.scale = T(set.scale);
  p.dropout_p = set.dropout_p;
  p.seed = set.seed;
  p.counter = set.counter;
  return p;
}

// A gradient computed over the output's batch dims, summed back to an input's shape: over each group of
// query heads first (grouped-query key/value), then over broadcast dims.
TensorPtr reduce_to(TensorPtr g, const Shape& shape) {
  if (!g) return nullptr;
  const int64_t nb = g->dim() - 2;
  if (shape.size() >= 3 && nb >= 1) {
    const int64_t heads = g->shape()[nb - 1], h = shape[shape.size() - 3];
    if (h != heads && h != 1) {
      Shape s = g->shape();
      s[nb - 1] = h;
      s.insert(s.begin() + nb, heads / h);
      g = sum(reshape(g, s), {nb}, false);
    }
  }
  return sum_to(g, shape);
}

class ScaledDotProductAttentionBackward : public Node {
 public:
  ScaledDotProductAttentionBackward(const TensorPtr& q, const TensorPtr& k, const TensorPtr& v, const TensorPtr& mask,
                                    TensorPtr lse, TensorPtr weights, Layout lay, Settings set,
                                    const TensorPtr& user_mask)
      : q_(q),
        k_(k),
        v_(v),
        mask_(mask ? SavedTensor(mask) : SavedTensor()),
        lse_(std::move(lse)),
        weights_(std::move(weights)),
        lay_(std::move(lay)),
        set_(set) {
    if (user_mask) {
      mask_shape_ = user_mask->shape();
      mask_dtype_ = user_mask->dtype();
    }
  }
  std::string name() const override { return "ScaledDotProductFlashAttentionForCpuBackward0"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr q = q_.unpack(*this), k = k_.unpack(*this), v = v_.unpack(*this);
    TensorPtr mask = mask_.defined() ? mask_.unpack(*this) : nullptr;
    TensorPtr g = contiguous(grads[0]);
    auto grad = [&](size_t i, int64_t rows, int64_t cols) {
      return needs_input_grad(i) ? Tensor::empty(lay_.full(rows, cols), q->dtype(), kOp) : nullptr;
    };
    TensorPtr gq = grad(0, lay_.L, lay_.E), gk = grad(1, lay_.S, lay_.E), gv = grad(2, lay_.S, lay_.Ev),
              gm = grad(3, lay_.L, lay_.S);
    std::vector<std::vector<int64_t>> offsets;
    FASTNN_DISPATCH_FLOAT(q->dtype(), kOp, [&] {
      auto out = [](const TensorPtr& t) { return t ? t->mutable_data<scalar_t>() : nullptr; };
      kernels::attention_backward<scalar_t>(
          make_problem<scalar_t>(lay_, set_, q, k, v, mask, offsets), g->data<scalar_t>(), lse_->data<scalar_t>(),
          weights_ ? weights_->data<scalar_t>() : nullptr, out(gq), out(gk), out(gv), out(gm));
    });
    std::vector<TensorPtr> r{reduce_to(gq, q->shape()), reduce_to(gk, k->shape()), reduce_to(gv, v->shape())};
    if (gm) r.push_back(cast(reduce_to(gm, mask_shape_), mask_dtype_));
    r.resize(next_edges().size());
    return r;
  }
  void release_saved() override {
    q_.reset();
    k_.reset();
    v_.reset();
    mask_.reset();
    lse_.reset();
    weights_.reset();
  }

 private:
  SavedTensor q_, k_, v_, mask_;  // mask_: the additive mask in the query's dtype
  TensorPtr lse_;                 // (problems, L) row logsumexp of the scores
  TensorPtr weights_;             // (problems, L, S) the softmax, when small enough to keep; else null
  Layout lay_;
  Settings set_;
  Shape mask_shape_;  // the caller's mask (its gradient's shape and dtype)
  DType mask_dtype_ = DType::Float32;
};

// Key or value heads (dim -3) repeated for grouped-query attention: head h serves query heads [h G, (h + 1) G).
TensorPtr expand_heads(const TensorPtr& t, int64_t heads) {
  const int64_t nd = t->dim();
  if (nd < 3 || t->shape()[nd - 3] == heads) return t;
  TensorPtr u = unsqueeze(t, nd - 2);  // (..., Hk, 1, S, E)
  Shape wide = u->shape(), out = t->shape();
  wide[nd - 2] = heads / t->shape()[nd - 3];
  out[nd - 3] = heads;
  return reshape(expand(u, wide), out);
}

// On a GPU: the same computation composed of GPU ops (matmul, masks, softmax, the dropout mask drawn as the fused
// CPU kernel draws it, element (problem, i, j) at counter + (problem L + i) S + j), so autograd records their nodes.
TensorPtr attention_composed(const Layout& lay, const Settings& set, TensorPtr q, TensorPtr k, TensorPtr v,
                             const TensorPtr& mask, bool enable_gqa) {
  if (enable_gqa && q->dim() >= 3) {
    const int64_t heads = q->shape()[q->dim() - 3];
    k = expand_heads(k, heads);
    v = expand_heads(v, heads);
  }
  const Device device = q->device();
  const DType dt = q->dtype();
  TensorPtr s = mul(matmul(q, transpose(k, -2, -1)), scalar_tensor(set.scale, dt, false));
  if (mask) s = add(s, mask, 1);
  if (set.causal) {
    TensorPtr hidden = to_device(triu(full({lay.L, lay.S}, 1.0, DType::Bool), 1), device);
    s = masked_fill(s, hidden, scalar_tensor(-std::numeric_limits<double>::infinity(), dt, false));
  }
  TensorPtr p = softmax(s, -1);
  if (set.dropout_p > 0) {
    const double keep = set.dropout_p < 1 ? 1.0 / (1.0 - set.dropout_p) : 0.0;
    TensorPtr drop = Tensor::empty({lay.problems, lay.L, lay.S}, dt, kOp, device);
    cuda::dropout_mask(set.seed, set.counter, set.dropout_p, keep, dt == DType::Float64, drop->numel(),
                       drop->device_data(), device.index);
    p = mul(p, reshape(drop, lay.full(lay.L, lay.S)));
  }
  return matmul(p, v);
}

}  // namespace

TensorPtr scaled_dot_product_attention(const TensorPtr& query, const TensorPtr& key, const TensorPtr& value,
                                       const TensorPtr& attn_mask, double dropout_p, bool is_causal,
                                       std::optional<double> scale, bool enable_gqa) {
  Layout lay = check_and_layout(query, key, value, attn_mask, dropout_p, is_causal, enable_gqa);
  const DType dt = query->dtype();
  Settings set;
  set.causal = is_causal;
  // an empty dot product (E = 0) scores 0 whatever the scale, as torch's (it scales q and k, not their product)
  set.scale = lay.E == 0 ? 1.0 : scale ? *scale : 1.0 / std::sqrt(double(lay.E));
  set.dropout_p = dropout_p;
  if (dropout_p > 0) {
    const RandomState draw = default_generator()->reserve(uint64_t(lay.problems * lay.L * lay.S));
    set.seed = draw.seed;
    set.counter = draw.counter;
  }
  TensorPtr mask;  // additive, in the query's dtype
  if (attn_mask) {
    GradModeGuard no_grad(false);
    mask = attn_mask->dtype() == DType::Bool ? where(attn_mask, scalar_tensor(0, dt, false),
                                                     scalar_tensor(-std::numeric_limits<double>::infinity(), dt, false))
                                             : cast(attn_mask->detach(), dt);
  }
  if (common_device({&query, &key, &value, &attn_mask}, kOp).is_cuda()) {
    check_cuda_float(dt, kOp);
    // a floating mask is added with its history (its gradient is the scores')
    const TensorPtr added = attn_mask && attn_mask->dtype() != DType::Bool ? to_dtype(attn_mask, dt) : mask;
    return attention_composed(lay, set, query, key, value, added, enable_gqa);
  }
  TensorPtr out = Tensor::empty(lay.full(lay.L, lay.Ev), dt, kOp);
  TensorPtr lse = Tensor::empty({lay.problems, lay.L}, dt, kOp);
  const bool grad = any_requires_grad({&query, &key, &value, &attn_mask});
  // With a backward to come, the weights are kept when small (it then skips the scores' GEMM and exps again).
  TensorPtr weights = grad && double(lse->numel()) * double(lay.S) <= double(kKeptWeights)
                          ? Tensor::empty({lay.problems, lay.L, lay.S}, dt, kOp)
                          : nullptr;
  std::vector<std::vector<int64_t>> offsets;
  if (lse->numel() > 0) {  // else nothing to compute, however many problems the batch dims count
    FASTNN_DISPATCH_FLOAT(dt, kOp, [&] {
      kernels::attention_forward<scalar_t>(make_problem<scalar_t>(lay, set, query, key, value, mask, offsets),
                                           out->mutable_data<scalar_t>(), lse->mutable_data<scalar_t>(),
                                           weights ? weights->mutable_data<scalar_t>() : nullptr);
    });
  }
  if (grad) {
    std::vector<TensorPtr> inputs{query, key, value};
    if (attn_mask && attn_mask->requires_grad()) inputs.push_back(attn_mask);
    record(
        std::make_shared<ScaledDotProductAttentionBackward>(query, key, value, mask, lse, weights, lay, set, attn_mask),
        inputs, {out});
  }
  return out;
}

}  // namespace fastnn
