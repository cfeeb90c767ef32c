// Losses: mse_loss, l1/smooth_l1/huber, soft_margin, binary cross entropies, nll_loss and cross_entropy (log_softmax +
// nll_loss, label smoothing, class-probability targets).
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "fastnn/autograd/functions.h"
#include "fastnn/autograd/grad_mode.h"
#include "fastnn/autograd/node.h"
#include "fastnn/error.h"
#include "fastnn/kernels/cpu/unary.h"
#include "fastnn/kernels/cuda/loss.h"
#include "fastnn/kernels/cuda/softmax.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/loops.h"
#include "fastnn/ops/loss_more.h"
#include "fastnn/ops/ops.h"

namespace fastnn {
namespace {

TensorPtr reduce(const TensorPtr& x, Reduction r) {
  return r == Reduction::Mean ? mean(x) : r == Reduction::Sum ? sum(x) : x;
}

TensorPtr number(double v) { return scalar_tensor(v, DType::Float64, true); }

// x * s for a number s, recorded as torch's mul by a Scalar (MulBackward1: one edge).
TensorPtr scale(const TensorPtr& x, double s) {
  TensorPtr out;
  {
    GradModeGuard no_grad(false);
    out = mul(x, number(s));
  }
  record_grad_only(
      "MulBackward1", out, {x}, [s](const TensorPtr& g) { return std::vector<TensorPtr>{mul(g, number(s))}; },
      /*differentiable=*/true);
  return out;
}

// torch's x.masked_fill_(target == ignore_index, 0) on per-target terms x (target's shape): an ignored
// target's term is 0 even where it is nan or inf, and so is its gradient (MaskedFillBackward0).
TensorPtr zero_ignored(const TensorPtr& x, const TensorPtr& target, int64_t ignore_index) {
  TensorPtr ignored = compare(target, scalar_tensor(double(ignore_index), DType::Int64, true), CompareOp::Eq);
  auto zero_where_ignored = [ignored](const TensorPtr& t) {  // unrecorded, on either device
    GradModeGuard no_grad(false);
    return masked_fill(t, ignored, scalar_tensor(0, t->dtype(), true));
  };
  TensorPtr out;
  {
    GradModeGuard no_grad(false);
    out = zero_where_ignored(x);
  }
  record_grad_only("MaskedFillBackward0", out, {x},
                   [zero_where_ignored](const TensorPtr& g) { return std::vector<TensorPtr>{zero_where_ignored(g)}; });
  return out;
}

// Backward of an elementwise loss reduce(E(input, target, ...)): `fn(saved, g)` returns the
// gradients of E w.r.t. input and target times g, where g is the output gradient already spread
// over E's shape (divided by E's size for 'mean'); a null target gradient stands for minus the input's (E a function
// of input - target), computed only when the target needs it. Broadcast operands get their gradient summed back.
class PointwiseLossBackward : public Node {
 public:
  using Fn = std::function<std::pair<TensorPtr, TensorPtr>(const std::vector<TensorPtr>& saved, const TensorPtr& g)>;
  PointwiseLossBackward(std::string name, const std::vector<TensorPtr>& saved, Reduction r, Shape loss_shape, Fn fn)
      : name_(std::move(name)), r_(r), loss_shape_(std::move(loss_shape)), fn_(std::move(fn)) {
    for (const TensorPtr& t : saved) saved_.emplace_back(t ? SavedTensor(t) : SavedTensor());
  }
  std::string name() const override { return name_; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    std::vector<TensorPtr> saved;
    for (const SavedTensor& s : saved_) saved.push_back(s.defined() ? s.unpack(*this) : nullptr);
    TensorPtr g = grads[0];
    if (r_ == Reduction::Mean) g = div(g, number(double(checked_numel(loss_shape_, "loss"))));
    if (r_ != Reduction::None) g = expand(g, loss_shape_);
    auto [gi, gt] = fn_(saved, g);
    std::vector<TensorPtr> r(2);
    if (needs_input_grad(0)) r[0] = sum_to(gi, saved[0]->shape());
    if (needs_input_grad(1)) r[1] = sum_to(gt ? gt : neg(gi), saved[1]->shape());
    return r;
  }
  void release_saved() override {
    for (SavedTensor& s : saved_) s.reset();
  }

 private:
  std::string name_;
  std::vector<SavedTensor> saved_;  // input, target, then extras (weights)
  Reduction r_;
  Shape loss_shape_;
  Fn fn_;
};

// reduce(E) with E = elementwise(input, target, extras), recorded as one node named `name`.
TensorPtr pointwise_loss(const char* name, const TensorPtr& input, const TensorPtr& target,
                         const std::vector<TensorPtr>& extras, Reduction r,
                         const std::function<TensorPtr(const std::vector<TensorPtr>&)>& elementwise,
                         PointwiseLossBackward::Fn backward) {
  std::vector<TensorPtr> saved{input, target};
  saved.insert(saved.end(), extras.begin(), extras.end());
  TensorPtr out;
  Shape loss_shape;
  {
    GradModeGuard no_grad(false);
    std::vector<TensorPtr> data;
    for (const TensorPtr& t : saved) data.push_back(t ? t->detach() : nullptr);
    TensorPtr e = elementwise(data);
    loss_shape = e->shape();
    out = reduce(e, r);
  }
  if (any_requires_grad({&input, &target}))
    record(std::make_shared<PointwiseLossBackward>(name, saved, r, loss_shape, std::move(backward)), {&input, &target},
           {&out});
  return out;
}

// rule(x, t) elementwise over the broadcast of x and t, in x's floating dtype, on x's device (ops/loss_rules.h).
template <class Rule>
TensorPtr map2(const TensorPtr& x, const TensorPtr& t, const char* op, const Rule& rule) {
  const Device device = x->device();
  TensorPtr tc = on_device(t, device, x->dtype(), op);
  const Shape shape = broadcast_shapes(x->shape(), t->shape(), op);
  TensorPtr out = Tensor::empty(shape, x->dtype(), op, device);
  if (device.is_cuda()) {
    check_cuda_float(x->dtype(), op);
    const Shape xs = broadcast_strides(x->shape(), x->strides(), shape),
                ts = broadcast_strides(tc->shape(), tc->strides(), shape);
    cuda::loss_term(rule, x->dtype() == DType::Float64, x->device_data(), xs.data(), tc->device_data(), ts.data(),
                    shape.data(), int(shape.size()), out->numel(), out->device_data(), device.index);
    return out;
  }
  FASTNN_DISPATCH_FLOAT(x->dtype(), op, [&] {
    map_binary<scalar_t, scalar_t>(*out, *x, *tc, [&rule](scalar_t a, scalar_t b) { return rule(a, b); });
  });
  return out;
}

void check_loss_args(const TensorPtr& input, const TensorPtr& target, const char* op) {
  check_defined(input, op);
  check_defined(target, op, "target");
  FASTNN_CHECK_TYPE(is_floating(input->dtype()), "[", op, "] expected floating-point input, got ",
                    dtype_name(input->dtype()));
  FASTNN_CHECK_TYPE(is_floating(target->dtype()), "[", op, "] expected floating-point target, got ",
                    dtype_name(target->dtype()));
  broadcast_shapes(input->shape(), target->shape(), op);
}

TensorPtr weighted(const TensorPtr& e, const TensorPtr& w) { return w ? mul(e, w) : e; }

// A weight must broadcast to the input's shape (as torch: the loss keeps the input's shape).
void check_weight_shape(const TensorPtr& input, const TensorPtr& w, const char* op, const char* what) {
  if (!w) return;
  FASTNN_CHECK(broadcast_shapes(input->shape(), w->shape(), op) == input->shape(), "[", op, "] ", what, " of shape ",
               w->shape(), " cannot be broadcast to the input's shape ", input->shape());
}

// Flattened view of an nll problem: logp (M, C) rows, targets (M), output shape for 'none'.
struct NllShape {
  TensorPtr logp, target;
  Shape none_shape;
  int64_t classes;
};

// Checks an nll problem's arguments; returns the target shape the input calls for.
Shape check_nll(const TensorPtr& input, const TensorPtr& target, const char* op) {
  check_defined(input, op);
  check_defined(target, op, "target");
  FASTNN_CHECK_TYPE(target->dtype() == DType::Int64, "[", op, "] expected target of dtype int64 (class indices), got ",
                    dtype_name(target->dtype()));
  FASTNN_CHECK_TYPE(is_floating(input->dtype()), "[", op, "] expected floating-point input, got ",
                    dtype_name(input->dtype()));
  int64_t nd = input->dim();
  FASTNN_CHECK(nd >= 1, "[", op, "] input must have at least 1 dimension (C) or (N, C, ...), got a 0-d tensor");
  if (nd == 1) {
    FASTNN_CHECK(target->dim() == 0, "[", op, "] for input of shape ", input->shape(),
                 " expected a 0-d target, got shape ", target->shape());
    return {};
  }
  Shape expected{input->shape()[0]};
  expected.insert(expected.end(), input->shape().begin() + 2, input->shape().end());
  FASTNN_CHECK(target->shape() == expected, "[", op, "] expected target of shape ", expected, " for input of shape ",
               input->shape(), ", got ", target->shape());
  return expected;
}

NllShape nll_flatten(const TensorPtr& input, const TensorPtr& target, const char* op) {
  Shape expected = check_nll(input, target, op);
  int64_t nd = input->dim();
  NllShape s;
  if (nd == 1) {
    s.classes = input->shape()[0];
    s.logp = reshape(input, {1, s.classes});
    s.target = reshape(target, {1});
    return s;
  }
  s.classes = input->shape()[1];
  s.none_shape = expected;
  IntList perm{0};
  for (int64_t d = 2; d < nd; ++d) perm.push_back(d);
  perm.push_back(1);
  s.logp = nd == 2 ? input : reshape(permute(input, perm), {-1, s.classes});
  s.target = reshape(target, {-1});
  return s;
}

// Per-row weight of each target (0 for ignored), checking targets are in range.
TensorPtr target_weights(const TensorPtr& target, const TensorPtr& weight, int64_t classes, int64_t ignore_index,
                         DType dtype, const char* op) {
  int64_t m = target->shape()[0];
  TensorPtr tc = contiguous(to_device(target, Device{}));  // a GPU target is checked on the CPU
  TensorPtr wc = weight ? contiguous(cast(to_device(weight, Device{}), DType::Float64)) : nullptr;
  TensorPtr out = Tensor::empty({m}, DType::Float64, op);
  const int64_t* t = tc->data<int64_t>();
  double* w = out->mutable_data<double>();
  for (int64_t i = 0; i < m; ++i) {
    if (t[i] == ignore_index) {
      w[i] = 0;
      continue;
    }
    FASTNN_CHECK_INDEX(t[i] >= 0 && t[i] < classes, "[", op, "] Target ", t[i],
                       " is out of bounds (expected a class in [0, ", classes, ") or ignore_index ", ignore_index, ")");
    w[i] = wc ? wc->data<double>()[t[i]] : 1.0;
  }
  return cast(out, dtype);
}

class NllLossBackward : public Node {
 public:
  NllLossBackward(const TensorPtr& target, const TensorPtr& weights, Shape logp_shape, Shape input_shape, double total,
                  Reduction r, int64_t ignore_index, IntList perm)
      : target_(target),
        weights_(weights),
        logp_shape_(std::move(logp_shape)),
        input_shape_(std::move(input_shape)),
        total_(total),
        r_(r),
        ignore_index_(ignore_index),
        perm_(std::move(perm)) {}
  // torch runs inputs with spatial dims through nll_loss2d
  std::string name() const override { return input_shape_.size() >= 3 ? "NllLoss2DBackward0" : "NllLossBackward0"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr target = contiguous(target_.unpack(*this)), w = contiguous(weights_.unpack(*this));
    TensorPtr g = contiguous(reshape(grads[0], {-1}));
    TensorPtr gi;
    int64_t m = logp_shape_[0], c = logp_shape_[1];
    if (w->device().is_cuda()) {
      gi = Tensor::empty(logp_shape_, w->dtype(), "nll_loss", w->device());
      cuda::nll_backward(w->dtype() == DType::Float64, g->device_data(), r_ == Reduction::None,
                         r_ == Reduction::Mean ? total_ : 1.0, static_cast<const int64_t*>(target->device_data()),
                         w->device_data(), m, c, ignore_index_, gi->device_data(), w->device().index);
    } else {
      gi = zeros(logp_shape_, w->dtype());
      FASTNN_DISPATCH_FLOAT(gi->dtype(), "nll_loss", [&] {
        scalar_t* out = gi->mutable_data<scalar_t>();
        const scalar_t* pw = w->data<scalar_t>();
        const scalar_t* pg = g->data<scalar_t>();
        const int64_t* t = target->data<int64_t>();
        for (int64_t i = 0; i < m; ++i) {
          if (t[i] == ignore_index_) continue;  // a zero class weight is still written: -0 * g, or nan when total is 0
          scalar_t gv = r_ == Reduction::None ? pg[i] : pg[0];
          if (r_ == Reduction::Mean) gv = scalar_t(gv / total_);
          out[i * c + t[i]] = -pw[i] * gv;
        }
      });
    }
    if (perm_.empty()) return {reshape(gi, input_shape_)};
    // Undo the (N, ..., C) flattening of a K-dim input.
    Shape moved{input_shape_[0]};
    moved.insert(moved.end(), input_shape_.begin() + 2, input_shape_.end());
    moved.push_back(input_shape_[1]);
    return {contiguous(permute(reshape(gi, moved), perm_))};
  }
  void release_saved() override {
    target_.reset();
    weights_.reset();
  }

 private:
  SavedTensor target_, weights_;
  Shape logp_shape_, input_shape_;
  double total_;
  Reduction r_;
  int64_t ignore_index_;
  IntList perm_;
};

}  // namespace

TensorPtr mse_loss(const TensorPtr& input, const TensorPtr& target, Reduction reduction) {
  check_defined(input, "mse_loss");
  check_defined(target, "mse_loss", "target");
  if (any_storage_dtype({&input, &target}))
    return narrowed(mse_loss(widened(input), widened(target), reduction), input->dtype());
  FASTNN_CHECK_TYPE(is_floating(input->dtype()), "[mse_loss] expected floating-point input, got ",
                    dtype_name(input->dtype()));
  broadcast_shapes(input->shape(), target->shape(), "mse_loss");
  return pointwise_loss(
      "MseLossBackward0", input, target, {}, reduction,
      // one pass for same-dtype operands; mixed dtypes through sub's type promotion, as torch
      [](const std::vector<TensorPtr>& v) {
        if (v[0]->dtype() == v[1]->dtype()) return map2(v[0], v[1], "mse_loss", rules::SquaredError{});
        const TensorPtr d = sub(v[0], v[1], 1);
        return mul(d, d);
      },
      [](const std::vector<TensorPtr>& v, const TensorPtr& g) {
        const TensorPtr slope = v[0]->dtype() == v[1]->dtype()
                                    ? map2(v[0], v[1], "mse_loss", rules::SquaredErrorSlope{})
                                    : mul(sub(v[0], v[1], 1), number(2));
        return std::make_pair(mul(slope, g), TensorPtr());
      });
}

TensorPtr l1_loss(const TensorPtr& input, const TensorPtr& target, Reduction reduction) {
  check_loss_args(input, target, "l1_loss");
  return reduce(abs(sub(input, target, 1)), reduction);  // torch records AbsBackward0 / MeanBackward0 too
}

TensorPtr smooth_l1_loss(const TensorPtr& input, const TensorPtr& target, Reduction reduction, double beta) {
  if (input && target && any_storage_dtype({&input, &target}))
    return narrowed(smooth_l1_loss(widened(input), widened(target), reduction, beta), input->dtype());
  check_loss_args(input, target, "smooth_l1_loss");
  FASTNN_CHECK(beta >= 0, "[smooth_l1_loss] beta must be non-negative, got ", beta);
  if (const DType dt = promote(input->dtype(), target->dtype()); dt != input->dtype() || dt != target->dtype())
    return smooth_l1_loss(to_dtype(input, dt), to_dtype(target, dt), reduction, beta);  // promoted, as torch
  return pointwise_loss(
      "SmoothL1LossBackward0", input, target, {}, reduction,
      [beta](const std::vector<TensorPtr>& v) { return map2(v[0], v[1], "smooth_l1_loss", rules::SmoothL1{beta}); },
      [beta](const std::vector<TensorPtr>& v, const TensorPtr& g) {
        TensorPtr slope = map2(v[0], v[1], "smooth_l1_loss", rules::SmoothL1Slope{beta});
        return std::make_pair(mul(slope, g), TensorPtr());
      });
}

TensorPtr huber_loss(const TensorPtr& input, const TensorPtr& target, Reduction reduction, double delta) {
  check_loss_args(input, target, "huber_loss");
  FASTNN_CHECK(delta > 0, "[huber_loss] huber_loss does not support non-positive values for delta (got ", delta, ")");
  return pointwise_loss(
      "HuberLossBackward0", input, target, {}, reduction,
      [delta](const std::vector<TensorPtr>& v) { return map2(v[0], v[1], "huber_loss", rules::Huber{delta}); },
      [delta](const std::vector<TensorPtr>& v, const TensorPtr& g) {
        TensorPtr slope = map2(v[0], v[1], "huber_loss", rules::HuberSlope{delta});
        return std::make_pair(mul(slope, g), TensorPtr());
      });
}

TensorPtr soft_margin_loss(const TensorPtr& input, const TensorPtr& target, Reduction reduction) {
  check_loss_args(input, target, "soft_margin_loss");
  FASTNN_CHECK_STATE(!any_requires_grad({&target}),
                     "[soft_margin_loss] The function 'soft_margin_loss' is not "
                     "differentiable with respect to argument 'target'. This input cannot have requires_grad True.");
  return pointwise_loss(
      "SoftMarginLossBackward0", input, target, {}, reduction,
      [](const std::vector<TensorPtr>& v) { return map2(v[0], v[1], "soft_margin_loss", rules::SoftMargin{}); },
      [](const std::vector<TensorPtr>& v, const TensorPtr& g) {
        // d/dx = -t exp(-t x) / (1 + exp(-t x))
        TensorPtr slope = map2(v[0], v[1], "soft_margin_loss", rules::SoftMarginSlope{});
        return std::make_pair(mul(slope, g), TensorPtr());
      });
}

TensorPtr binary_cross_entropy(const TensorPtr& input, const TensorPtr& target, const TensorPtr& weight,
                               Reduction reduction) {
  if (input && target && any_storage_dtype({&input, &target, &weight}))
    return narrowed(binary_cross_entropy(widened(input), widened(target), widened(weight), reduction), input->dtype());
  check_loss_args(input, target, "binary_cross_entropy");
  FASTNN_CHECK(input->shape() == target->shape(), "[binary_cross_entropy] Using a target size (", target->shape(),
               ") that is different to the input size (", input->shape(),
               ") is deprecated. Please ensure they have the same size.");
  check_weight_shape(input, weight, "binary_cross_entropy", "weight");
  if (input->numel() > 0) {
    GradModeGuard no_grad(false);
    double lo = *to_device(cast(min(input->detach()), DType::Float64), Device{})->data<double>();
    double hi = *to_device(cast(max(input->detach()), DType::Float64), Device{})->data<double>();
    FASTNN_CHECK(lo >= 0 && hi <= 1,
                 "[binary_cross_entropy] all elements of input should be between 0 and 1 (got values in [", lo, ", ",
                 hi, "])");
  }
  // log terms clamped at -100, as torch does, so 0 and 1 give finite losses.
  auto logs = [](const TensorPtr& x, bool one_minus) {
    return map2(x, x, "binary_cross_entropy", rules::ClampedLog{one_minus});  // log1p: exact near 0, as torch
  };
  return pointwise_loss(
      "BinaryCrossEntropyBackward0", input, target, {weight}, reduction,
      [logs](const std::vector<TensorPtr>& v) {
        TensorPtr t = v[1];
        TensorPtr e = neg(add(mul(t, logs(v[0], false)), mul(sub(number(1), t, 1), logs(v[0], true)), 1));
        return weighted(e, v[2]);
      },
      [](const std::vector<TensorPtr>& v, const TensorPtr& g) {
        TensorPtr x = v[0], t = v[1];
        TensorPtr wg = weighted(g, v[2]);
        // d/dx = (x - t) / max(x (1 - x), 1e-12);  d/dt = -logit(x), unclamped as in torch (+-inf at 0 and 1)
        TensorPtr denom = clamp(mul(x, sub(number(1), x, 1)), 1e-12, std::nullopt);
        TensorPtr neg_logit = map2(x, x, "binary_cross_entropy", rules::NegLogit{});
        return std::make_pair(mul(div(sub(x, t, 1), denom), wg), mul(neg_logit, wg));
      });
}

TensorPtr binary_cross_entropy_with_logits(const TensorPtr& input, const TensorPtr& target, const TensorPtr& weight,
                                           const TensorPtr& pos_weight, Reduction reduction) {
  check_loss_args(input, target, "binary_cross_entropy_with_logits");
  FASTNN_CHECK(input->shape() == target->shape(), "[binary_cross_entropy_with_logits] Target size (", target->shape(),
               ") must be the same as input size (", input->shape(), ")");
  check_weight_shape(input, weight, "binary_cross_entropy_with_logits", "weight");
  check_weight_shape(input, pos_weight, "binary_cross_entropy_with_logits", "pos_weight");
  // softplus(-x) = log(1 + exp(-x)), computed stably as log1p(exp(-|x|)) + max(-x, 0) (float32 on the CPU by the
  // vectorised kernel: libm's log1p and exp per element took 4x torch's time).
  auto softplus_neg = [](const TensorPtr& x) {
    if (!x->is_cpu() || x->dtype() != DType::Float32)
      return map2(x, x, "binary_cross_entropy_with_logits", rules::SoftplusNeg{});
    const TensorPtr xc = contiguous(x);
    TensorPtr out = Tensor::empty(x->shape(), x->dtype(), "binary_cross_entropy_with_logits");
    const float* src = xc->data<float>();
    float* dst = out->mutable_data<float>();
    parallel_for(out->numel(), kGrainSize,
                 [&](int64_t b, int64_t e) { kernels::softplus_neg(e - b, src + b, dst + b); });
    return out;
  };
  return pointwise_loss(
      "BinaryCrossEntropyWithLogitsBackward0", input, target, {weight, pos_weight}, reduction,
      [softplus_neg](const std::vector<TensorPtr>& v) {
        TensorPtr x = v[0], t = v[1];
        // (1 - t) x + (1 + (pw - 1) t) softplus(-x)
        TensorPtr lw = v[3] ? add(number(1), mul(sub(v[3], number(1), 1), t), 1) : nullptr;
        TensorPtr sp = softplus_neg(x);
        return weighted(add(mul(sub(number(1), t, 1), x), lw ? mul(lw, sp) : sp, 1), v[2]);
      },
      [softplus_neg](const std::vector<TensorPtr>& v, const TensorPtr& g) {
        TensorPtr x = v[0], t = v[1], wg = weighted(g, v[2]);
        TensorPtr s = sigmoid(x);
        if (!v[3]) return std::make_pair(mul(sub(s, t, 1), wg), mul(neg(x), wg));
        // d/dx = sigmoid(x) (1 + (pw - 1) t) - pw t;  d/dt = pw softplus(-x) - softplus(x), as torch writes it:
        // (pw - 1) softplus(-x) - x is the same but cancels for large |x| (and is nan for x = -inf, pw = 1)
        TensorPtr pw1 = sub(v[3], number(1), 1);
        TensorPtr gi = sub(mul(s, add(number(1), mul(pw1, t), 1)), mul(v[3], t), 1);
        TensorPtr gt = sub(mul(v[3], softplus_neg(x)), softplus_neg(neg(x)), 1);
        return std::make_pair(mul(gi, wg), mul(gt, wg));
      });
}

TensorPtr nll_loss(const TensorPtr& input, const TensorPtr& target, const TensorPtr& weight, Reduction reduction,
                   int64_t ignore_index) {
  if (input && any_storage_dtype({&input, &weight}))
    return narrowed(nll_loss(widened(input), target, widened(weight), reduction, ignore_index), input->dtype());
  if (input && (input->dim() == 3 || input->dim() > 4)) {
    // torch runs these through nll_loss2d on an (N, C, H, W) view of the input (a view the graph shows)
    check_nll(input, target, "nll_loss");
    const Shape& in = input->shape();
    int64_t rest = 1;
    for (size_t d = 3; d < in.size(); ++d) rest *= in[d];
    TensorPtr out = nll_loss(reshape(input, {in[0], in[1], in[2], rest}), reshape(target, {in[0], in[2], rest}), weight,
                             reduction, ignore_index);
    return reduction == Reduction::None ? reshape(out, target->shape()) : out;
  }
  NllShape s = nll_flatten(input, target, "nll_loss");
  if (weight)
    FASTNN_CHECK(weight->dim() == 1 && weight->shape()[0] == s.classes,
                 "[nll_loss] weight tensor should be defined "
                 "either for all ",
                 s.classes, " classes or no classes but got weight tensor of shape: ", weight->shape());
  const Device device = common_device({&input, &target, &weight}, "nll_loss");
  if (device.is_cuda()) check_cuda_float(input->dtype(), "nll_loss");
  TensorPtr w = target_weights(s.target, weight, s.classes, ignore_index, input->dtype(), "nll_loss");
  TensorPtr out;
  double total = 0;
  if (device.is_cuda()) {  // the weights' total in the CPU path's order, then the weights go to the GPU
    FASTNN_DISPATCH_FLOAT(w->dtype(), "nll_loss", [&] {
      for (int64_t i = 0; i < w->numel(); ++i) total += double(w->data<scalar_t>()[i]);
    });
    w = to_device(w, device);
  }
  {
    GradModeGuard no_grad(false);
    // picked[i] = logp[i, target[i]]
    int64_t m = s.target->shape()[0];
    TensorPtr picked = Tensor::empty({m}, input->dtype(), "nll_loss", device);
    TensorPtr tc = contiguous(s.target);
    if (device.is_cuda()) {
      const Tensor& lp = *s.logp;
      cuda::nll_pick(input->dtype() == DType::Float64, lp.device_data(), lp.strides()[0], lp.strides()[1],
                     static_cast<const int64_t*>(tc->device_data()), w->device_data(), m, ignore_index,
                     picked->device_data(), device.index);
    } else
      FASTNN_DISPATCH_FLOAT(input->dtype(), "nll_loss", [&] {
        const int64_t* t = tc->data<int64_t>();
        const scalar_t* wp = w->data<scalar_t>();
        scalar_t* p = picked->mutable_data<scalar_t>();
        const Tensor& lp = *s.logp;
        const scalar_t* base = lp.data<scalar_t>();
        for (int64_t i = 0; i < m; ++i)
          // (an ignored row's target may be out of range; a zero weight still multiplies: -0 * inf is nan, as torch)
          p[i] = t[i] == ignore_index ? scalar_t(0) : -wp[i] * base[i * lp.strides()[0] + t[i] * lp.strides()[1]];
        for (int64_t i = 0; i < m; ++i) total += double(wp[i]);
      });
    if (reduction == Reduction::None) out = input->dim() == 1 ? reshape(picked, {}) : reshape(picked, s.none_shape);
    else if (reduction == Reduction::Sum) out = sum(picked);
    else out = div(sum(picked), scalar_tensor(total, input->dtype(), false));
  }
  if (any_requires_grad({&input})) {
    IntList perm;
    if (input->dim() > 2) {  // (N, d1.., C) -> (N, C, d1..)
      perm.push_back(0);
      perm.push_back(input->dim() - 1);
      for (int64_t d = 1; d < input->dim() - 1; ++d) perm.push_back(d);
    }
    auto node = std::make_shared<NllLossBackward>(s.target, w, s.logp->shape(), input->shape(), total, reduction,
                                                  ignore_index, perm);
    record(node, {&input}, {&out});  // the target is not differentiable: no edge, as in torch
  }
  return out;
}

TensorPtr cross_entropy(const TensorPtr& input, const TensorPtr& target, const TensorPtr& weight, Reduction reduction,
                        int64_t ignore_index, double label_smoothing) {
  check_defined(input, "cross_entropy");
  check_defined(target, "cross_entropy", "target");
  if (any_storage_dtype({&input, &weight}))
    return narrowed(cross_entropy(widened(input), target, widened(weight), reduction, ignore_index, label_smoothing),
                    input->dtype());
  FASTNN_CHECK(label_smoothing >= 0 && label_smoothing <= 1,
               "[cross_entropy] label_smoothing must be between 0.0 and 1.0. Got: ", label_smoothing);
  FASTNN_CHECK(input->dim() >= 1, "[cross_entropy] input must have at least 1 dimension, got a 0-d tensor");
  int64_t class_dim = input->dim() == 1 ? 0 : 1;
  int64_t classes = input->shape()[class_dim];
  TensorPtr logp = log_softmax(input, class_dim);
  // Weight reshaped to broadcast along the class dim: (C, 1, 1, ...).
  auto class_weight = [&]() {
    IntList ws{classes};
    for (int64_t d = class_dim + 1; d < input->dim(); ++d) ws.push_back(1);
    return reshape(weight, ws);
  };
  if (is_floating(target->dtype())) {
    // Class probabilities: loss_i = -sum_c w_c * p_ic * logp_ic.
    FASTNN_CHECK(target->shape() == input->shape(), "[cross_entropy] probability target must have the input's shape ",
                 input->shape(), ", got ", target->shape());
    TensorPtr p = label_smoothing > 0
                      ? add(mul(target, number(1 - label_smoothing)), number(label_smoothing / classes), 1)
                      : target;
    TensorPtr prod = mul(logp, p);
    if (weight) prod = mul(prod, class_weight());
    // torch's formulas (and grad_fn names): -sum(prod, class_dim), -sum(prod), -sum(prod) / (numel / C)
    if (reduction == Reduction::None) return neg(sum(prod, {class_dim}, false));
    TensorPtr total = neg(sum(prod));
    if (reduction == Reduction::Sum) return total;
    TensorPtr count = number(double(classes ? input->numel() / classes : 0));
    TensorPtr out;
    {
      GradModeGuard no_grad(false);
      out = div(total, count);
    }
    record_grad_only(
        "DivBackward1", out, {total}, [count](const TensorPtr& g) { return std::vector<TensorPtr>{div(g, count)}; },
        /*differentiable=*/true);
    return out;
  }
  TensorPtr nll = nll_loss(logp, target, weight, reduction, ignore_index);
  if (label_smoothing == 0) return nll;
  // torch's formulas (and grad_fn names): the smoothing term of each target, ignored ones zeroed
  TensorPtr smooth =
      zero_ignored(neg(sum(weight ? mul(logp, class_weight()) : logp, {class_dim}, false)), target, ignore_index);
  TensorPtr ret;
  if (reduction == Reduction::None) {
    ret = smooth;
  } else {
    TensorPtr total = sum(smooth);
    if (reduction == Reduction::Mean) {
      NllShape s = nll_flatten(logp->detach(), target, "cross_entropy");
      TensorPtr w = target_weights(s.target, weight, classes, ignore_index, DType::Float64, "cross_entropy");
      ret = div(total, number(sum(w)->data<double>()[0]));
    } else {
      ret = total;
    }
  }
  return add(scale(nll, 1 - label_smoothing), scale(ret, label_smoothing / double(classes)), 1);
}

}  // namespace fastnn
