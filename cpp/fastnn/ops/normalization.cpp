// Batch normalisation over (N, C, *): per-channel statistics, each channel reduced by one thread
// in index order (deterministic), accumulated in double.
#include <cmath>

#include "fastnn/autograd/grad_mode.h"
#include "fastnn/autograd/node.h"
#include "fastnn/error.h"
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
    T scale = T(istd * (w ? double(w[c]) : 1.0)), shift = T((b ? double(b[c]) : 0.0) - mu * istd * (w ? double(w[c]) : 1.0));
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
      : x_(x), w_(w ? SavedTensor(w) : SavedTensor()), mean_(std::move(mean)), invstd_(std::move(invstd)), training_(training) {}
  std::string name() const override { return "NativeBatchNormBackward0"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr x = contiguous(x_.unpack(*this)), g = contiguous(grads[0]);
    TensorPtr w = w_.defined() ? contiguous(w_.unpack(*this)) : nullptr;
    BNShape s = bn_shape(x);
    std::vector<TensorPtr> r(3);
    TensorPtr gx = needs_input_grad(0) ? Tensor::empty(x->shape(), x->dtype()) : nullptr;
    TensorPtr gw = needs_input_grad(1) ? Tensor::empty({s.C}, x->dtype()) : nullptr;
    TensorPtr gb = needs_input_grad(2) ? Tensor::empty({s.C}, x->dtype()) : nullptr;
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
  FASTNN_CHECK(t->dim() == 1 && t->shape()[0] == C, "[batch_norm] expected ", what, " of shape (", C, ",), got ", t->shape());
  FASTNN_CHECK_TYPE(t->dtype() == dt, "[batch_norm] expected ", what, " of dtype ", dtype_name(dt), ", got ", dtype_name(t->dtype()));
}

}  // namespace

TensorPtr batch_norm(const TensorPtr& input, const TensorPtr& weight, const TensorPtr& bias, const TensorPtr& running_mean,
                     const TensorPtr& running_var, bool training, double momentum, double eps) {
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
  FASTNN_CHECK_TYPE(is_floating(input->dtype()), "[batch_norm] expected a floating-point input, got ", dtype_name(input->dtype()));
  BNShape s = bn_shape(input);
  for (auto [t, what] : {std::pair{weight, "weight"}, {bias, "bias"}, {running_mean, "running_mean"}, {running_var, "running_var"}})
    check_channel_tensor(t, s.C, input->dtype(), what);
  if (training)
    FASTNN_CHECK(s.N * s.S > 1, "[batch_norm] Expected more than 1 value per channel when training, got input size ",
                 input->shape());
  else
    FASTNN_CHECK(running_mean && running_var, "[batch_norm] running_mean and running_var are needed in eval mode");
  TensorPtr x = contiguous(input->detach());
  TensorPtr y = Tensor::empty(x->shape(), x->dtype(), "batch_norm");
  TensorPtr mean = Tensor::empty({s.C}, DType::Float64, "batch_norm");
  TensorPtr invstd = Tensor::empty({2 * s.C}, DType::Float64, "batch_norm");
  TensorPtr w = weight ? contiguous(weight->detach()) : nullptr, b = bias ? contiguous(bias->detach()) : nullptr;
  TensorPtr rm = running_mean ? contiguous(running_mean) : nullptr, rv = running_var ? contiguous(running_var) : nullptr;
  FASTNN_DISPATCH_FLOAT(x->dtype(), "batch_norm", [&] {
    bn_forward<scalar_t>(x->data<scalar_t>(), y->mutable_data<scalar_t>(), s, w ? w->data<scalar_t>() : nullptr,
                         b ? b->data<scalar_t>() : nullptr, mean->mutable_data<double>(), invstd->mutable_data<double>(),
                         training, rm ? rm->data<scalar_t>() : nullptr, rv ? rv->data<scalar_t>() : nullptr, eps);
    if (training && running_mean && running_var) {
      // running = (1 - momentum) * running + momentum * batch statistic (unbiased variance)
      FASTNN_CHECK(running_mean->is_contiguous() && running_var->is_contiguous(), "[batch_norm] running statistics must be contiguous");
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

}  // namespace fastnn
