// More elementwise ops, bound as fastnn.<op>(input, ...) and Tensor.<op>(...), with their in-place
// forms, the % and // operators, where/masked_fill/nonzero and the closeness tests.
#include "bindings/common.h"
#include "fastnn/error.h"
#include "fastnn/ops/bitwise.h"

namespace fastnn::bindings {
namespace {

using GilRelease = py::call_guard<py::gil_scoped_release>;
using Unary = TensorPtr (*)(const TensorPtr&);
using Binary = TensorPtr (*)(const TensorPtr&, const TensorPtr&);

TensorPtr run_binary(Binary op, const TensorPtr& a, const TensorPtr& b) {
  GilReleaseUnlessTiny nogil(a->numel() + b->numel());
  return op(a, b);
}

// a op b for Tensors or numbers (at least one a Tensor).
TensorPtr call_binary(Binary op, py::handle a, py::handle b, const char* name) {
  TensorPtr ta = operand(a, name), tb = operand(b, name);
  FASTNN_CHECK_TYPE(!ta->is_wrapped_number() || !tb->is_wrapped_number(), "[", name,
                    "] expected a Tensor as the input or the other operand, got two numbers");
  return capture::call(name, run_binary, op, ta, tb);
}

// An operator method (x % y, y % x): NotImplemented for operands that are not numbers or Tensors.
template <bool Reflected>
auto operator_method(Binary op, const char* name) {
  return [op, name](const TensorPtr& self, py::handle other) -> py::object {
    if (!is_operand(other)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
    TensorPtr o = operand(other, name);
    return py::cast(Reflected ? capture::call(name, run_binary, op, o, self)
                              : capture::call(name, run_binary, op, self, o));
  };
}

// self op= other, returning self.
auto inplace_method(Binary op, const char* name) {
  return [op, name](TensorPtr self, py::handle other) {
    auto run = [](Binary op, const char* name, TensorPtr t, const TensorPtr& o) {
      GilReleaseUnlessTiny nogil(t->numel() + o->numel());
      apply_(t, o, op, name);
      return t;
    };
    return capture::call(name, run, op, name, self, operand(other, name));
  };
}

py::object nonzero_tuple(const TensorPtr& x) {
  TensorPtr nz;
  {
    py::gil_scoped_release nogil;
    nz = nonzero(x);
  }
  py::tuple out(std::max<int64_t>(x->dim(), 1));
  if (x->dim() == 0) {                                         // a 0-d input counts as one dimension
    out[0] = py::cast(zeros({nz->shape()[0]}, DType::Int64));  // index 0, once if x is nonzero
    return out;
  }
  for (int64_t d = 0; d < x->dim(); ++d) out[d] = py::cast(contiguous(select(nz, 1, d)));
  return out;
}

// torch's alias of trunc, named in its own errors.
TensorPtr fix(const TensorPtr& x) {
  FASTNN_CHECK_TYPE(!x || x->dtype() != DType::Bool, "[fix] not supported for bool tensors");
  return trunc(x);
}

// value of masked_fill: a number or a 0-d Tensor (named in errors as masked_fill's `value`).
TensorPtr fill_value(py::handle h, const char* op) {
  if (!is_operand(h))
    throw TypeError(str("[", op, "] value must be a number or a 0-d Tensor, got ",
                        std::string(py::str(py::type::of(h).attr("__name__")))));
  return operand(h, op);
}

}  // namespace

void bind_elementwise(py::module_& m, TensorClass& cls) {
  // unary, out of place and in place
  struct UnaryRow {
    const char *name, *inplace;
    Unary fn;
  };
  static const UnaryRow unary[] = {{"sign", "sign_", &sign},
                                   {"floor", "floor_", &floor},
                                   {"ceil", "ceil_", &ceil},
                                   {"trunc", "trunc_", &trunc},
                                   {"fix", "fix_", &fix},
                                   {"sin", "sin_", &sin},
                                   {"cos", "cos_", &cos},
                                   {"tan", "tan_", &tan},
                                   {"log1p", "log1p_", &log1p},
                                   {"expm1", "expm1_", &expm1},
                                   {"erf", "erf_", &erf},
                                   {"log2", "log2_", &log2},
                                   {"log10", "log10_", &log10},
                                   {"rsqrt", "rsqrt_", &rsqrt},
                                   {"exp2", "exp2_", &exp2},
                                   {"square", "square_", &square},
                                   {"logical_not", "logical_not_", &logical_not},
                                   {"bitwise_not", "bitwise_not_", &bitwise_not}};
  for (const UnaryRow& row : unary) {
    Unary f = row.fn;
    const char* iname = row.inplace;
    def_op(m, cls, row.name, [f](const TensorPtr& x) { return f(x); }, GilRelease());
    cls.def(
        iname,
        [f, iname](TensorPtr x) {
          apply_(x, f, iname);
          return x;
        },
        GilRelease());
  }
  for (const auto& [name, fn] :
       {std::pair<const char*, Unary>{"isnan", &isnan}, {"isinf", &isinf}, {"isfinite", &isfinite}}) {
    Unary f = fn;
    def_op(m, cls, name, [f](const TensorPtr& x) { return f(x); }, GilRelease());
  }
  // round(x) is RoundBackward0; round(x, decimals=d) rounds to d places (RoundBackward1), floats only
  def_op(
      m, cls, "round",
      [](const TensorPtr& x, std::optional<int64_t> decimals) { return decimals ? round(x, *decimals) : round(x); },
      py::kw_only(), py::arg("decimals") = py::none(), GilRelease());
  cls.def("round_",
          recorded("round_",
                   [](TensorPtr x, std::optional<int64_t> decimals) {
                     if (decimals) apply_(x, [d = *decimals](const TensorPtr& s) { return round(s, d); }, "round_");
                     else apply_(x, [](const TensorPtr& s) { return round(s); }, "round_");
                     return x;
                   }),
          py::kw_only(), py::arg("decimals") = py::none(), GilRelease());
  m.def("_softplus", recorded("_softplus", &softplus), GilRelease());
  m.def("_silu", recorded("_silu", &silu), GilRelease());
  m.def("_log_sigmoid", recorded("_log_sigmoid", &log_sigmoid), GilRelease());

  // binary: tensors only (as torch's maximum, atan2 and the logical ops)
  static const std::pair<const char*, Binary> tensor_binary[] = {
      {"maximum", &maximum},         {"minimum", &minimum},         {"atan2", &atan2},
      {"arctan2", &atan2},           {"logical_and", &logical_and}, {"logical_or", &logical_or},
      {"logical_xor", &logical_xor}, {"bitwise_and", &bitwise_and}, {"bitwise_or", &bitwise_or},
      {"bitwise_xor", &bitwise_xor}};
  for (const auto& [name, fn] : tensor_binary) {
    Binary f = fn;
    def_op(
        m, cls, name, [f](const TensorPtr& a, const TensorPtr& b) { return f(a, b); }, py::arg("other"), GilRelease());
  }
  for (const auto& [name, fn] : {std::pair<const char*, Binary>{"atan2_", &atan2},
                                 {"arctan2_", &atan2},
                                 {"logical_and_", &logical_and},
                                 {"logical_or_", &logical_or},
                                 {"logical_xor_", &logical_xor},
                                 {"bitwise_and_", &bitwise_and},
                                 {"bitwise_or_", &bitwise_or},
                                 {"bitwise_xor_", &bitwise_xor}}) {
    Binary f = fn;
    const char* n = name;
    cls.def(
        name,
        [f, n](TensorPtr x, const TensorPtr& o) {
          apply_(x, o, f, n);
          return x;
        },
        py::arg("other"), GilRelease());
  }
  // binary with a number on either side (fmod: the other side only)
  def_op(
      m, cls, "fmod", [](const TensorPtr& a, py::handle b) { return call_binary(&fmod, py::cast(a), b, "fmod"); },
      py::arg("other"));
  def_op(
      m, cls, "remainder", [](py::handle a, py::handle b) { return call_binary(&remainder, a, b, "remainder"); },
      py::arg("other"));
  def_op(
      m, cls, "floor_divide",
      [](py::handle a, py::handle b) { return call_binary(&floor_divide, a, b, "floor_divide"); }, py::arg("other"));
  cls.def("fmod_", inplace_method(&fmod, "fmod_"), py::arg("other"));
  cls.def("remainder_", inplace_method(&remainder, "remainder_"), py::arg("other"));
  cls.def("floor_divide_", inplace_method(&floor_divide, "floor_divide_"), py::arg("other"));
  cls.def("__mod__", operator_method<false>(&remainder, "remainder"));
  cls.def("__rmod__", operator_method<true>(&remainder, "remainder"));
  cls.def("__imod__", inplace_method(&remainder, "remainder_"));
  cls.def("__floordiv__", operator_method<false>(&floor_divide, "floor_divide"));
  cls.def("__rfloordiv__", operator_method<true>(&floor_divide, "floor_divide"));
  cls.def("__ifloordiv__", inplace_method(&floor_divide, "floor_divide_"));

  // comparison aliases (torch.greater is torch.gt)
  static const std::pair<const char*, CompareOp> aliases[] = {{"greater", CompareOp::Gt},
                                                              {"greater_equal", CompareOp::Ge},
                                                              {"less", CompareOp::Lt},
                                                              {"less_equal", CompareOp::Le},
                                                              {"not_equal", CompareOp::Ne}};
  for (const auto& [name, op] : aliases) {
    CompareOp o = op;
    const char* n = name;
    def_op(m, cls, name,
           recorded(name, [o, n](const TensorPtr& a, py::handle b) { return compare(a, operand(b, n), o); }),
           py::arg("other"));
  }

  // closeness
  def_op(
      m, cls, "isclose",
      [](const TensorPtr& a, const TensorPtr& b, double rtol, double atol, bool equal_nan) {
        return isclose(a, b, rtol, atol, equal_nan);
      },
      py::arg("other"), py::arg("rtol") = 1e-05, py::arg("atol") = 1e-08, py::arg("equal_nan") = false, GilRelease());
  def_op(m, cls, "allclose", value_read("allclose", &allclose), py::arg("other"), py::arg("rtol") = 1e-05,
         py::arg("atol") = 1e-08, py::arg("equal_nan") = false, GilRelease());
  def_op(m, cls, "equal", value_read("equal", &equal), py::arg("other"), GilRelease());

  // selection
  m.def("where",
        recorded("where",
                 [](const TensorPtr& cond, py::object input, py::object other) -> py::object {
                   if (input.is_none() && other.is_none()) return nonzero_tuple(cond);
                   FASTNN_CHECK_TYPE(!input.is_none() && !other.is_none(),
                                     "[where] expected both input and other (or neither, "
                                     "for the indices of the nonzero elements of condition)");
                   TensorPtr a = operand(input, "where"), b = operand(other, "where"), r;
                   {
                     GilReleaseUnlessTiny nogil(cond->numel() + a->numel() + b->numel());
                     r = where(cond, a, b);
                   }
                   return py::cast(r);
                 }),
        py::arg("condition"), py::arg("input") = py::none(), py::arg("other") = py::none());
  cls.def("where",
          recorded("where",
                   [](const TensorPtr& self, const TensorPtr& cond, py::handle other) {
                     TensorPtr b = operand(other, "where");
                     py::gil_scoped_release nogil;
                     return where(cond, self, b);
                   }),
          py::arg("condition"), py::arg("other"));
  def_op(m, cls, "masked_fill",
         recorded("masked_fill",
                  [](const TensorPtr& x, const TensorPtr& mask, py::handle value) {
                    TensorPtr v = fill_value(value, "masked_fill");
                    py::gil_scoped_release nogil;
                    return masked_fill(x, mask, v);
                  }),
         py::arg("mask"), py::arg("value"));
  cls.def("masked_fill_",
          recorded("masked_fill_",
                   [](TensorPtr x, const TensorPtr& mask, py::handle value) {
                     TensorPtr v = fill_value(value, "masked_fill_");
                     {
                       py::gil_scoped_release nogil;
                       masked_fill_(x, mask, v);
                     }
                     return x;
                   }),
          py::arg("mask"), py::arg("value"));
  def_op(
      m, cls, "nonzero",
      [](const TensorPtr& x, bool as_tuple) -> py::object {
        capture::refuse_value_read("nonzero: its result's shape depends on the values");
        if (as_tuple) return nonzero_tuple(x);
        TensorPtr r;
        {
          py::gil_scoped_release nogil;
          r = nonzero(x);
        }
        return py::cast(r);
      },
      py::kw_only(), py::arg("as_tuple") = false);
  def_op(
      m, cls, "argwhere",
      [](const TensorPtr& x) {
        capture::refuse_value_read("argwhere: its result's shape depends on the values");
        return nonzero(x);
      },
      GilRelease());
}

}  // namespace fastnn::bindings
