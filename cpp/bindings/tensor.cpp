// fastnn.Tensor: the C++ Tensor bound directly (shared_ptr holder), with torch's methods.
#include <cstring>

#include "bindings/common.h"
#include "fastnn/autograd/engine.h"
#include "fastnn/autograd/grad_mode.h"
#include "fastnn/autograd/node.h"
#include "fastnn/autograd/view_history.h"
#include "fastnn/error.h"
#include "fastnn/ops/bitwise.h"

namespace fastnn::bindings {
namespace {

using GilRelease = py::call_guard<py::gil_scoped_release>;

py::dtype numpy_dtype(DType t) {
  switch (t) {
    case DType::Bool: return py::dtype::of<bool>();
    case DType::Int64: return py::dtype::of<int64_t>();
    case DType::Float32: return py::dtype::of<float>();
    case DType::Float64: return py::dtype::of<double>();
    case DType::UInt8: return py::dtype::of<uint8_t>();
    case DType::Int8: return py::dtype::of<int8_t>();
    case DType::Int16: return py::dtype::of<int16_t>();
    case DType::Int32: return py::dtype::of<int32_t>();
    case DType::Float16: return py::dtype("float16");
    case DType::BFloat16: break;  // NumPy has no bfloat16
  }
  throw TypeError(
      str("[numpy] Got unsupported ScalarType ", dtype_name(t), " (NumPy has no such type: convert with .float())"));
}

std::optional<DType> dtype_of_numpy(const py::dtype& d) {
  switch (d.kind()) {
    case 'b': return DType::Bool;
    case 'i':
      switch (d.itemsize()) {
        case 1: return DType::Int8;
        case 2: return DType::Int16;
        case 4: return DType::Int32;
        case 8: return DType::Int64;
      }
      return std::nullopt;
    case 'u': return d.itemsize() == 1 ? std::optional<DType>(DType::UInt8) : std::nullopt;
    case 'f':
      return d.itemsize() == 2   ? std::optional<DType>(DType::Float16)
             : d.itemsize() == 4 ? std::optional<DType>(DType::Float32)
             : d.itemsize() == 8 ? std::optional<DType>(DType::Float64)
                                 : std::nullopt;
  }
  return std::nullopt;
}

// A NumPy array viewing the tensor's memory; the array keeps the storage alive.
py::array to_numpy(const TensorPtr& t) {
  capture::refuse_value_read("Tensor.numpy()");
  if (!t->is_cpu())
    throw TypeError(str("can't convert ", t->device().str(),
                        " device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host memory first."));
  FASTNN_CHECK_STATE(!t->requires_grad(),
                     "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.");
  std::vector<py::ssize_t> shape(t->shape().begin(), t->shape().end()), strides;
  for (int64_t s : t->strides()) strides.push_back(py::ssize_t(s * int64_t(itemsize(t->dtype()))));
  auto* keep = new std::shared_ptr<Storage>(t->storage());
  py::capsule owner(keep, [](void* p) { delete static_cast<std::shared_ptr<Storage>*>(p); });
  return py::array(numpy_dtype(t->dtype()), shape, strides, t->raw_data(), owner);
}

// A tensor sharing the array's memory (copying only when its layout cannot be expressed).
TensorPtr from_numpy(py::array arr, bool copy) {
  auto dt = dtype_of_numpy(arr.dtype());
  if (!dt) {
    if (!copy)
      throw TypeError(str("[from_numpy] can't convert np.ndarray of type ", std::string(py::str(arr.dtype())),
                          ". The only supported types are: float64, float32, float16, int64, int32, int16, "
                          "int8, uint8, and bool."));
    // Copying conversions (tensor()): other ints to int64, other floats to float32.
    char k = arr.dtype().kind();
    py::dtype target = k == 'f'                 ? py::dtype::of<float>()
                       : (k == 'i' || k == 'u') ? py::dtype::of<int64_t>()
                                                : py::dtype();
    if (!target) throw TypeError(str("[tensor] can't convert data of type ", std::string(py::str(arr.dtype()))));
    arr = arr.attr("astype")(target);
    dt = dtype_of_numpy(arr.dtype());
  }
  size_t isz = itemsize(*dt);
  Shape shape(arr.shape(), arr.shape() + arr.ndim()), strides;
  bool expressible = true;
  for (py::ssize_t i = 0; i < arr.ndim(); ++i) {
    py::ssize_t s = arr.strides()[i];
    if (s < 0 || s % py::ssize_t(isz) != 0) expressible = false;
    strides.push_back(s / py::ssize_t(isz));
  }
  FASTNN_CHECK(copy || expressible, "[from_numpy] the array's strides ",
               Shape(arr.strides(), arr.strides() + arr.ndim()),
               " (bytes) are negative or not a multiple of the element size ", isz,
               "; tensors cannot view such memory: pass array.copy()");
  if (copy || !expressible) {
    py::array c = py::array::ensure(arr, py::array::c_style | py::array::forcecast);
    const void* src = c.data();
    py::gil_scoped_release nogil;  // c keeps the array alive meanwhile
    TensorPtr t = Tensor::empty(shape, *dt, copy ? "tensor" : "from_numpy");
    if (t->numel()) std::memcpy(t->raw_mutable_data(), src, size_t(t->numel()) * isz);
    return t;
  }
  auto* ref = new py::object(arr);
  size_t span = 0;
  for (py::ssize_t i = 0; i < arr.ndim(); ++i)
    span += size_t(arr.shape()[i] ? arr.shape()[i] - 1 : 0) * size_t(arr.strides()[i]);
  auto storage = Storage::wrap(const_cast<void*>(arr.data()), span + isz, [ref]() {
    py::gil_scoped_acquire gil;
    delete ref;
  });
  return Tensor::make(storage, shape, strides, 0, *dt);
}

py::object item(const TensorPtr& gt, const char* op) {
  capture::refuse_value_read(op);
  FASTNN_CHECK_STATE(gt->numel() == 1, "[", op, "] a Tensor with ", gt->numel(),
                     " elements cannot be converted to Scalar");
  const TensorPtr t = gt->is_cpu() ? gt : to_device(gt->detach(), Device{});  // a GPU's value, as torch reads it
  switch (t->dtype()) {
    case DType::Bool: return py::bool_(*t->data<bool>());
    case DType::Int64: return py::int_(*t->data<int64_t>());
    case DType::Float32: return py::float_(*t->data<float>());
    case DType::Float64: return py::float_(*t->data<double>());
    case DType::UInt8: return py::int_(*t->data<uint8_t>());
    case DType::Int8: return py::int_(*t->data<int8_t>());
    case DType::Int16: return py::int_(*t->data<int16_t>());
    case DType::Int32: return py::int_(*t->data<int32_t>());
    case DType::Float16: return py::float_(float(*t->data<Half>()));
    case DType::BFloat16: return py::float_(float(*t->data<BFloat16>()));
  }
  return py::none();
}

// A list, a tuple inside the index tuple or a NumPy array used as an index: an index tensor, as torch
// converts it (an empty one indexes nothing, as int64).
TensorPtr sequence_index(py::handle h) {
  TensorPtr t;
  try {
    t = py::module_::import("fastnn").attr("tensor")(h).cast<TensorPtr>();
  } catch (py::error_already_set& e) {
    if (e.matches(PyExc_MemoryError)) throw;
    throw TypeError(
        str("[index] a sequence used as an index must hold integers or bools (", std::string(py::str(e.value())), ")"));
  }
  return t->numel() == 0 && is_floating(t->dtype()) ? to_dtype(t, DType::Int64) : t;
}

bool is_sequence_index(py::handle h) {
  return py::isinstance<py::list>(h) || py::isinstance<py::tuple>(h) || py::isinstance<py::array>(h);
}

// torch reads a short list holding tensors, sequences, slices, None or ... as a tuple of indices.
bool list_as_tuple(py::handle idx) {
  if (!py::isinstance<py::list>(idx) || py::len(idx) >= 32) return false;
  for (py::handle h : idx)
    if (is_tensor(h) || is_sequence_index(h) || PySlice_Check(h.ptr()) || h.is_none() || h.ptr() == Py_Ellipsis)
      return true;
  return false;
}

// x[idx] split in two: the basic part (ints, slices, None, ..., bools) applied as views of self, and the
// advanced part (index tensors, masks, sequences) as one optional tensor per dim of that view, for index().
struct ParsedIndex {
  TensorPtr view;
  std::vector<TensorPtr> indices;
};

ParsedIndex parse_index(const TensorPtr& self, py::handle idx) {
  std::vector<py::object> items;
  if (py::isinstance<py::tuple>(idx) || list_as_tuple(idx))
    for (py::handle h : idx) items.push_back(py::reinterpret_borrow<py::object>(h));
  else items.push_back(py::reinterpret_borrow<py::object>(idx));
  int64_t consumed = 0;
  bool ellipsis_seen = false;
  for (py::object& h : items) {
    if (h.is_none() || PyBool_Check(h.ptr())) continue;
    if (h.ptr() == Py_Ellipsis) {
      FASTNN_CHECK_INDEX(!ellipsis_seen, "[index] an index can only have a single ellipsis ('...')");
      ellipsis_seen = true;
      continue;
    }
    if (PySlice_Check(h.ptr()) || PyLong_Check(h.ptr())) {  // the common basic indices first
      consumed++;
      continue;
    }
    if (!is_tensor(h) && is_sequence_index(h)) h = py::cast(sequence_index(h));
    if (is_tensor(h)) {
      TensorPtr t = h.cast<TensorPtr>();
      consumed += (t->dtype() == DType::Bool || t->dtype() == DType::UInt8)
                      ? t->dim()
                      : 1;  // a mask covers its dims; a 0-d bool adds one
      continue;
    }
    consumed++;
  }
  FASTNN_CHECK_INDEX(consumed <= self->dim(), "[index] too many indices for tensor of dimension ", self->dim(),
                     " (got ", consumed, ")");
  ParsedIndex r{self, {}};
  int64_t dim = 0, selected = 0;  // dim in r.view; ints applied so far (messages count their dims, as torch does)
  auto select_checked = [&](int64_t index) {
    int64_t size = r.view->shape()[dim];
    FASTNN_CHECK_INDEX(index >= -size && index < size, "[index] index ", index, " is out of bounds for dimension ",
                       dim + selected, " with size ", size);
    r.view = select(r.view, dim, index);
    selected++;
  };
  int64_t covered = 0;  // dims of r.view that r.indices reach (a mask reaches as many as it has)
  auto add_index = [&](const TensorPtr& t, int64_t dims) {
    for (; covered < dim; ++covered) r.indices.push_back(nullptr);
    r.indices.push_back(t);
    covered += dims;
    dim += dims;
  };
  auto add_bool = [&](bool v) {  // x[True] is x[None][[0]], x[False] is x[None][[]]
    r.view = unsqueeze(r.view, dim);
    TensorPtr mask = Tensor::empty({1}, DType::Bool);
    *mask->mutable_data<bool>() = v;
    add_index(mask, 1);
  };
  for (const py::object& h : items) {
    if (h.is_none()) {
      r.view = unsqueeze(r.view, dim++);
    } else if (h.ptr() == Py_Ellipsis) {
      dim += self->dim() - consumed;
    } else if (PySlice_Check(h.ptr())) {
      Py_ssize_t start, stop, step;
      if (PySlice_Unpack(h.ptr(), &start, &stop, &step) < 0) throw py::error_already_set();
      bool whole = start == 0 && step == 1 && stop >= r.view->shape()[dim];  // `:` keeps the dim as is, no node
      r.view = whole ? r.view : slice(r.view, dim, start, stop, step);
      dim++;
    } else if (is_tensor(h)) {
      TensorPtr t = h.cast<TensorPtr>();
      if (t->dim() == 0 && (t->dtype() == DType::Int64 || t->dtype() == DType::Int32))
        select_checked(*to_dtype(t, DType::Int64)->data<int64_t>());
      else if (t->dim() == 0 && t->dtype() == DType::Bool) add_bool(*t->data<bool>());
      else add_index(t, (t->dtype() == DType::Bool || t->dtype() == DType::UInt8) ? t->dim() : 1);
    } else if (PyBool_Check(h.ptr())) {
      add_bool(h.ptr() == Py_True);
    } else if (PyIndex_Check(h.ptr())) {
      select_checked(int_arg(h, "index", "index"));
    } else {
      throw TypeError(
          str("[index] only integers, slices (`:`), ellipsis (`...`), None, bools and integer or bool "
              "tensors are valid indices (got ",
              std::string(py::str(py::type::of(h).attr("__name__"))), ")"));
    }
  }
  return r;
}

// x[idx]: ints, slices, None and ... give views; index tensors, masks and sequences then index() the view.
TensorPtr get_item(const TensorPtr& self, py::handle idx) {
  ParsedIndex p = parse_index(self, idx);
  if (p.indices.empty()) return p.view;
  py::gil_scoped_release nogil;
  return index(p.view, p.indices);
}

void set_item(const TensorPtr& self, py::handle idx, py::handle value) {
  ParsedIndex p = parse_index(self, idx);
  TensorPtr& target = p.view;
  TensorPtr v;
  const bool tensor_value = is_tensor(value);
  if (tensor_value) {
    v = value.cast<TensorPtr>();
  } else {
    v = operand(value, "setitem");
    FASTNN_CHECK_TYPE(category(v->dtype()) <= category(target->dtype()) || target->dtype() == DType::Bool,
                      "[setitem] cannot ", "assign a ", dtype_name(v->dtype()), " number to a ",
                      dtype_name(target->dtype()), " tensor");
  }
  py::gil_scoped_release nogil;
  if (!p.indices.empty()) {
    if (!tensor_value) v = to_dtype(v, target->dtype());
    index_put_(target, p.indices, v, false);
  } else if (tensor_value) {
    copy_(target, v);
  } else {
    fill_(target, v, "setitem");
  }
}

// Wraps a binary operator so unknown operand types give NotImplemented (Python then tries the other side).
template <class F>
auto binop(F f, const char* op) {
  return [f, op](const TensorPtr& self, py::handle other) -> TensorOrNotImplemented {
    if (!is_operand(other)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
    auto run = [f](const TensorPtr& a, const TensorPtr& b) {
      GilReleaseUnlessTiny nogil(a->numel() + b->numel());
      return f(a, b);
    };
    return py::cast(capture::call(op, run, self, operand(other, op)));
  };
}

// Wraps an in-place operator or method (self op= other): returns self; tiny operands keep the GIL.
template <class F>
auto inplace_binop(F f, const char* op) {
  return [f, op](TensorPtr self, py::handle other) {
    auto run = [f](TensorPtr t, const TensorPtr& o) {
      GilReleaseUnlessTiny nogil(t->numel() + o->numel());
      f(t, o);
      return t;
    };
    return capture::call(op, run, self, operand(other, op));
  };
}

// t.add_(o, alpha=...) or t.sub_(...): returns t.
TensorPtr add_sub_(TensorPtr t, const TensorPtr& o, double alpha, bool subtract) {
  GilReleaseUnlessTiny nogil(t->numel() + o->numel());
  subtract ? sub_(t, o, alpha) : add_(t, o, alpha);
  return t;
}

std::optional<DType> opt_dtype(py::handle h, const char* op) {
  if (h.is_none()) return std::nullopt;
  return cast_arg<DType>(h, op, "dtype", "a fastnn.dtype");
}

// `t` with its view history rebuilt if its base took a new one since (as torch shows it).
const TensorPtr& fresh(const TensorPtr& t) {
  refresh_view_history(t);
  return t;
}

PyTypeObject* tensor_type = nullptr;
traverseproc pybind_traverse = nullptr;  // pybind11's traversal of an instance's __dict__ and type

// The garbage collector's view of a Tensor: its __dict__, and, when this Python object is the only owner
// of the tensor and the tensor the only owner of its grad_fn, the Python objects of a custom Function's
// node. So a cycle through C++, y -> grad_fn -> ctx -> y (ctx.y = y), is collected, as in torch.
int traverse_tensor(PyObject* self, visitproc visit, void* arg) {
  if (Py_TYPE(self)->tp_dictoffset == tensor_type->tp_dictoffset) {
    if (int r = pybind_traverse(self, visit, arg)) return r;
  } else {
    // a Python subclass whose dict offset differs (Parameter): CPython's traversal of the subclass has
    // visited the __dict__, and a second visit would make the GC count it as referenced from outside
    Py_VISIT(Py_TYPE(self));
  }
  auto v_h = reinterpret_cast<py::detail::instance*>(self)->get_value_and_holder();
  if (!v_h.holder_constructed()) return 0;
  const TensorPtr& t = v_h.holder<TensorPtr>();
  if (t.use_count() != 1 || !t->grad_fn() || t->grad_fn().use_count() != 1) return 0;
  return traverse_function_node(*t->grad_fn(), visit, arg);
}

// Shape-taking views as plain functions over C++ values, so fastnn.compile can record them (capture::call).
TensorPtr view_op(const TensorPtr& t, const Shape& shape) { return view(t, shape); }
TensorPtr reshape_op(const TensorPtr& t, const Shape& shape) {
  py::gil_scoped_release nogil;  // a reshape may copy
  return reshape(t, shape);
}
TensorPtr expand_op(const TensorPtr& t, const Shape& shape) { return expand(t, shape); }
TensorPtr permute_op(const TensorPtr& t, const Shape& dims) { return permute(t, dims); }

}  // namespace

TensorClass bind_tensor(py::module_& m) {
  TensorClass cls(m, "Tensor", py::dynamic_attr());  // attributes on tensors, as torch; and GC tracking
  tensor_type = reinterpret_cast<PyTypeObject*>(cls.ptr());
  pybind_traverse = tensor_type->tp_traverse;
  tensor_type->tp_traverse = traverse_tensor;
  cls.def(py::init([](const TensorPtr& t) { return t->detach(); }), py::arg("data"))
      .def_property_readonly("shape", [](const TensorPtr& t) { return SizeObject(make_size(t->shape())); })
      .def_property_readonly("dtype", &Tensor::dtype)
      .def_property_readonly("ndim", &Tensor::dim)
      .def_property_readonly("is_leaf", [](const TensorPtr& t) { return fresh(t)->is_leaf(); })
      .def_property_readonly("_version", &Tensor::version)
      .def_property_readonly("_base", [](const TensorPtr& t) { return or_none(t->base()); })
      .def_property_readonly("grad_fn", [](const TensorPtr& t) { return or_none(fresh(t)->grad_fn()); })
      .def_property(
          "requires_grad", [](const TensorPtr& t) { return fresh(t)->requires_grad(); },
          recorded("requires_grad=", [](const TensorPtr& t, bool v) { t->set_requires_grad(v); }))
      .def_property("grad", recorded("grad", [](const TensorPtr& t) { return or_none(t->grad()); }),
                    recorded("grad=", [](const TensorPtr& t, const OptionalTensor& g) { t->set_grad(or_null(g)); }))
      .def_property("data", recorded("data", [](const TensorPtr& t) { return t->data_alias(); }),
                    [](const TensorPtr& t, const TensorPtr& src) { t->set_data(*src); })
      .def_property_readonly("retains_grad", &Tensor::retains_grad)
      .def("size",
           recorded("size",
                    [](const TensorPtr& t, py::object dim) -> py::object {
                      if (dim.is_none()) return make_size(t->shape());
                      return py::int_(
                          t->shape().empty() ? 1 : t->shape()[wrap_dim(int_arg(dim, "size", "dim"), t->dim(), "size")]);
                    }),
           py::arg("dim") = py::none())
      .def("stride",
           recorded("stride",
                    [](const TensorPtr& t, py::object dim) -> py::object {
                      if (dim.is_none()) return py::tuple(py::cast(t->strides()));
                      return py::int_(t->strides()[wrap_dim(int_arg(dim, "stride", "dim"), t->dim(), "stride")]);
                    }),
           py::arg("dim") = py::none())
      .def("dim", &Tensor::dim)
      .def("numel", &Tensor::numel)
      .def("nelement", &Tensor::numel)
      .def("element_size", [](const TensorPtr& t) { return itemsize(t->dtype()); })
      .def("storage_offset", &Tensor::offset)
      .def("is_contiguous", &Tensor::is_contiguous)
      .def("is_floating_point", [](const TensorPtr& t) { return is_floating(t->dtype()); })
      .def("item", [](const TensorPtr& t) { return Number(item(t, "item")); })
      .def("numpy", &to_numpy)
      .def("data_ptr",  // the first element's address: in GPU memory for a GPU tensor, as torch's
           [](const TensorPtr& t) {
             return reinterpret_cast<uintptr_t>(t->is_cpu() ? t->raw_data() : t->device_data());
           })
      .def("_is_view", [](const TensorPtr& t) { return t->base() != nullptr; })
      // autograd
      .def("detach", recorded("detach", [](const TensorPtr& t) { return t->detach(); }))
      .def("detach_", recorded("detach_",
                               [](const TensorPtr& t) {
                                 FASTNN_CHECK_STATE(!t->base(), "Can't detach views in-place. Use detach() instead.");
                                 t->set_history(nullptr, 0);
                                 return t;
                               }))
      .def("requires_grad_",
           recorded("requires_grad_",
                    [](const TensorPtr& t, bool v) {
                      t->set_requires_grad(v);
                      return t;
                    }),
           py::arg("requires_grad") = true)
      .def("retain_grad", recorded("retain_grad", [](const TensorPtr& t) { retain_grad(t); }))
      .def(
          "backward",
          [](const TensorPtr& t, const OptionalTensor& gradient, py::object retain_graph, bool create_graph,
             py::object inputs) {
            FASTNN_CHECK_STATE(inputs.is_none(),
                               "[backward] the inputs= argument is not supported; use fastnn.autograd.grad");
            bool retain = retain_graph.is_none() ? create_graph
                                                 : cast_arg<bool>(retain_graph, "backward", "retain_graph", "a bool");
            capture::call(
                "backward",
                [](const TensorPtr& t, const OptionalTensor& gradient, bool retain, bool create_graph) {
                  py::gil_scoped_release nogil;
                  backward({t}, {or_null(gradient)}, retain, create_graph);
                },
                t, gradient, retain, create_graph);
          },
          py::arg("gradient") = py::none(), py::arg("retain_graph") = py::none(), py::arg("create_graph") = false,
          py::arg("inputs") = py::none())
      // conversions and copies
      .def("contiguous", recorded("contiguous", &contiguous), GilRelease())
      .def("clone", recorded("clone", &clone), GilRelease())
      .def("_to_dtype", recorded("_to_dtype", &to_dtype), GilRelease())
      // index -1: the CPU; otherwise that CUDA GPU (Tensor.to/cuda/cpu in python/fastnn/_tensor.py)
      .def("_to_device",
           recorded("_to_device",
                    [](const TensorPtr& t, int64_t index) {
                      return to_device(t, index < 0 ? Device{} : cuda_device(int(index)));
                    }),
           py::arg("index"), GilRelease())
      .def_property_readonly("_device_index", [](const TensorPtr& t) { return t->is_cpu() ? -1 : t->device().index; })
      .def("float", recorded("float", [](const TensorPtr& t) { return to_dtype(t, DType::Float32); }), GilRelease())
      .def("double", recorded("double", [](const TensorPtr& t) { return to_dtype(t, DType::Float64); }), GilRelease())
      .def("long", recorded("long", [](const TensorPtr& t) { return to_dtype(t, DType::Int64); }), GilRelease())
      .def("bool", recorded("bool", [](const TensorPtr& t) { return to_dtype(t, DType::Bool); }), GilRelease())
      .def("half", recorded("half", [](const TensorPtr& t) { return to_dtype(t, DType::Float16); }), GilRelease())
      .def("bfloat16", recorded("bfloat16", [](const TensorPtr& t) { return to_dtype(t, DType::BFloat16); }),
           GilRelease())
      .def("byte", recorded("byte", [](const TensorPtr& t) { return to_dtype(t, DType::UInt8); }), GilRelease())
      .def("char", recorded("char", [](const TensorPtr& t) { return to_dtype(t, DType::Int8); }), GilRelease())
      .def("short", recorded("short", [](const TensorPtr& t) { return to_dtype(t, DType::Int16); }), GilRelease())
      .def("int", recorded("int", [](const TensorPtr& t) { return to_dtype(t, DType::Int32); }), GilRelease())
      .def("copy_",
           recorded("copy_",
                    [](TensorPtr t, const TensorPtr& src) {
                      copy_(t, src);
                      return t;
                    }),
           py::arg("src"), GilRelease())
      .def("fill_",
           recorded("fill_",
                    [](TensorPtr t, py::handle v) {
                      TensorPtr s = operand(v, "fill_");
                      py::gil_scoped_release nogil;
                      fill_(t, s);
                      return t;
                    }),
           py::arg("value"))
      .def("zero_",
           recorded("zero_",
                    [](TensorPtr t) {
                      zero_(t);
                      return t;
                    }),
           GilRelease())
      // views
      .def("view",
           [](const TensorPtr& t, py::args a) { return capture::call("view", view_op, t, shape_from_args(a, "view")); })
      .def("reshape", [](const TensorPtr& t,
                         py::args a) { return capture::call("reshape", reshape_op, t, shape_from_args(a, "reshape")); })
      .def("expand", [](const TensorPtr& t,
                        py::args a) { return capture::call("expand", expand_op, t, shape_from_args(a, "expand")); })
      .def("permute", [](const TensorPtr& t,
                         py::args a) { return capture::call("permute", permute_op, t, shape_from_args(a, "permute")); })
      .def("flatten", recorded("flatten", &flatten), py::arg("start_dim") = 0, py::arg("end_dim") = -1)
      .def("squeeze",
           recorded("squeeze",
                    [](const TensorPtr& t, py::object dim) {
                      if (dim.is_none()) return squeeze(t);
                      if (py::isinstance<py::tuple>(dim) || py::isinstance<py::list>(dim))
                        return squeeze(t, dims_arg(dim, "squeeze"));
                      return squeeze(t, int_arg(dim, "squeeze", "dim"));
                    }),
           py::arg("dim") = py::none())
      .def("unsqueeze", recorded("unsqueeze", &unsqueeze), py::arg("dim"))
      .def("transpose", recorded("transpose", &transpose), py::arg("dim0"), py::arg("dim1"))
      .def("t", recorded("t", &t))
      .def_property_readonly("T",
                             [](const TensorPtr& x) {
                               IntList dims(x->dim());
                               for (int64_t i = 0; i < x->dim(); ++i) dims[i] = x->dim() - 1 - i;
                               return permute(x, dims);
                             })
      .def("__getitem__", recorded("__getitem__", &get_item))
      .def("__setitem__", recorded("__setitem__", &set_item))
      .def("__len__",
           [](const TensorPtr& t) {
             if (t->dim() == 0) throw TypeError("len() of a 0-d tensor");
             return t->shape()[0];
           })
      .def("__hash__", [](py::handle self) { return py::int_(reinterpret_cast<uintptr_t>(self.ptr())); })
      .def("__bool__",
           [](const TensorPtr& t) {
             FASTNN_CHECK_STATE(t->numel() == 1, "Boolean value of Tensor with ",
                                t->numel() == 0 ? "no values" : "more than one value", " is ambiguous");
             return item(t, "bool").cast<bool>();
           })
      .def("__float__", [](const TensorPtr& t) { return item(t, "float").cast<double>(); })
      .def("__int__",
           [](const TensorPtr& t) {
             py::object v = item(t, "int");
             return t->dtype() == DType::Bool ? py::int_(v.cast<bool>() ? 1 : 0) : py::int_(v);  // an int, not a bool
           })
      .def("__index__",
           [](const TensorPtr& t) {
             FASTNN_CHECK_TYPE(!is_floating(t->dtype()),
                               "[index] only integer tensors of a single element can be converted to an index");
             return py::int_(item(t, "index"));
           })
      // arithmetic operators (numbers on either side)
      .def("__add__", binop([](const TensorPtr& a, const TensorPtr& b) { return add(a, b, 1); }, "add"))
      // reflected operators as torch's: self first (its edges' order), 2 / a is reciprocal(a) * 2
      .def("__radd__", binop([](const TensorPtr& a, const TensorPtr& b) { return add(a, b, 1); }, "add"))
      .def("__sub__", binop([](const TensorPtr& a, const TensorPtr& b) { return sub(a, b, 1); }, "sub"))
      .def("__rsub__", binop([](const TensorPtr& a, const TensorPtr& b) { return rsub(a, b); }, "sub"))
      .def("__mul__", binop([](const TensorPtr& a, const TensorPtr& b) { return mul(a, b); }, "mul"))
      .def("__rmul__", binop([](const TensorPtr& a, const TensorPtr& b) { return mul(a, b); }, "mul"))
      .def("__truediv__", binop([](const TensorPtr& a, const TensorPtr& b) { return div(a, b); }, "div"))
      .def("__rtruediv__", binop([](const TensorPtr& a, const TensorPtr& b) { return mul(reciprocal(a), b); }, "div"))
      .def("__rpow__", binop([](const TensorPtr& a, const TensorPtr& b) { return pow(b, a); }, "pow"))
      .def("__matmul__", binop([](const TensorPtr& a, const TensorPtr& b) { return matmul(a, b); }, "matmul"))
      .def("__eq__", binop([](const TensorPtr& a, const TensorPtr& b) { return compare(a, b, CompareOp::Eq); }, "eq"))
      .def("__ne__", binop([](const TensorPtr& a, const TensorPtr& b) { return compare(a, b, CompareOp::Ne); }, "ne"))
      .def("__lt__", binop([](const TensorPtr& a, const TensorPtr& b) { return compare(a, b, CompareOp::Lt); }, "lt"))
      .def("__le__", binop([](const TensorPtr& a, const TensorPtr& b) { return compare(a, b, CompareOp::Le); }, "le"))
      .def("__gt__", binop([](const TensorPtr& a, const TensorPtr& b) { return compare(a, b, CompareOp::Gt); }, "gt"))
      .def("__ge__", binop([](const TensorPtr& a, const TensorPtr& b) { return compare(a, b, CompareOp::Ge); }, "ge"))
      .def("__and__", binop(&bitwise_and, "bitwise_and"))
      .def("__rand__", binop(&bitwise_and, "bitwise_and"))
      .def("__or__", binop(&bitwise_or, "bitwise_or"))
      .def("__ror__", binop(&bitwise_or, "bitwise_or"))
      .def("__xor__", binop(&bitwise_xor, "bitwise_xor"))
      .def("__rxor__", binop(&bitwise_xor, "bitwise_xor"))
      .def("__invert__", recorded("__invert__", [](const TensorPtr& t) { return bitwise_not(t); }), GilRelease())
      .def("__iand__",
           inplace_binop([](TensorPtr& t, const TensorPtr& o) { apply_(t, o, &bitwise_and, "bitwise_and_"); },
                         "bitwise_and_"))
      .def("__ior__", inplace_binop([](TensorPtr& t, const TensorPtr& o) { apply_(t, o, &bitwise_or, "bitwise_or_"); },
                                    "bitwise_or_"))
      .def("__ixor__",
           inplace_binop([](TensorPtr& t, const TensorPtr& o) { apply_(t, o, &bitwise_xor, "bitwise_xor_"); },
                         "bitwise_xor_"))
      .def("__neg__", recorded("__neg__", [](const TensorPtr& t) { return neg(t); }), GilRelease())
      .def("__abs__", recorded("__abs__", [](const TensorPtr& t) { return abs(t); }), GilRelease())
      .def("__iadd__", inplace_binop([](TensorPtr& t, const TensorPtr& o) { add_(t, o, 1); }, "add_"))
      .def("__isub__", inplace_binop([](TensorPtr& t, const TensorPtr& o) { sub_(t, o, 1); }, "sub_"))
      .def("__imul__", inplace_binop([](TensorPtr& t, const TensorPtr& o) { mul_(t, o); }, "mul_"))
      .def("__itruediv__", inplace_binop([](TensorPtr& t, const TensorPtr& o) { div_(t, o); }, "div_"))
      // in-place methods
      .def(
          "add_",
          [](TensorPtr t, py::handle o, double alpha) {
            return capture::call("add_", add_sub_, t, operand(o, "add_"), alpha, false);
          },
          py::arg("other"), py::kw_only(), py::arg("alpha") = 1.0)
      .def(
          "sub_",
          [](TensorPtr t, py::handle o, double alpha) {
            return capture::call("sub_", add_sub_, t, operand(o, "sub_"), alpha, true);
          },
          py::arg("other"), py::kw_only(), py::arg("alpha") = 1.0)
      .def("mul_", inplace_binop([](TensorPtr& t, const TensorPtr& o) { mul_(t, o); }, "mul_"), py::arg("other"))
      .def("div_", inplace_binop([](TensorPtr& t, const TensorPtr& o) { div_(t, o); }, "div_"), py::arg("other"))
      .def("relu_",
           recorded("relu_",
                    [](TensorPtr t) {
                      relu_(t);
                      return t;
                    }),
           GilRelease())
      // reductions with dtype
      .def("sum",
           recorded("sum",
                    [](const TensorPtr& t, py::object dim, bool keepdim, py::object dtype) {
                      const std::optional<DType> dt = opt_dtype(dtype, "sum");
                      const bool all = dim.is_none();
                      const IntList dims = all ? IntList{} : dims_arg(dim, "sum");
                      py::gil_scoped_release nogil;
                      if (all) return keepdim ? sum(t, {}, true, dt) : sum(t, dt);
                      return sum(t, dims, keepdim, dt);
                    }),
           py::arg("dim") = py::none(), py::arg("keepdim") = false, py::kw_only(), py::arg("dtype") = py::none())
      .def("mean",
           recorded("mean",
                    [](const TensorPtr& t, py::object dim, bool keepdim, py::object dtype) {
                      const std::optional<DType> dt = opt_dtype(dtype, "mean");
                      const bool all = dim.is_none();
                      const IntList dims = all ? IntList{} : dims_arg(dim, "mean");
                      py::gil_scoped_release nogil;
                      TensorPtr x = dt ? to_dtype(t, *dt) : t;
                      if (all) return keepdim ? mean(x, {}, true) : mean(x);
                      return mean(x, dims, keepdim);
                    }),
           py::arg("dim") = py::none(), py::arg("keepdim") = false, py::kw_only(), py::arg("dtype") = py::none());
  m.def("_from_numpy", recorded("_from_numpy", &from_numpy), py::arg("array"), py::arg("copy"));
  return cls;
}

}  // namespace fastnn::bindings
