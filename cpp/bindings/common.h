// Shared helpers for the pybind11 bindings: argument conversion from Python values.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/typing.h>

#include <optional>

#include "fastnn/capture/graph.h"
#include "fastnn/error.h"
#include "fastnn/ops/ops.h"

// None is not a Tensor: a Tensor argument (`self` included) refuses None, so C++ never sees a null
// tensor from Python and pybind11 raises TypeError naming the function. Arguments that may be None
// say so with OptionalTensor. These specializations must precede every binding, hence this header.
namespace pybind11::detail {
template <>
class type_caster<fastnn::Tensor> : public type_caster_base<fastnn::Tensor> {
 public:
  bool load(handle src, bool convert) { return !src.is_none() && type_caster_base::load(src, convert); }
};
template <>
class type_caster<fastnn::TensorPtr> : public copyable_holder_caster<fastnn::Tensor, fastnn::TensorPtr> {
 public:
  bool load(handle src, bool convert) { return !src.is_none() && copyable_holder_caster::load(src, convert); }
};
}  // namespace pybind11::detail

// fastnn.compile records bindings whose arguments are Python objects too: a tensor becomes a slot, a plain
// constant (None, bool, int, float, str, slice, Ellipsis, a fastnn.dtype, a NumPy array by reference) is kept, a
// tuple, list or dict of these is rebuilt on replay; any other object (a function, a generator) makes the call run
// unrecorded.
namespace fastnn::capture {
struct PyArg {
  int slot = -1;           // a tensor's slot
  pybind11::object value;  // a constant (or the dict's keys, as a tuple)
  char container = 0;      // 't'uple, 'l'ist or 'd'ict of `items`
  std::vector<PyArg> items;
};
PyArg record_py(Recorder& r, pybind11::handle h, const char* op);
inline void reads_of(const PyArg& a, std::vector<int>& out) {
  if (a.slot >= 0) out.push_back(a.slot);
  for (const PyArg& x : a.items) reads_of(x, out);
}
pybind11::object replay_py(const PyArg& a, Slots& slots);
bool has_tensor_py(pybind11::handle h);
void record_out_py(Recorder& r, pybind11::handle h, std::vector<int>& slots);
void store_out_py(pybind11::handle h, const int*& s, Slots& slots);

template <class T>
struct RecordableArg<T, std::enable_if_t<std::is_base_of_v<pybind11::handle, T>>> : std::true_type {};
template <class T>
struct Arg<T, std::enable_if_t<std::is_base_of_v<pybind11::handle, T>>> {
  using Stored = PyArg;
  static Stored record(Recorder& r, const T& h, const char* op) { return record_py(r, h, op); }
  static auto get(const Stored& s, Slots& slots) {  // an owning object (a py::handle parameter borrows it)
    if constexpr (std::is_same_v<T, pybind11::handle>) return replay_py(s, slots);
    else return pybind11::reinterpret_steal<T>(replay_py(s, slots).release());
  }
};
template <class T>
struct Out<T, std::enable_if_t<std::is_base_of_v<pybind11::handle, T>>> {
  static bool keep(const T& r) { return has_tensor_py(r); }
  static void record(Recorder& r, const T& v, std::vector<int>& slots) { record_out_py(r, v, slots); }
  static void store(const T& v, const int*& s, Slots& slots) { store_out_py(v, s, slots); }
};
}  // namespace fastnn::capture

namespace fastnn::bindings {

namespace py = pybind11;

// A tensor argument that may be None (null in C++).
using OptionalTensor = std::optional<TensorPtr>;
inline TensorPtr or_null(const OptionalTensor& t) { return t ? *t : nullptr; }
// A pointer that may be null as an optional, so signatures (and _C.pyi) say `X | None`.
template <class T>
std::optional<std::shared_ptr<T>> or_none(std::shared_ptr<T> p) {
  if (!p) return std::nullopt;
  return p;
}
inline std::vector<TensorPtr> or_null(const std::vector<OptionalTensor>& ts) {
  std::vector<TensorPtr> out;
  out.reserve(ts.size());
  for (const auto& t : ts) out.push_back(or_null(t));
  return out;
}

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
// isinstance(h, fastnn.Tensor), fast.
bool is_tensor(py::handle h);
// True when `h` is a Tensor or a number operand() accepts.
bool is_operand(py::handle h);
// `size` arguments: f(2, 3), f((2, 3)), f([2, 3]) or f(fastnn.Size([2, 3])).
Shape shape_from_args(const py::args& args, const char* op);
// `dim` arguments: an int or a sequence of ints.
IntList dims_arg(py::handle h, const char* op);
// A Python value to a Python tuple of ints shown as fastnn.Size.
py::object make_size(const Shape& shape);

// Return types that only name a Python type in signatures (so in fastnn/_C.pyi, see scripts/gen_stubs.py):
// a fastnn.Size; a Python number (item()); a binary operator's result, a Tensor (or NotImplemented for
// operands it does not take, which type stubs leave implicit, as torch's do).
class SizeObject : public py::tuple {
  using py::tuple::tuple;
};
using Number = py::typing::Union<py::float_, py::int_, py::bool_>;
using TensorOrNotImplemented = py::typing::Union<Tensor>;
// Integer value of an int-like Python object (rejects floats and bools) with the op in the error.
int64_t int_arg(py::handle h, const char* op, const char* what);
// `h` converted to T, or TypeError "[op] <what> must be <expected>, got <type>".
template <class T>
T cast_arg(py::handle h, const char* op, const char* what, const char* expected) {
  try {
    return h.cast<T>();
  } catch (const py::cast_error&) {
    throw TypeError(str("[", op, "] ", what, " must be ", expected, ", got ",
                        std::string(py::str(py::type::of(h).attr("__name__")))));
  }
}

// GC traversal of the Python objects a custom Function's node holds (0 and nothing visited for other nodes).
int traverse_function_node(const Node& node, visitproc visit, void* arg);

using TensorClass = py::class_<Tensor, TensorPtr>;

// --- fastnn.compile: recording bound calls (capture/graph.h) ---
namespace record_detail {
template <class F>
struct signature : signature<decltype(&F::operator())> {};
template <class C, class R, class... A>
struct signature<R (C::*)(A...) const> {
  using type = R(A...);
};
template <class R, class... A>
struct signature<R (*)(A...)> {
  using type = R(A...);
};
template <class T>
constexpr bool has_tensor() {
  using D = std::decay_t<T>;
  return std::is_same_v<D, TensorPtr> || std::is_same_v<D, OptionalTensor> ||
         std::is_same_v<D, std::vector<TensorPtr>> || std::is_same_v<D, std::pair<TensorPtr, TensorPtr>> ||
         std::is_same_v<D, std::tuple<TensorPtr, TensorPtr>> ||
         std::is_same_v<D, std::tuple<TensorPtr, TensorPtr, TensorPtr>>;
}
template <class R, class... A>
constexpr bool recordable(R (*)(A...)) {
  return (capture::recordable_arg<A>() && ...) &&
         (std::is_void_v<R> || has_tensor<R>() || std::is_base_of_v<py::handle, R>);
}
template <class R, class... A>
constexpr bool typed(R (*)(A...)) {
  return (!std::is_base_of_v<py::handle, std::decay_t<A>> && ...);
}
template <class F, class R, class... A>
auto wrap(const char* name, F f, R (*)(A...)) {
  return [name, f](A... a) -> R { return capture::call(name, f, std::forward<A>(a)...); };
}
template <class F>
using signature_ptr = typename signature<F>::type*;
}  // namespace record_detail

// True when fastnn.compile can record a binding `f` (a lambda or function pointer): its arguments are C++ values or
// Python objects (see capture::PyArg) and it returns tensors, Python objects or nothing. Calls whose result holds no
// tensor (sizes, flags) run at capture only; those reading tensor values refuse (capture::refuse_value_read).
template <class F>
constexpr bool is_recordable() {
  if constexpr (std::is_member_function_pointer_v<F>) return false;
  else return record_detail::recordable(record_detail::signature_ptr<F>(nullptr));
}

// `f` as a binding that fastnn.compile records.
template <class F>
auto recorded(const char* name, F f) {
  static_assert(is_recordable<F>(), "recorded(): a signature fastnn.compile cannot record");
  return record_detail::wrap(name, f, record_detail::signature_ptr<F>(nullptr));
}
// recorded(name, f) when f's arguments are all C++ values, else f (a binding converting Python objects either calls
// capture::call itself once they are converted, or is wrapped in recorded() where def_op is called).
template <class F>
auto recorded_if_typed(const char* name, F f) {
  if constexpr (is_recordable<F>() && record_detail::typed(record_detail::signature_ptr<F>(nullptr)))
    return recorded(name, f);
  else return f;
}

// `f` as a binding that refuses to run inside a capture: it gives Python a value computed from tensor data.
template <class R, class... A>
auto value_read(const char* name, R (*f)(A...)) {
  return [name, f](A... a) -> R {
    capture::refuse_value_read(name);
    return f(std::forward<A>(a)...);
  };
}

// Binds `f` as module function `name` (first argument `input`) and as a Tensor method.
template <class F, class... Extra>
void def_op(py::module_& m, TensorClass& cls, const char* name, F f, const Extra&... extra) {
  m.def(name, recorded_if_typed(name, f), py::arg("input"), extra...);
  cls.def(name, recorded_if_typed(name, f), extra...);
}

TensorClass bind_tensor(py::module_& m);
void bind_ops(py::module_& m, TensorClass& cls);
void bind_autograd(py::module_& m);
void bind_optim(py::module_& m);
void bind_nn(py::module_& m);
void bind_reduce(py::module_& m, TensorClass& cls);
void bind_index(py::module_& m, TensorClass& cls);
void bind_surface(py::module_& m, TensorClass& cls);
void bind_shape(py::module_& m, TensorClass& cls);
void bind_elementwise(py::module_& m, TensorClass& cls);
void bind_random(py::module_& m, TensorClass& cls);
void bind_rnn(py::module_& m, TensorClass& cls);
void bind_attention(py::module_& m, TensorClass& cls);
void bind_normalization(py::module_& m, TensorClass& cls);
void bind_layers(py::module_& m, TensorClass& cls);
void bind_losses(py::module_& m, TensorClass& cls);
void bind_config(py::module_& m);
void bind_dlpack(py::module_& m, TensorClass& cls);
void bind_capture(py::module_& m);

}  // namespace fastnn::bindings

template <>
struct pybind11::detail::handle_type_name<fastnn::bindings::SizeObject> {
  static constexpr auto name = const_name("fastnn.Size");
};
