// Optimizer update rules: one C++ call per parameter group.
#include "bindings/common.h"
#include "fastnn/optim/adaptive.h"
#include "fastnn/optim/grad_norm.h"
#include "fastnn/optim/sgd.h"

namespace fastnn::bindings {

void bind_optim(py::module_& m) {
  m.def("_sgd_step",
        [](const std::vector<TensorPtr>& params, const std::vector<OptionalTensor>& momentum_buffers, double lr,
           double momentum, double dampening, double weight_decay, bool nesterov, bool maximize) {
          SGDOptions o{lr, momentum, dampening, weight_decay, nesterov, maximize};
          std::vector<TensorPtr> buffers = or_null(momentum_buffers);
          {
            py::gil_scoped_release nogil;
            sgd_step(params, buffers, o);
          }
          return buffers;  // with the momentum buffers created on this step
        });
  // The adaptive rules take their state tensors (created by Python) and return the new step counts.
  m.def("_adam_step", [](const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& exp_avgs,
                         const std::vector<TensorPtr>& exp_avg_sqs, const std::vector<TensorPtr>& max_exp_avg_sqs,
                         std::vector<double> steps, double lr, double beta1, double beta2, double eps,
                         double weight_decay, bool amsgrad, bool maximize, bool decoupled) {
    AdamOptions o{lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled};
    py::gil_scoped_release nogil;
    adam_step(params, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, o);
    return steps;
  });
  m.def("_rmsprop_step", [](const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& square_avgs,
                            const std::vector<TensorPtr>& grad_avgs, const std::vector<TensorPtr>& momentum_buffers,
                            std::vector<double> steps, double lr, double alpha, double eps, double weight_decay,
                            double momentum, bool centered, bool maximize) {
    RMSpropOptions o{lr, alpha, eps, weight_decay, momentum, centered, maximize};
    py::gil_scoped_release nogil;
    rmsprop_step(params, square_avgs, grad_avgs, momentum_buffers, steps, o);
    return steps;
  });
  m.def("_adagrad_step",
        [](const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& sums, std::vector<double> steps,
           double lr, double lr_decay, double weight_decay, double eps, bool maximize) {
          AdagradOptions o{lr, lr_decay, weight_decay, eps, maximize};
          py::gil_scoped_release nogil;
          adagrad_step(params, sums, steps, o);
          return steps;
        });
  m.def("_adadelta_step", [](const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& square_avgs,
                             const std::vector<TensorPtr>& acc_deltas, std::vector<double> steps, double lr, double rho,
                             double eps, double weight_decay, bool maximize) {
    AdadeltaOptions o{lr, rho, eps, weight_decay, maximize};
    py::gil_scoped_release nogil;
    adadelta_step(params, square_avgs, acc_deltas, steps, o);
    return steps;
  });
  m.def("_adamax_step", [](const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& exp_avgs,
                           const std::vector<TensorPtr>& exp_infs, std::vector<double> steps, double lr, double beta1,
                           double beta2, double eps, double weight_decay, bool maximize) {
    AdamaxOptions o{lr, beta1, beta2, eps, weight_decay, maximize};
    py::gil_scoped_release nogil;
    adamax_step(params, exp_avgs, exp_infs, steps, o);
    return steps;
  });
  m.def("_nadam_step", [](const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& exp_avgs,
                          const std::vector<TensorPtr>& exp_avg_sqs, const std::vector<TensorPtr>& mu_products,
                          std::vector<double> steps, double lr, double beta1, double beta2, double eps,
                          double weight_decay, double momentum_decay, bool decoupled, bool maximize) {
    NAdamOptions o{lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled, maximize};
    py::gil_scoped_release nogil;
    nadam_step(params, exp_avgs, exp_avg_sqs, mu_products, steps, o);
    return steps;
  });
  m.def("_radam_step", [](const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& exp_avgs,
                          const std::vector<TensorPtr>& exp_avg_sqs, std::vector<double> steps, double lr, double beta1,
                          double beta2, double eps, double weight_decay, bool decoupled, bool maximize) {
    RAdamOptions o{lr, beta1, beta2, eps, weight_decay, decoupled, maximize};
    py::gil_scoped_release nogil;
    radam_step(params, exp_avgs, exp_avg_sqs, steps, o);
    return steps;
  });
  // nn.utils.get_total_norm / clip_grad_norm_ (`op` names the caller in errors)
  m.def("_total_norm", [](const std::vector<TensorPtr>& tensors, double norm_type, const std::string& op) {
    return total_norm(tensors, norm_type, op.c_str());
  });
}

}  // namespace fastnn::bindings
