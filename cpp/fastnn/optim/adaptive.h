// Fused update rules of the adaptive optimizers (torch.optim's single-tensor formulas):
// each call updates every parameter of a group and its state tensors in place.
#pragma once
#include <vector>

#include "fastnn/tensor.h"

namespace fastnn {

struct AdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool amsgrad = false, maximize = false, decoupled_weight_decay = false;  // decoupled: AdamW
};
// `steps[i]` counts the updates of parameter i (incremented here); max_exp_avg_sqs is used with amsgrad.
void adam_step(const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& exp_avgs,
               const std::vector<TensorPtr>& exp_avg_sqs, const std::vector<TensorPtr>& max_exp_avg_sqs,
               std::vector<double>& steps, const AdamOptions& opt);

struct RMSpropOptions {
  double lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0;
  bool centered = false, maximize = false;
};
// grad_avgs is used when centered, momentum_buffers when momentum > 0.
void rmsprop_step(const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& square_avgs,
                  const std::vector<TensorPtr>& grad_avgs, const std::vector<TensorPtr>& momentum_buffers,
                  std::vector<double>& steps, const RMSpropOptions& opt);

struct AdagradOptions {
  double lr = 1e-2, lr_decay = 0, weight_decay = 0, eps = 1e-10;
  bool maximize = false;
};
void adagrad_step(const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& sums, std::vector<double>& steps,
                  const AdagradOptions& opt);

struct AdadeltaOptions {
  double lr = 1.0, rho = 0.9, eps = 1e-6, weight_decay = 0;
  bool maximize = false;
};
void adadelta_step(const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& square_avgs,
                   const std::vector<TensorPtr>& acc_deltas, std::vector<double>& steps, const AdadeltaOptions& opt);

struct AdamaxOptions {
  double lr = 2e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool maximize = false;
};
void adamax_step(const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& exp_avgs,
                 const std::vector<TensorPtr>& exp_infs, std::vector<double>& steps, const AdamaxOptions& opt);

// NAdam and RAdam: decoupled weight decay multiplies the parameter by 1 - lr * weight_decay (AdamW's way).
struct NAdamOptions {
  double lr = 2e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0, momentum_decay = 4e-3;
  bool decoupled_weight_decay = false, maximize = false;
};
// `mu_products[i]` is parameter i's 0-d running product of the momentum schedule, updated in place in its own
// dtype (torch keeps it as a float32 scalar tensor, whatever the parameter's dtype).
void nadam_step(const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& exp_avgs,
                const std::vector<TensorPtr>& exp_avg_sqs, const std::vector<TensorPtr>& mu_products,
                std::vector<double>& steps, const NAdamOptions& opt);

struct RAdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool decoupled_weight_decay = false, maximize = false;
};
void radam_step(const std::vector<TensorPtr>& params, const std::vector<TensorPtr>& exp_avgs,
                const std::vector<TensorPtr>& exp_avg_sqs, std::vector<double>& steps, const RAdamOptions& opt);

}  // namespace fastnn
