// Rearranging ops, small products and einsum: fastnn.<op>(input, ...) and, where torch has it, Tensor.<op>.
#include "bindings/common.h"
#include "fastnn/error.h"

namespace fastnn::bindings {
namespace {

using GilRelease = py::call_guard<py::gil_scoped_release>;

py::tuple tuple_of(const std::vector<TensorPtr>& ts) {
  py::tuple r(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) r[i] = py::cast(ts[i]);
  return r;
}

// Sizes or dims given as f(a, b), f((a, b)) or f([a, b]) (Tensor.repeat, Tensor.flip, Tensor.tile).
IntList varargs(const py::args& args, const char* op, const char* what) {
  py::handle seq = args;
  if (args.size() == 1 && (py::isinstance<py::tuple>(args[0]) || py::isinstance<py::list>(args[0]))) seq = args[0];
  IntList out;
  for (py::handle h : seq) out.push_back(int_arg(h, op, what));
  return out;
}

// An int or a sequence of ints.
IntList ints(py::handle h, const char* op, const char* what) {
  if (py::isinstance<py::tuple>(h) || py::isinstance<py::list>(h)) {
    IntList out;
    for (py::handle d : h) out.push_back(int_arg(d, op, what));
    return out;
  }
  return {int_arg(h, op, what)};
}

std::optional<int64_t> opt_int(py::handle h, const char* op, const char* what) {
  if (h.is_none()) return std::nullopt;
  return int_arg(h, op, what);
}

py::tuple split_op(const TensorPtr& t, py::handle size, int64_t dim) {
  std::vector<TensorPtr> r;
  if (py::isinstance<py::tuple>(size) || py::isinstance<py::list>(size)) {
    IntList sizes = ints(size, "split", "split_size");
    py::gil_scoped_release nogil;
    r = split_with_sizes(t, sizes, dim);
  } else {
    int64_t s = int_arg(size, "split", "split_size");
    py::gil_scoped_release nogil;
    r = split(t, s, dim);
  }
  return tuple_of(r);
}

py::tuple tensor_split_op(const TensorPtr& t, py::handle spec, int64_t dim) {
  if (is_tensor(spec)) {  // a 0-d int64 tensor is a number of sections, a 1-d one the indices
    TensorPtr s = spec.cast<TensorPtr>();
    FASTNN_CHECK_TYPE(s->dtype() == DType::Int64 && s->dim() <= 1,
                      "[tensor_split] tensor_split expected "
                      "tensor_indices_or_sections to be a zero-dimensional or one-dimensional int64 tensor, but got a "
                      "tensor with ",
                      s->dim(), " dims of dtype ", dtype_name(s->dtype()));
    TensorPtr c = contiguous(s);
    if (s->dim() == 0) return tuple_of(tensor_split(t, *c->data<int64_t>(), dim));
    return tuple_of(tensor_split(t, IntList(c->data<int64_t>(), c->data<int64_t>() + c->numel()), dim));
  }
  if (py::isinstance<py::tuple>(spec) || py::isinstance<py::list>(spec))
    return tuple_of(tensor_split(t, ints(spec, "tensor_split", "indices"), dim));
  return tuple_of(tensor_split(t, int_arg(spec, "tensor_split", "sections"), dim));
}

TensorPtr repeat_interleave_op(const TensorPtr& t, py::handle repeats, py::handle dim, py::handle output_size) {
  std::optional<int64_t> d = opt_int(dim, "repeat_interleave", "dim");
  std::optional<int64_t> n = opt_int(output_size, "repeat_interleave", "output_size");
  if (repeats.is_none()) {
    FASTNN_CHECK_TYPE(!d, "[repeat_interleave] dim needs repeats");
    return repeat_interleave(t, n);  // repeat_interleave(repeats): t holds the repeats
  }
  if (is_tensor(repeats)) return repeat_interleave(t, repeats.cast<TensorPtr>(), d, n);
  return repeat_interleave(t, int_arg(repeats, "repeat_interleave", "repeats"), d, n);
}

// swapaxes/swapdims: transpose with errors that name the alias.
auto swap_op(const char* op) {
  return [op](const TensorPtr& t, int64_t a, int64_t b) {
    return transpose(t, wrap_dim(a, t->dim(), op), wrap_dim(b, t->dim(), op));
  };
}

auto movedim_op(const char* op) {
  return [op](const TensorPtr& t, py::handle src, py::handle dst) {
    IntList s = ints(src, op, "source"), d = ints(dst, op, "destination");
    for (int64_t v : s) wrap_dim(v, t->dim(), op);
    for (int64_t v : d) wrap_dim(v, t->dim(), op);
    return movedim(t, s, d);
  };
}

TensorPtr flip_lr_ud(const TensorPtr& t, bool lr) {
  const char* op = lr ? "fliplr" : "flipud";
  FASTNN_CHECK(t->dim() >= (lr ? 2 : 1), "[", op, "] Input must be >= ", lr ? 2 : 1, "-d.");
  return flip(t, {lr ? 1 : 0});
}

TensorPtr tile_op(const TensorPtr& t, const IntList& dims) {
  for (int64_t r : dims)
    FASTNN_CHECK(r >= 0, "[tile] Trying to create tensor with negative dimension ", r, ": ", shape_str(dims));
  return tile(t, dims);
}

TensorPtr outer_op(const TensorPtr& a, const TensorPtr& b, const char* op) {
  FASTNN_CHECK(a->dim() == 1, "[", op, "] outer: Expected 1-D argument self, but got ", a->dim(), "-D");
  FASTNN_CHECK(b->dim() == 1, "[", op, "] outer: Expected 1-D argument vec2, but got ", b->dim(), "-D");
  return outer(a, b);
}

}  // namespace

void bind_shape(py::module_& m, TensorClass& cls) {
  // splits (tuples of views)
  def_op(
      m, cls, "chunk", [](const TensorPtr& t, int64_t chunks, int64_t dim) { return tuple_of(chunk(t, chunks, dim)); },
      py::arg("chunks"), py::arg("dim") = 0);
  m.def("split", recorded("split", &split_op), py::arg("tensor"), py::arg("split_size_or_sections"),
        py::arg("dim") = 0);
  cls.def("split", recorded("split", &split_op), py::arg("split_size"), py::arg("dim") = 0);
  def_op(m, cls, "tensor_split", recorded("tensor_split", &tensor_split_op), py::arg("indices_or_sections"),
         py::arg("dim") = 0);
  def_op(
      m, cls, "unbind", [](const TensorPtr& t, int64_t dim) { return tuple_of(unbind(t, dim)); }, py::arg("dim") = 0);
  def_op(m, cls, "narrow", recorded("narrow", &narrow), py::arg("dim"), py::arg("start"), py::arg("length"));

  // dims
  def_op(m, cls, "movedim", recorded("movedim", movedim_op("movedim")), py::arg("source"), py::arg("destination"));
  def_op(m, cls, "moveaxis", recorded("moveaxis", movedim_op("moveaxis")), py::arg("source"), py::arg("destination"));
  def_op(m, cls, "swapaxes", recorded("swapaxes", swap_op("swapaxes")), py::arg("axis0"), py::arg("axis1"));
  def_op(m, cls, "swapdims", recorded("swapdims", swap_op("swapdims")), py::arg("dim0"), py::arg("dim1"));
  m.def("squeeze",
        recorded("squeeze",
                 [](const TensorPtr& t, py::handle dim) {
                   if (dim.is_none()) return squeeze(t);
                   if (py::isinstance<py::tuple>(dim) || py::isinstance<py::list>(dim))
                     return squeeze(t, ints(dim, "squeeze", "dim"));
                   return squeeze(t, int_arg(dim, "squeeze", "dim"));
                 }),
        py::arg("input"), py::arg("dim") = py::none());
  def_op(m, cls, "unflatten",
         recorded("unflatten", [](const TensorPtr& t, int64_t dim,
                                  py::handle sizes) { return unflatten(t, dim, ints(sizes, "unflatten", "sizes")); }),
         py::arg("dim"), py::arg("sizes"));

  // reordering and repeating copies
  m.def("flip",
        recorded("flip", [](const TensorPtr& t, py::handle dims) { return flip(t, ints(dims, "flip", "dims")); }),
        py::arg("input"), py::arg("dims"));
  cls.def("flip",
          recorded("flip", [](const TensorPtr& t, py::args dims) { return flip(t, varargs(dims, "flip", "dims")); }));
  def_op(m, cls, "fliplr", [](const TensorPtr& t) { return flip_lr_ud(t, true); });
  def_op(m, cls, "flipud", [](const TensorPtr& t) { return flip_lr_ud(t, false); });
  def_op(m, cls, "roll",
         recorded("roll",
                  [](const TensorPtr& t, py::handle shifts, py::handle dims) {
                    IntList s = ints(shifts, "roll", "shifts"),
                            d = dims.is_none() ? IntList{} : ints(dims, "roll", "dims");
                    py::gil_scoped_release nogil;
                    return roll(t, s, d);
                  }),
         py::arg("shifts"), py::arg("dims") = py::none());
  cls.def("repeat", recorded("repeat", [](const TensorPtr& t, py::args repeats) {
            IntList r = varargs(repeats, "repeat", "repeats");
            py::gil_scoped_release nogil;
            return repeat(t, r);
          }));
  m.def("tile",
        recorded("tile", [](const TensorPtr& t, py::handle dims) { return tile_op(t, ints(dims, "tile", "dims")); }),
        py::arg("input"), py::arg("dims"));
  cls.def("tile", recorded("tile", [](const TensorPtr& t, py::args dims) {
            return tile_op(t, varargs(dims, "tile", "dims"));
          }));
  def_op(m, cls, "repeat_interleave", recorded("repeat_interleave", &repeat_interleave_op),
         py::arg("repeats") = py::none(), py::arg("dim") = py::none(), py::kw_only(),
         py::arg("output_size") = py::none());

  // triangles and diagonals
  def_op(m, cls, "tril", recorded("tril", &tril), py::arg("diagonal") = 0, GilRelease());
  def_op(m, cls, "triu", recorded("triu", &triu), py::arg("diagonal") = 0, GilRelease());
  def_op(m, cls, "diag", recorded("diag", &diag), py::arg("diagonal") = 0, GilRelease());
  def_op(m, cls, "diagonal", recorded("diagonal", &diagonal), py::arg("offset") = 0, py::arg("dim1") = 0,
         py::arg("dim2") = 1);
  def_op(m, cls, "diag_embed", recorded("diag_embed", &diag_embed), py::arg("offset") = 0, py::arg("dim1") = -2,
         py::arg("dim2") = -1, GilRelease());

  // products
  def_op(m, cls, "dot", recorded("dot", &dot), py::arg("tensor"), GilRelease());
  def_op(
      m, cls, "outer", [](const TensorPtr& a, const TensorPtr& b) { return outer_op(a, b, "outer"); }, py::arg("vec2"),
      GilRelease());
  def_op(
      m, cls, "ger", [](const TensorPtr& a, const TensorPtr& b) { return outer_op(a, b, "ger"); }, py::arg("vec2"),
      GilRelease());
  def_op(m, cls, "mv", recorded("mv", &mv), py::arg("vec"), GilRelease());
  def_op(m, cls, "addmv", recorded("addmv", &addmv), py::arg("mat"), py::arg("vec"), py::kw_only(),
         py::arg("beta") = 1.0, py::arg("alpha") = 1.0, GilRelease());
  def_op(m, cls, "baddbmm", recorded("baddbmm", &baddbmm), py::arg("batch1"), py::arg("batch2"), py::kw_only(),
         py::arg("beta") = 1.0, py::arg("alpha") = 1.0, GilRelease());
  def_op(m, cls, "addbmm", recorded("addbmm", &addbmm), py::arg("batch1"), py::arg("batch2"), py::kw_only(),
         py::arg("beta") = 1.0, py::arg("alpha") = 1.0, GilRelease());
  m.def("einsum",
        recorded("einsum",
                 [](py::handle equation, py::args operands) {
                   FASTNN_CHECK_TYPE(py::isinstance<py::str>(equation),
                                     "[einsum] einsum(): argument 'equation' (position 1) must be "
                                     "str, not ",
                                     std::string(py::str(py::type::of(equation).attr("__name__"))));
                   py::handle ops = operands;
                   if (operands.size() == 1 &&
                       (py::isinstance<py::list>(operands[0]) || py::isinstance<py::tuple>(operands[0])))
                     ops = operands[0];
                   std::vector<TensorPtr> ts;
                   size_t i = 0;
                   for (py::handle h : ops) {
                     FASTNN_CHECK_TYPE(is_tensor(h), "[einsum] expected Tensor as element ", i,
                                       " in argument 1, but got ",
                                       std::string(py::str(py::type::of(h).attr("__name__"))));
                     ts.push_back(h.cast<TensorPtr>());
                     ++i;
                   }
                   std::string eq = equation.cast<std::string>();
                   py::gil_scoped_release nogil;
                   return einsum(eq, ts);
                 }),
        py::arg("equation"));

  // helpers
  m.def("numel", [](const TensorPtr& t) { return t->numel(); }, py::arg("input"));
  m.def("is_floating_point", [](const TensorPtr& t) { return is_floating(t->dtype()); }, py::arg("input"));
  m.def("_one_hot", recorded("_one_hot", &one_hot), GilRelease());
  m.def("_linspace", recorded("_linspace", &linspace), GilRelease());
  m.def("_logspace", recorded("_logspace", &logspace), GilRelease());
}

}  // namespace fastnn::bindings
