// Layer kernels used by fastnn.nn.functional beyond the core ops: activations with parameters, dropout, batch norm, more losses.
#include "bindings/common.h"

namespace fastnn::bindings {

void bind_nn(py::module_& m) {
  using GilRelease = py::call_guard<py::gil_scoped_release>;
  m.def("_dropout", &dropout, GilRelease());
  m.def("_feature_dropout", &feature_dropout, GilRelease());
  m.def("_batch_norm", &batch_norm, GilRelease());
  m.def("_leaky_relu", &leaky_relu, GilRelease());
  m.def("_embedding", &embedding, GilRelease());
  m.def("_adaptive_avg_pool2d", &adaptive_avg_pool2d, GilRelease());
  m.def("_gelu", &gelu, GilRelease());
  m.def("_l1_loss", [](const TensorPtr& a, const TensorPtr& b, int r) { return l1_loss(a, b, Reduction(r)); }, GilRelease());
  m.def("_smooth_l1_loss", [](const TensorPtr& a, const TensorPtr& b, int r, double beta) {
    return smooth_l1_loss(a, b, Reduction(r), beta);
  }, GilRelease());
  m.def("_binary_cross_entropy", [](const TensorPtr& a, const TensorPtr& b, const TensorPtr& w, int r) {
    return binary_cross_entropy(a, b, w, Reduction(r));
  }, GilRelease());
  m.def("_binary_cross_entropy_with_logits", [](const TensorPtr& a, const TensorPtr& b, const TensorPtr& w,
                                                const TensorPtr& pw, int r) {
    return binary_cross_entropy_with_logits(a, b, w, pw, Reduction(r));
  }, GilRelease());
}

}  // namespace fastnn::bindings
