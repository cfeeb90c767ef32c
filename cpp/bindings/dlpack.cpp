// DLPack exchange: Tensor.__dlpack__ exports a tensor as a capsule that shares its storage, and
// _from_dlpack wraps another library's capsule as a tensor over the same memory (no copies either way).
// The structs are in fastnn/dlpack.h; fastnn.from_dlpack (python/fastnn/_dlpack.py) drives the protocol.
#include <cstring>

#include "bindings/common.h"
#include "fastnn/dlpack.h"
#include "fastnn/error.h"

namespace fastnn::bindings {
namespace {

constexpr const char* kLegacyName = "dltensor";
constexpr const char* kLegacyUsedName = "used_dltensor";
constexpr const char* kVersionedName = "dltensor_versioned";
constexpr const char* kVersionedUsedName = "used_dltensor_versioned";

std::string type_name(py::handle h) { return py::str(py::type::of(h).attr("__name__")); }

DLDataType dl_dtype(DType t) {
  auto bits = uint8_t(itemsize(t) * 8);
  switch (t) {
    case DType::Bool: return {kDLBool, 8, 1};
    case DType::UInt8: return {kDLUInt, 8, 1};
    case DType::Int8:
    case DType::Int16:
    case DType::Int32:
    case DType::Int64: return {kDLInt, bits, 1};
    case DType::Float16:
    case DType::Float32:
    case DType::Float64: return {kDLFloat, bits, 1};
    case DType::BFloat16: return {kDLBfloat, 16, 1};
  }
  throw std::logic_error("[__dlpack__] unknown dtype");
}

std::optional<DType> dtype_of(DLDataType d) {
  if (d.lanes != 1) return std::nullopt;
  switch (d.code) {
    case kDLBool:
      if (d.bits == 8) return DType::Bool;
      break;
    case kDLUInt:
      if (d.bits == 8) return DType::UInt8;
      break;
    case kDLInt:
      switch (d.bits) {
        case 8: return DType::Int8;
        case 16: return DType::Int16;
        case 32: return DType::Int32;
        case 64: return DType::Int64;
      }
      break;
    case kDLFloat:
      switch (d.bits) {
        case 16: return DType::Float16;
        case 32: return DType::Float32;
        case 64: return DType::Float64;
      }
      break;
    case kDLBfloat:
      if (d.bits == 16) return DType::BFloat16;
      break;
  }
  return std::nullopt;
}

// "complex64", "uint16", "float8 (type code 9)", "float32x4" (lanes): for errors.
std::string dtype_str(DLDataType d) {
  static const char* const names[] = {"int", "uint", "float", "opaque_handle", "bfloat", "complex", "bool"};
  std::string s =
      d.code < 7 ? str(names[d.code], int(d.bits)) : str("type code ", int(d.code), " with ", int(d.bits), " bits");
  return d.lanes == 1 ? s : str(s, "x", d.lanes);
}

// --- export ---

// What a capsule owns: the managed struct the consumer sees, plus the storage and layout it points into.
template <class Managed>
struct Export {
  Managed managed{};
  std::shared_ptr<Storage> storage;
  Shape shape, strides;
  static void deleter(Managed* m) { delete static_cast<Export*>(m->manager_ctx); }
};

// A managed tensor viewing t (first element at `data`, byte_offset 0, as torch and NumPy export).
template <class Managed>
Managed* export_tensor(const TensorPtr& t) {
  auto* e = new Export<Managed>;
  e->storage = t->storage();
  e->shape = t->shape();
  e->strides = t->strides();
  DLTensor& dl = e->managed.dl_tensor;
  dl.data = const_cast<void*>(t->raw_data());
  dl.device = {kDLCPU, 0};
  dl.ndim = int32_t(t->dim());
  dl.dtype = dl_dtype(t->dtype());
  dl.shape = e->shape.data();
  dl.strides = e->strides.data();
  dl.byte_offset = 0;
  e->managed.manager_ctx = e;
  e->managed.deleter = &Export<Managed>::deleter;
  return &e->managed;
}

// A capsule not consumed by anyone still owns its managed tensor: release it when the capsule dies.
void capsule_destructor(PyObject* capsule) {
  PyObject *type, *value, *traceback;
  PyErr_Fetch(&type, &value, &traceback);  // may run while an exception is being raised
  if (PyCapsule_IsValid(capsule, kLegacyName)) {
    auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule, kLegacyName));
    if (m->deleter) m->deleter(m);
  } else if (PyCapsule_IsValid(capsule, kVersionedName)) {
    auto* m = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(capsule, kVersionedName));
    if (m->deleter) m->deleter(m);
  }
  PyErr_Restore(type, value, traceback);
}

template <class Managed>
py::capsule make_capsule(Managed* m, const char* name) {
  PyObject* capsule = PyCapsule_New(m, name, &capsule_destructor);
  if (!capsule) {
    m->deleter(m);
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::capsule>(capsule);
}

// A legacy capsule of t, or a versioned one with `flags`.
py::capsule to_capsule(const TensorPtr& t, bool versioned, uint64_t flags) {
  if (!versioned) return make_capsule(export_tensor<DLManagedTensor>(t), kLegacyName);
  auto* m = export_tensor<DLManagedTensorVersioned>(t);
  m->version = {kDLPackMajorVersion, kDLPackMinorVersion};
  m->flags = flags;
  return make_capsule(m, kVersionedName);
}

// (major, minor), (device_type, device_id): a tuple of two ints, or TypeError naming __dlpack__.
std::pair<int64_t, int64_t> int_pair(py::handle h, const char* what, const char* expected) {
  if (!py::isinstance<py::tuple>(h) || py::len(h) != 2)
    throw TypeError(str("[__dlpack__] ", what, " must be None or a tuple ", expected, ", got ",
                        py::isinstance<py::tuple>(h) ? str("a tuple of ", py::len(h)) : type_name(h)));
  py::tuple t = py::reinterpret_borrow<py::tuple>(h);
  return {int_arg(t[0], "__dlpack__", what), int_arg(t[1], "__dlpack__", what)};
}

// Tensor.__dlpack__(*, stream=None, max_version=None, dl_device=None, copy=None), as the array API
// standard and torch: a versioned capsule when the consumer's max_version is >= (1, 0).
py::capsule dlpack(const TensorPtr& t, py::handle stream, py::handle max_version, py::handle dl_device,
                   py::handle copy) {
  if (t->requires_grad())
    throw py::buffer_error("[__dlpack__] Can't export tensors that require gradient, use tensor.detach()");
  if (!stream.is_none()) {
    if (!PyLong_CheckExact(stream.ptr()))
      throw TypeError(str("[__dlpack__] stream must be an int or None, got ", type_name(stream)));
    // -1 is torch's "no synchronisation", which is all a CPU tensor can offer.
    FASTNN_CHECK(int_arg(stream, "__dlpack__", "stream") == -1,
                 "[__dlpack__] stream must be None for a CPU tensor (CPU tensors have no streams), got ",
                 std::string(py::str(stream)));
  }
  bool versioned = !max_version.is_none() && int_pair(max_version, "max_version", "of two ints (major, minor)").first >=
                                                 int64_t(kDLPackMajorVersion);
  if (!dl_device.is_none()) {
    auto [type, id] = int_pair(dl_device, "dl_device", "(device_type, device_id)");
    if (type != kDLCPU || id != 0)
      throw py::buffer_error(str("[__dlpack__] cannot export to DLPack device (", type, ", ", id,
                                 "): fastnn tensors live on the CPU, device (", int(kDLCPU), ", 0)"));
  }
  if (!copy.is_none() && !PyBool_Check(copy.ptr()))
    throw TypeError(str("[__dlpack__] copy must be a bool or None, got ", type_name(copy)));
  if (copy.ptr() != Py_True) return to_capsule(t, versioned, 0);
  TensorPtr c;
  {
    py::gil_scoped_release nogil;
    c = t->is_contiguous() ? clone(t) : contiguous(t);
  }
  return to_capsule(c, versioned, kDLPackFlagIsCopied);
}

// --- import ---

// The tensor viewing `dl`'s memory; it calls `release` (the producer's deleter) when its storage dies.
// Checks everything before touching the capsule, so a refused one stays unconsumed (its own
// destructor then releases it); renames it `used_name` once the memory belongs to the tensor.
TensorPtr import_tensor(py::handle capsule, const DLTensor& dl, bool read_only, const char* used_name,
                        std::function<void()> release) {
  if (dl.device.device_type != kDLCPU)
    throw std::runtime_error(str("[from_dlpack] fastnn tensors live on the CPU, got a DLPack tensor on device (",
                                 int(dl.device.device_type), ", ", dl.device.device_id, "): move it to the CPU first"));
  std::optional<DType> dt = dtype_of(dl.dtype);
  if (!dt)
    throw TypeError(str("[from_dlpack] unsupported DLPack dtype ", dtype_str(dl.dtype),
                        " (fastnn has bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32 and "
                        "float64)"));
  FASTNN_CHECK(dl.ndim >= 0 && (dl.ndim == 0 || dl.shape), "[from_dlpack] invalid DLPack tensor: ndim ", dl.ndim,
               dl.shape ? "" : " with no shape");
  Shape shape(dl.shape, dl.shape + dl.ndim), strides(size_t(dl.ndim));
  int64_t numel = 1;
  for (int64_t i = dl.ndim - 1; i >= 0; --i) {
    FASTNN_CHECK(shape[i] >= 0, "[from_dlpack] invalid DLPack tensor: negative size in ", shape_str(shape));
    strides[i] = dl.strides ? dl.strides[i] : numel;  // no strides: compact row-major
    FASTNN_CHECK(!__builtin_mul_overflow(numel, std::max<int64_t>(shape[i], 1), &numel),
                 "[from_dlpack] the DLPack tensor's size ", shape_str(shape), " overflows");
  }
  size_t isz = itemsize(*dt);
  // Bytes from the first element to the end of the last one (overflow-checked; 0 when empty).
  size_t span = 0;
  bool empty = false;
  for (int64_t s : shape) empty = empty || s == 0;
  for (int64_t i = 0; i < dl.ndim; ++i) {
    if (shape[i] <= 1 || empty) strides[i] = std::max<int64_t>(strides[i], 0);  // a stride no element uses
    FASTNN_CHECK(strides[i] >= 0, "[from_dlpack] the DLPack tensor's strides ", shape_str(strides),
                 " are negative; fastnn tensors cannot view such memory: pass a copy (from_dlpack(x, copy=True))");
    size_t extent;
    FASTNN_CHECK(!__builtin_mul_overflow(size_t(shape[i] ? shape[i] - 1 : 0), size_t(strides[i]), &extent) &&
                     !__builtin_add_overflow(span, extent, &span),
                 "[from_dlpack] the DLPack tensor's layout ", shape_str(shape), " with strides ", shape_str(strides),
                 " overflows");
  }
  FASTNN_CHECK(!__builtin_add_overflow(span, size_t(1), &span) && !__builtin_mul_overflow(span, isz, &span),
               "[from_dlpack] the DLPack tensor's layout ", shape_str(shape), " with strides ", shape_str(strides),
               " overflows");
  if (empty) span = 0;
  auto* data = reinterpret_cast<char*>(reinterpret_cast<uintptr_t>(dl.data) + dl.byte_offset);  // no arithmetic on null
  FASTNN_CHECK(empty || dl.data, "[from_dlpack] invalid DLPack tensor: null data for ", shape_str(shape), " elements");
  FASTNN_CHECK(empty || reinterpret_cast<uintptr_t>(data) % isz == 0,
               "[from_dlpack] the DLPack tensor's data is not aligned to its ", isz,
               "-byte elements; fastnn kernels need aligned memory: pass a copy (from_dlpack(x, copy=True))");
  // torch shares read-only memory as writable tensors (its from_dlpack ignores the flag): so does
  // fastnn, with torch.from_numpy's warning for non-writable arrays.
  constexpr const char* kReadOnlyWarning =
      "[from_dlpack] the DLPack tensor is read-only, and fastnn does not support non-writable tensors: writing to "
      "this tensor is undefined behavior. Copy it (from_dlpack(x, copy=True)) or make it writable before converting "
      "it to a tensor.";
  if (read_only && PyErr_WarnEx(PyExc_UserWarning, kReadOnlyWarning, 1) < 0) throw py::error_already_set();
  auto storage = Storage::wrap(empty ? nullptr : data, span, [release = std::move(release)]() {
    py::gil_scoped_acquire gil;  // producers' deleters may touch Python objects (NumPy's do)
    release();
  });
  PyCapsule_SetName(capsule.ptr(), used_name);
  return Tensor::make(storage, shape, strides, 0, *dt);
}

TensorPtr from_capsule(py::handle obj) {
  if (!PyCapsule_CheckExact(obj.ptr()))
    throw TypeError(str("[from_dlpack] expected an object with __dlpack__ or a DLPack capsule, got ", type_name(obj)));
  if (PyCapsule_IsValid(obj.ptr(), kVersionedName)) {
    auto* m = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(obj.ptr(), kVersionedName));
    FASTNN_CHECK_STATE(m->version.major == kDLPackMajorVersion, "[from_dlpack] the DLPack tensor has version ",
                       m->version.major, ".", m->version.minor, "; fastnn understands ", kDLPackMajorVersion, ".x");
    return import_tensor(obj, m->dl_tensor, m->flags & kDLPackFlagReadOnly, kVersionedUsedName, [m] {
      if (m->deleter) m->deleter(m);
    });
  }
  if (PyCapsule_IsValid(obj.ptr(), kLegacyName)) {
    auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(obj.ptr(), kLegacyName));
    return import_tensor(obj, m->dl_tensor, false, kLegacyUsedName, [m] {
      if (m->deleter) m->deleter(m);
    });
  }
  const char* name = PyCapsule_GetName(obj.ptr());
  PyErr_Clear();  // a capsule with no name
  throw std::runtime_error(str("[from_dlpack] received an invalid capsule (named '", name ? name : "", "', expected '",
                               kLegacyName, "' or '", kVersionedName,
                               "'). Note that DLTensor capsules can be consumed "
                               "only once, so you might have already constructed a tensor from it once."));
}

}  // namespace

void bind_dlpack(py::module_& m, TensorClass& cls) {
  cls.def("__dlpack__", &dlpack, py::kw_only(), py::arg("stream") = py::none(), py::arg("max_version") = py::none(),
          py::arg("dl_device") = py::none(), py::arg("copy") = py::none());
  m.def(
      "_to_dlpack",
      [](py::handle t) {
        if (!is_tensor(t)) throw TypeError(str("[to_dlpack] expected a Tensor, got ", type_name(t)));
        return to_capsule(t.cast<TensorPtr>(), false, 0);
      },
      py::arg("tensor"));
  m.def("_from_dlpack", &from_capsule, py::arg("capsule"));
}

}  // namespace fastnn::bindings
