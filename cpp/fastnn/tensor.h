// Tensor: shared Storage + shape + strides + offset + dtype, a version counter, and autograd metadata.
// Python's fastnn.Tensor is this class itself (bound with a shared_ptr holder), so ops cross into
// C++ once and the same C++ tensor always maps back to the same Python object while it lives.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "fastnn/dtype.h"
#include "fastnn/shape.h"
#include "fastnn/storage.h"

namespace fastnn {

class Node;
class Tensor;
namespace capture {
// True on a thread whose capture (fastnn.compile) is between recorded calls; see capture/graph.h.
bool watching_writes();
void note_unrecorded_write(const Tensor& t, const char* what);
}  // namespace capture

using TensorPtr = std::shared_ptr<Tensor>;

// Bumped by every in-place write; shared by a tensor, its views and detach(), so autograd can
// tell that a tensor saved for backward has changed since.
struct VersionCounter {
  uint64_t value = 0;
};

class Tensor : public std::enable_shared_from_this<Tensor> {
 public:
  // A new contiguous tensor with uninitialised contents.
  static TensorPtr empty(const Shape& shape, DType dtype, const char* op = "empty", Device device = {});
  // A tensor over existing storage (a view); shares `version` when given. Checks, with overflow-checked
  // arithmetic, that every element lies inside the storage (see "Index arithmetic" in the .cpp).
  static TensorPtr make(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset, DType dtype,
                        std::shared_ptr<VersionCounter> version = nullptr);
  ~Tensor();

  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t offset() const { return offset_; }
  DType dtype() const { return dtype_; }
  int64_t dim() const { return int64_t(shape_.size()); }
  int64_t numel() const { return numel_; }
  bool is_contiguous() const { return fastnn::is_contiguous(shape_, strides_); }
  const std::shared_ptr<Storage>& storage() const { return storage_; }

  // Where the storage lives (the CPU for a storage-less empty tensor).
  Device device() const { return storage_ ? storage_->device() : Device{}; }
  bool is_cpu() const { return !storage_ || storage_->device().is_cpu(); }

  // Host pointers, for CPU kernels: a tensor on a GPU reaching one is refused (that op has no kernel there).
  template <class T> const T* data() const {
    check_cpu();
    return static_cast<const T*>(storage_->data()) + offset_;
  }
  template <class T> T* mutable_data() {
    check_cpu();
    return static_cast<T*>(storage_->data()) + offset_;
  }
  const void* raw_data() const {
    check_cpu();
    return static_cast<const char*>(storage_->data()) + offset_ * itemsize(dtype_);
  }
  void* raw_mutable_data() {
    check_cpu();
    return static_cast<char*>(storage_->data()) + offset_ * itemsize(dtype_);
  }
  // The first element's address on the tensor's own device (copies between devices, a device's kernels).
  void* device_data() const {
    return storage_ ? static_cast<char*>(storage_->data()) + offset_ * itemsize(dtype_) : nullptr;
  }

  // In-place writes bump this; see VersionCounter.
  uint64_t version() const { return version_->value; }
  void bump_version() {
    ++version_->value;
    if (capture::watching_writes()) capture::note_unrecorded_write(*this, "an in-place write");
  }
  const std::shared_ptr<VersionCounter>& version_counter() const { return version_; }

  // --- autograd ---
  // True for leaves marked requires_grad and for every result of a recorded op.
  bool requires_grad() const { return requires_grad_ || grad_fn_ != nullptr; }
  // Marks a leaf; throws for integer dtypes and for non-leaves (as torch does).
  void set_requires_grad(bool value);
  bool is_leaf() const { return grad_fn_ == nullptr; }
  const TensorPtr& grad() const { return grad_; }
  void set_grad(TensorPtr grad);
  const std::shared_ptr<Node>& grad_fn() const { return grad_fn_; }
  uint32_t output_nr() const { return output_nr_; }
  // Makes this tensor the `output_nr`-th output of `fn` (clears requires_grad's leaf flag).
  void set_history(std::shared_ptr<Node> fn, uint32_t output_nr);
  bool retains_grad() const { return retains_grad_; }
  // Autograd's per-tensor state (the leaf's AccumulateGrad node, retain_grad) is managed by autograd
  // (autograd/node.cpp), which the core does not include.
  friend std::shared_ptr<Node> grad_accumulator(const TensorPtr& t);
  friend void retain_grad(const TensorPtr& t);
  // Hooks on a leaf's gradient (Tensor.register_hook), run before it is accumulated; a non-leaf's
  // hooks live on its grad_fn. Ids come from next_hook_id() and remove them.
  using GradHook = std::function<TensorPtr(const TensorPtr&)>;
  const std::vector<std::pair<int64_t, GradHook>>& grad_hooks() const { return grad_hooks_; }
  int64_t add_grad_hook(GradHook hook);
  // Hooks on a leaf run after its gradient was accumulated into .grad, with the leaf
  // (Tensor.register_post_accumulate_grad_hook).
  using PostAccumulateHook = std::function<void(const TensorPtr&)>;
  const std::vector<std::pair<int64_t, PostAccumulateHook>>& post_accumulate_hooks() const {
    return post_accumulate_hooks_;
  }
  int64_t add_post_accumulate_hook(PostAccumulateHook hook);
  // Removes the hook of either kind with this id.
  void remove_grad_hook(int64_t id);

  // The tensor this one is a view of (null when it owns its layout); views share storage.
  const TensorPtr& base() const { return base_; }
  // Makes this tensor a view of `base`, remembering the base's history at this moment.
  void set_base(TensorPtr base) {
    base_history_ = base->grad_fn().get();
    base_ = std::move(base);
  }
  // True when the base took a new history (an in-place op under autograd) after this view was
  // made: the view's own history is then stale, and is rebuilt from the base's (autograd/view_history.h).
  bool view_history_is_stale() const { return base_ && base_->grad_fn().get() != base_history_; }
  // A 0-d tensor made from a Python number: takes part in type promotion by kind only.
  bool is_wrapped_number() const { return wrapped_number_; }
  void set_wrapped_number(bool v) { wrapped_number_ = v; }
  // Tensors alive in the process (an atomic counter, for leak tests: fastnn._C._live_tensors()).
  static int64_t live_count();
  // Creation order: every tensor gets the next number (a capture tells what was made during it).
  uint64_t serial() const { return serial_; }
  static uint64_t next_serial();

  // Makes this tensor use src's storage, layout and dtype, keeping its own autograd state
  // (torch's `tensor.data = src`).
  void set_data(const Tensor& src);
  // Same storage, layout and version counter, no autograd history (torch's detach()).
  TensorPtr detach() const;
  // Same storage and layout, a fresh version counter, no history (torch's .data).
  TensorPtr data_alias() const;

 private:
  Tensor();
  void check_cpu() const {
    if (!is_cpu()) not_on_cpu();
  }
  [[noreturn]] void not_on_cpu() const;
  std::shared_ptr<Storage> storage_;
  Shape shape_, strides_;
  int64_t offset_ = 0;
  int64_t numel_ = 0;
  DType dtype_ = DType::Float32;
  uint64_t serial_;
  std::shared_ptr<VersionCounter> version_;
  bool requires_grad_ = false;
  bool retains_grad_ = false;
  bool wrapped_number_ = false;
  uint32_t output_nr_ = 0;
  TensorPtr grad_;
  std::vector<std::pair<int64_t, GradHook>> grad_hooks_;
  std::vector<std::pair<int64_t, PostAccumulateHook>> post_accumulate_hooks_;
  std::shared_ptr<Node> grad_fn_;
  std::weak_ptr<Node> grad_accumulator_;
  TensorPtr base_;
  const Node* base_history_ = nullptr;  // identity only, never dereferenced
};

// A process-wide unique id for a gradient or node hook.
int64_t next_hook_id();

// Shape as torch prints it in messages: [2, 3].
std::string shape_str(const Shape& shape);

}  // namespace fastnn
