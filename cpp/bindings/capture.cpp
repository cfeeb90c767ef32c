// fastnn.compile's C++ side: a capture (Recorder) on the calling thread, and the captured Graph's replay.
#include "bindings/common.h"

namespace fastnn::capture {
namespace py = pybind11;
namespace {
bool is_constant(py::handle h) {
  static PyTypeObject* const dtype_type = Py_TYPE(py::cast(DType::Float32).ptr());  // fastnn.dtype (kept by _C)
  if (h.is_none() || PyBool_Check(h.ptr()) || PyLong_CheckExact(h.ptr()) || PyFloat_CheckExact(h.ptr()) ||
      PyUnicode_CheckExact(h.ptr()) || h.ptr() == Py_Ellipsis || Py_TYPE(h.ptr()) == dtype_type)
    return true;
  if (py::isinstance<py::array>(h)) return true;  // kept by reference: a replay reads it as a call would
  if (PySlice_Check(h.ptr())) {
    auto* s = reinterpret_cast<PySliceObject*>(h.ptr());
    return is_constant(s->start) && is_constant(s->stop) && is_constant(s->step);
  }
  return false;
}
}  // namespace

PyArg record_py(Recorder& r, py::handle h, const char* op) {
  PyArg a;
  if (bindings::is_tensor(h)) {
    a.slot = r.arg(h.cast<TensorPtr>(), op);
  } else if (PyTuple_Check(h.ptr()) || PyList_Check(h.ptr())) {  // fastnn.Size is a tuple too
    a.container = PyList_Check(h.ptr()) ? 'l' : 't';
    for (py::handle x : h) a.items.push_back(record_py(r, x, op));
  } else if (PyDict_CheckExact(h.ptr())) {
    a.container = 'd';
    py::dict d = py::reinterpret_borrow<py::dict>(h);
    py::list keys;
    for (auto kv : d) {
      if (!is_constant(kv.first)) r.cannot_record();
      keys.append(kv.first);
      a.items.push_back(record_py(r, kv.second, op));
    }
    a.value = py::tuple(keys);
  } else if (is_constant(h)) {
    a.value = py::reinterpret_borrow<py::object>(h);
  } else {
    r.cannot_record();
  }
  return a;
}

py::object replay_py(const PyArg& a, Slots& slots) {
  if (a.slot >= 0) return py::cast(slots[a.slot]);
  if (a.container == 't' || a.container == 'l') {
    py::list items;
    for (const PyArg& x : a.items) items.append(replay_py(x, slots));
    return a.container == 'l' ? py::object(items) : py::object(py::tuple(items));
  }
  if (a.container == 'd') {
    py::dict d;
    py::tuple keys = a.value;
    for (size_t i = 0; i < a.items.size(); ++i) d[keys[i]] = replay_py(a.items[i], slots);
    return d;
  }
  return a.value;
}

bool has_tensor_py(py::handle h) {
  if (bindings::is_tensor(h)) return true;
  if (PyTuple_Check(h.ptr()) || PyList_Check(h.ptr()))
    for (py::handle x : h)
      if (has_tensor_py(x)) return true;
  return false;
}

// A result's entries: a tensor's slot, count_entry(n) before a tuple's or list's n items, -1 for anything else.
void record_out_py(Recorder& r, py::handle h, std::vector<int>& slots) {
  if (bindings::is_tensor(h)) {
    slots.push_back(r.result(h.cast<TensorPtr>()));
  } else if (PyTuple_Check(h.ptr()) || PyList_Check(h.ptr())) {
    slots.push_back(count_entry(py::len(h)));
    for (py::handle x : h) record_out_py(r, x, slots);
  } else {
    slots.push_back(-1);
  }
}

void store_out_py(py::handle h, const int*& s, Slots& slots) {
  const int e = *s++;
  if (e >= 0) {
    FASTNN_CHECK_STATE(bindings::is_tensor(h), "[compile] an op gave a non-tensor on replay where it gave a tensor");
    slots[e] = h.cast<TensorPtr>();
  } else if (e < -1) {
    const size_t n = size_t(-2 - e);
    FASTNN_CHECK_STATE((PyTuple_Check(h.ptr()) || PyList_Check(h.ptr())) && py::len(h) == n,
                       "[compile] an op gave a result of another structure on replay");
    for (py::handle x : h) store_out_py(x, s, slots);
  }
}

}  // namespace fastnn::capture

namespace fastnn::bindings {
namespace {

// A capture open on the thread that made it; finish() or close() ends it (python/fastnn/_compile.py).
class Capture {
 public:
  explicit Capture(const std::vector<TensorPtr>& inputs) : recorder_(std::make_unique<capture::Recorder>(inputs)) {}
  std::shared_ptr<capture::Graph> finish(const std::vector<TensorPtr>& outputs) {
    FASTNN_CHECK_STATE(recorder_, "[compile] this capture has ended");
    auto graph = recorder_->finish(outputs);
    recorder_.reset();
    return graph;
  }
  void close() { recorder_.reset(); }

 private:
  std::unique_ptr<capture::Recorder> recorder_;
};

// What a graph is specialised on, for a call's tensors: each one's dtype, requires_grad, shape and strides.
py::tuple signature(const std::vector<TensorPtr>& tensors) {
  std::vector<int64_t> key;
  for (const TensorPtr& t : tensors) {
    key.push_back(int64_t(t->dtype()) * 2 + int64_t(t->requires_grad()));
    key.push_back(t->dim());
    key.insert(key.end(), t->shape().begin(), t->shape().end());
    key.insert(key.end(), t->strides().begin(), t->strides().end());
  }
  py::tuple out(key.size());
  for (size_t i = 0; i < key.size(); ++i) out[i] = py::int_(key[i]);
  return out;
}

}  // namespace

void bind_capture(py::module_& m) {
  m.def("_signature", &signature, py::arg("tensors"));
  py::class_<capture::Graph, std::shared_ptr<capture::Graph>>(m, "_Graph")
      .def("replay", &capture::Graph::replay, py::arg("inputs"))
      .def("profile", &capture::Graph::profile, py::arg("inputs"))
      .def("stale_reason", &capture::Graph::stale_reason)
      .def("op_names", &capture::Graph::op_names);
  py::class_<Capture>(m, "_Capture")
      .def(py::init<const std::vector<TensorPtr>&>(), py::arg("inputs"))
      .def("finish", &Capture::finish, py::arg("outputs"))
      .def("close", &Capture::close);
}

}  // namespace fastnn::bindings
