// Layer, RMS, group and instance norm (torch.nn.functional's; Python checks the argument kinds).
#include "common.h"
#include "fastnn/ops/normalization.h"

namespace fastnn::bindings {

void bind_normalization(py::module_& m, TensorClass&) {
  using GilRelease = py::call_guard<py::gil_scoped_release>;
  m.def("_layer_norm",
        recorded("_layer_norm",
                 [](const TensorPtr& x, const Shape& normalized_shape, const OptionalTensor& weight,
                    const OptionalTensor& bias,
                    double eps) { return layer_norm(x, normalized_shape, or_null(weight), or_null(bias), eps); }),
        GilRelease());
  m.def("_rms_norm",
        recorded("_rms_norm",
                 [](const TensorPtr& x, const Shape& normalized_shape, const OptionalTensor& weight,
                    std::optional<double> eps) { return rms_norm(x, normalized_shape, or_null(weight), eps); }),
        GilRelease());
  m.def("_group_norm",
        recorded("_group_norm",
                 [](const TensorPtr& x, int64_t num_groups, const OptionalTensor& weight, const OptionalTensor& bias,
                    double eps) { return group_norm(x, num_groups, or_null(weight), or_null(bias), eps); }),
        GilRelease());
  m.def("_instance_norm",
        recorded("_instance_norm",
                 [](const TensorPtr& x, const OptionalTensor& weight, const OptionalTensor& bias,
                    const OptionalTensor& running_mean, const OptionalTensor& running_var, bool use_input_stats,
                    double momentum, double eps) {
                   return instance_norm(x, or_null(weight), or_null(bias), or_null(running_mean), or_null(running_var),
                                        use_input_stats, momentum, eps);
                 }),
        GilRelease());
}

}  // namespace fastnn::bindings
