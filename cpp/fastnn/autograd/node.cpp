#include "fastnn/autograd/node.h"

#include <atomic>
#include <mutex>

#include "fastnn/autograd/grad_mode.h"
#include "fastnn/autograd/view_history.h"
#include "fastnn/error.h"
#include "fastnn/ops/ops.h"

namespace fastnn {
namespace {

std::atomic<uint64_t> next_sequence_nr{0};
std::atomic<int64_t> live_nodes{0};

// Nodes whose last owner is a node being destroyed; freed in a loop, not by recursion, so a
// 100,000-node chain does not overflow the C stack.
thread_local std::vector<std::shared_ptr<Node>> graveyard;
thread_local bool tearing_down = false;

const char* type_name(DType t) {
  switch (t) {
    case DType::Bool: return "BoolTensor";
    case DType::Int64: return "LongTensor";
    case DType::Float32: return "FloatTensor";
    case DType::Float64: return "DoubleTensor";
    case DType::UInt8: return "ByteTensor";
    case DType::Int8: return "CharTensor";
    case DType::Int16: return "ShortTensor";
    case DType::Int32: return "IntTensor";
    case DType::Float16: return "HalfTensor";
    case DType::BFloat16: return "BFloat16Tensor";
  }
  return "Tensor";
}

}  // namespace

SavedTensor::SavedTensor(const TensorPtr& t) : data_(t->detach()), version_(t->version()), saved_(true) {}

SavedTensor SavedTensor::with_history(const TensorPtr& t) {
  SavedTensor s(t);
  if (t->requires_grad()) s.original_ = t;
  return s;
}

SavedTensor SavedTensor::output(const TensorPtr& t, uint32_t output_nr) {
  SavedTensor s(t);
  s.output_nr_ = output_nr;
  return s;
}

TensorPtr SavedTensor::unpack(const Node& owner) const {
  FASTNN_CHECK_STATE(data_,
                     "Trying to backward through the graph a second time (or directly access saved tensors "
                     "after they have already been freed). Saved intermediate values of the graph are freed "
                     "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
                     "backward through the graph a second time or if you need to access saved tensors after "
                     "calling backward. (node: ",
                     owner.name(), ")");
  FASTNN_CHECK_STATE(data_->version() == version_,
                     "one of the variables needed for gradient computation has been modified by an "
                     "inplace operation: [fastnn.",
                     type_name(data_->dtype()), " ", shape_str(data_->shape()), "], which was saved by ", owner.name(),
                     ", is at version ", data_->version(), "; expected version ", version_, " instead.");
  if (!GradMode::is_enabled()) return data_;
  if (original_) return original_;
  if (output_nr_ >= 0) {  // the owner's output, as a tensor whose history is the owner
    TensorPtr out = data_->detach();
    out->set_history(std::const_pointer_cast<Node>(owner.shared_from_this()), uint32_t(output_nr_));
    return out;
  }
  return data_;
}

Node::Node() : sequence_nr_(next_sequence_nr++) { live_nodes.fetch_add(1, std::memory_order_relaxed); }

int64_t Node::live_count() { return live_nodes.load(std::memory_order_relaxed); }

Node::~Node() {
  live_nodes.fetch_sub(1, std::memory_order_relaxed);
  for (Edge& e : next_edges_)
    if (e.fn && e.fn.use_count() == 1) graveyard.push_back(std::move(e.fn));
  if (tearing_down) return;
  tearing_down = true;
  while (!graveyard.empty()) {
    std::shared_ptr<Node> n = std::move(graveyard.back());
    graveyard.pop_back();
    n.reset();  // may push its own edges onto the graveyard
  }
  tearing_down = false;
}

int64_t Node::add_tensor_pre_hook(uint32_t output_nr, Tensor::GradHook hook) {
  if (!hooks_) hooks_ = std::make_unique<Hooks>();
  const int64_t id = next_hook_id();
  hooks_->tensor_pre.emplace_back(id, output_nr, std::move(hook));
  return id;
}

int64_t Node::add_pre_hook(NodePreHook hook) {
  if (!hooks_) hooks_ = std::make_unique<Hooks>();
  const int64_t id = next_hook_id();
  hooks_->pre.emplace_back(id, std::move(hook));
  return id;
}

int64_t Node::add_post_hook(NodePostHook hook) {
  if (!hooks_) hooks_ = std::make_unique<Hooks>();
  const int64_t id = next_hook_id();
  hooks_->post.emplace_back(id, std::move(hook));
  return id;
}

void Node::remove_hook(int64_t id) {
  if (!hooks_) return;
  auto erase = [id](auto& v) {
    for (auto it = v.begin(); it != v.end(); ++it)
      if (std::get<0>(*it) == id) return void(v.erase(it));
  };
  erase(hooks_->tensor_pre);
  erase(hooks_->pre);
  erase(hooks_->post);
}

namespace {

// A hook's replacement for `grad` must keep its shape (torch's check).
void replace_grad(TensorPtr& grad, TensorPtr replacement, const char* what) {
  if (!replacement) return;
  FASTNN_CHECK_STATE(replacement->shape() == grad->shape(), "[", what,
                     "] hook has changed the size of value: expected ", shape_str(grad->shape()), ", got ",
                     shape_str(replacement->shape()));
  grad = std::move(replacement);
}

void replace_grads(std::vector<TensorPtr>& grads, std::vector<TensorPtr> replacement, const char* what) {
  if (replacement.empty()) return;
  FASTNN_CHECK_STATE(replacement.size() == grads.size(), "[", what, "] hook returned ", replacement.size(),
                     " gradients, expected ", grads.size());
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i]) grads[i] = std::move(replacement[i]);
    else replace_grad(grads[i], std::move(replacement[i]), what);
  }
}

}  // namespace

void Node::run_pre_hooks(std::vector<TensorPtr>& grad_outputs) {
  if (auto* acc = dynamic_cast<AccumulateGrad*>(this))
    for (const auto& [id, hook] : std::vector(acc->variable()->grad_hooks()))  // a copy: a hook may remove hooks
      replace_grad(grad_outputs[0], hook(grad_outputs[0]), "register_hook");
  if (!hooks_) return;
  for (const auto& [id, nr, hook] : std::vector(hooks_->tensor_pre))
    replace_grad(grad_outputs[nr], hook(grad_outputs[nr]), "register_hook");
  for (const auto& [id, hook] : std::vector(hooks_->pre))
    replace_grads(grad_outputs, hook(grad_outputs), "register_prehook");
}

void Node::run_post_hooks(std::vector<TensorPtr>& grad_inputs, const std::vector<TensorPtr>& grad_outputs) {
  if (!hooks_) return;
  for (const auto& [id, hook] : std::vector(hooks_->post))
    replace_grads(grad_inputs, hook(grad_inputs, grad_outputs), "register_hook");
}

void Node::retain_output(uint32_t output_nr, const TensorPtr& t) { retained_.push_back({output_nr, t}); }

AccumulateGrad::AccumulateGrad(TensorPtr variable) : variable_(std::move(variable)) {
  // Leaves run last, after every node that feeds them (torch gives them the highest priority).
  sequence_nr_ = UINT64_MAX;
  add_output_meta(*variable_);
}

std::vector<TensorPtr> AccumulateGrad::apply(std::vector<TensorPtr>& grads) {
  accumulate(grads[0]);
  for (const auto& [id, hook] : std::vector(variable_->post_accumulate_hooks()))  // a copy: a hook may remove hooks
    hook(variable_);
  return {};
}

void AccumulateGrad::accumulate(const TensorPtr& g) {
  std::lock_guard<std::mutex> lock(mu_);
  if (GradMode::is_enabled()) {  // create_graph: .grad keeps the gradient's history, nothing is written in place
    variable_->set_grad(variable_->grad() ? add(variable_->grad(), g, 1.0) : g);
    return;
  }
  if (!variable_->grad()) {
    // Keep the incoming buffer when nobody else can see it; otherwise store a private copy.
    bool exclusive = g.use_count() == 1 && g->is_contiguous() && !g->base() && !g->requires_grad();
    variable_->set_grad(exclusive ? g : clone(g));
  } else {
    TensorPtr acc = variable_->grad();
    add_(acc, g, 1.0);  // in place, as torch does when not creating a graph
  }
}

std::shared_ptr<Node> grad_accumulator(const TensorPtr& t) {
  // Two threads recording ops on the same leaf (a shared parameter) come here together: without the
  // lock they race on the weak_ptr (undefined behaviour; seen as corrupted graphs) and may create two
  // accumulators. One process-wide lock: this runs once per leaf input of a recorded op.
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  if (auto acc = t->grad_accumulator_.lock()) return acc;
  auto acc = std::make_shared<AccumulateGrad>(t);
  t->grad_accumulator_ = acc;
  return acc;
}

void retain_grad(const TensorPtr& t) {
  if (capture::watching_writes()) capture::note_unrecorded_write(*t, "retain_grad()");
  FASTNN_CHECK_STATE(t->requires_grad(), "can't retain_grad on Tensor that has requires_grad=False");
  if (t->retains_grad_ || t->is_leaf()) return;  // leaves get .grad anyway
  t->retains_grad_ = true;
  t->grad_fn_->retain_output(t->output_nr_, t);
}

Edge gradient_edge(const TensorPtr& t) {
  refresh_view_history(t);
  if (t->grad_fn()) return {t->grad_fn(), t->output_nr()};
  if (t->requires_grad()) return {grad_accumulator(t), 0};
  return {};
}

bool any_requires_grad(std::initializer_list<const TensorPtr*> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const TensorPtr* t : inputs)
    if (*t && (*t)->requires_grad()) return true;
  return false;
}

void record(const std::shared_ptr<Node>& node, std::initializer_list<const TensorPtr*> inputs,
            std::initializer_list<const TensorPtr*> outputs) {
  std::vector<Edge> edges;
  edges.reserve(inputs.size());
  for (const TensorPtr* t : inputs) edges.push_back(*t ? gradient_edge(*t) : Edge{});
  node->set_next_edges(std::move(edges));
  uint32_t i = 0;
  for (const TensorPtr* t : outputs) {
    node->add_output_meta(**t);
    (*t)->set_history(node, i++);
  }
}

void record(const std::shared_ptr<Node>& node, const std::vector<TensorPtr>& inputs,
            const std::vector<TensorPtr>& outputs) {
  std::vector<Edge> edges;
  edges.reserve(inputs.size());
  for (const TensorPtr& t : inputs) edges.push_back(t ? gradient_edge(t) : Edge{});
  node->set_next_edges(std::move(edges));
  uint32_t i = 0;
  for (const TensorPtr& t : outputs) {
    node->add_output_meta(*t);
    t->set_history(node, i++);
  }
}

}  // namespace fastnn
