// Optimizer update rules: one C++ call per parameter group.
#include "bindings/common.h"
#include "fastnn/optim/adaptive.h"
#include "fastnn/optim/grad_norm.h"
#include "fastnn/optim/sgd.h"

namespace fastnn::bindings {
namespace {
// The adaptive rules' step counts live in 0-d tensors (state["step"], as in torch), read before the update and
// written back after it in place, so that a captured step (fastnn.compile) counts on replay.
std::vector<double> read_steps(const std::vector<TensorPtr>& step_tensors) {
  std::vector<double> steps;
  for (const auto& t : step_tensors) {
    FASTNN_CHECK_TYPE(t->numel() == 1 && (t->dtype() == DType::Float32 || t->dtype() == DType::Float64),
                      "[optimizer] a state 'step' must be a float32 or float64 tensor of one element, got ",
                      dtype_name(t->dtype()), " of shape ", shape_str(t->shape()));
    steps.push_back(t->dtype() == DType::Float32 ? double(*t->data<float>()) : *t->data<double>());
  }
  return steps;
}
// Runs rule(steps) without the GIL between reading the step counts and writing them back.
template <class Rule>
void with_steps(const std::vector<TensorPtr>& step_tensors, const Rule& rule) {
  std::vector<double> steps = read_steps(step_tensors);
  {
    py::gil_scoped_release nogil;
    rule(steps);
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    const TensorPtr& t = step_tensors[i];
    if (t->dtype() == DType::Float32) *t->mutable_data<float>() = float(steps[i]);
    else *t->mutable_data<double>() = steps[i];
    t->bump_version();
  }
}
}  // namespace

void bind_optim(py::module_& m) {
  m.def("_sgd_step",
        recorded("_sgd_step",
                 [](const std::vector<TensorPtr>& params, const std::vector<OptionalTensor>& momentum_buffers,
                    double lr, double momentum, double dampening, double weight_decay, bool nesterov, bool maximize) {
                   SGDOptions o{lr, momentum, dampening, weight_decay, nesterov, maximize};
                   std::vector<TensorPtr> buffers = or_null(momentum_buffers);
                   {
                     py::gil_scoped_release nogil;
                     sgd_step(params, buffers, o);
                   }
                   return buffers;  // with the momentum buffers created on this step
                 }));
  // The adaptive rules take their state tensors (created by Python) and 0-d step counts, incremented in place.
  m.def("_adam_step",
        recorded("_adam_step",
                 [](const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& exp_avgs,
                    const std::vector<TensorPtr>& exp_avg_sqs, const std::vector<TensorPtr>& max_exp_avg_sqs,
                    const std::vector<TensorPtr>& step_tensors, double lr, double beta1, double beta2, double eps,
                    double weight_decay, bool amsgrad, bool maximize, bool decoupled) {
                   AdamOptions o{lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled};
                   with_steps(step_tensors, [&](std::vector<double>& steps) {
                     adam_step(params, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, o);
                   });
                 }));
  m.def("_rmsprop_step",
        recorded("_rmsprop_step",
                 [](const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& square_avgs,
                    const std::vector<TensorPtr>& grad_avgs, const std::vector<TensorPtr>& momentum_buffers,
                    const std::vector<TensorPtr>& step_tensors, double lr, double alpha, double eps,
                    double weight_decay, double momentum, bool centered, bool maximize) {
                   RMSpropOptions o{lr, alpha, eps, weight_decay, momentum, centered, maximize};
                   with_steps(step_tensors, [&](std::vector<double>& steps) {
                     rmsprop_step(params, square_avgs, grad_avgs, momentum_buffers, steps, o);
                   });
                 }));
  m.def("_adagrad_step",
        recorded("_adagrad_step", [](const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& sums,
                                     const std::vector<TensorPtr>& step_tensors, double lr, double lr_decay,
                                     double weight_decay, double eps, bool maximize) {
          AdagradOptions o{lr, lr_decay, weight_decay, eps, maximize};
          with_steps(step_tensors, [&](std::vector<double>& steps) { adagrad_step(params, sums, steps, o); });
        }));
  m.def("_adadelta_step",
        recorded(
            "_adadelta_step", [](const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& square_avgs,
                                 const std::vector<TensorPtr>& acc_deltas, const std::vector<TensorPtr>& step_tensors,
                                 double lr, double rho, double eps, double weight_decay, bool maximize) {
              AdadeltaOptions o{lr, rho, eps, weight_decay, maximize};
              with_steps(step_tensors,
                         [&](std::vector<double>& steps) { adadelta_step(params, square_avgs, acc_deltas, steps, o); });
            }));
  m.def("_adamax_step",
        recorded("_adamax_step",
                 [](const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& exp_avgs,
                    const std::vector<TensorPtr>& exp_infs, const std::vector<TensorPtr>& step_tensors, double lr,
                    double beta1, double beta2, double eps, double weight_decay, bool maximize) {
                   AdamaxOptions o{lr, beta1, beta2, eps, weight_decay, maximize};
                   with_steps(step_tensors,
                              [&](std::vector<double>& steps) { adamax_step(params, exp_avgs, exp_infs, steps, o); });
                 }));
  m.def("_nadam_step",
        recorded("_nadam_step",
                 [](const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& exp_avgs,
                    const std::vector<TensorPtr>& exp_avg_sqs, const std::vector<TensorPtr>& mu_products,
                    const std::vector<TensorPtr>& step_tensors, double lr, double beta1, double beta2, double eps,
                    double weight_decay, double momentum_decay, bool decoupled, bool maximize) {
                   NAdamOptions o{lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled, maximize};
                   with_steps(step_tensors, [&](std::vector<double>& steps) {
                     nadam_step(params, exp_avgs, exp_avg_sqs, mu_products, steps, o);
                   });
                 }));
  m.def("_radam_step",
        recorded("_radam_step",
                 [](const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& exp_avgs,
                    const std::vector<TensorPtr>& exp_avg_sqs, const std::vector<TensorPtr>& step_tensors, double lr,
                    double beta1, double beta2, double eps, double weight_decay, bool decoupled, bool maximize) {
                   RAdamOptions o{lr, beta1, beta2, eps, weight_decay, decoupled, maximize};
                   with_steps(step_tensors,
                              [&](std::vector<double>& steps) { radam_step(params, exp_avgs, exp_avg_sqs, steps, o); });
                 }));
  // nn.utils.get_total_norm / clip_grad_norm_ (`op` names the caller in errors)
  m.def("_total_norm",
        recorded("_total_norm", [](const std::vector<TensorPtr>& tensors, double norm_type, const std::string& op) {
          return total_norm(tensors, norm_type, op.c_str());
        }));
}

}  // namespace fastnn::bindings
