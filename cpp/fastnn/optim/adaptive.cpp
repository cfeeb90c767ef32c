#include "fastnn/optim/adaptive.h"

#include <array>
#include <cmath>

#include "fastnn/kernels/cuda/optim.h"
#include "fastnn/ops/ops.h"
#include "fastnn/optim/common.h"
#include "fastnn/optim/update_rules.h"
#include "fastnn/parallel.h"

namespace fastnn {
namespace {

// Runs each parameter's rule, make(i, T()) (which also does the step's host work: counting steps), over its elements
// and those of its state tensors s0..s2 (an empty list: a state the options leave out): in parallel chunks on the
// CPU, through kernels/cuda/optim.cu on a GPU. The rule is the same code on both devices (optim/update_rules.h).
template <class Make>
void step_params(const char* opt, const std::vector<TensorPtr>& params,
                 std::initializer_list<const std::vector<TensorPtr>*> state_lists, const Make& make) {
  for (size_t i = 0; i < params.size(); ++i) {
    const TensorPtr& p = params[i];
    TensorPtr g = compute_copy(checked_grad(opt, p, i)), pc = compute_copy(p);
    std::array<TensorPtr, 3> st;
    size_t j = 0;
    for (const std::vector<TensorPtr>* list : state_lists) st[j++] = list->empty() ? nullptr : (*list)[i];
    const int64_t n = p->numel();
    if (p->device().is_cuda()) {
      common_device({&p, &g, &st[0], &st[1], &st[2]}, opt);
      check_cuda_float(pc->dtype(), opt);
      auto ptr = [](const TensorPtr& t) { return t ? t->device_data() : nullptr; };
      if (pc->dtype() == DType::Float64)
        cuda::optimizer_update(make(i, double()), ptr(pc), ptr(g), ptr(st[0]), ptr(st[1]), ptr(st[2]), n,
                               p->device().index);
      else
        cuda::optimizer_update(make(i, float()), ptr(pc), ptr(g), ptr(st[0]), ptr(st[1]), ptr(st[2]), n,
                               p->device().index);
    } else {
      FASTNN_DISPATCH_FLOAT(pc->dtype(), opt, [&] {
        using T = scalar_t;
        const auto rule = make(i, T());
        T* pp = pc->mutable_data<T>();
        const T* gp = g->data<T>();
        T *a = st[0] ? st[0]->mutable_data<T>() : nullptr, *b = st[1] ? st[1]->mutable_data<T>() : nullptr;
        T* c = st[2] ? st[2]->mutable_data<T>() : nullptr;
        if constexpr (std::is_same_v<std::decay_t<decltype(rule)>, rules::AdamStep<T>>) {
          rule.with_flags(c != nullptr, [&](auto mx, auto dc, auto dd, auto am) {  // one branch-free loop
            parallel_for(n, kGrainSize, [&](int64_t lo, int64_t hi) {
              const auto r = rule;  // a local copy: writes through the pointers cannot alias its fields
              T *p0 = pp, *m0 = a, *v0 = b, *x0 = c;
              const T* g0 = gp;
              for (int64_t k = lo; k < hi; ++k)
                r.template apply<mx(), dc(), dd(), am()>(p0[k], g0[k], m0 + k, v0 + k, am() ? x0 + k : nullptr);
            });
          });
        } else {
          parallel_for(n, kGrainSize, [&](int64_t lo, int64_t hi) {
            const auto r = rule;  // as above
            T *p0 = pp, *s0 = a, *s1 = b, *s2 = c;
            const T* g0 = gp;
            for (int64_t k = lo; k < hi; ++k)
              r(p0[k], g0[k], s0 ? s0 + k : nullptr, s1 ? s1 + k : nullptr, s2 ? s2 + k : nullptr);
          });
        }
      });
    }
    write_back(p, pc);
    p->bump_version();
  }
}

void check_steps(const char* opt, const std::vector<TensorPtr>& params, const std::vector<double>& steps) {
  FASTNN_CHECK(steps.size() == params.size(), "[", opt, "] got ", steps.size(), " step counts for ", params.size(),
               " parameters");
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
  const std::vector<TensorPtr> none;
  step_params(name, params, {&exp_avgs, &exp_avg_sqs, o.amsgrad ? &max_exp_avg_sqs : &none}, [&](size_t i, auto zero) {
    using T = decltype(zero);
    const double step = ++steps[i];
    return rules::AdamStep<T>{T(o.weight_decay),
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
  });
}

void rmsprop_step(const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& square_avgs,
                  const std::vector<TensorPtr>& grad_avgs, const std::vector<TensorPtr>& momentum_buffers,
                  std::vector<double>& steps, const RMSpropOptions& o) {
  check_state("RMSprop", "square_avg", params, square_avgs);
  if (o.centered) check_state("RMSprop", "grad_avg", params, grad_avgs);
  if (o.momentum > 0) check_state("RMSprop", "momentum_buffer", params, momentum_buffers);
  check_steps("RMSprop", params, steps);
  const std::vector<TensorPtr> none;
  step_params("RMSprop", params,
              {&square_avgs, o.centered ? &grad_avgs : &none, o.momentum > 0 ? &momentum_buffers : &none},
              [&](size_t i, auto zero) {
                using T = decltype(zero);
                steps[i] += 1;
                return rules::RmspropStep<T>{T(o.lr),           T(o.alpha),    T(1 - o.alpha), T(o.eps),
                                             T(o.weight_decay), T(o.momentum), o.maximize,     o.weight_decay != 0};
              });
}

void adagrad_step(const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& sums, std::vector<double>& steps,
                  const AdagradOptions& o) {
  check_state("Adagrad", "sum", params, sums);
  check_steps("Adagrad", params, steps);
  const std::vector<TensorPtr> none;
  step_params("Adagrad", params, {&sums, &none, &none}, [&](size_t i, auto zero) {
    using T = decltype(zero);
    const double step = ++steps[i];
    return rules::AdagradStep<T>{T(o.lr / (1 + (step - 1) * o.lr_decay)), T(o.eps), T(o.weight_decay), o.maximize,
                                 o.weight_decay != 0};
  });
}

void adadelta_step(const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& square_avgs,
                   const std::vector<TensorPtr>& acc_deltas, std::vector<double>& steps, const AdadeltaOptions& o) {
  check_state("Adadelta", "square_avg", params, square_avgs);
  check_state("Adadelta", "acc_delta", params, acc_deltas);
  check_steps("Adadelta", params, steps);
  const std::vector<TensorPtr> none;
  step_params("Adadelta", params, {&square_avgs, &acc_deltas, &none}, [&](size_t i, auto zero) {
    using T = decltype(zero);
    steps[i] += 1;
    return rules::AdadeltaStep<T>{T(o.lr),           T(o.rho),   T(1 - o.rho),       T(o.eps),
                                  T(o.weight_decay), o.maximize, o.weight_decay != 0};
  });
}

void adamax_step(const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& exp_avgs,
                 const std::vector<TensorPtr>& exp_infs, std::vector<double>& steps, const AdamaxOptions& o) {
  check_state("Adamax", "exp_avg", params, exp_avgs);
  check_state("Adamax", "exp_inf", params, exp_infs);
  check_steps("Adamax", params, steps);
  const std::vector<TensorPtr> none;
  step_params("Adamax", params, {&exp_avgs, &exp_infs, &none}, [&](size_t i, auto zero) {
    using T = decltype(zero);
    const double step = ++steps[i];
    return rules::AdamaxStep<T>{
        T(1 - o.beta1), T(o.beta2),         T(o.eps), T(o.weight_decay), T(-(o.lr / (1 - std::pow(o.beta1, step)))),
        o.maximize,     o.weight_decay != 0};
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
  const std::vector<TensorPtr> none;
  step_params("NAdam", params, {&exp_avgs, &exp_avg_sqs, &none}, [&](size_t i, auto zero) {
    using T = decltype(zero);
    const double step = ++steps[i];
    const double mu = o.beta1 * (1.0 - 0.5 * std::pow(0.96, step * o.momentum_decay));
    const double mu_next = o.beta1 * (1.0 - 0.5 * std::pow(0.96, (step + 1) * o.momentum_decay));
    // the running product, rounded to its tensor's dtype as torch's `mu_product *= mu` (on the host: a GPU
    // parameter's product is read and written back through copies)
    TensorPtr mp = mu_products[i]->is_cpu() ? mu_products[i] : to_device(mu_products[i], Device{});
    double mu_product = 0;
    FASTNN_DISPATCH_FLOAT(mp->dtype(), "NAdam", [&] {
      scalar_t* v = mp->mutable_data<scalar_t>();
      *v = *v * scalar_t(mu);
      mu_product = double(*v);
    });
    if (mp != mu_products[i]) {
      TensorPtr dst = mu_products[i];
      copy_(dst, mp);
    }
    mu_products[i]->bump_version();
    return rules::NadamStep<T>{T(-o.lr * (1.0 - mu) / (1.0 - mu_product)),
                               T(-o.lr * mu_next / (1.0 - mu_product * mu_next)),
                               T(1 - o.beta1),
                               T(o.beta2),
                               T(1 - o.beta2),
                               T(o.eps),
                               T(o.weight_decay),
                               T(1 - o.lr * o.weight_decay),
                               T(1 - std::pow(o.beta2, step)),
                               o.maximize,
                               o.weight_decay != 0,
                               o.decoupled_weight_decay};
  });
}

void radam_step(const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& exp_avgs,
                const std::vector<TensorPtr>& exp_avg_sqs, std::vector<double>& steps, const RAdamOptions& o) {
  check_state("RAdam", "exp_avg", params, exp_avgs);
  check_state("RAdam", "exp_avg_sq", params, exp_avg_sqs);
  check_steps("RAdam", params, steps);
  const std::vector<TensorPtr> none;
  step_params("RAdam", params, {&exp_avgs, &exp_avg_sqs, &none}, [&](size_t i, auto zero) {
    using T = decltype(zero);
    const double step = ++steps[i];
    const double bc1 = 1 - std::pow(o.beta1, step), bc2 = 1 - std::pow(o.beta2, step);
    // the length of the approximated simple moving average; the variance is rectified once it exceeds 5
    const double rho_inf = 2 / (1 - o.beta2) - 1;
    const double rho_t = rho_inf - 2 * step * std::pow(o.beta2, step) / bc2;
    const bool rectify = rho_t > 5.0;
    const T rect =
        rectify ? T(std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))) : T(0);
    return rules::RadamStep<T>{T(o.lr),
                               T(1 - o.beta1),
                               T(o.beta2),
                               T(1 - o.beta2),
                               T(o.eps),
                               T(o.weight_decay),
                               T(1 - o.lr * o.weight_decay),
                               T(bc1),
                               T(std::sqrt(bc2)),
                               rect,
                               o.maximize,
                               o.weight_decay != 0,
                               o.decoupled_weight_decay,
                               rectify};
  });
}

}  // namespace fastnn
