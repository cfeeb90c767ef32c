// Ops bound twice: as fastnn.<op>(input, ...) and as the Tensor method input.<op>(...).
#include "bindings/common.h"
#include "fastnn/error.h"

namespace fastnn::bindings {
namespace {

using GilRelease = py::call_guard<py::gil_scoped_release>;

// namedtuple classes for (values, indices) results; leaked on purpose (see module.cpp).
py::object& return_types() {
  static auto* types = new py::object();
  return *types;
}

// cat/stack's `tensors`: a sequence of Tensors (a Tensor is a sequence to Python, but not one here, as in torch).
std::vector<TensorPtr> tensor_sequence(py::handle h, const char* op) {
  if (is_tensor(h)) throw TypeError(str("[", op, "] tensors must be a sequence of Tensors, got Tensor"));
  return cast_arg<std::vector<TensorPtr>>(h, op, "tensors", "a sequence of Tensors");
}

template <TensorPtr (*F)(const std::vector<TensorPtr>&, int64_t)>
auto join(const char* op) {
  return [op](py::handle tensors, int64_t dim) {
    std::vector<TensorPtr> ts = tensor_sequence(tensors, op);
    py::gil_scoped_release nogil;
    return F(ts, dim);
  };
}

py::object values_indices(const char* name, std::pair<TensorPtr, TensorPtr> r) {
  return return_types()[name](py::cast(r.first), py::cast(r.second));
}

// torch.max / Tensor.max: whole tensor, along a dim (values, indices), or elementwise with a Tensor `other`.
py::object max_min(const TensorPtr& x, py::object dim, bool keepdim, bool is_max) {
  if (dim.is_none()) {
    TensorPtr r;
    {
      py::gil_scoped_release nogil;
      r = is_max ? max(x) : min(x);
    }
    return py::cast(r);
  }
  if (py::isinstance<Tensor>(dim)) {  // torch.max(a, b): elementwise, as maximum
    FASTNN_CHECK_TYPE(!keepdim, "[", is_max ? "max" : "min",
                      "] keepdim is not an argument of the elementwise form "
                      "(input, other)");
    TensorPtr other = dim.cast<TensorPtr>(), r;
    {
      py::gil_scoped_release nogil;
      r = is_max ? maximum(x, other) : minimum(x, other);
    }
    return py::cast(r);
  }
  int64_t d = int_arg(dim, is_max ? "max" : "min", "dim");
  std::pair<TensorPtr, TensorPtr> r;
  {
    py::gil_scoped_release nogil;
    r = is_max ? max(x, d, keepdim) : min(x, d, keepdim);
  }
  return values_indices(is_max ? "max" : "min", r);
}

// A clamp bound: None or a number. A Python float bound makes an integer input float, as in torch.
OptDouble bound_arg(py::handle h, const char* op, bool& float_bound) {
  if (h.is_none()) return std::nullopt;
  FASTNN_CHECK_TYPE(!py::isinstance<Tensor>(h), "[", op,
                    "] tensor bounds are not supported in place yet; pass numbers, or use clamp");
  TensorPtr v = operand(h, op);
  if (v->dtype() == DType::Float64) {
    float_bound = true;
    return *v->data<double>();
  }
  return v->dtype() == DType::Int64 ? double(*v->data<int64_t>()) : double(*v->data<bool>());
}

TensorPtr clamp_op(const TensorPtr& x, py::handle lo, py::handle hi) {
  if (py::isinstance<Tensor>(lo) || py::isinstance<Tensor>(hi)) {  // tensor bounds: selects, as torch's gradients
    FASTNN_CHECK_TYPE((lo.is_none() || py::isinstance<Tensor>(lo)) && (hi.is_none() || py::isinstance<Tensor>(hi)),
                      "[clamp] min and max must both be tensors or both numbers (or None), as torch takes them");
    const TensorPtr l = lo.is_none() ? nullptr : operand(lo, "clamp"),
                    h = hi.is_none() ? nullptr : operand(hi, "clamp");
    py::gil_scoped_release nogil;
    TensorPtr y = is_floating(x->dtype()) ? where(isnan(x), x->detach(), x) : x;  // a NaN gets no gradient (torch)
    if (l) y = where(compare(y, l, CompareOp::Lt), l, y);
    if (h) y = where(compare(y, h, CompareOp::Gt), h, y);
    return y;
  }
  bool float_bound = false;
  OptDouble l = bound_arg(lo, "clamp", float_bound), h = bound_arg(hi, "clamp", float_bound);
  py::gil_scoped_release nogil;
  return clamp(float_bound && !is_floating(x->dtype()) ? to_dtype(x, default_float_dtype()) : x, l, h);
}

// x ** e: a number exponent takes the scalar path (a float one makes an integer input float).
TensorPtr pow_op(const TensorPtr& x, const TensorPtr& e) {
  if (!e->is_wrapped_number() || e->dtype() == DType::Bool) return pow(x, e);
  if (e->dtype() == DType::Int64) return pow(x, double(*e->data<int64_t>()));
  return pow(is_floating(x->dtype()) ? x : to_dtype(x, default_float_dtype()), *e->data<double>());
}

std::optional<int64_t> opt_dim(py::handle h, const char* op) {
  if (h.is_none()) return std::nullopt;
  return int_arg(h, op, "dim");
}

}  // namespace

void bind_ops(py::module_& m, TensorClass& cls) {
  py::object namedtuple = py::module_::import("collections").attr("namedtuple");
  py::dict types;
  types["max"] = namedtuple("max", "values indices");
  types["min"] = namedtuple("min", "values indices");
  return_types() = types;

  // elementwise unary
  def_op(m, cls, "neg", [](const TensorPtr& x) { return neg(x); }, GilRelease());
  def_op(m, cls, "exp", [](const TensorPtr& x) { return exp(x); }, GilRelease());
  def_op(m, cls, "log", [](const TensorPtr& x) { return log(x); }, GilRelease());
  def_op(m, cls, "sqrt", [](const TensorPtr& x) { return sqrt(x); }, GilRelease());
  def_op(m, cls, "abs", [](const TensorPtr& x) { return abs(x); }, GilRelease());
  def_op(m, cls, "relu", [](const TensorPtr& x) { return relu(x); }, GilRelease());
  def_op(m, cls, "sigmoid", [](const TensorPtr& x) { return sigmoid(x); }, GilRelease());
  def_op(m, cls, "reciprocal", [](const TensorPtr& x) { return reciprocal(x); }, GilRelease());
  def_op(m, cls, "tanh", [](const TensorPtr& x) { return tanh(x); }, GilRelease());
  def_op(m, cls, "clamp", recorded("clamp", &clamp_op), py::arg("min") = py::none(), py::arg("max") = py::none());
  def_op(m, cls, "clip", recorded("clip", &clamp_op), py::arg("min") = py::none(), py::arg("max") = py::none());
  cls.def("clamp_",
          recorded("clamp_",
                   [](TensorPtr t, py::handle lo, py::handle hi) {
                     bool float_bound = false;
                     OptDouble l = bound_arg(lo, "clamp_", float_bound), h = bound_arg(hi, "clamp_", float_bound);
                     FASTNN_CHECK_TYPE(!float_bound || is_floating(t->dtype()),
                                       "[clamp_] result type float32 can't be cast to the "
                                       "desired output type ",
                                       dtype_name(t->dtype()));
                     py::gil_scoped_release nogil;
                     clamp_(t, l, h);
                     return t;
                   }),
          py::arg("min") = py::none(), py::arg("max") = py::none());
  // add, sub, mul, div and pow also take a number first, as torch's: fastnn.pow(2, x), fastnn.sub(1, x)
  def_op(m, cls, "pow",
         recorded("pow",
                  [](py::handle x, py::handle e) {
                    TensorPtr tx = operand(x, "pow"), te = operand(e, "pow");
                    FASTNN_CHECK_TYPE(!tx->is_wrapped_number() || !te->is_wrapped_number(),
                                      "[pow] expected a Tensor as the base or "
                                      "the exponent, got two numbers");
                    py::gil_scoped_release nogil;
                    return pow_op(tx, te);
                  }),
         py::arg("exponent"));
  cls.def("__pow__", recorded("__pow__", [](const TensorPtr& x, py::handle e) -> py::object {
            if (!is_operand(e)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
            TensorPtr te = operand(e, "pow");
            TensorPtr r;
            {
              py::gil_scoped_release nogil;
              r = pow_op(x, te);
            }
            return py::cast(r);  // with the GIL: it creates a Python object
          }));

  // elementwise binary
  def_op(
      m, cls, "add",
      [](py::handle a, py::handle b, double alpha) {
        auto run = [](const TensorPtr& a, const TensorPtr& b, double alpha) {
          py::gil_scoped_release nogil;
          return add(a, b, alpha);
        };
        return capture::call("add", run, operand(a, "add"), operand(b, "add"), alpha);
      },
      py::arg("other"), py::kw_only(), py::arg("alpha") = 1.0);
  def_op(
      m, cls, "sub",
      [](py::handle a, py::handle b, double alpha) {
        auto run = [](const TensorPtr& a, const TensorPtr& b, double alpha) {
          py::gil_scoped_release nogil;
          return sub(a, b, alpha);
        };
        return capture::call("sub", run, operand(a, "sub"), operand(b, "sub"), alpha);
      },
      py::arg("other"), py::kw_only(), py::arg("alpha") = 1.0);
  def_op(
      m, cls, "mul",
      [](py::handle a, py::handle b) {
        auto run = [](const TensorPtr& a, const TensorPtr& b) {
          py::gil_scoped_release nogil;
          return mul(a, b);
        };
        return capture::call("mul", run, operand(a, "mul"), operand(b, "mul"));
      },
      py::arg("other"));
  def_op(
      m, cls, "div",
      [](py::handle a, py::handle b) {
        auto run = [](const TensorPtr& a, const TensorPtr& b) {
          py::gil_scoped_release nogil;
          return div(a, b);
        };
        return capture::call("div", run, operand(a, "div"), operand(b, "div"));
      },
      py::arg("other"));
  static const std::pair<const char*, CompareOp> comparisons[] = {{"eq", CompareOp::Eq}, {"ne", CompareOp::Ne},
                                                                  {"lt", CompareOp::Lt}, {"le", CompareOp::Le},
                                                                  {"gt", CompareOp::Gt}, {"ge", CompareOp::Ge}};
  for (const auto& [name, op] : comparisons) {
    CompareOp o = op;
    const char* n = name;
    def_op(
        m, cls, name,
        [o, n](const TensorPtr& a, py::handle b) {
          auto run = [](const TensorPtr& a, const TensorPtr& b, CompareOp o) { return compare(a, b, o); };
          return capture::call(n, run, a, operand(b, n), o);
        },
        py::arg("other"));
  }

  // reductions
  m.attr("sum") = cls.attr("sum");
  m.attr("mean") = cls.attr("mean");
  def_op(
      m, cls, "max",
      recorded("max", [](const TensorPtr& x, py::object dim, bool keepdim) { return max_min(x, dim, keepdim, true); }),
      py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_op(
      m, cls, "min",
      recorded("min", [](const TensorPtr& x, py::object dim, bool keepdim) { return max_min(x, dim, keepdim, false); }),
      py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_op(m, cls, "argmax",
         recorded("argmax",
                  [](const TensorPtr& x, py::object dim, bool keepdim) {
                    const std::optional<int64_t> d = opt_dim(dim, "argmax");
                    py::gil_scoped_release nogil;
                    return argmax(x, d, keepdim);
                  }),
         py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_op(m, cls, "argmin",
         recorded("argmin",
                  [](const TensorPtr& x, py::object dim, bool keepdim) {
                    const std::optional<int64_t> d = opt_dim(dim, "argmin");
                    py::gil_scoped_release nogil;
                    return argmin(x, d, keepdim);
                  }),
         py::arg("dim") = py::none(), py::arg("keepdim") = false);

  def_op(
      m, cls, "index_select",
      [](const TensorPtr& x, int64_t dim, const TensorPtr& index) { return index_select(x, dim, index); },
      py::arg("dim"), py::arg("index"), GilRelease());

  m.def("cat", recorded("cat", join<cat>("cat")), py::arg("tensors"), py::arg("dim") = 0);
  m.def("concat", recorded("concat", join<cat>("cat")), py::arg("tensors"), py::arg("dim") = 0);
  m.def("stack", recorded("stack", join<stack>("stack")), py::arg("tensors"), py::arg("dim") = 0);

  // linear algebra
  def_op(
      m, cls, "matmul", [](const TensorPtr& a, const TensorPtr& b) { return matmul(a, b); }, py::arg("other"),
      GilRelease());
  def_op(m, cls, "mm", [](const TensorPtr& a, const TensorPtr& b) { return mm(a, b); }, py::arg("mat2"), GilRelease());
  def_op(
      m, cls, "bmm", [](const TensorPtr& a, const TensorPtr& b) { return bmm(a, b); }, py::arg("mat2"), GilRelease());
  def_op(
      m, cls, "addmm",
      [](const TensorPtr& bias, const TensorPtr& a, const TensorPtr& b, double beta, double alpha) {
        return addmm(bias, a, b, beta, alpha);
      },
      py::arg("mat1"), py::arg("mat2"), py::kw_only(), py::arg("beta") = 1.0, py::arg("alpha") = 1.0, GilRelease());

  // along a dim
  def_op(
      m, cls, "softmax", [](const TensorPtr& x, int64_t dim) { return softmax(x, dim); }, py::arg("dim"), GilRelease());
  def_op(
      m, cls, "log_softmax", [](const TensorPtr& x, int64_t dim) { return log_softmax(x, dim); }, py::arg("dim"),
      GilRelease());

  // shape functions at module level (methods are in tensor.cpp)
  m.def("flatten", recorded("flatten", &flatten), py::arg("input"), py::arg("start_dim") = 0, py::arg("end_dim") = -1);
  m.def("transpose", recorded("transpose", &transpose), py::arg("input"), py::arg("dim0"), py::arg("dim1"));
  m.def("t", recorded("t", &t), py::arg("input"));
  m.def("unsqueeze", recorded("unsqueeze", &unsqueeze), py::arg("input"), py::arg("dim"));
  m.def("reshape",
        recorded("reshape",
                 [](const TensorPtr& x, py::handle shape) {
                   FASTNN_CHECK_TYPE(py::isinstance<py::tuple>(shape) || py::isinstance<py::list>(shape),
                                     "[reshape] shape must be a ", "tuple of ints, got ",
                                     std::string(py::str(py::type::of(shape).attr("__name__"))));
                   IntList sizes;
                   for (py::handle h : shape) sizes.push_back(int_arg(h, "reshape", "shape"));
                   py::gil_scoped_release nogil;  // a reshape may copy
                   return reshape(x, sizes);
                 }),
        py::arg("input"), py::arg("shape"));
  m.def("permute",
        recorded("permute",
                 [](const TensorPtr& x, py::handle dims) {  // (a Tensor is not a sequence of dims here)
                   FASTNN_CHECK_TYPE(!is_tensor(dims), "[permute] dims must be a sequence of ints, got Tensor");
                   return permute(x, cast_arg<IntList>(dims, "permute", "dims", "a sequence of ints"));
                 }),
        py::arg("input"), py::arg("dims"));

  // nn.functional kernels (argument normalisation lives in python/fastnn/nn/functional.py)
  // conv2d and linear: fastnn.compile fuses them with a ReLU that alone reads their result
  m.def(
      "_conv2d",
      [](const TensorPtr& x, const TensorPtr& w, const OptionalTensor& b, const IntList& stride, const IntList& padding,
         const IntList& dilation, int64_t groups) {
        auto conv = [](bool relu) {
          return [relu](const TensorPtr& x, const TensorPtr& w, const OptionalTensor& b, const IntList& stride,
                        const IntList& padding, const IntList& dilation, int64_t groups) {
            return (relu ? conv2d_relu : conv2d)(x, w, or_null(b), stride, padding, dilation, groups);
          };
        };
        return capture::call_fusing_relu("_conv2d", conv(false), conv(true), x, w, b, stride, padding, dilation,
                                         groups);
      },
      GilRelease());
  m.def("_conv2d_relu",
        recorded("_conv2d_relu",
                 [](const TensorPtr& x, const TensorPtr& w, const OptionalTensor& b, const IntList& stride,
                    const IntList& padding, const IntList& dilation,
                    int64_t groups) { return conv2d_relu(x, w, or_null(b), stride, padding, dilation, groups); }),
        GilRelease());
  m.def("_max_pool2d_with_indices", recorded("_max_pool2d_with_indices", &max_pool2d_with_indices), GilRelease());
  m.def("_avg_pool2d", recorded("_avg_pool2d", &avg_pool2d), GilRelease());
  m.def("_linear_relu",
        recorded("_linear_relu", [](const TensorPtr& x, const TensorPtr& w,
                                    const OptionalTensor& b) { return linear_relu(x, w, or_null(b)); }),
        GilRelease());
  m.def(
      "_linear",
      [](const TensorPtr& x, const TensorPtr& w, const OptionalTensor& b) {
        auto lin = [](bool relu) {
          return [relu](const TensorPtr& x, const TensorPtr& w, const OptionalTensor& b) {
            return (relu ? linear_relu : linear)(x, w, or_null(b));
          };
        };
        return capture::call_fusing_relu("_linear", lin(false), lin(true), x, w, b);
      },
      GilRelease());
  m.def(
      "_mse_loss",
      recorded("_mse_loss", [](const TensorPtr& a, const TensorPtr& b, int r) { return mse_loss(a, b, Reduction(r)); }),
      GilRelease());
  m.def("_nll_loss",
        recorded("_nll_loss", [](const TensorPtr& a, const TensorPtr& b, const OptionalTensor& w, int r,
                                 int64_t ignore) { return nll_loss(a, b, or_null(w), Reduction(r), ignore); }),
        GilRelease());
  m.def("_cross_entropy",
        recorded("_cross_entropy",
                 [](const TensorPtr& a, const TensorPtr& b, const OptionalTensor& w, int r, int64_t ignore, double ls) {
                   return cross_entropy(a, b, or_null(w), Reduction(r), ignore, ls);
                 }),
        GilRelease());

  // factories (shape/dtype normalisation lives in python/fastnn/_factories.py)
  m.def("_empty", recorded("_empty", &empty), GilRelease());
  m.def("_zeros", recorded("_zeros", &zeros), GilRelease());
  m.def("_full", recorded("_full", [](const Shape& shape, py::handle value, DType dtype, const std::string& op) {
          TensorPtr v = operand(value, op.c_str());
          py::gil_scoped_release nogil;
          return full(shape, v, dtype, op.c_str());
        }));
  m.def("_arange", recorded("_arange", &arange), GilRelease());
  m.def("_eye", recorded("_eye", &eye), GilRelease());
  m.def("_result_type", [](const TensorPtr& a, const TensorPtr& b) { return result_type({a.get(), b.get()}); });
  // torch's dtype queries: tensors or Python numbers; dtypes.
  m.def(
      "result_type",
      [](py::handle a, py::handle b) {
        return result_type({operand(a, "result_type").get(), operand(b, "result_type").get()});
      },
      py::arg("tensor1"), py::arg("tensor2"));
  m.def("promote_types", [](DType a, DType b) { return promote(a, b); }, py::arg("type1"), py::arg("type2"));
  m.def(
      "can_cast", [](DType from, DType to) { return category(from) <= category(to); }, py::arg("from_"), py::arg("to"));
}

}  // namespace fastnn::bindings
