// The Python extension fastnn._C: exception mapping, dtypes, threads, and the bound families.
#include <pybind11/native_enum.h>

#include "bindings/common.h"
#include "fastnn/error.h"
#include "fastnn/parallel.h"
#include "fastnn/storage.h"
#include "fastnn/autograd/node.h"

namespace fastnn::bindings {
namespace {
// Leaked on purpose: a static py::object would be released after the interpreter is gone.
py::object& size_class() {
  static auto* cls = new py::object();
  return *cls;
}
}  // namespace

py::object make_size(const Shape& shape) {
  py::tuple t(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) t[i] = py::int_(shape[i]);
  return size_class() ? size_class()(t) : py::object(t);
}

int64_t int_arg(py::handle h, const char* op, const char* what) {
  if (PyBool_Check(h.ptr()) || PyFloat_Check(h.ptr()) || !PyIndex_Check(h.ptr()))
    throw TypeError(
        str("[", op, "] ", what, " must be an int, got ", std::string(py::str(py::type::of(h).attr("__name__")))));
  int overflow = 0;
  py::object idx = py::reinterpret_steal<py::object>(PyNumber_Index(h.ptr()));
  if (!idx) {  // e.g. a tensor's __index__ refusing: say which op and argument
    py::error_already_set err;
    throw TypeError(str("[", op, "] ", what, " must be an int (", std::string(py::str(err.value())), ")"));
  }
  long long v = PyLong_AsLongLongAndOverflow(idx.ptr(), &overflow);
  if (overflow) throw std::invalid_argument(str("[", op, "] ", what, " does not fit in 64 bits"));
  return v;
}

Shape shape_from_args(const py::args& args, const char* op) {
  py::handle seq = args;
  if (args.size() == 1 && (py::isinstance<py::tuple>(args[0]) || py::isinstance<py::list>(args[0]))) seq = args[0];
  Shape shape;
  for (py::handle h : seq) shape.push_back(int_arg(h, op, "size"));
  return shape;
}

IntList dims_arg(py::handle h, const char* op) {
  if (py::isinstance<py::tuple>(h) || py::isinstance<py::list>(h)) {
    IntList dims;
    for (py::handle d : h) dims.push_back(int_arg(d, op, "dim"));
    return dims;
  }
  return {int_arg(h, op, "dim")};
}

// isinstance(h, fastnn.Tensor) with the type looked up once (pybind11's isinstance searches its
// type registry on every call, a visible share of a tiny op's time).
bool is_tensor(py::handle h) {
  static PyTypeObject* const tensor_type = reinterpret_cast<PyTypeObject*>(py::type::of<Tensor>().ptr());
  return PyObject_TypeCheck(h.ptr(), tensor_type);
}

bool is_operand(py::handle h) {
  return is_tensor(h) || PyBool_Check(h.ptr()) || PyLong_Check(h.ptr()) || PyFloat_Check(h.ptr()) ||
         PyIndex_Check(h.ptr()) || py::hasattr(h, "__float__");
}

// The TensorPtr a Tensor object holds, read directly (h.cast<TensorPtr>() looks the type up again).
TensorPtr tensor_of(py::handle h) {
  auto v_h = reinterpret_cast<py::detail::instance*>(h.ptr())->get_value_and_holder();
  if (!v_h.holder_constructed()) throw TypeError("a fastnn.Tensor whose __init__ was not called");
  return v_h.holder<TensorPtr>();
}

TensorPtr operand(py::handle h, const char* op) {
  if (is_tensor(h)) return tensor_of(h);
  if (PyBool_Check(h.ptr())) return scalar_tensor(h.ptr() == Py_True, DType::Bool, true);
  if (PyLong_Check(h.ptr()) || (!PyFloat_Check(h.ptr()) && PyIndex_Check(h.ptr())))
    return int_scalar_tensor(int_arg(h, op, "operand"), true);
  if (PyFloat_Check(h.ptr()) || py::hasattr(h, "__float__")) {
    double v = PyFloat_AsDouble(h.ptr());
    if (v == -1.0 && PyErr_Occurred()) {  // e.g. a class with __float__ (np.float32 itself): name the op
      py::error_already_set err;
      throw TypeError(str("[", op, "] expected a Tensor or a number, got ",
                          std::string(py::str(py::type::of(h).attr("__name__"))), " (",
                          std::string(py::str(err.value())), ")"));
    }
    return scalar_tensor(v, DType::Float64, true);
  }
  throw TypeError(
      str("[", op, "] expected a Tensor or a number, got ", std::string(py::str(py::type::of(h).attr("__name__")))));
}

}  // namespace fastnn::bindings

PYBIND11_MODULE(_C, m) {
  using namespace fastnn;
  using namespace fastnn::bindings;
  m.doc() = "fastnn's C++ engine";
  py::register_exception<TypeError>(m, "TypeError_", PyExc_TypeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const OutOfMemory& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    } catch (const TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    }
  });

  // A Python enum.Enum, so each dtype is a singleton: `t.dtype is fastnn.float32` holds, as in torch.
  py::native_enum<DType>(m, "dtype", "enum.Enum", "A tensor's element type.")
      .value("bool", DType::Bool)
      .value("int64", DType::Int64)
      .value("float32", DType::Float32)
      .value("float64", DType::Float64)
      .value("uint8", DType::UInt8)
      .value("int8", DType::Int8)
      .value("int16", DType::Int16)
      .value("int32", DType::Int32)
      .value("float16", DType::Float16)
      .value("bfloat16", DType::BFloat16)
      .finalize();
  py::object property = py::module_::import("builtins").attr("property");
  py::object dtype_cls = m.attr("dtype");
  dtype_cls.attr("is_floating_point") = property(py::cpp_function([](DType t) { return is_floating(t); }));
  dtype_cls.attr("itemsize") = property(py::cpp_function([](DType t) { return itemsize(t); }));
  dtype_cls.attr("is_signed") =
      property(py::cpp_function([](DType t) { return t != DType::Bool && t != DType::UInt8; }));

  m.def("_get_default_dtype", &default_float_dtype);
  m.def("_compute_dtype", &compute_dtype);
  m.def("_set_default_dtype",
        [](py::handle d) { set_default_float_dtype(cast_arg<DType>(d, "set_default_dtype", "d", "a fastnn.dtype")); });
  m.def("_set_size_class", [](py::object cls) { size_class() = cls; });
  m.def(
      "set_num_threads",
      [](int n) {
        // libgomp crashes when it cannot start the threads asked for (torch does too): refuse absurd counts.
        constexpr int kMaxThreads = 4096;
        FASTNN_CHECK(n <= kMaxThreads, "[set_num_threads] expected at most ", kMaxThreads, " threads, got ", n);
        set_num_threads(n);
      },
      py::arg("n"));
  m.def("get_num_threads", &get_num_threads);
  // The caching allocator's arenas by device index (-1: the CPU; otherwise that CUDA GPU); fastnn.cuda's
  // memory_allocated & co and leak tests read them.
  auto device_of = [](int64_t index) {
    if (index < 0) return Device{};
    cuda::check_device(int(index), "cuda.memory");
    return cuda_device(int(index));
  };
  m.def(
      "_allocator_cached_bytes", [=](int64_t index) { return allocator_cached_bytes(device_of(index)); },
      py::arg("device") = -1);
  m.def(
      "_allocator_empty_cache", [=](int64_t index) { allocator_empty_cache(device_of(index)); },
      py::arg("device") = -1);
  m.def(
      "_allocator_in_use_bytes", [=](int64_t index) { return allocator_in_use_bytes(device_of(index)); },
      py::arg("device") = -1);
  m.def(
      "_allocator_peak_bytes", [=](int64_t index) { return allocator_peak_bytes(device_of(index)); },
      py::arg("device") = -1);
  m.def(
      "_allocator_reset_peak", [=](int64_t index) { allocator_reset_peak(device_of(index)); }, py::arg("device") = -1);
  m.def("_cuda_built", &cuda::built);
  m.def("_cuda_emulated", &cuda::emulated);
  m.def("_cuda_device_count", &cuda::device_count);
  m.def(
      "_cuda_synchronize",
      [](int64_t index) {
        cuda::check_device(int(index), "cuda.synchronize");
        py::gil_scoped_release release;
        cuda::synchronize(int(index));
      },
      py::arg("device"));
  // Leak checks for tests: atomic counters of live Tensors and autograd Nodes.
  m.def("_live_tensors", &Tensor::live_count);
  m.def("_live_nodes", &Node::live_count);

  // Classes are registered before the signatures that name them (Tensor.grad_fn returns a Node): bind_autograd
  // adds Node's methods.
  py::class_<Node, std::shared_ptr<Node>>(m, "Node");
  TensorClass cls = bind_tensor(m);
  // A raw view of `t`'s storage (no autograd), for tests of Tensor::make's bounds check.
  m.def(
      "_as_strided",
      [](const TensorPtr& t, const Shape& size, const Shape& stride, int64_t offset) {
        TensorPtr v = Tensor::make(t->storage(), size, stride, offset, t->dtype(), t->version_counter());
        v->set_base(t->base() ? t->base() : t);
        return v;
      },
      py::arg("input"), py::arg("size"), py::arg("stride"), py::arg("storage_offset") = 0);
  bind_ops(m, cls);
  bind_autograd(m);
  bind_optim(m);
  bind_nn(m);
  bind_reduce(m, cls);
  bind_index(m, cls);
  bind_surface(m, cls);
  bind_shape(m, cls);
  bind_elementwise(m, cls);
  bind_random(m, cls);
  bind_rnn(m, cls);
  bind_attention(m, cls);
  bind_normalization(m, cls);
  bind_layers(m, cls);
  bind_losses(m, cls);
  bind_config(m);
  bind_dlpack(m, cls);
  bind_capture(m);
}
