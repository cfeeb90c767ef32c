// Autograd graph: a Node is the backward of one recorded op (torch's grad_fn).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "fastnn/tensor.h"

namespace fastnn {

// Where a gradient goes: input `input_nr` of node `fn` (null fn: nowhere, the input needs no grad).
struct Edge {
  std::shared_ptr<Node> fn;
  uint32_t input_nr = 0;
};

// Shape and dtype of one forward output: what the gradient arriving for it must look like.
struct OutputMeta {
  Shape shape;
  DType dtype;
  Device device;
};

// A tensor kept for backward: its data (no history, so an op saving its own output makes no
// reference cycle) and the version it had, to detect later in-place changes. For higher-order
// gradients (create_graph), a node whose backward is made of differentiable ops saves an input
// `with_history` (the tensor itself), or its own output as `output` (rebuilt with the node as grad_fn
// when unpacked): unpack() returns those while grad mode is on, as it is during a create_graph backward.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const TensorPtr& t);
  static SavedTensor with_history(const TensorPtr& t);
  static SavedTensor output(const TensorPtr& t, uint32_t output_nr);
  // The saved data; throws if it was freed by a backward or modified in place since.
  TensorPtr unpack(const Node& owner) const;
  void reset() {
    data_.reset();
    original_.reset();
  }
  bool defined() const { return saved_; }

 private:
  TensorPtr data_;
  TensorPtr original_;  // with history: an input saved with_history that requires grad
  uint64_t version_ = 0;
  int64_t output_nr_ = -1;  // >= 0: the owner's output
  bool saved_ = false;
};

// Hooks on a node (grad_fn.register_prehook / register_hook): a pre-hook sees the gradients for the
// node's outputs, a post-hook those for its inputs and outputs; either returns replacements, or an
// empty vector to keep them.
using NodePreHook = std::function<std::vector<TensorPtr>(const std::vector<TensorPtr>& grad_outputs)>;
using NodePostHook = std::function<std::vector<TensorPtr>(const std::vector<TensorPtr>& grad_inputs,
                                                          const std::vector<TensorPtr>& grad_outputs)>;

class Node : public std::enable_shared_from_this<Node> {
 public:
  Node();
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // torch's class name for this node, e.g. "AddmmBackward0".
  virtual std::string name() const = 0;
  // Gradients w.r.t. the forward inputs (one per next edge; null where not needed), given the
  // gradients w.r.t. the forward outputs (never null: the engine fills zeros).
  virtual std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) = 0;
  // Frees saved tensors (after a backward without retain_graph).
  virtual void release_saved() {}
  // Whether apply() records its own graph when grad mode is on (backward with create_graph=True):
  // it is made of differentiable ops and unpacks saved tensors with their history.
  virtual bool supports_create_graph() const { return false; }

  const std::vector<Edge>& next_edges() const { return next_edges_; }
  void set_next_edges(std::vector<Edge> edges) { next_edges_ = std::move(edges); }
  // Whether input `i` of the forward op needs a gradient.
  bool needs_input_grad(size_t i) const { return i < next_edges_.size() && next_edges_[i].fn; }
  const std::vector<OutputMeta>& output_meta() const { return output_meta_; }
  void add_output_meta(const Tensor& t) { output_meta_.push_back({t.shape(), t.dtype(), t.device()}); }
  uint64_t sequence_nr() const { return sequence_nr_; }
  // Outputs whose gradient should be stored in their .grad (retain_grad below).
  void retain_output(uint32_t output_nr, const TensorPtr& t);
  const std::vector<std::pair<uint32_t, std::weak_ptr<Tensor>>>& retained() const { return retained_; }
  // Nodes alive in the process (an atomic counter, for leak tests: fastnn._C._live_nodes()).
  static int64_t live_count();

  // Hooks, each returning an id for remove_hook: on the gradient of output `output_nr` (a non-leaf's
  // Tensor.register_hook), on all the outputs' gradients, and after the node ran.
  int64_t add_tensor_pre_hook(uint32_t output_nr, Tensor::GradHook hook);
  int64_t add_pre_hook(NodePreHook hook);
  int64_t add_post_hook(NodePostHook hook);
  void remove_hook(int64_t id);
  // The engine's calls: tensor pre-hooks (a leaf's own hooks for AccumulateGrad) then node pre-hooks,
  // on the gradients arriving for the outputs; post-hooks on the gradients the node returned.
  void run_pre_hooks(std::vector<TensorPtr>& grad_outputs);
  void run_post_hooks(std::vector<TensorPtr>& grad_inputs, const std::vector<TensorPtr>& grad_outputs);

 protected:
  uint64_t sequence_nr_;
  std::vector<Edge> next_edges_;
  std::vector<OutputMeta> output_meta_;
  std::vector<std::pair<uint32_t, std::weak_ptr<Tensor>>> retained_;

 private:
  struct Hooks {
    std::vector<std::tuple<int64_t, uint32_t, Tensor::GradHook>> tensor_pre;
    std::vector<std::pair<int64_t, NodePreHook>> pre;
    std::vector<std::pair<int64_t, NodePostHook>> post;
  };
  std::unique_ptr<Hooks> hooks_;  // null until a hook is added: most nodes never have one
};

// The sink of a leaf that requires grad: adds the incoming gradient into variable.grad. A leaf has
// one AccumulateGrad shared by every graph that uses it, so backward passes running in two threads
// at once may reach it together: apply() holds a lock (as torch's does).
class AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(TensorPtr variable);
  std::string name() const override { return "AccumulateGrad"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override;
  bool supports_create_graph() const override { return true; }
  const TensorPtr& variable() const { return variable_; }

 private:
  void accumulate(const TensorPtr& g);
  TensorPtr variable_;
  std::mutex mu_;
};

// The AccumulateGrad node of a leaf that requires grad (created once, then reused while it lives).
std::shared_ptr<Node> grad_accumulator(const TensorPtr& t);
// Tensor.retain_grad(): a non-leaf's gradient is stored in its .grad (a leaf's always is).
void retain_grad(const TensorPtr& t);
// Where the gradient of `t` flows: its grad_fn, its AccumulateGrad, or nowhere.
Edge gradient_edge(const TensorPtr& t);
// True when grad mode is on and any of `inputs` requires grad.
bool any_requires_grad(std::initializer_list<const TensorPtr*> inputs);
// Connects `node` to `inputs` and makes it the grad_fn of `outputs`.
void record(const std::shared_ptr<Node>& node, std::initializer_list<const TensorPtr*> inputs,
            std::initializer_list<const TensorPtr*> outputs);
void record(const std::shared_ptr<Node>& node, const std::vector<TensorPtr>& inputs,
            const std::vector<TensorPtr>& outputs);

}  // namespace fastnn
