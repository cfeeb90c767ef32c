// Optimizer update rules: one C++ call per parameter group.
#include "bindings/common.h"
#include "fastnn/optim/sgd.h"

namespace fastnn::bindings {

void bind_optim(py::module_& m) {
  m.def("_sgd_step", [](const std::vector<TensorPtr>& params, std::vector<TensorPtr> buffers, double lr, double momentum,
                        double dampening, double weight_decay, bool nesterov, bool maximize) {
    SGDOptions o{lr, momentum, dampening, weight_decay, nesterov, maximize};
    {
      py::gil_scoped_release nogil;
      sgd_step(params, buffers, o);
    }
    return buffers;  // with the momentum buffers created on this step
  });
}

}  // namespace fastnn::bindings
