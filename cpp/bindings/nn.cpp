// Layer kernels used by fastnn.nn.functional beyond the core ops: activations with parameters, dropout, batch norm,
// more losses.
#include "bindings/common.h"

namespace fastnn::bindings {

void bind_nn(py::module_& m) {
  using GilRelease = py::call_guard<py::gil_scoped_release>;
  m.def("_dropout", recorded("_dropout", &dropout), GilRelease());
  m.def("_feature_dropout", recorded("_feature_dropout", &feature_dropout), GilRelease());
  m.def("_batch_norm",
        recorded("_batch_norm",
                 [](const TensorPtr& x, const OptionalTensor& weight, const OptionalTensor& bias,
                    const OptionalTensor& running_mean, const OptionalTensor& running_var, bool training,
                    double momentum, double eps) {
                   return batch_norm(x, or_null(weight), or_null(bias), or_null(running_mean), or_null(running_var),
                                     training, momentum, eps);
                 }),
        GilRelease());
  m.def("_leaky_relu", recorded("_leaky_relu", &leaky_relu), GilRelease());
  m.def("_embedding", recorded("_embedding", &embedding), GilRelease());
  m.def("_adaptive_avg_pool2d", recorded("_adaptive_avg_pool2d", &adaptive_avg_pool2d), GilRelease());
  m.def("_gelu", recorded("_gelu", &gelu), GilRelease());
  m.def("_l1_loss",
        recorded("_l1_loss", [](const TensorPtr& a, const TensorPtr& b, int r) { return l1_loss(a, b, Reduction(r)); }),
        GilRelease());
  m.def("_smooth_l1_loss",
        recorded("_smooth_l1_loss", [](const TensorPtr& a, const TensorPtr& b, int r,
                                       double beta) { return smooth_l1_loss(a, b, Reduction(r), beta); }),
        GilRelease());
  m.def("_binary_cross_entropy",
        recorded("_binary_cross_entropy", [](const TensorPtr& a, const TensorPtr& b, const OptionalTensor& w,
                                             int r) { return binary_cross_entropy(a, b, or_null(w), Reduction(r)); }),
        GilRelease());
  m.def("_binary_cross_entropy_with_logits",
        recorded("_binary_cross_entropy_with_logits",
                 [](const TensorPtr& a, const TensorPtr& b, const OptionalTensor& w, const OptionalTensor& pw, int r) {
                   return binary_cross_entropy_with_logits(a, b, or_null(w), or_null(pw), Reduction(r));
                 }),
        GilRelease());
}

}  // namespace fastnn::bindings
