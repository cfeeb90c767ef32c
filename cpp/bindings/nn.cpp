// Layer kernels used by fastnn.nn.functional beyond the core ops: dropout, batch norm.
#include "bindings/common.h"

namespace fastnn::bindings {

void bind_nn(py::module_& m) {
  using GilRelease = py::call_guard<py::gil_scoped_release>;
  m.def("_dropout", &dropout, GilRelease());
  m.def("_feature_dropout", &feature_dropout, GilRelease());
  m.def("_batch_norm", &batch_norm, GilRelease());
}

}  // namespace fastnn::bindings
