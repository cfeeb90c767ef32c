// Reductions beyond sum/mean/max/min, scans and sorting, bound as fastnn.<op>(input, ...) and
// Tensor.<op>(...) with torch's argument names, defaults and result types.
#include <cmath>

#include "bindings/common.h"
#include "fastnn/error.h"

namespace fastnn::bindings {
namespace {

using GilRelease = py::call_guard<py::gil_scoped_release>;
using Pair = std::pair<TensorPtr, TensorPtr>;

// namedtuple classes (torch.return_types) for (values, indices) results; leaked on purpose (see module.cpp).
py::dict& result_types() {
  static auto* types = new py::dict();
  return *types;
}

// Runs `f` (returning a pair) without the GIL and wraps the pair as the namedtuple `name`.
template <class F>
py::object named_pair(const char* name, const F& f) {
  Pair r;
  {
    py::gil_scoped_release nogil;
    r = f();
  }
  return result_types()[name](py::cast(r.first), py::cast(r.second));
}

// `dim` as None (every dim: an empty list) or an int or a sequence of ints.
IntList dims_or_all(py::handle dim, const char* op) { return dim.is_none() ? IntList{} : dims_arg(dim, op); }

std::optional<DType> opt_dtype_arg(py::handle h, const char* op) {
  if (h.is_none()) return std::nullopt;
  return cast_arg<DType>(h, op, "dtype", "a fastnn.dtype");
}

bool bool_arg(py::handle h, const char* op, const char* what) {
  if (!PyBool_Check(h.ptr()))
    throw TypeError(
        str("[", op, "] ", what, " must be a bool, got ", std::string(py::str(py::type::of(h).attr("__name__")))));
  return h.ptr() == Py_True;
}

double number_arg(py::handle h, const char* op, const char* what) {
  if (PyBool_Check(h.ptr()) || !(PyFloat_Check(h.ptr()) || PyIndex_Check(h.ptr())))
    throw TypeError(
        str("[", op, "] ", what, " must be a number, got ", std::string(py::str(py::type::of(h).attr("__name__")))));
  return PyFloat_Check(h.ptr()) ? PyFloat_AsDouble(h.ptr()) : double(int_arg(h, op, what));
}

// var/std's arguments, torch's three forms: (dim, unbiased, keepdim), (dim, *, correction, keepdim) and (unbiased).
struct VarArgs {
  IntList dims;
  double correction = 1;
  bool keepdim = false;
};

VarArgs var_args(const TensorPtr& x, py::handle dim, py::handle unbiased, bool keepdim, py::handle correction,
                 const char* op) {
  VarArgs a;
  a.keepdim = keepdim;
  if (PyBool_Check(dim.ptr())) {  // x.var(False): the legacy (unbiased) form
    FASTNN_CHECK_TYPE(unbiased.is_none(), "[", op, "] dim must be an int or a tuple of ints, got bool");
    unbiased = dim;
    dim = py::none();
  }
  a.dims = dims_or_all(dim, op);
  FASTNN_CHECK_TYPE(unbiased.is_none() || correction.is_none(), "[", op,
                    "] pass either unbiased or correction, not both");
  if (!unbiased.is_none()) a.correction = bool_arg(unbiased, op, "unbiased") ? 1 : 0;
  if (!correction.is_none()) a.correction = number_arg(correction, op, "correction");
  // torch warns (and returns inf or nan) when the degrees of freedom are not positive
  double n = 1;
  if (a.dims.empty()) n = double(x->numel());
  for (int64_t d : a.dims) n *= x->dim() ? double(x->shape()[wrap_dim(d, x->dim(), op)]) : 1.0;
  if (n - a.correction <= 0 && is_floating(x->dtype())) {
    std::string msg = str(op[0] == 's' ? "std" : "var",
                          "(): degrees of freedom is <= 0. Correction should be strictly "
                          "less than the reduction factor (input numel divided by output numel).");
    if (PyErr_WarnEx(PyExc_UserWarning, msg.c_str(), 1) < 0) throw py::error_already_set();
  }
  return a;
}

// torch.norm's p: a number, or 'fro' (the 2-norm of the elements); the nuclear norm is not supported.
double norm_p(py::handle p) {
  if (py::isinstance<py::str>(p)) {
    std::string s = p.cast<std::string>();
    if (s == "fro") return 2;
    FASTNN_CHECK(s != "nuc", "[norm] the nuclear norm (p='nuc') is not supported");
    throw std::invalid_argument(str("[norm] Order ", s, " not supported."));
  }
  return number_arg(p, "norm", "p");
}

// topk/sort's largest/descending: one direction of the same ordering.
py::object sort_op(const TensorPtr& x, int64_t dim, bool descending, py::handle stable) {
  if (!stable.is_none()) bool_arg(stable, "sort", "stable");  // every sort here is stable
  return named_pair("sort", [&] { return sort(x, dim, descending); });
}

}  // namespace

void bind_reduce(py::module_& m, TensorClass& cls) {
  py::object namedtuple = py::module_::import("collections").attr("namedtuple");
  for (const char* name : {"sort", "topk", "kthvalue", "median", "cummax", "cummin"})
    result_types()[name] = namedtuple(name, "values indices");

  // any / all: dim=() reduces nothing (as torch)
  for (bool is_any : {true, false}) {
    const char* name = is_any ? "any" : "all";
    def_op(m, cls, name,
           recorded(name,
                    [is_any, name](const TensorPtr& x, py::handle dim, bool keepdim) {
                      bool none = !dim.is_none() && dims_arg(dim, name).empty();
                      IntList dims = dims_or_all(dim, name);
                      py::gil_scoped_release nogil;
                      if (none) return compare(x, scalar_tensor(0, DType::Bool, true), CompareOp::Ne);
                      return is_any ? any(x, dims, keepdim) : all(x, dims, keepdim);
                    }),
           py::arg("dim") = py::none(), py::arg("keepdim") = false);
  }

  def_op(m, cls, "prod",
         recorded("prod",
                  [](const TensorPtr& x, py::handle dim, bool keepdim, py::handle dtype) {
                    std::optional<DType> dt = opt_dtype_arg(dtype, "prod");
                    FASTNN_CHECK_TYPE(!dim.is_none() || !keepdim, "[prod] keepdim needs a dim");
                    std::optional<int64_t> d;
                    if (!dim.is_none()) d = int_arg(dim, "prod", "dim");
                    py::gil_scoped_release nogil;
                    return d ? prod(x, *d, keepdim, dt) : prod(x, dt);
                  }),
         py::arg("dim") = py::none(), py::arg("keepdim") = false, py::kw_only(), py::arg("dtype") = py::none());

  // var / std (also the legacy x.var(unbiased) and x.var(dim, unbiased, keepdim)); var_mean / std_mean
  for (const char* name : {"var", "std", "var_mean", "std_mean"}) {
    std::string n = name;
    auto f = [n](const TensorPtr& x, py::handle dim, py::handle unbiased, bool keepdim,
                 py::handle correction) -> py::object {
      VarArgs a = var_args(x, dim, unbiased, keepdim, correction, n.c_str());
      if (n == "var" || n == "std") {
        TensorPtr r;
        {
          py::gil_scoped_release nogil;
          r = n == "var" ? var(x, a.dims, a.correction, a.keepdim) : stddev(x, a.dims, a.correction, a.keepdim);
        }
        return py::cast(r);
      }
      Pair r;
      {
        py::gil_scoped_release nogil;
        r = n == "var_mean" ? var_mean(x, a.dims, a.correction, a.keepdim)
                            : std_mean(x, a.dims, a.correction, a.keepdim);
      }
      return py::make_tuple(r.first, r.second);
    };
    if (n == "var" || n == "std")
      def_op(m, cls, name, recorded(name, f), py::arg("dim") = py::none(), py::arg("unbiased") = py::none(),
             py::arg("keepdim") = false, py::kw_only(), py::arg("correction") = py::none());
    else
      m.def(name, f, py::arg("input"), py::arg("dim") = py::none(), py::arg("unbiased") = py::none(),
            py::arg("keepdim") = false, py::kw_only(), py::arg("correction") = py::none());
  }

  def_op(m, cls, "logsumexp",
         recorded("logsumexp",
                  [](const TensorPtr& x, py::handle dim, bool keepdim) {
                    IntList dims = dims_arg(dim, "logsumexp");
                    py::gil_scoped_release nogil;
                    return logsumexp(x, dims, keepdim);
                  }),
         py::arg("dim"), py::arg("keepdim") = false);

  // torch.norm / Tensor.norm: vector norms of the elements along dim (all when None)
  def_op(m, cls, "norm",
         recorded("norm",
                  [](const TensorPtr& x, py::handle p, py::handle dim, bool keepdim, py::handle dtype) {
                    double ord = norm_p(p);
                    IntList dims = dims_or_all(dim, "norm");
                    std::optional<DType> dt = opt_dtype_arg(dtype, "norm");
                    py::gil_scoped_release nogil;
                    return vector_norm(x, ord, dims, keepdim, dt);
                  }),
         py::arg("p") = "fro", py::arg("dim") = py::none(), py::arg("keepdim") = false, py::arg("dtype") = py::none());
  // torch.linalg.inv, det, slogdet, solve (fastnn.linalg; torch.inverse, det, logdet, slogdet)
  m.def("_linalg_inv", recorded("_linalg_inv", &linalg_inv), py::arg("A"), GilRelease());
  m.def("_linalg_det", recorded("_linalg_det", &linalg_det), py::arg("A"), GilRelease());
  m.def("_linalg_slogdet", recorded("_linalg_slogdet", &linalg_slogdet), py::arg("A"), GilRelease());
  m.def("_linalg_solve", recorded("_linalg_solve", &linalg_solve), py::arg("A"), py::arg("B"), GilRelease());
  // torch.linalg.vector_norm (fastnn.linalg builds linalg.norm and matrix_norm on it)
  m.def("_linalg_vector_norm",
        recorded("_linalg_vector_norm",
                 [](const TensorPtr& x, py::handle ord, py::handle dim, bool keepdim, py::handle dtype) {
                   double o = number_arg(ord, "linalg.vector_norm", "ord");
                   IntList dims = dims_or_all(dim, "linalg.vector_norm");
                   std::optional<DType> dt = opt_dtype_arg(dtype, "linalg.vector_norm");
                   py::gil_scoped_release nogil;
                   return vector_norm(x, o, dims, keepdim, dt);
                 }),
        py::arg("x"), py::arg("ord") = 2, py::arg("dim") = py::none(), py::arg("keepdim") = false,
        py::arg("dtype") = py::none());

  for (bool is_max : {true, false}) {
    const char* name = is_max ? "amax" : "amin";
    def_op(m, cls, name,
           recorded(name,
                    [is_max, name](const TensorPtr& x, py::handle dim, bool keepdim) {
                      IntList dims = dims_or_all(dim, name);
                      py::gil_scoped_release nogil;
                      return is_max ? amax(x, dims, keepdim) : amin(x, dims, keepdim);
                    }),
           py::arg("dim") = py::tuple(), py::arg("keepdim") = false);
  }

  def_op(m, cls, "count_nonzero",
         recorded("count_nonzero",
                  [](const TensorPtr& x, py::handle dim) {
                    IntList dims = dims_or_all(dim, "count_nonzero");
                    py::gil_scoped_release nogil;
                    return count_nonzero(x, dims);
                  }),
         py::arg("dim") = py::none());

  // scans
  def_op(m, cls, "cumsum",
         recorded("cumsum",
                  [](const TensorPtr& x, py::handle dim, py::handle dtype) {
                    int64_t d = int_arg(dim, "cumsum", "dim");
                    std::optional<DType> dt = opt_dtype_arg(dtype, "cumsum");
                    py::gil_scoped_release nogil;
                    return cumsum(x, d, dt);
                  }),
         py::arg("dim"), py::kw_only(), py::arg("dtype") = py::none());
  def_op(m, cls, "cumprod",
         recorded("cumprod",
                  [](const TensorPtr& x, py::handle dim, py::handle dtype) {
                    int64_t d = int_arg(dim, "cumprod", "dim");
                    std::optional<DType> dt = opt_dtype_arg(dtype, "cumprod");
                    py::gil_scoped_release nogil;
                    return cumprod(x, d, dt);
                  }),
         py::arg("dim"), py::kw_only(), py::arg("dtype") = py::none());
  def_op(m, cls, "cummax",
         recorded("cummax",
                  [](const TensorPtr& x, py::handle dim) {
                    int64_t d = int_arg(dim, "cummax", "dim");
                    return named_pair("cummax", [&] { return cummax(x, d); });
                  }),
         py::arg("dim"));
  def_op(m, cls, "cummin",
         recorded("cummin",
                  [](const TensorPtr& x, py::handle dim) {
                    int64_t d = int_arg(dim, "cummin", "dim");
                    return named_pair("cummin", [&] { return cummin(x, d); });
                  }),
         py::arg("dim"));

  // sorting
  def_op(
      m, cls, "sort",
      recorded("sort", [](const TensorPtr& x, py::handle dim, bool descending,
                          py::handle stable) { return sort_op(x, int_arg(dim, "sort", "dim"), descending, stable); }),
      py::arg("dim") = -1, py::arg("descending") = false, py::kw_only(), py::arg("stable") = py::none());
  def_op(m, cls, "msort", [](const TensorPtr& x) {
    py::gil_scoped_release nogil;
    return sort(x, 0, false).first;
  });
  def_op(m, cls, "argsort",
         recorded("argsort",
                  [](const TensorPtr& x, py::handle dim, bool descending, py::handle stable) {
                    int64_t d = int_arg(dim, "argsort", "dim");
                    bool_arg(stable, "argsort", "stable");  // every sort here is stable
                    py::gil_scoped_release nogil;
                    return argsort(x, d, descending);
                  }),
         py::arg("dim") = -1, py::arg("descending") = false, py::kw_only(), py::arg("stable") = false);
  // sorted=False leaves the order unspecified in torch; the values come sorted here
  def_op(m, cls, "topk",
         recorded("topk",
                  [](const TensorPtr& x, py::handle k, py::handle dim, bool largest, bool sorted) {
                    int64_t kk = int_arg(k, "topk", "k"), d = int_arg(dim, "topk", "dim");
                    (void)sorted;
                    return named_pair("topk", [&] { return topk(x, kk, d, largest); });
                  }),
         py::arg("k"), py::arg("dim") = -1, py::arg("largest") = true, py::arg("sorted") = true);
  def_op(m, cls, "kthvalue",
         recorded("kthvalue",
                  [](const TensorPtr& x, py::handle k, py::handle dim, bool keepdim) {
                    int64_t kk = int_arg(k, "kthvalue", "k"), d = int_arg(dim, "kthvalue", "dim");
                    return named_pair("kthvalue", [&] { return kthvalue(x, kk, d, keepdim); });
                  }),
         py::arg("k"), py::arg("dim") = -1, py::arg("keepdim") = false);
  def_op(m, cls, "median",
         recorded("median",
                  [](const TensorPtr& x, py::handle dim, bool keepdim) -> py::object {
                    if (dim.is_none()) {
                      FASTNN_CHECK_TYPE(!keepdim, "[median] keepdim needs a dim");
                      TensorPtr r;
                      {
                        py::gil_scoped_release nogil;
                        r = median(x);
                      }
                      return py::cast(r);
                    }
                    int64_t d = int_arg(dim, "median", "dim");
                    return named_pair("median", [&] { return median(x, d, keepdim); });
                  }),
         py::arg("dim") = py::none(), py::arg("keepdim") = false);
}

}  // namespace fastnn::bindings
