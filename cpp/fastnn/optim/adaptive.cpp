#include "fastnn/optim/adaptive.h"

#include <cmath>

#include "fastnn/kernels/cuda/optim.h"
#include "fastnn/ops/ops.h"
#include "fastnn/optim/common.h"
#include "fastnn/optim/update_rules.h"
#include "fastnn/parallel.h"

namespace fastnn {
namespace {

using rules::lerp;

// Adam's constants for step `step` in the parameter's dtype (torch's single-tensor formulas).
template <class T>
rules::AdamStep<T> adam_step_of(const AdamOptions& o, double step) {
  return {T(o.weight_decay),
          T(1 - o.beta1),
          T(o.beta2),
          T(1 - o.beta2),
          T(1 - o.lr * o.weight_decay),
          T(o.eps),
          T(o.lr / (1 - std::pow(o.beta1, step))),
          T(std::sqrt(1 - std::pow(o.beta2, step))),
          o.maximize,
          o.weight_decay != 0,
          o.decoupled_weight_decay};
}

// Runs body(i, p, g, n) for each parameter with a gradient, as typed pointers, in parallel chunks; a parameter on a
// GPU goes to cuda_body(i, p, g) (tensors) instead, or is refused where the optimizer has none.
template <class Body, class CudaBody = std::nullptr_t>
void for_each_param(const char* opt, const std::vector<TensorPtr>& params, const Body& body,
                    const CudaBody& cuda_body = nullptr) {
  constexpr bool has_cuda = !std::is_same_v<CudaBody, std::nullptr_t>;
  for (size_t i = 0; i < params.size(); ++i) {
    const TensorPtr& p = params[i];
    TensorPtr g = compute_copy(checked_grad(opt, p, i)), pc = compute_copy(p);
    if (p->device().is_cuda()) {
      FASTNN_CHECK_STATE(has_cuda, "[cuda] fastnn has no CUDA kernel for ", opt,
                         " yet (SGD, Adam and AdamW have one); move the parameters to the CPU with .cpu()");
      common_device({&p, &g}, opt);
      check_cuda_float(pc->dtype(), opt);
      if constexpr (has_cuda) cuda_body(i, pc, g);
    } else
      FASTNN_DISPATCH_FLOAT(pc->dtype(), opt,
                            [&] { body(i, pc->mutable_data<scalar_t>(), g->data<scalar_t>(), p->numel()); });
    write_back(p, pc);
    p->bump_version();
  }
}

void check_steps(const char* opt, const std::vector<TensorPtr>& params, const std::vector<double>& steps) {
  FASTNN_CHECK(steps.size() == params.size(), "[", opt, "] got ", steps.size(), " step counts for ", params.size(),
               " parameters");
}

template <class T>
T* state_ptr(const std::vector<TensorPtr>& s, size_t i) {
  return s.empty() ? nullptr : s[i]->mutable_data<T>();
}

}  // namespace

void adam_step(const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& exp_avgs,
               const std::vector<TensorPtr>& exp_avg_sqs, const std::vector<TensorPtr>& max_exp_avg_sqs,
               std::vector<double>& steps, const AdamOptions& o) {
  const char* name = o.decoupled_weight_decay ? "AdamW" : "Adam";
  check_state(name, "exp_avg", params, exp_avgs);
  check_state(name, "exp_avg_sq", params, exp_avg_sqs);
  if (o.amsgrad) check_state(name, "max_exp_avg_sq", params, max_exp_avg_sqs);
  check_steps(name, params, steps);
  auto on_gpu = [&](size_t i, const TensorPtr& p, const TensorPtr& g) {
    const TensorPtr* vmax = o.amsgrad ? &max_exp_avg_sqs[i] : nullptr;
    common_device({&p, &exp_avgs[i], &exp_avg_sqs[i], vmax}, name);
    const double step = ++steps[i];
    void* vmax_data = vmax ? (*vmax)->device_data() : nullptr;
    if (p->dtype() == DType::Float64)
      cuda::adam_update(adam_step_of<double>(o, step), p->device_data(), g->device_data(), exp_avgs[i]->device_data(),
                        exp_avg_sqs[i]->device_data(), vmax_data, p->numel(), p->device().index);
    else
      cuda::adam_update(adam_step_of<float>(o, step), p->device_data(), g->device_data(), exp_avgs[i]->device_data(),
                        exp_avg_sqs[i]->device_data(), vmax_data, p->numel(), p->device().index);
  };
  auto on_cpu = [&](size_t i, auto* p, const auto* g, int64_t n) {
    using T = std::remove_pointer_t<decltype(p)>;
    T* m = exp_avgs[i]->mutable_data<T>();
    T* v = exp_avg_sqs[i]->mutable_data<T>();
    T* vmax = o.amsgrad ? state_ptr<T>(max_exp_avg_sqs, i) : nullptr;
    const rules::AdamStep<T> update = adam_step_of<T>(o, ++steps[i]);
    parallel_for(n, kGrainSize, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; ++k) update(p[k], g[k], m[k], v[k], vmax ? vmax + k : nullptr);
    });
  };
  for_each_param(name, params, on_cpu, on_gpu);
}

void rmsprop_step(const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& square_avgs,
                  const std::vector<TensorPtr>& grad_avgs, const std::vector<TensorPtr>& momentum_buffers,
                  std::vector<double>& steps, const RMSpropOptions& o) {
  check_state("RMSprop", "square_avg", params, square_avgs);
  if (o.centered) check_state("RMSprop", "grad_avg", params, grad_avgs);
  if (o.momentum > 0) check_state("RMSprop", "momentum_buffer", params, momentum_buffers);
  check_steps("RMSprop", params, steps);
  for_each_param("RMSprop", params, [&](size_t i, auto* p, const auto* g, int64_t n) {
    using T = std::remove_pointer_t<decltype(p)>;
    T* sq = square_avgs[i]->mutable_data<T>();
    T* ga = o.centered ? state_ptr<T>(grad_avgs, i) : nullptr;
    T* buf = o.momentum > 0 ? state_ptr<T>(momentum_buffers, i) : nullptr;
    steps[i] += 1;
    const T lr = T(o.lr), alpha = T(o.alpha), one_alpha = T(1 - o.alpha), eps = T(o.eps), wd = T(o.weight_decay),
            mom = T(o.momentum);
    parallel_for(n, kGrainSize, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; ++k) {
        T gk = o.maximize ? -g[k] : g[k];
        if (o.weight_decay != 0) gk += wd * p[k];
        sq[k] = sq[k] * alpha + one_alpha * gk * gk;
        T avg;
        if (ga) {
          ga[k] = lerp(ga[k], gk, one_alpha);
          avg = std::sqrt(sq[k] - ga[k] * ga[k]);
        } else {
          avg = std::sqrt(sq[k]);
        }
        avg += eps;
        if (buf) {
          buf[k] = buf[k] * mom + gk / avg;
          p[k] += -lr * buf[k];
        } else {
          p[k] += -lr * gk / avg;
        }
      }
    });
  });
}

void adagrad_step(const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& sums, std::vector<double>& steps,
                  const AdagradOptions& o) {
  check_state("Adagrad", "sum", params, sums);
  check_steps("Adagrad", params, steps);
  for_each_param("Adagrad", params, [&](size_t i, auto* p, const auto* g, int64_t n) {
    using T = std::remove_pointer_t<decltype(p)>;
    T* s = sums[i]->mutable_data<T>();
    double step = ++steps[i];
    const T clr = T(o.lr / (1 + (step - 1) * o.lr_decay)), eps = T(o.eps), wd = T(o.weight_decay);
    parallel_for(n, kGrainSize, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; ++k) {
        T gk = o.maximize ? -g[k] : g[k];
        if (o.weight_decay != 0) gk += wd * p[k];
        s[k] += gk * gk;
        p[k] += -clr * gk / (std::sqrt(s[k]) + eps);
      }
    });
  });
}

void adadelta_step(const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& square_avgs,
                   const std::vector<TensorPtr>& acc_deltas, std::vector<double>& steps, const AdadeltaOptions& o) {
  check_state("Adadelta", "square_avg", params, square_avgs);
  check_state("Adadelta", "acc_delta", params, acc_deltas);
  check_steps("Adadelta", params, steps);
  for_each_param("Adadelta", params, [&](size_t i, auto* p, const auto* g, int64_t n) {
    using T = std::remove_pointer_t<decltype(p)>;
    T* sq = square_avgs[i]->mutable_data<T>();
    T* acc = acc_deltas[i]->mutable_data<T>();
    steps[i] += 1;
    const T lr = T(o.lr), rho = T(o.rho), one_rho = T(1 - o.rho), eps = T(o.eps), wd = T(o.weight_decay);
    parallel_for(n, kGrainSize, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; ++k) {
        T gk = o.maximize ? -g[k] : g[k];
        if (o.weight_decay != 0) gk += wd * p[k];
        sq[k] = sq[k] * rho + one_rho * gk * gk;
        T delta = std::sqrt(acc[k] + eps) / std::sqrt(sq[k] + eps) * gk;
        acc[k] = acc[k] * rho + one_rho * delta * delta;
        p[k] += -lr * delta;
      }
    });
  });
}

void adamax_step(const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& exp_avgs,
                 const std::vector<TensorPtr>& exp_infs, std::vector<double>& steps, const AdamaxOptions& o) {
  check_state("Adamax", "exp_avg", params, exp_avgs);
  check_state("Adamax", "exp_inf", params, exp_infs);
  check_steps("Adamax", params, steps);
  for_each_param("Adamax", params, [&](size_t i, auto* p, const auto* g, int64_t n) {
    using T = std::remove_pointer_t<decltype(p)>;
    T* m = exp_avgs[i]->mutable_data<T>();
    T* u = exp_infs[i]->mutable_data<T>();
    double step = ++steps[i];
    const T b1 = T(1 - o.beta1), b2 = T(o.beta2), eps = T(o.eps), wd = T(o.weight_decay);
    const T neg_clr = T(-(o.lr / (1 - std::pow(o.beta1, step))));
    parallel_for(n, kGrainSize, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; ++k) {
        T gk = o.maximize ? -g[k] : g[k];
        if (o.weight_decay != 0) gk += wd * p[k];
        m[k] = lerp(m[k], gk, b1);
        T decayed = u[k] * b2, fresh = std::abs(gk) + eps;
        u[k] = (decayed != decayed || fresh != fresh) ? decayed + fresh : std::max(decayed, fresh);  // nan wins
        p[k] += neg_clr * m[k] / u[k];
      }
    });
  });
}

void nadam_step(const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& exp_avgs,
                const std::vector<TensorPtr>& exp_avg_sqs, const std::vector<TensorPtr>& mu_products,
                std::vector<double>& steps, const NAdamOptions& o) {
  check_state("NAdam", "exp_avg", params, exp_avgs);
  check_state("NAdam", "exp_avg_sq", params, exp_avg_sqs);
  FASTNN_CHECK(steps.size() == params.size() && mu_products.size() == params.size(), "[NAdam] got ", steps.size(),
               " step counts and ", mu_products.size(), " mu_products for ", params.size(), " parameters");
  for (size_t i = 0; i < mu_products.size(); ++i)
    FASTNN_CHECK(mu_products[i] && mu_products[i]->dim() == 0 && is_floating(mu_products[i]->dtype()),
                 "[NAdam] mu_product ", i, " must be a 0-d floating-point tensor");
  for_each_param("NAdam", params, [&](size_t i, auto* p, const auto* g, int64_t n) {
    using T = std::remove_pointer_t<decltype(p)>;
    T* m = exp_avgs[i]->mutable_data<T>();
    T* v = exp_avg_sqs[i]->mutable_data<T>();
    double step = ++steps[i];
    const double mu = o.beta1 * (1.0 - 0.5 * std::pow(0.96, step * o.momentum_decay));
    const double mu_next = o.beta1 * (1.0 - 0.5 * std::pow(0.96, (step + 1) * o.momentum_decay));
    double mu_product = 0;  // the running product, rounded to its tensor's dtype as torch's `mu_product *= mu`
    FASTNN_DISPATCH_FLOAT(mu_products[i]->dtype(), "NAdam", [&] {
      scalar_t* mp = mu_products[i]->mutable_data<scalar_t>();
      *mp = *mp * scalar_t(mu);
      mu_product = double(*mp);
    });
    mu_products[i]->bump_version();
    const T grad_coef = T(-o.lr * (1.0 - mu) / (1.0 - mu_product));
    const T avg_coef = T(-o.lr * mu_next / (1.0 - mu_product * mu_next));
    const T b1 = T(1 - o.beta1), b2 = T(o.beta2), one_b2 = T(1 - o.beta2), eps = T(o.eps), wd = T(o.weight_decay);
    const T decay = T(1 - o.lr * o.weight_decay), bc2 = T(1 - std::pow(o.beta2, step));
    parallel_for(n, kGrainSize, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; ++k) {
        T gk = o.maximize ? -g[k] : g[k];
        if (o.weight_decay != 0) {
          if (o.decoupled_weight_decay) p[k] *= decay;
          else gk += wd * p[k];
        }
        m[k] = lerp(m[k], gk, b1);
        v[k] = v[k] * b2 + one_b2 * gk * gk;
        T denom = std::sqrt(v[k] / bc2) + eps;
        p[k] += grad_coef * gk / denom;
        p[k] += avg_coef * m[k] / denom;
      }
    });
  });
}

void radam_step(const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& exp_avgs,
                const std::vector<TensorPtr>& exp_avg_sqs, std::vector<double>& steps, const RAdamOptions& o) {
  check_state("RAdam", "exp_avg", params, exp_avgs);
  check_state("RAdam", "exp_avg_sq", params, exp_avg_sqs);
  check_steps("RAdam", params, steps);
  for_each_param("RAdam", params, [&](size_t i, auto* p, const auto* g, int64_t n) {
    using T = std::remove_pointer_t<decltype(p)>;
    T* m = exp_avgs[i]->mutable_data<T>();
    T* v = exp_avg_sqs[i]->mutable_data<T>();
    double step = ++steps[i];
    const double bc1 = 1 - std::pow(o.beta1, step), bc2 = 1 - std::pow(o.beta2, step);
    // the length of the approximated simple moving average; the variance is rectified once it exceeds 5
    const double rho_inf = 2 / (1 - o.beta2) - 1;
    const double rho_t = rho_inf - 2 * step * std::pow(o.beta2, step) / bc2;
    const bool rectify = rho_t > 5.0;
    const T rect =
        rectify ? T(std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))) : T(0);
    const T b1 = T(1 - o.beta1), b2 = T(o.beta2), one_b2 = T(1 - o.beta2), eps = T(o.eps), wd = T(o.weight_decay);
    const T decay = T(1 - o.lr * o.weight_decay), tbc1 = T(bc1), bc2_sqrt = T(std::sqrt(bc2)), lr = T(o.lr);
    parallel_for(n, kGrainSize, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; ++k) {
        T gk = o.maximize ? -g[k] : g[k];
        if (o.weight_decay != 0) {
          if (o.decoupled_weight_decay) p[k] *= decay;
          else gk += wd * p[k];
        }
        m[k] = lerp(m[k], gk, b1);
        v[k] = v[k] * b2 + one_b2 * gk * gk;
        T update = m[k] / tbc1 * lr;
        if (rectify) update = update * (bc2_sqrt / (std::sqrt(v[k]) + eps)) * rect;
        p[k] -= update;
      }
    });
  });
}

}  // namespace fastnn
