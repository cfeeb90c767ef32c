#include "fastnn/tensor.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "fastnn/error.h"

namespace fastnn {
namespace {
std::atomic<int64_t> live_tensors{0};
std::atomic<uint64_t> serials{0};

// Index arithmetic cannot overflow, by construction. Kernels address element (i_0, ..., i_n-1) of a
// tensor at `offset + sum_k i_k * stride_k` elements from the storage's start (0 <= i_k < size_k),
// and loop over linear indices 0 <= i < numel. make() -- the only way to build a Tensor -- checks:
//   * numel <= 2^63 - 1 (checked_numel, with __builtin_mul_overflow);
//   * offset >= 0 and every stride >= 0 (fastnn makes no negative-stride views);
//   * (offset + sum_k (size_k - 1) * stride_k + 1) * itemsize <= storage bytes, each step
//     overflow-checked; and storage bytes <= PTRDIFF_MAX (Storage::allocate refuses more, and so
//     does the address space for wrapped NumPy memory).
// Every term i_k * stride_k and every partial sum is therefore between 0 and the largest offset, so
// it fits in int64_t, and times the itemsize it fits in ptrdiff_t. A bug upstream (a view computed
// with wrapped-around arithmetic) becomes a RuntimeError here instead of an out-of-bounds access.
void check_layout(const Storage* storage, const Shape& shape, const Shape& strides, int64_t offset, int64_t numel,
                  DType dtype) {
  FASTNN_CHECK_STATE(strides.size() == shape.size(), "[tensor] internal error: ", shape.size(), " sizes ", shape,
                     " but ", strides.size(), " strides ", strides);
  if (numel == 0) return;
  FASTNN_CHECK_STATE(storage, "[tensor] internal error: a tensor of size ", shape, " without storage");
  int64_t last = offset;
  bool ok = offset >= 0;
  for (size_t k = 0; k < shape.size() && ok; ++k) {
    int64_t term;
    ok = strides[k] >= 0 && !__builtin_mul_overflow(shape[k] - 1, strides[k], &term) &&
         !__builtin_add_overflow(last, term, &last);
  }
  int64_t end_bytes = 0;
  ok = ok && !__builtin_mul_overflow(last + 1, int64_t(itemsize(dtype)), &end_bytes) &&
       uint64_t(end_bytes) <= uint64_t(storage->nbytes());
  FASTNN_CHECK_STATE(ok, "[tensor] internal error: a view of size ", shape, ", strides ", strides, " and offset ",
                     offset, " reaches outside its storage of ", storage->nbytes(), " bytes");
}
}  // namespace

Tensor::Tensor() : serial_(serials.fetch_add(1, std::memory_order_relaxed)) {
  live_tensors.fetch_add(1, std::memory_order_relaxed);
}
void Tensor::not_on_cpu() const {
  throw std::runtime_error(str("[cuda] fastnn has no CUDA kernel for this op yet (got a tensor on ", device().str(),
                               "); move its inputs to the CPU with .cpu()"));
}
uint64_t Tensor::next_serial() { return serials.load(std::memory_order_relaxed); }
Tensor::~Tensor() { live_tensors.fetch_sub(1, std::memory_order_relaxed); }
int64_t Tensor::live_count() { return live_tensors.load(std::memory_order_relaxed); }

TensorPtr Tensor::empty(const Shape& shape, DType dtype, const char* op, Device device) {
  int64_t n = checked_numel(shape, op);
  size_t bytes;  // Storage::allocate refuses more than PTRDIFF_MAX (and more than the machine has)
  if (__builtin_mul_overflow(size_t(n), itemsize(dtype), &bytes))
    throw OutOfMemory(str("[", op, "] size ", shape, " is too large to allocate"));
  return make(Storage::allocate(bytes, op, device), shape, contiguous_strides(shape, op), 0, dtype);
}

TensorPtr Tensor::make(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset, DType dtype,
                       std::shared_ptr<VersionCounter> version) {
  int64_t numel = checked_numel(shape, "tensor");
  check_layout(storage.get(), shape, strides, offset, numel, dtype);
  TensorPtr t(new Tensor());
  t->storage_ = std::move(storage);
  t->numel_ = numel;
  t->shape_ = std::move(shape);
  t->strides_ = std::move(strides);
  t->offset_ = offset;
  t->dtype_ = dtype;
  t->version_ = version ? std::move(version) : std::make_shared<VersionCounter>();
  return t;
}

void Tensor::set_requires_grad(bool value) {
  if (capture::watching_writes()) capture::note_unrecorded_write(*this, "requires_grad changed");
  FASTNN_CHECK_STATE(is_leaf(),
                     "[requires_grad_] you can only change requires_grad flags of leaf variables. If you want to use a "
                     "computed variable in a subgraph that doesn't require differentiation use "
                     "var_no_grad = var.detach().");
  FASTNN_CHECK_STATE(!value || is_floating(dtype_),
                     "[requires_grad_] only Tensors of floating point dtype can require gradients (got ",
                     dtype_name(dtype_), ")");
  requires_grad_ = value;
}

void Tensor::set_grad(TensorPtr grad) {
  if (capture::watching_writes()) capture::note_unrecorded_write(*this, ".grad assigned");
  if (grad) {
    FASTNN_CHECK_STATE(grad->shape() == shape_,
                       "assigned grad has data of a different size: ", shape_str(grad->shape()), " vs the tensor's ",
                       shape_str(shape_));
    FASTNN_CHECK_STATE(grad->dtype() == dtype_,
                       "assigned grad has data of a different type: ", dtype_name(grad->dtype()), " vs the tensor's ",
                       dtype_name(dtype_));
    FASTNN_CHECK_STATE(grad->device() == device(),
                       "assigned grad has data located on a different device: ", grad->device().str(),
                       " vs the tensor's ", device().str());
  }
  grad_ = std::move(grad);
}

void Tensor::set_history(std::shared_ptr<Node> fn, uint32_t output_nr) {
  grad_fn_ = std::move(fn);
  output_nr_ = output_nr;
  requires_grad_ = false;
}

int64_t next_hook_id() {
  static std::atomic<int64_t> next{0};
  return next++;
}

int64_t Tensor::add_grad_hook(GradHook hook) {
  const int64_t id = next_hook_id();
  grad_hooks_.emplace_back(id, std::move(hook));
  return id;
}

int64_t Tensor::add_post_accumulate_hook(PostAccumulateHook hook) {
  const int64_t id = next_hook_id();
  post_accumulate_hooks_.emplace_back(id, std::move(hook));
  return id;
}

void Tensor::remove_grad_hook(int64_t id) {
  auto erase = [id](auto& hooks) {
    hooks.erase(std::remove_if(hooks.begin(), hooks.end(), [id](const auto& entry) { return entry.first == id; }),
                hooks.end());
  };
  erase(grad_hooks_);
  erase(post_accumulate_hooks_);
}

void Tensor::set_data(const Tensor& src) {
  if (capture::watching_writes()) capture::note_unrecorded_write(*this, ".data assigned");
  FASTNN_CHECK_STATE(!requires_grad_ || is_floating(src.dtype_),
                     "[data] a tensor that requires grad needs floating-point data, got ", dtype_name(src.dtype_));
  // Another device, dtype or shape needs a new AccumulateGrad (it checks gradients against them), as torch's set_data.
  if (src.device() != device() || src.dtype_ != dtype_ || src.shape_ != shape_) grad_accumulator_.reset();
  storage_ = src.storage_;
  shape_ = src.shape_;
  strides_ = src.strides_;
  offset_ = src.offset_;
  numel_ = src.numel_;
  dtype_ = src.dtype_;
}

TensorPtr Tensor::detach() const { return make(storage_, shape_, strides_, offset_, dtype_, version_); }

TensorPtr Tensor::data_alias() const { return make(storage_, shape_, strides_, offset_, dtype_); }

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace fastnn
