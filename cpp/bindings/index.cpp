// Advanced indexing and the index family: index_put(_), gather, scatter(_), scatter_add(_), index_add(_),
// take_along_dim, masked_select; each as fastnn.<op>(input, ...) and as a Tensor method.
#include "bindings/common.h"
#include "fastnn/error.h"

namespace fastnn::bindings {
namespace {

// index_put's `indices`: a tuple or list of Tensors.
std::vector<TensorPtr> index_tensors(py::handle h, const char* op) {
  FASTNN_CHECK_TYPE(py::isinstance<py::tuple>(h) || py::isinstance<py::list>(h), "[", op,
                    "] indices must be a tuple of Tensors, got ",
                    std::string(py::str(py::type::of(h).attr("__name__"))));
  std::vector<TensorPtr> out;
  for (py::handle t : h) {
    FASTNN_CHECK_TYPE(is_tensor(t), "[", op, "] expected Tensor as element ", out.size(), " in indices, but got ",
                      std::string(py::str(py::type::of(t).attr("__name__"))));
    out.push_back(t.cast<TensorPtr>());
  }
  return out;
}

TensorPtr tensor_arg(py::handle h, const char* op, const char* what) {
  FASTNN_CHECK_TYPE(is_tensor(h), "[", op, "] ", what, " must be a Tensor, got ",
                    std::string(py::str(py::type::of(h).attr("__name__"))));
  return h.cast<TensorPtr>();
}

std::optional<std::string> reduce_arg(py::handle h, const char* op) {
  if (h.is_none()) return std::nullopt;
  return cast_arg<std::string>(h, op, "reduce", "a str");
}

// scatter's fourth argument: src (a Tensor) or value (a number), positionally or by keyword.
TensorPtr scatter_call(TensorPtr self, int64_t dim, const TensorPtr& index, py::handle src, py::handle value,
                       py::handle reduce, bool inplace) {
  const char* op = inplace ? "scatter_" : "scatter";
  FASTNN_CHECK_TYPE(src.is_none() != value.is_none(), "[", op,
                    "] expected exactly one of src (a Tensor) or value (a "
                    "number)");
  py::handle given = src.is_none() ? value : src;
  const bool is_src = is_tensor(given);
  FASTNN_CHECK_TYPE(is_src || is_operand(given), "[", op, "] src must be a Tensor or a number, got ",
                    std::string(py::str(py::type::of(given).attr("__name__"))));
  FASTNN_CHECK_TYPE(!(is_src && !value.is_none()), "[", op, "] value must be a number, got Tensor");
  TensorPtr s = operand(given, op);
  std::optional<std::string> r = reduce_arg(reduce, op);
  py::gil_scoped_release nogil;
  if (inplace) {
    if (is_src) scatter_(self, dim, index, s, r);
    else scatter_value_(self, dim, index, s, r);
    return self;
  }
  return is_src ? scatter(self, dim, index, s, r) : scatter_value(self, dim, index, s, r);
}

TensorPtr index_add_call(TensorPtr self, int64_t dim, const TensorPtr& index, const TensorPtr& source, py::handle alpha,
                         bool inplace) {
  const char* op = inplace ? "index_add_" : "index_add";
  FASTNN_CHECK_TYPE(!is_tensor(alpha) && is_operand(alpha), "[", op, "] alpha must be a number, got ",
                    std::string(py::str(py::type::of(alpha).attr("__name__"))));
  TensorPtr a = operand(alpha, op);
  py::gil_scoped_release nogil;
  if (!inplace) return index_add(self, dim, index, source, a);
  index_add_(self, dim, index, source, a);
  return self;
}

}  // namespace

void bind_index(py::module_& m, TensorClass& cls) {
  auto put = [](TensorPtr self, py::handle indices, py::handle values, bool accumulate, bool inplace) {
    const char* op = inplace ? "index_put_" : "index_put";
    std::vector<TensorPtr> idx = index_tensors(indices, op);
    TensorPtr v = tensor_arg(values, op, "values");
    py::gil_scoped_release nogil;
    if (!inplace) return index_put(self, idx, v, accumulate);
    index_put_(self, idx, v, accumulate);
    return self;
  };
  def_op(m, cls, "index_put_",
         recorded("index_put_",
                  [put](TensorPtr x, py::handle i, py::handle v, bool acc) { return put(x, i, v, acc, true); }),
         py::arg("indices"), py::arg("values"), py::arg("accumulate") = false);
  def_op(m, cls, "index_put",
         recorded("index_put",
                  [put](TensorPtr x, py::handle i, py::handle v, bool acc) { return put(x, i, v, acc, false); }),
         py::arg("indices"), py::arg("values"), py::arg("accumulate") = false);

  def_op(
      m, cls, "gather",
      [](const TensorPtr& x, int64_t dim, const TensorPtr& index, bool sparse_grad) {
        FASTNN_CHECK(!sparse_grad, "[gather] sparse_grad=True (a sparse gradient) is not supported");
        py::gil_scoped_release nogil;
        return gather(x, dim, index);
      },
      py::arg("dim"), py::arg("index"), py::kw_only(), py::arg("sparse_grad") = false);

  def_op(
      m, cls, "scatter",
      recorded("scatter", [](const TensorPtr& x, int64_t dim, const TensorPtr& index, py::handle src, py::handle value,
                             py::handle reduce) { return scatter_call(x, dim, index, src, value, reduce, false); }),
      py::arg("dim"), py::arg("index"), py::arg("src") = py::none(), py::kw_only(), py::arg("value") = py::none(),
      py::arg("reduce") = py::none());
  cls.def(
      "scatter_",
      recorded("scatter_", [](const TensorPtr& x, int64_t dim, const TensorPtr& index, py::handle src, py::handle value,
                              py::handle reduce) { return scatter_call(x, dim, index, src, value, reduce, true); }),
      py::arg("dim"), py::arg("index"), py::arg("src") = py::none(), py::kw_only(), py::arg("value") = py::none(),
      py::arg("reduce") = py::none());

  def_op(
      m, cls, "scatter_add",
      [](const TensorPtr& x, int64_t dim, const TensorPtr& index, const TensorPtr& src) {
        return scatter_add(x, dim, index, src);
      },
      py::arg("dim"), py::arg("index"), py::arg("src"), py::call_guard<py::gil_scoped_release>());
  cls.def("scatter_add_",
          recorded("scatter_add_",
                   [](TensorPtr x, int64_t dim, const TensorPtr& index, const TensorPtr& src) {
                     scatter_add_(x, dim, index, src);
                     return x;
                   }),
          py::arg("dim"), py::arg("index"), py::arg("src"), py::call_guard<py::gil_scoped_release>());

  def_op(m, cls, "index_add",
         recorded("index_add", [](const TensorPtr& x, int64_t dim, const TensorPtr& index, const TensorPtr& source,
                                  py::handle alpha) { return index_add_call(x, dim, index, source, alpha, false); }),
         py::arg("dim"), py::arg("index"), py::arg("source"), py::kw_only(), py::arg("alpha") = 1);
  cls.def("index_add_",
          recorded("index_add_", [](const TensorPtr& x, int64_t dim, const TensorPtr& index, const TensorPtr& source,
                                    py::handle alpha) { return index_add_call(x, dim, index, source, alpha, true); }),
          py::arg("dim"), py::arg("index"), py::arg("source"), py::kw_only(), py::arg("alpha") = 1);

  def_op(
      m, cls, "take_along_dim",
      [](const TensorPtr& x, const TensorPtr& indices, std::optional<int64_t> dim) {
        return take_along_dim(x, indices, dim);
      },
      py::arg("indices"), py::arg("dim") = py::none(), py::call_guard<py::gil_scoped_release>());
  def_op(
      m, cls, "masked_select",
      [](const TensorPtr& x, const TensorPtr& mask) {
        capture::refuse_value_read("masked_select: its result's shape depends on the values");
        return masked_select(x, mask);
      },
      py::arg("mask"), py::call_guard<py::gil_scoped_release>());
}

}  // namespace fastnn::bindings
