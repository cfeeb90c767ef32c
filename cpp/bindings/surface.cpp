// Bindings for the torch surface written in Python (fastnn/_tensor.py): Tensor.to(copy=True).
#include "common.h"

namespace fastnn::bindings {

void bind_surface(py::module_& /*m*/, TensorClass& cls) {
  cls.def("_to_copy", &to_copy, py::arg("dtype"), py::call_guard<py::gil_scoped_release>());
}

}  // namespace fastnn::bindings
