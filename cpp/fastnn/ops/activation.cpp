// Activations with parameters (leaky_relu, gelu, softplus, the elu family, hardtanh, shrinks, threshold,
// glu, prelu), and softmax/log_softmax along one dim
// (rows made contiguous, each row by one thread).
#include <cmath>

#include "fastnn/autograd/grad_mode.h"
#include "fastnn/autograd/node.h"
#include "fastnn/error.h"
#include "fastnn/kernels/cpu/reduce.h"
#include "fastnn/kernels/cpu/unary.h"
#include "fastnn/kernels/cuda/activation.h"
#include "fastnn/kernels/cuda/softmax.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/loops.h"
#include "fastnn/ops/activation_params.h"
#include "fastnn/ops/ops.h"
#include "fastnn/parallel.h"

namespace fastnn {
namespace {

// x with `dim` moved last and made contiguous, plus the permutation that moves it back
// (a 0-d x becomes one row of one element; undo_dim_last restores the 0-d shape).
std::pair<TensorPtr, IntList> dim_last(const TensorPtr& x, int64_t dim) {
  int64_t nd = x->dim();
  if (nd == 0) return {contiguous(reshape(x->detach(), {1})), {}};
  IntList perm, inverse(nd);
  for (int64_t d = 0; d < nd; ++d)
    if (d != dim) perm.push_back(d);
  perm.push_back(dim);
  for (int64_t i = 0; i < nd; ++i) inverse[perm[i]] = i;
  return {contiguous(permute(x->detach(), perm)), inverse};
}

TensorPtr undo_dim_last(const TensorPtr& rows, const IntList& inverse) {
  return inverse.empty() ? reshape(rows, {}) : permute(rows, inverse);
}

// Row-wise softmax or log_softmax (kernels::softmax_row), rows split over threads by shape only.
template <class T>
void softmax_rows(const T* x, T* y, int64_t rows, int64_t n, bool log) {
  parallel_for(rows, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) kernels::softmax_row(x + r * n, y + r * n, n, log);
  });
}

template <class T>
void softmax_backward_rows(const T* g, const T* y, T* dx, int64_t rows, int64_t n, bool log) {
  parallel_for(rows, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) kernels::softmax_backward_row(g + r * n, y + r * n, dx + r * n, n, log);
  });
}

TensorPtr softmax_forward(const TensorPtr& x, int64_t dim, bool log) {
  auto [rows, inverse] = dim_last(x, dim);
  TensorPtr y = Tensor::empty(rows->shape(), rows->dtype(), log ? "log_softmax" : "softmax", x->device());
  int64_t n = x->dim() ? x->shape()[dim] : 1;
  if (x->device().is_cuda()) {
    check_cuda_float(x->dtype(), log ? "log_softmax" : "softmax");
    cuda::softmax_rows(x->dtype() == DType::Float64, rows->device_data(), y->device_data(), n ? rows->numel() / n : 0,
                       n, log, x->device().index);
  } else
    FASTNN_DISPATCH_FLOAT(x->dtype(), log ? "log_softmax" : "softmax", [&] {
      softmax_rows<scalar_t>(rows->data<scalar_t>(), y->mutable_data<scalar_t>(), n ? rows->numel() / n : 0, n, log);
    });
  return undo_dim_last(y, inverse);
}

class SoftmaxBackward : public Node {
 public:
  SoftmaxBackward(const TensorPtr& y, int64_t dim, bool log) : y_(y), dim_(dim), log_(log) {}
  std::string name() const override { return log_ ? "LogSoftmaxBackward0" : "SoftmaxBackward0"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr y = y_.unpack(*this);
    auto [g_rows, inverse] = dim_last(grads[0], dim_);
    TensorPtr y_rows = dim_last(y, dim_).first;
    TensorPtr dx = Tensor::empty(g_rows->shape(), g_rows->dtype(), "softmax", y->device());
    int64_t n = y->dim() ? y->shape()[dim_] : 1;
    if (y->device().is_cuda())
      cuda::softmax_backward_rows(y->dtype() == DType::Float64, g_rows->device_data(), y_rows->device_data(),
                                  dx->device_data(), n ? dx->numel() / n : 0, n, log_, y->device().index);
    else
      FASTNN_DISPATCH_FLOAT(dx->dtype(), name().c_str(), [&] {
        softmax_backward_rows<scalar_t>(g_rows->data<scalar_t>(), y_rows->data<scalar_t>(),
                                        dx->mutable_data<scalar_t>(), n ? dx->numel() / n : 0, n, log_);
      });
    return {contiguous(undo_dim_last(dx, inverse))};
  }
  void release_saved() override { y_.reset(); }

 private:
  SavedTensor y_;
  int64_t dim_;
  bool log_;
};

TensorPtr softmax_op(const TensorPtr& x_in, int64_t dim, bool log) {
  check_defined(x_in, log ? "log_softmax" : "softmax");
  if (any_storage_dtype({&x_in})) return narrowed(softmax_op(widened(x_in), dim, log), x_in->dtype());
  const char* op = log ? "log_softmax" : "softmax";
  dim = wrap_dim(dim, x_in->dim(), op);
  TensorPtr x = is_floating(x_in->dtype()) ? x_in : cast(x_in, default_float_dtype());
  TensorPtr y;
  {
    GradModeGuard no_grad(false);
    y = contiguous(softmax_forward(x, dim, log));
  }
  if (any_requires_grad({&x_in})) record(std::make_shared<SoftmaxBackward>(y, dim, log), {&x_in}, {&y});
  return y;
}

// GELU, softplus and the elu family on float32 CPU tensors run the vectorised kernels of kernels/cpu/unary.h (the
// rules compute in double with libm's erf, exp or log1p per element: 5-8x torch's time), in float as torch's.
template <class Rule>
constexpr bool kVectorForm = std::is_same_v<Rule, rules::GeluErf> || std::is_same_v<Rule, rules::GeluTanh> ||
                             std::is_same_v<Rule, rules::Softplus> || std::is_same_v<Rule, rules::EluLike>;

// The kernel of a rule with a vector form, and its arguments in float.
template <class Rule>
std::pair<kernels::VecActivation, kernels::VecActivationArgs> vector_form(const Rule& rule) {
  kernels::VecActivationArgs args;
  if constexpr (std::is_same_v<Rule, rules::GeluErf>) {
    return {kernels::VecActivation::GeluErf, args};
  } else if constexpr (std::is_same_v<Rule, rules::GeluTanh>) {
    return {kernels::VecActivation::GeluTanh, args};
  } else if constexpr (std::is_same_v<Rule, rules::Softplus>) {
    args.beta = float(rule.beta);
    args.threshold = float(rule.threshold);
    return {kernels::VecActivation::Softplus, args};
  } else {
    args.neg_coef = float(rule.alpha) * float(rule.scale);
    args.pos_coef = float(rule.scale);
    args.input_scale = float(rule.input_scale);
    return {kernels::VecActivation::Elu, args};
  }
}

// out = the activation (or, with g, its gradient) of x by the vectorised kernels, in chunks over the threads, where
// the rule has a vector form and x (and g) are float32; false otherwise.
template <class Rule>
bool vector_activation(const Rule& rule, const TensorPtr& x_in, const TensorPtr& g_in, Tensor& out) {
  if constexpr (!kVectorForm<Rule>) {
    return false;
  } else {
    if (x_in->dtype() != DType::Float32 || (g_in && g_in->dtype() != DType::Float32)) return false;
    const auto [op, args] = vector_form(rule);
    const TensorPtr x = contiguous(x_in), g = g_in ? contiguous(g_in) : nullptr;
    const float* px = x->data<float>();
    const float* pg = g ? g->data<float>() : nullptr;
    float* po = out.mutable_data<float>();
    parallel_for(out.numel(), kGrainSize, [&, op = op, args = args](int64_t b, int64_t e) {
      if (pg) kernels::activation_backward(op, args, e - b, pg + b, px + b, po + b);
      else kernels::activation_forward(op, args, e - b, px + b, po + b);
    });
    return true;
  }
}

// Backward of a pointwise activation with parameters: grad_in = rule.backward(g, x) (x saved).
template <class Rule>
class ActivationBackward : public Node {
 public:
  ActivationBackward(const char* name, const TensorPtr& x, Rule rule) : name_(name), x_(x), rule_(rule) {}
  std::string name() const override { return name_; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr x = x_.unpack(*this), g = grads[0];
    TensorPtr out = Tensor::empty(g->shape(), g->dtype(), name_, g->device());
    if (g->device().is_cuda()) {
      const TensorPtr gc = contiguous(g), xc = contiguous(x);
      cuda::activation_backward(rule_, g->dtype() == DType::Float64, gc->device_data(), xc->device_data(),
                                out->device_data(), out->numel(), g->device().index);
      return {out};
    }
    if (vector_activation(rule_, x, g, *out)) return {out};
    // The rule captured by value, not through `this`.
    FASTNN_DISPATCH_FLOAT(g->dtype(), name_, [&] {
      map_binary<scalar_t, scalar_t>(*out, *g, *x, [rule = rule_](scalar_t g, scalar_t x) {
        return scalar_t(rule.backward(g, x));  // in double, or in scalar_t for a template rule
      });
    });
    return {out};
  }
  void release_saved() override { x_.reset(); }

 private:
  const char* name_;
  SavedTensor x_;
  Rule rule_;
};

// y = rule.forward(x) elementwise in x's floating dtype (on x's device), recorded with ActivationBackward(rule).
template <class Rule>
TensorPtr activation(const char* op, const char* node, const TensorPtr& x, Rule rule) {
  check_defined(x, op);
  if (any_storage_dtype({&x})) return narrowed(activation(op, node, widened(x), rule), x->dtype());
  FASTNN_CHECK_TYPE(is_floating(x->dtype()), "[", op, "] expected a floating-point input, got ",
                    dtype_name(x->dtype()));
  TensorPtr y = Tensor::empty(x->shape(), x->dtype(), op, x->device());
  if (x->device().is_cuda()) {
    check_cuda_float(x->dtype(), op);
    cuda::activation_forward(rule, x->dtype() == DType::Float64, x->device_data(), x->shape().data(),
                             x->strides().data(), int(x->dim()), x->numel(), y->device_data(), x->device().index);
  } else if (!vector_activation(rule, x, nullptr, *y)) {
    FASTNN_DISPATCH_FLOAT(x->dtype(), op, [&] {
      // in double, or in scalar_t for a template rule
      map_unary<scalar_t, scalar_t>(*y, *x, [rule](scalar_t v) { return scalar_t(rule.forward(v)); });
    });
  }
  if (any_requires_grad({&x})) record(std::make_shared<ActivationBackward<Rule>>(node, x, rule), {&x}, {&y});
  return y;
}

// torch's elu(x, alpha, scale, input_scale), recorded as `node`.
TensorPtr elu_like(const char* op, const char* node, const TensorPtr& x, double alpha, double scale,
                   double input_scale) {
  return activation(op, node, x, rules::EluLike{alpha, scale, input_scale});
}

void check_number(double v, const char* op, const char* what) {
  FASTNN_CHECK(!std::isnan(v), "[", op, "] ", what, " must be a number, got nan");
}

}  // namespace

TensorPtr leaky_relu(const TensorPtr& x, double slope) {
  return activation("leaky_relu", "LeakyReluBackward0", x, rules::LeakyRelu{slope});
}

TensorPtr gelu(const TensorPtr& x, bool tanh_approximation) {
  if (tanh_approximation)
    return activation("gelu", "GeluBackward0", x, rules::GeluTanh{std::sqrt(2.0 / M_PI), 0.044715});
  return activation("gelu", "GeluBackward0", x, rules::GeluErf{});
}

TensorPtr softplus(const TensorPtr& x, double beta, double threshold) {
  return activation("softplus", "SoftplusBackward0", x, rules::Softplus{beta, threshold});
}

TensorPtr elu(const TensorPtr& x, double alpha) { return elu_like("elu", "EluBackward0", x, alpha, 1, 1); }

TensorPtr selu(const TensorPtr& x) {
  return elu_like("selu", "EluBackward0", x, 1.6732632423543772848170429916717, 1.0507009873554804934193349852946, 1);
}

TensorPtr celu(const TensorPtr& x, double alpha) {
  FASTNN_CHECK(alpha != 0, "[celu] ZeroDivisionError: alpha cannot be 0 for CELU");
  return elu_like("celu", "CeluBackward0", x, alpha, 1, 1 / alpha);
}

TensorPtr hardtanh(const TensorPtr& x, double min_val, double max_val) {
  FASTNN_CHECK(min_val <= max_val, "[hardtanh] min_val cannot be greater than max_val (got min_val=", min_val,
               ", max_val=", max_val, ")");
  min_val = in_precision(min_val, x);
  max_val = in_precision(max_val, x);
  return activation("hardtanh", "HardtanhBackward0", x, rules::Hardtanh{min_val, max_val});
}

TensorPtr hardshrink(const TensorPtr& x, double lambd) {
  check_number(lambd, "hardshrink", "lambd");
  lambd = in_precision(lambd, x);
  return activation("hardshrink", "HardshrinkBackward0", x, rules::Hardshrink{lambd});
}

TensorPtr softshrink(const TensorPtr& x, double lambd) {
  check_defined(x, "softshrink");
  FASTNN_CHECK(lambd >= 0, "[softshrink] lambda must be greater or equal to 0, but found to be ", lambd);
  lambd = in_precision(lambd, x);
  return activation("softshrink", "SoftshrinkBackward0", x, rules::Softshrink{lambd});
}

TensorPtr threshold(const TensorPtr& x, double threshold, double value) {
  threshold = in_precision(threshold, x);
  return activation("threshold", "ThresholdBackward0", x, rules::Threshold{threshold, value});
}

void elu_(TensorPtr& x, double alpha) {
  apply_(x, [alpha](const TensorPtr& s) { return elu_like("elu_", "EluBackward1", s, alpha, 1, 1); }, "elu_");
}

void selu_(TensorPtr& x) {
  apply_(
      x,
      [](const TensorPtr& s) {
        return elu_like("selu_", "EluBackward1", s, 1.6732632423543772848170429916717,
                        1.0507009873554804934193349852946, 1);
      },
      "selu_");
}

void celu_(TensorPtr& x, double alpha) {
  FASTNN_CHECK(alpha != 0, "[celu_] ZeroDivisionError: alpha cannot be 0 for CELU");
  apply_(
      x, [alpha](const TensorPtr& s) { return elu_like("celu_", "CeluBackward1", s, alpha, 1, 1 / alpha); }, "celu_");
}

void hardtanh_(TensorPtr& x, double min_val, double max_val) {
  apply_(x, [=](const TensorPtr& s) { return hardtanh(s, min_val, max_val); }, "hardtanh_");
}

void threshold_(TensorPtr& x, double threshold, double value) {
  double th = in_precision(threshold, x);
  apply_(
      x,
      [=](const TensorPtr& s) {
        return activation("threshold_", "ThresholdBackward1", s, rules::Threshold{th, value});
      },
      "threshold_");
}

TensorPtr clamp_min(const TensorPtr& x, double min) {
  min = in_precision(min, x);
  return activation("clamp_min", "ClampMinBackward0", x, rules::ClampMin{min});
}

namespace {

class GluBackward : public Node {
 public:
  GluBackward(const TensorPtr& x, int64_t dim) : x_(x), dim_(dim) {}
  std::string name() const override { return "GluBackward0"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr x = x_.unpack(*this), g = grads[0];
    int64_t h = x->shape()[dim_] / 2;
    TensorPtr a = narrow(x, dim_, 0, h), sb = sigmoid(narrow(x, dim_, h, h));
    // d/da = sigmoid(b);  d/db = a sigmoid(b) (1 - sigmoid(b))
    TensorPtr one = scalar_tensor(1, x->dtype(), true);
    return {cat({mul(g, sb), mul(mul(mul(g, a), sb), sub(one, sb, 1))}, dim_)};
  }
  void release_saved() override { x_.reset(); }

 private:
  SavedTensor x_;
  int64_t dim_;
};

// weight viewed to broadcast against x: (1, C, 1, ...); a single value as a 0-d tensor.
TensorPtr prelu_weight_view(const TensorPtr& x, const TensorPtr& w) {
  if (w->numel() == 1) return reshape(w, {});
  IntList shape(x->dim(), 1);
  shape[1] = w->numel();
  return reshape(w, shape);
}

class PreluBackward : public Node {
 public:
  PreluBackward(const TensorPtr& x, const TensorPtr& w) : x_(x), w_(w) {}
  std::string name() const override { return "PreluKernelBackward0"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr x = x_.unpack(*this), w = w_.unpack(*this), g = grads[0];
    TensorPtr wv = prelu_weight_view(x, w);
    TensorPtr positive = compare(x, scalar_tensor(0, x->dtype(), true), CompareOp::Gt);
    TensorPtr zero = scalar_tensor(0, x->dtype(), true);
    std::vector<TensorPtr> r(2);
    if (needs_input_grad(0)) r[0] = where(positive, g, mul(wv, g));
    if (needs_input_grad(1)) r[1] = reshape(sum_to(where(positive, zero, mul(x, g)), wv->shape()), w->shape());
    return r;
  }
  void release_saved() override {
    x_.reset();
    w_.reset();
  }

 private:
  SavedTensor x_, w_;
};

}  // namespace

TensorPtr glu(const TensorPtr& x, int64_t dim) {
  check_defined(x, "glu");
  FASTNN_CHECK_TYPE(is_floating(x->dtype()), "[glu] expected a floating-point input, got ", dtype_name(x->dtype()));
  FASTNN_CHECK(x->dim() > 0, "[glu] glu does not support scalars because halving size must be even");
  dim = wrap_dim(dim, x->dim(), "glu");
  int64_t n = x->shape()[dim];
  FASTNN_CHECK(n % 2 == 0, "[glu] Halving dimension must be even, but dimension ", dim, " is size ", n);
  TensorPtr y;
  {
    GradModeGuard no_grad(false);
    TensorPtr xd = x->detach();
    y = mul(narrow(xd, dim, 0, n / 2), sigmoid(narrow(xd, dim, n / 2, n / 2)));
  }
  if (any_requires_grad({&x})) record(std::make_shared<GluBackward>(x, dim), {&x}, {&y});
  return y;
}

TensorPtr prelu(const TensorPtr& x, const TensorPtr& weight) {
  check_defined(x, "prelu");
  check_defined(weight, "prelu", "weight");
  FASTNN_CHECK_TYPE(is_floating(x->dtype()), "[prelu] expected a floating-point input, got ", dtype_name(x->dtype()));
  FASTNN_CHECK_TYPE(x->dtype() == weight->dtype(), "[prelu] Type promoting not supported. Got ", dtype_name(x->dtype()),
                    " and ", dtype_name(weight->dtype()));
  FASTNN_CHECK(weight->dim() <= 1,
               "[prelu] Expected `weight` to be a scalar or 1D tensor, but got: ndim = ", weight->dim());
  if (weight->numel() != 1) {
    FASTNN_CHECK(x->dim() > 0, "[prelu] Not allow zero-dim input tensor.");
    int64_t channels = x->dim() >= 2 ? x->shape()[1] : 1;
    FASTNN_CHECK(weight->numel() == channels,
                 "[prelu] Mismatch of parameter numbers and input channel size. Found "
                 "parameter numbers = ",
                 weight->numel(), " and channel size = ", channels, ".");
  }
  TensorPtr y;
  {
    GradModeGuard no_grad(false);
    TensorPtr xd = x->detach();
    TensorPtr positive = compare(xd, scalar_tensor(0, x->dtype(), true), CompareOp::Gt);
    y = contiguous(where(positive, xd, mul(prelu_weight_view(xd, weight->detach()), xd)));
  }
  if (any_requires_grad({&x, &weight})) record(std::make_shared<PreluBackward>(x, weight), {&x, &weight}, {&y});
  return y;
}

TensorPtr softmax(const TensorPtr& x, int64_t dim) { return softmax_op(x, dim, false); }
TensorPtr log_softmax(const TensorPtr& x, int64_t dim) { return softmax_op(x, dim, true); }

}  // namespace fastnn
