// Shared helpers for the pybind11 bindings: argument conversion from Python values.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

#include "fastnn/ops/ops.h"

namespace fastnn::bindings {

namespace py = pybind11;

// Releases the GIL for the lifetime of the guard unless the op is tiny: releasing and re-taking
// it costs more than a small elementwise op, and other Python threads gain nothing from it.
class GilReleaseUnlessTiny {
 public:
  explicit GilReleaseUnlessTiny(int64_t elements) {
    if (elements >= kTinyElements) release_.emplace();
  }

 private:
  static constexpr int64_t kTinyElements = 4096;
  std::optional<py::gil_scoped_release> release_;
};

// A Python number (bool, int, float, NumPy scalar) or Tensor as a tensor operand; numbers become
// 0-d "wrapped number" tensors that take part in type promotion by kind only.
TensorPtr operand(py::handle h, const char* op);
// True when `h` is a Tensor or a number operand() accepts.
bool is_operand(py::handle h);
// `size` arguments: f(2, 3), f((2, 3)), f([2, 3]) or f(fastnn.Size([2, 3])).
Shape shape_from_args(const py::args& args, const char* op);
// `dim` arguments: an int or a sequence of ints.
IntList dims_arg(py::handle h, const char* op);
// A Python value to a Python tuple of ints shown as fastnn.Size.
py::object make_size(const Shape& shape);
// Integer value of an int-like Python object (rejects floats and bools) with the op in the error.
int64_t int_arg(py::handle h, const char* op, const char* what);

using TensorClass = py::class_<Tensor, TensorPtr>;

TensorClass bind_tensor(py::module_& m);
void bind_ops(py::module_& m, TensorClass& cls);
void bind_autograd(py::module_& m);
void bind_optim(py::module_& m);
void bind_nn(py::module_& m);

}  // namespace fastnn::bindings
