// Normalisation ops. Batch normalisation over (N, C, *): per-channel statistics, each channel reduced by
// one thread in index order (deterministic), accumulated in double. Layer, RMS, group and instance norm:
// the fused kernels of kernels/cpu/normalization, one backward node each.
#include "fastnn/ops/normalization.h"

#include <cfloat>
#include <cmath>

#include "fastnn/autograd/grad_mode.h"
#include "fastnn/autograd/node.h"
#include "fastnn/error.h"
#include "fastnn/kernels/cpu/normalization.h"
#include "fastnn/kernels/cuda/normalization.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/ops.h"
#include "fastnn/parallel.h"

namespace fastnn {
namespace {

struct BNShape {
  int64_t N, C, S;  // input viewed as (N, C, S)
};

BNShape bn_shape(const TensorPtr& x) {
  FASTNN_CHECK(x->dim() >= 2, "[batch_norm] expected input of shape (N, C) or (N, C, *), got ", x->shape());
  BNShape s{x->shape()[0], x->shape()[1], 1};
  for (int64_t d = 2; d < x->dim(); ++d) s.S *= x->shape()[d];
  return s;
}

// Calls f(c, reader) per channel in parallel; reader(visit) walks the channel's elements in order.
template <class F>
void per_channel(const BNShape& s, const F& f) {
  parallel_for(s.C, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) f(c);
  });
}

template <class T>
void bn_forward(const T* x, T* y, const BNShape& s, const T* w, const T* b, double* mean, double* invstd, bool training,
                const T* rmean, const T* rvar, double eps) {
  per_channel(s, [&](int64_t c) {
    double mu, istd;
    if (training) {
      double sum = 0, sq = 0;
      for (int64_t n = 0; n < s.N; ++n)
        for (int64_t i = 0; i < s.S; ++i) sum += x[(n * s.C + c) * s.S + i];
      double count = double(s.N * s.S);
      mu = sum / count;
      for (int64_t n = 0; n < s.N; ++n)
        for (int64_t i = 0; i < s.S; ++i) {
          double d = x[(n * s.C + c) * s.S + i] - mu;
          sq += d * d;
        }
      istd = 1.0 / std::sqrt(sq / count + eps);
      mean[c] = mu;
      invstd[c] = istd;
      invstd[s.C + c] = sq;  // sum of squared deviations, for the running variance
    } else {
      mu = rmean ? double(rmean[c]) : 0.0;
      istd = 1.0 / std::sqrt((rvar ? double(rvar[c]) : 1.0) + eps);
      mean[c] = mu;
      invstd[c] = istd;
    }
    T scale = T(istd * (w ? double(w[c]) : 1.0)),
      shift = T((b ? double(b[c]) : 0.0) - mu * istd * (w ? double(w[c]) : 1.0));
    for (int64_t n = 0; n < s.N; ++n) {
      const T* xr = x + (n * s.C + c) * s.S;
      T* yr = y + (n * s.C + c) * s.S;
      for (int64_t i = 0; i < s.S; ++i) yr[i] = xr[i] * scale + shift;
    }
  });
}

class BatchNormBackward : public Node {
 public:
  BatchNormBackward(const TensorPtr& x, const TensorPtr& w, TensorPtr mean, TensorPtr invstd, bool training)
      : x_(x),
        w_(w ? SavedTensor(w) : SavedTensor()),
        mean_(std::move(mean)),
        invstd_(std::move(invstd)),
        training_(training) {}
  std::string name() const override { return "NativeBatchNormBackward0"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr x = contiguous(x_.unpack(*this)), g = contiguous(grads[0]);
    TensorPtr w = w_.defined() ? contiguous(w_.unpack(*this)) : nullptr;
    BNShape s = bn_shape(x);
    std::vector<TensorPtr> r(3);
    const Device device = x->device();
    TensorPtr gx = needs_input_grad(0) ? Tensor::empty(x->shape(), x->dtype(), "batch_norm", device) : nullptr;
    TensorPtr gw = needs_input_grad(1) ? Tensor::empty({s.C}, x->dtype(), "batch_norm", device) : nullptr;
    TensorPtr gb = needs_input_grad(2) ? Tensor::empty({s.C}, x->dtype(), "batch_norm", device) : nullptr;
    if (device.is_cuda()) {
      auto out = [](const TensorPtr& t) { return t ? t->device_data() : nullptr; };
      cuda::batch_norm_backward(x->dtype() == DType::Float64, {s.N, s.C, s.S}, x->device_data(), g->device_data(),
                                w ? w->device_data() : nullptr, static_cast<const double*>(mean_->device_data()),
                                static_cast<const double*>(invstd_->device_data()), training_, out(gx), out(gw),
                                out(gb), device.index);
      return {gx, gw, gb};
    }
    const double* mean = mean_->data<double>();
    const double* invstd = invstd_->data<double>();
    FASTNN_DISPATCH_FLOAT(x->dtype(), "batch_norm", [&] {
      using T = scalar_t;
      const T* px = x->data<T>();
      const T* pg = g->data<T>();
      per_channel(s, [&](int64_t c) {
        // sum(g) and sum(g * xhat) over the channel
        double sg = 0, sgx = 0;
        for (int64_t n = 0; n < s.N; ++n)
          for (int64_t i = 0; i < s.S; ++i) {
            int64_t k = (n * s.C + c) * s.S + i;
            sg += pg[k];
            sgx += pg[k] * (px[k] - mean[c]) * invstd[c];
          }
        if (gw) gw->mutable_data<T>()[c] = T(sgx);
        if (gb) gb->mutable_data<T>()[c] = T(sg);
        if (!gx) return;
        double wc = w ? double(w->data<T>()[c]) : 1.0, count = double(s.N * s.S);
        T* out = gx->mutable_data<T>();
        for (int64_t n = 0; n < s.N; ++n)
          for (int64_t i = 0; i < s.S; ++i) {
            int64_t k = (n * s.C + c) * s.S + i;
            double xhat = (px[k] - mean[c]) * invstd[c];
            double d = training_ ? (pg[k] - sg / count - xhat * sgx / count) : pg[k];
            out[k] = T(d * invstd[c] * wc);
          }
      });
    });
    r[0] = gx;
    r[1] = gw;
    r[2] = gb;
    return r;
  }
  void release_saved() override {
    x_.reset();
    w_.reset();
  }

 private:
  SavedTensor x_, w_;
  TensorPtr mean_, invstd_;  // float64 per channel, computed in forward
  bool training_;
};

void check_channel_tensor(const TensorPtr& t, int64_t C, DType dt, const char* what) {
  if (!t) return;
  FASTNN_CHECK(t->dim() == 1 && t->shape()[0] == C, "[batch_norm] expected ", what, " of shape (", C, ",), got ",
               t->shape());
  FASTNN_CHECK_TYPE(t->dtype() == dt, "[batch_norm] expected ", what, " of dtype ", dtype_name(dt), ", got ",
                    dtype_name(t->dtype()));
}

}  // namespace

TensorPtr batch_norm(const TensorPtr& input, const TensorPtr& weight, const TensorPtr& bias,
                     const TensorPtr& running_mean, const TensorPtr& running_var, bool training, double momentum,
                     double eps) {
  check_defined(input, "batch_norm");
  if (any_storage_dtype({&input, &weight, &bias, &running_mean, &running_var})) {
    // Running statistics of a storage dtype update through float32 copies, written back rounded.
    auto wide = [](const TensorPtr& t) { return t ? cast(t, compute_dtype(t->dtype())) : t; };
    TensorPtr rm = wide(running_mean), rv = wide(running_var);
    TensorPtr y = batch_norm(widened(input), widened(weight), widened(bias), rm, rv, training, momentum, eps);
    GradModeGuard no_grad(false);
    for (auto [stat, updated] : {std::pair{running_mean, rm}, {running_var, rv}}) {
      TensorPtr dst = stat;
      if (training && stat && updated != stat) copy_(dst, updated);
    }
    return narrowed(y, input->dtype());
  }
  FASTNN_CHECK_TYPE(is_floating(input->dtype()), "[batch_norm] expected a floating-point input, got ",
                    dtype_name(input->dtype()));
  BNShape s = bn_shape(input);
  for (auto [t, what] :
       {std::pair{weight, "weight"}, {bias, "bias"}, {running_mean, "running_mean"}, {running_var, "running_var"}})
    check_channel_tensor(t, s.C, input->dtype(), what);
  if (training)
    FASTNN_CHECK(s.N * s.S > 1, "[batch_norm] Expected more than 1 value per channel when training, got input size ",
                 input->shape());
  else FASTNN_CHECK(running_mean && running_var, "[batch_norm] running_mean and running_var are needed in eval mode");
  const Device device = common_device({&input, &weight, &bias, &running_mean, &running_var}, "batch_norm");
  TensorPtr x = contiguous(input->detach());
  TensorPtr y = Tensor::empty(x->shape(), x->dtype(), "batch_norm", device);
  TensorPtr mean = Tensor::empty({s.C}, DType::Float64, "batch_norm", device);
  TensorPtr invstd = Tensor::empty({2 * s.C}, DType::Float64, "batch_norm", device);
  TensorPtr w = weight ? contiguous(weight->detach()) : nullptr, b = bias ? contiguous(bias->detach()) : nullptr;
  TensorPtr rm = running_mean ? contiguous(running_mean) : nullptr,
            rv = running_var ? contiguous(running_var) : nullptr;
  if (device.is_cuda()) {
    check_cuda_float(x->dtype(), "batch_norm");
    const bool update = training && running_mean && running_var;
    if (update)
      FASTNN_CHECK(running_mean->is_contiguous() && running_var->is_contiguous(),
                   "[batch_norm] running statistics must be contiguous");
    auto ptr = [](const TensorPtr& t) { return t ? t->device_data() : nullptr; };
    cuda::batch_norm_forward(x->dtype() == DType::Float64, {s.N, s.C, s.S}, x->device_data(), ptr(w), ptr(b),
                             update || !training ? ptr(rm) : nullptr, update || !training ? ptr(rv) : nullptr, training,
                             momentum, eps, y->device_data(), static_cast<double*>(mean->device_data()),
                             static_cast<double*>(invstd->device_data()), device.index);
    if (update) {
      running_mean->bump_version();
      running_var->bump_version();
    }
  } else
    FASTNN_DISPATCH_FLOAT(x->dtype(), "batch_norm", [&] {
      bn_forward<scalar_t>(x->data<scalar_t>(), y->mutable_data<scalar_t>(), s, w ? w->data<scalar_t>() : nullptr,
                           b ? b->data<scalar_t>() : nullptr, mean->mutable_data<double>(),
                           invstd->mutable_data<double>(), training, rm ? rm->data<scalar_t>() : nullptr,
                           rv ? rv->data<scalar_t>() : nullptr, eps);
      if (training && running_mean && running_var) {
        // running = (1 - momentum) * running + momentum * batch statistic (unbiased variance)
        FASTNN_CHECK(running_mean->is_contiguous() && running_var->is_contiguous(),
                     "[batch_norm] running statistics must be contiguous");
        scalar_t* pm = running_mean->mutable_data<scalar_t>();
        scalar_t* pv = running_var->mutable_data<scalar_t>();
        double count = double(s.N * s.S);
        for (int64_t c = 0; c < s.C; ++c) {
          pm[c] = scalar_t((1 - momentum) * pm[c] + momentum * mean->data<double>()[c]);
          pv[c] = scalar_t((1 - momentum) * pv[c] + momentum * invstd->data<double>()[s.C + c] / (count - 1));
        }
        running_mean->bump_version();
        running_var->bump_version();
      }
    });
  if (any_requires_grad({&input, &weight, &bias}))
    record(std::make_shared<BatchNormBackward>(input, weight, mean, invstd, training), {&input, &weight, &bias}, {&y});
  return y;
}

namespace {

// A shape as torch writes it in these messages: [2, 3, 4].
std::string bracketed(const Shape& s, const char* first = "") {
  std::string r = std::string("[") + first;
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

void check_floating_input(const TensorPtr& input, const char* op) {
  check_defined(input, op);
  FASTNN_CHECK_TYPE(is_floating(input->dtype()), "[", op, "] expected a floating-point input, got ",
                    dtype_name(input->dtype()));
}

void check_param_dtype(const TensorPtr& t, const TensorPtr& input, const char* op, const char* what) {
  FASTNN_CHECK_TYPE(!t || t->dtype() == input->dtype(), "[", op, "] expected ", what, " of dtype ",
                    dtype_name(input->dtype()), " (the input's), got ", dtype_name(t ? t->dtype() : input->dtype()));
}

// Layer and RMS norm view the input as rows over the trailing `normalized_shape`; returns the row count (0 for an
// empty input: it has no statistics to compute).
int64_t row_norm_rows(const TensorPtr& input, const Shape& ns, const TensorPtr& weight, const TensorPtr& bias,
                      const char* op) {
  check_floating_input(input, op);
  FASTNN_CHECK(!ns.empty(), "[", op,
               "] Expected normalized_shape to be at least 1-dimensional, i.e., containing at "
               "least one element, but got normalized_shape = []");
  const Shape& in = input->shape();
  FASTNN_CHECK(ns.size() <= in.size() && std::equal(ns.begin(), ns.end(), in.end() - ns.size()), "[", op,
               "] Given normalized_shape=", bracketed(ns), ", expected input with shape ", bracketed(ns, "*, "),
               ", but got input of size", bracketed(in));
  for (auto [t, what] : {std::pair{weight, "weight"}, {bias, "bias"}}) {
    if (!t) continue;
    FASTNN_CHECK(t->shape() == ns, "[", op, "] Expected ", what, " to be of same shape as normalized_shape, but got ",
                 what, " of shape ", bracketed(t->shape()), " and normalized_shape = ", bracketed(ns));
    check_param_dtype(t, input, op, what);
  }
  int64_t rows = input->numel() ? 1 : 0;
  for (size_t d = 0; rows && d < in.size() - ns.size(); ++d) rows *= in[d];
  return rows;
}

// Backward of layer_norm (inputs: input, weight, bias) and rms_norm (inputs: input, weight).
class RowNormBackward : public Node {
 public:
  RowNormBackward(const TensorPtr& x, const TensorPtr& w, TensorPtr mean, TensorPtr rstd, Shape ns, int64_t rows,
                  bool rms)
      : x_(x),
        w_(w ? SavedTensor(w) : SavedTensor()),
        mean_(std::move(mean)),
        rstd_(std::move(rstd)),
        ns_(std::move(ns)),
        rows_(rows),
        rms_(rms) {}
  std::string name() const override { return rms_ ? "FusedRmsNormBackward0" : "NativeLayerNormBackward0"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr x = contiguous(x_.unpack(*this)), g = contiguous(grads[0]);
    TensorPtr w = w_.defined() ? contiguous(w_.unpack(*this)) : nullptr;
    const Device device = x->device();
    const char* op = rms_ ? "rms_norm" : "layer_norm";
    TensorPtr gx = needs_input_grad(0) ? Tensor::empty(x->shape(), x->dtype(), op, device) : nullptr;
    TensorPtr gw = needs_input_grad(1) ? Tensor::empty(ns_, x->dtype(), op, device) : nullptr;
    TensorPtr gb = !rms_ && needs_input_grad(2) ? Tensor::empty(ns_, x->dtype(), op, device) : nullptr;
    const int64_t n = rows_ ? x->numel() / rows_ : checked_numel(ns_, "layer_norm");
    if (device.is_cuda()) {
      auto ptr = [](const TensorPtr& t) { return t ? t->device_data() : nullptr; };
      cuda::layer_norm_backward(x->dtype() == DType::Float64, g->device_data(), x->device_data(),
                                static_cast<const double*>(mean_->device_data()),
                                static_cast<const double*>(rstd_->device_data()), ptr(w), rows_, n, rms_, ptr(gx),
                                ptr(gw), ptr(gb), device.index);
    } else
      FASTNN_DISPATCH_FLOAT(x->dtype(), op, [&] {
        using T = scalar_t;
        kernels::layer_norm_backward<T>(g->data<T>(), x->data<T>(), mean_->data<double>(), rstd_->data<double>(),
                                        w ? w->data<T>() : nullptr, rows_, n, rms_,
                                        gx ? gx->mutable_data<T>() : nullptr, gw ? gw->mutable_data<T>() : nullptr,
                                        gb ? gb->mutable_data<T>() : nullptr);
      });
    std::vector<TensorPtr> r{gx, gw};
    if (!rms_) r.push_back(gb);
    return r;
  }
  void release_saved() override {
    x_.reset();
    w_.reset();
  }

 private:
  SavedTensor x_, w_;
  TensorPtr mean_, rstd_;  // float64 per row, from the forward
  Shape ns_;
  int64_t rows_;
  bool rms_;
};

TensorPtr row_norm(const TensorPtr& input, const Shape& ns, const TensorPtr& weight, const TensorPtr& bias, double eps,
                   bool rms) {
  const char* op = rms ? "rms_norm" : "layer_norm";
  const int64_t rows = row_norm_rows(input, ns, weight, bias, op), n = checked_numel(ns, op);
  const Device device = common_device({&input, &weight, &bias}, op);
  TensorPtr x = contiguous(input->detach());
  TensorPtr y = Tensor::empty(x->shape(), x->dtype(), op, device);
  TensorPtr mean = Tensor::empty({rows}, DType::Float64, op, device),
            rstd = Tensor::empty({rows}, DType::Float64, op, device);
  TensorPtr w = weight ? contiguous(weight->detach()) : nullptr, b = bias ? contiguous(bias->detach()) : nullptr;
  if (device.is_cuda()) {
    check_cuda_float(x->dtype(), op);
    cuda::layer_norm_forward(x->dtype() == DType::Float64, x->device_data(), w ? w->device_data() : nullptr,
                             b ? b->device_data() : nullptr, rows, n, eps, rms, y->device_data(),
                             static_cast<double*>(mean->device_data()), static_cast<double*>(rstd->device_data()),
                             device.index);
  } else
    FASTNN_DISPATCH_FLOAT(x->dtype(), op, [&] {
      using T = scalar_t;
      kernels::layer_norm_forward<T>(x->data<T>(), w ? w->data<T>() : nullptr, b ? b->data<T>() : nullptr, rows, n, eps,
                                     rms, y->mutable_data<T>(), mean->mutable_data<double>(),
                                     rstd->mutable_data<double>());
    });
  if (any_requires_grad({&input, &weight, &bias})) {
    auto node = std::make_shared<RowNormBackward>(input, weight, mean, rstd, ns, rows, rms);
    if (rms) record(node, {&input, &weight}, {&y});
    else record(node, {&input, &weight, &bias}, {&y});
  }
  return y;
}

struct GroupShape {
  int64_t N, C, S, G;
};

// An empty input is taken as no samples: no statistics to compute (nor (N, G) of them to allocate).
GroupShape group_shape(const TensorPtr& input, int64_t G) {
  const Shape& in = input->shape();
  return {input->numel() ? in[0] : 0, in[1], checked_numel(Shape(in.begin() + 2, in.end()), "group_norm"), G};
}

// Backward of the group-norm kernel: group_norm's node, and instance_norm's (groups of one channel).
class GroupNormBackward : public Node {
 public:
  GroupNormBackward(const TensorPtr& x, const TensorPtr& w, TensorPtr mean, TensorPtr rstd, int64_t G)
      : x_(x), w_(w ? SavedTensor(w) : SavedTensor()), mean_(std::move(mean)), rstd_(std::move(rstd)), G_(G) {}
  std::string name() const override { return "NativeGroupNormBackward0"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr x = contiguous(x_.unpack(*this)), g = contiguous(grads[0]);
    TensorPtr w = w_.defined() ? contiguous(w_.unpack(*this)) : nullptr;
    GroupShape s = group_shape(x, G_);
    TensorPtr gx = needs_input_grad(0) ? Tensor::empty(x->shape(), x->dtype()) : nullptr;
    TensorPtr gw = needs_input_grad(1) ? Tensor::empty({s.C}, x->dtype()) : nullptr;
    TensorPtr gb = needs_input_grad(2) ? Tensor::empty({s.C}, x->dtype()) : nullptr;
    FASTNN_DISPATCH_FLOAT(x->dtype(), "group_norm", [&] {
      using T = scalar_t;
      kernels::group_norm_backward<T>(g->data<T>(), x->data<T>(), mean_->data<double>(), rstd_->data<double>(),
                                      w ? w->data<T>() : nullptr, s.N, s.C, s.S, s.G,
                                      gx ? gx->mutable_data<T>() : nullptr, gw ? gw->mutable_data<T>() : nullptr,
                                      gb ? gb->mutable_data<T>() : nullptr);
    });
    return {gx, gw, gb};
  }
  void release_saved() override {
    x_.reset();
    w_.reset();
  }

 private:
  SavedTensor x_, w_;
  TensorPtr mean_, rstd_;  // float64 per (sample, group), from the forward
  int64_t G_;
};

// y, with the (N, G) mean and rstd, and the node recorded when needed.
TensorPtr group_norm_impl(const TensorPtr& input, int64_t G, const TensorPtr& weight, const TensorPtr& bias, double eps,
                          const char* op, TensorPtr* mean_out = nullptr, TensorPtr* rstd_out = nullptr) {
  if (input->device().is_cuda() && !mean_out) {  // on a GPU: composed of GPU ops (the group's mean, biased variance)
    check_cuda_float(input->dtype(), op);
    const Shape& shape = input->shape();
    int64_t per = shape[1] / G;  // values per (sample, group)
    for (size_t d = 2; d < shape.size(); ++d) per *= shape[d];
    const TensorPtr xg = reshape(input, {shape[0], G, per});
    const TensorPtr dev = sub(xg, mean(xg, {2}, true), 1);
    const TensorPtr var = mean(mul(dev, dev), {2}, true);
    TensorPtr y = reshape(mul(dev, pow(add(var, scalar_tensor(eps, input->dtype(), true), 1), -0.5)), shape);
    Shape channel(shape.size(), 1);  // (1, C, 1, ...): the affine parameters broadcast over the channel dim
    channel[1] = shape[1];
    if (weight) y = mul(y, reshape(weight, channel));
    if (bias) y = add(y, reshape(bias, channel), 1);
    return y;
  }
  GroupShape s = group_shape(input, G);
  TensorPtr x = contiguous(input->detach());
  TensorPtr y = Tensor::empty(x->shape(), x->dtype(), op);
  TensorPtr mean = Tensor::empty({s.N * G}, DType::Float64, op), rstd = Tensor::empty({s.N * G}, DType::Float64, op);
  TensorPtr w = weight ? contiguous(weight->detach()) : nullptr, b = bias ? contiguous(bias->detach()) : nullptr;
  FASTNN_DISPATCH_FLOAT(x->dtype(), op, [&] {
    using T = scalar_t;
    kernels::group_norm_forward<T>(x->data<T>(), w ? w->data<T>() : nullptr, b ? b->data<T>() : nullptr, s.N, s.C, s.S,
                                   G, eps, y->mutable_data<T>(), mean->mutable_data<double>(),
                                   rstd->mutable_data<double>());
  });
  if (any_requires_grad({&input, &weight, &bias}))
    record(std::make_shared<GroupNormBackward>(input, weight, mean, rstd, G), {&input, &weight, &bias}, {&y});
  if (mean_out) *mean_out = mean;
  if (rstd_out) *rstd_out = rstd;
  return y;
}

}  // namespace

TensorPtr layer_norm(const TensorPtr& input, const Shape& normalized_shape, const TensorPtr& weight,
                     const TensorPtr& bias, double eps) {
  return row_norm(input, normalized_shape, weight, bias, eps, false);
}

TensorPtr rms_norm(const TensorPtr& input, const Shape& normalized_shape, const TensorPtr& weight,
                   std::optional<double> eps) {
  check_floating_input(input, "rms_norm");
  double e = eps ? *eps : input->dtype() == DType::Float32 ? double(FLT_EPSILON) : DBL_EPSILON;
  return row_norm(input, normalized_shape, weight, nullptr, e, true);
}

TensorPtr group_norm(const TensorPtr& input, int64_t num_groups, const TensorPtr& weight, const TensorPtr& bias,
                     double eps) {
  check_floating_input(input, "group_norm");
  FASTNN_CHECK(input->dim() >= 2, "[group_norm] Expected at least 2 dimensions for input tensor but received ",
               input->dim());
  FASTNN_CHECK(num_groups > 0, "[group_norm] Expected num groups to be greater than 0, got ", num_groups);
  const int64_t C = input->shape()[1];
  FASTNN_CHECK(C % num_groups == 0,
               "[group_norm] Expected number of channels in input to be divisible by num_groups, "
               "but got input of shape ",
               bracketed(input->shape()), " and num_groups=", num_groups);
  // torch's check: its (N * C / G, G, *) view of the input must have more than one value per "channel"
  Shape view{input->shape()[0] * (C / num_groups), num_groups};
  view.insert(view.end(), input->shape().begin() + 2, input->shape().end());
  FASTNN_CHECK(checked_numel(view, "group_norm") / num_groups != 1,
               "[group_norm] Expected more than 1 value per "
               "channel when training, got input size ",
               bracketed(view));
  for (auto [t, what] : {std::pair{weight, "weight"}, {bias, "bias"}}) {
    if (!t) continue;
    FASTNN_CHECK(t->dim() == 1 && t->numel() == C, "[group_norm] Expected ", what,
                 " to be a vector of size equal to the number of channels in input, but got ", what, " of shape ",
                 bracketed(t->shape()), " and input of shape ", bracketed(input->shape()));
    check_param_dtype(t, input, "group_norm", what);
  }
  return group_norm_impl(input, num_groups, weight, bias, eps, "group_norm");
}

TensorPtr instance_norm(const TensorPtr& input, const TensorPtr& weight, const TensorPtr& bias,
                        const TensorPtr& running_mean, const TensorPtr& running_var, bool use_input_stats,
                        double momentum, double eps) {
  const char* op = "instance_norm";
  check_floating_input(input, op);
  FASTNN_CHECK(input->dim() >= 2, "[instance_norm] expected input of shape (N, C) or (N, C, *), got ", input->shape());
  const int64_t C = input->shape()[1];
  for (auto [t, what] :
       {std::pair{weight, "weight"}, {bias, "bias"}, {running_mean, "running_mean"}, {running_var, "running_var"}}) {
    if (!t) continue;
    FASTNN_CHECK(t->dim() == 1 && t->numel() == C, "[instance_norm] expected ", what, " of shape (", C, ",), got ",
                 t->shape());
    check_param_dtype(t, input, op, what);
  }
  FASTNN_CHECK(!running_mean == !running_var,
               "[instance_norm] running_mean and running_var must either both be None or neither be None");
  TensorPtr y;
  if (use_input_stats) {
    GroupShape s = group_shape(input, C);
    FASTNN_CHECK(s.S > 1, "[instance_norm] Expected more than 1 spatial element when training, got input size ",
                 input->shape());
    const bool on_gpu = input->device().is_cuda();
    TensorPtr mean, rstd;  // (only the CPU's running statistics need them: a GPU input takes the composed path)
    y = group_norm_impl(input, C, weight, bias, eps, op, running_mean && !on_gpu ? &mean : nullptr,
                        running_mean && !on_gpu ? &rstd : nullptr);
    if (running_mean && on_gpu) {  // the instances' means and unbiased variances, averaged over the batch
      GradModeGuard no_grad(false);
      const TensorPtr xs = reshape(input->detach(), {s.N, C, s.S});
      auto [var_nc, mean_nc] = var_mean(xs, {2}, 1, false);
      const TensorPtr keep = scalar_tensor(1 - momentum, DType::Float64, true),
                      take = scalar_tensor(momentum, DType::Float64, true);
      TensorPtr rm = running_mean, rv = running_var;
      copy_(rm, add(mul(running_mean->detach(), keep), mul(fastnn::mean(mean_nc, {0}, false), take), 1));
      copy_(rv, add(mul(running_var->detach(), keep), mul(fastnn::mean(var_nc, {0}, false), take), 1));
    } else if (running_mean) {
      FASTNN_CHECK(running_mean->is_contiguous() && running_var->is_contiguous(),
                   "[instance_norm] running statistics must be contiguous");
      FASTNN_DISPATCH_FLOAT(input->dtype(), op, [&] {
        kernels::instance_norm_update_running<scalar_t>(mean->data<double>(), rstd->data<double>(), s.N, C, s.S, eps,
                                                        momentum, running_mean->mutable_data<scalar_t>(),
                                                        running_var->mutable_data<scalar_t>());
      });
      running_mean->bump_version();
      running_var->bump_version();
    }
  } else {
    FASTNN_CHECK(running_mean,
                 "[instance_norm] Expected running_mean and running_var to be defined when "
                 "use_input_stats is false");
    y = batch_norm(input, weight, bias, running_mean, running_var, false, momentum, eps);
  }
  // torch normalises a (1, N * C, *) view and views the result back: its grad_fn is that ViewBackward0
  return view(y, input->shape());
}

}  // namespace fastnn
