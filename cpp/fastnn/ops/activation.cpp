// Activations with parameters (leaky_relu, gelu, softplus), and softmax/log_softmax along one dim
// (rows made contiguous, each row by one thread).
#include <cmath>

#include "fastnn/autograd/grad_mode.h"
#include "fastnn/autograd/node.h"
#include "fastnn/error.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/loops.h"
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

// Row-wise softmax or log_softmax, max-shifted for stability.
template <class T>
void softmax_rows(const T* x, T* y, int64_t rows, int64_t n, bool log) {
  parallel_for(rows, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* xr = x + r * n;
      T* yr = y + r * n;
      T mx = -INFINITY;
      for (int64_t i = 0; i < n; ++i) mx = xr[i] > mx || xr[i] != xr[i] ? xr[i] : mx;
      if (std::isinf(mx) && mx < 0) mx = 0;  // all -inf: avoid inf - inf
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += std::exp(double(xr[i] - mx));
      if (log) {
        T ls = T(std::log(s));
        for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] - mx - ls;
      } else {
        T inv = T(1.0 / s);
        for (int64_t i = 0; i < n; ++i) yr[i] = T(std::exp(xr[i] - mx)) * inv;
      }
    }
  });
}

// softmax:     dx = y * (g - sum(g * y));   log_softmax: dx = g - exp(y) * sum(g)
template <class T>
void softmax_backward_rows(const T* g, const T* y, T* dx, int64_t rows, int64_t n, bool log) {
  parallel_for(rows, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T *gr = g + r * n, *yr = y + r * n;
      T* dr = dx + r * n;
      double s = 0;
      if (log) {
        for (int64_t i = 0; i < n; ++i) s += gr[i];
        for (int64_t i = 0; i < n; ++i) dr[i] = gr[i] - T(std::exp(yr[i]) * s);
      } else {
        for (int64_t i = 0; i < n; ++i) s += double(gr[i]) * yr[i];
        for (int64_t i = 0; i < n; ++i) dr[i] = yr[i] * (gr[i] - T(s));
      }
    }
  });
}

TensorPtr softmax_forward(const TensorPtr& x, int64_t dim, bool log) {
  auto [rows, inverse] = dim_last(x, dim);
  TensorPtr y = Tensor::empty(rows->shape(), rows->dtype(), log ? "log_softmax" : "softmax");
  int64_t n = x->dim() ? x->shape()[dim] : 1;
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
    TensorPtr dx = Tensor::empty(g_rows->shape(), g_rows->dtype());
    int64_t n = y->dim() ? y->shape()[dim_] : 1;
    FASTNN_DISPATCH_FLOAT(dx->dtype(), name().c_str(), [&] {
      softmax_backward_rows<scalar_t>(g_rows->data<scalar_t>(), y_rows->data<scalar_t>(), dx->mutable_data<scalar_t>(),
                                      n ? dx->numel() / n : 0, n, log_);
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

// Backward of a pointwise activation with parameters: grad_in = bwd(g, x) (x saved).
template <class Bwd>
class ActivationBackward : public Node {
 public:
  ActivationBackward(const char* name, const TensorPtr& x, Bwd bwd) : name_(name), x_(x), bwd_(bwd) {}
  std::string name() const override { return name_; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr x = x_.unpack(*this), g = grads[0];
    TensorPtr out = Tensor::empty(g->shape(), g->dtype());
    FASTNN_DISPATCH_FLOAT(g->dtype(), name_, [&] {
      map_binary<scalar_t, scalar_t>(*out, *g, *x, [this](scalar_t g, scalar_t x) { return scalar_t(bwd_(double(g), double(x))); });
    });
    return {out};
  }
  void release_saved() override { x_.reset(); }

 private:
  const char* name_;
  SavedTensor x_;
  Bwd bwd_;
};

// y = fwd(x) elementwise in x's floating dtype, recorded with ActivationBackward(bwd).
template <class Fwd, class Bwd>
TensorPtr activation(const char* op, const char* node, const TensorPtr& x, Fwd fwd, Bwd bwd) {
  check_defined(x, op);
  if (any_storage_dtype({&x})) return narrowed(activation(op, node, widened(x), fwd, bwd), x->dtype());
  FASTNN_CHECK_TYPE(is_floating(x->dtype()), "[", op, "] expected a floating-point input, got ", dtype_name(x->dtype()));
  TensorPtr y = Tensor::empty(x->shape(), x->dtype(), op);
  FASTNN_DISPATCH_FLOAT(x->dtype(), op, [&] {
    map_unary<scalar_t, scalar_t>(*y, *x, [&](scalar_t v) { return scalar_t(fwd(double(v))); });
  });
  if (any_requires_grad({&x})) record(std::make_shared<ActivationBackward<Bwd>>(node, x, bwd), {&x}, {&y});
  return y;
}

}  // namespace

TensorPtr leaky_relu(const TensorPtr& x, double slope) {
  return activation("leaky_relu", "LeakyReluBackward0", x, [slope](double v) { return v > 0 ? v : v * slope; },
                    [slope](double g, double v) { return v > 0 ? g : g * slope; });
}

TensorPtr gelu(const TensorPtr& x, bool tanh_approximation) {
  if (tanh_approximation) {
    // 0.5 x (1 + tanh(k (x + 0.044715 x^3))), k = sqrt(2 / pi)
    const double k = std::sqrt(2.0 / M_PI), c = 0.044715;
    return activation("gelu", "GeluBackward0", x,
                      [=](double v) { return 0.5 * v * (1 + std::tanh(k * (v + c * v * v * v))); },
                      [=](double g, double v) {
                        double t = std::tanh(k * (v + c * v * v * v));
                        return g * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * c * v * v));
                      });
  }
  // 0.5 x (1 + erf(x / sqrt(2))); derivative adds x * phi(x)
  return activation("gelu", "GeluBackward0", x, [](double v) { return 0.5 * v * (1 + std::erf(v * M_SQRT1_2)); },
                    [](double g, double v) {
                      return g * (0.5 * (1 + std::erf(v * M_SQRT1_2)) + v * std::exp(-0.5 * v * v) * 0.5 * M_2_SQRTPI * M_SQRT1_2);
                    });
}

// log(1 + exp(beta x)) / beta, linear (x) where beta x > threshold, as torch.
TensorPtr softplus(const TensorPtr& x, double beta, double threshold) {
  return activation("softplus", "SoftplusBackward0", x,
                    [=](double v) { return v * beta > threshold ? v : std::log1p(std::exp(v * beta)) / beta; },
                    [=](double g, double v) {
                      if (v * beta > threshold) return g;
                      double z = std::exp(v * beta);
                      return g * z / (z + 1);
                    });
}

TensorPtr softmax(const TensorPtr& x, int64_t dim) { return softmax_op(x, dim, false); }
TensorPtr log_softmax(const TensorPtr& x, int64_t dim) { return softmax_op(x, dim, true); }

}  // namespace fastnn
