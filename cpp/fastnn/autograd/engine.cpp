#include "fastnn/autograd/engine.h"

#include <functional>
#include <queue>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "fastnn/autograd/grad_mode.h"
#include "fastnn/autograd/node.h"
#include "fastnn/error.h"
#include "fastnn/ops/ops.h"

namespace fastnn {
namespace {

struct NodeState {
  int dependencies = 0;
  std::vector<TensorPtr> inputs;  // gradients arriving for each of the node's forward outputs
};

// Highest sequence number first: a node runs after every node recorded later that feeds it.
struct LaterFirst {
  bool operator()(Node* a, Node* b) const { return a->sequence_nr() < b->sequence_nr(); }
};

TensorPtr seed_grad(const TensorPtr& root, const TensorPtr& g, size_t i) {
  if (g) {
    FASTNN_CHECK_STATE(g->shape() == root->shape(), "[backward] Mismatch in shape: grad_output[", i,
                       "] has a shape of ", shape_str(g->shape()), " and output[", i, "] has a shape of ",
                       shape_str(root->shape()));
    FASTNN_CHECK_STATE(g->device() == root->device(), "[backward] invalid gradient at index ", i, " - expected device ",
                       root->device().str(), " but got ", g->device().str());
    return g->dtype() == root->dtype() ? g : to_dtype(g, root->dtype());
  }
  FASTNN_CHECK_STATE(root->numel() == 1, "[backward] grad can be implicitly created only for scalar outputs (output ",
                     i, " has shape ", shape_str(root->shape()), ")");
  return to_device(full(root->shape(), 1.0, root->dtype()), root->device());  // a GPU root's 1 goes there
}

// Anomaly mode's check: torch's message when a node returned NaN.
void check_no_nan(const Node& n, const std::vector<TensorPtr>& grads) {
  for (size_t i = 0; i < grads.size(); ++i) {
    const TensorPtr& g = grads[i];
    if (!g || !is_floating(g->dtype())) continue;
    const TensorPtr nans = sum(compare(g, g, CompareOp::Ne));  // NaN is the one value unequal to itself
    FASTNN_CHECK_STATE(*nans->data<int64_t>() == 0, "Function '", n.name(), "' returned nan values in its ", i,
                       "th output.");
  }
}

// Runs the graph below `roots`. When `capture` is given, gradients reaching those edges are
// stored there instead of flowing further, and leaves are not touched.
void run(const std::vector<TensorPtr>& roots, const std::vector<TensorPtr>& grads, bool retain_graph, bool create_graph,
         std::unordered_map<Node*, std::vector<std::pair<uint32_t, TensorPtr*>>>* capture) {
  FASTNN_CHECK_STATE(grads.empty() || grads.size() == roots.size(), "[backward] got ", grads.size(), " gradients for ",
                     roots.size(), " tensors");
  GradModeGuard grad_mode(create_graph);
  std::unordered_map<Node*, NodeState> state;
  std::vector<Edge> root_edges;  // owns a leaf root's AccumulateGrad for the whole run
  std::vector<Node*> starts;     // distinct root nodes
  FASTNN_CHECK(grads.empty() || grads.size() == roots.size(), "[backward] got ", grads.size(), " gradients for ",
               roots.size(), " tensors");
  for (size_t i = 0; i < roots.size(); ++i) {
    const TensorPtr& r = roots[i];
    FASTNN_CHECK_TYPE(r != nullptr, "[backward] expected a Tensor for element ", i, ", got None");
    FASTNN_CHECK_STATE(r->requires_grad(), "[backward] element ", i,
                       " of tensors does not require grad and does not have a grad_fn");
    Edge e = gradient_edge(r);
    TensorPtr g = seed_grad(r, grads.empty() ? nullptr : grads[i], i);
    auto [it, fresh] = state.try_emplace(e.fn.get());
    NodeState& s = it->second;
    s.inputs.resize(e.fn->output_meta().size());
    TensorPtr& slot = s.inputs[e.input_nr];
    slot = slot ? add(slot, g, 1.0) : g;
    if (fresh) starts.push_back(e.fn.get());
    root_edges.push_back(std::move(e));
  }
  // Count, for every reachable node, the edges pointing at it (iterative DFS; each node expanded once).
  std::unordered_set<Node*> seen(starts.begin(), starts.end());
  std::vector<Node*> stack(starts.begin(), starts.end());
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next_edges()) {
      if (!e.fn) continue;
      Node* m = e.fn.get();
      state[m].dependencies++;
      if (seen.insert(m).second) stack.push_back(m);
    }
  }
  // For autograd.grad: run a node only when a captured node lies below it (iterative post-order DFS,
  // so a node is finished after all of its children).
  std::unordered_map<Node*, bool> leads_to_capture;
  if (capture) {
    std::unordered_set<Node*> visited(starts.begin(), starts.end());
    std::vector<std::pair<Node*, size_t>> dfs;
    for (Node* n : starts) dfs.push_back({n, 0});
    while (!dfs.empty()) {
      Node* n = dfs.back().first;
      size_t i = dfs.back().second++;
      const auto& edges = n->next_edges();
      if (i < edges.size()) {
        Node* c = edges[i].fn.get();
        if (c && visited.insert(c).second) dfs.push_back({c, 0});
        continue;
      }
      bool leads = false;
      for (const Edge& e : edges)
        if (e.fn && (capture->count(e.fn.get()) || leads_to_capture[e.fn.get()])) leads = true;
      leads_to_capture[n] = leads;
      dfs.pop_back();
    }
  }
  std::priority_queue<Node*, std::vector<Node*>, LaterFirst> ready;
  for (Node* n : starts)
    if (state[n].dependencies == 0) ready.push(n);
  while (!ready.empty()) {
    Node* n = ready.top();
    ready.pop();
    NodeState& s = state[n];
    std::vector<TensorPtr> in = std::move(s.inputs);
    in.resize(n->output_meta().size());
    for (size_t i = 0; i < in.size(); ++i)
      if (!in[i]) in[i] = zeros_on(n->output_meta()[i].shape, n->output_meta()[i].dtype, n->output_meta()[i].device);
    n->run_pre_hooks(in);
    for (auto& [nr, weak] : n->retained())
      if (TensorPtr t = weak.lock()) t->set_grad(t->grad() ? add(t->grad(), in[nr], 1.0) : clone(in[nr]));
    std::vector<TensorPtr> out;
    bool run_node = true;
    if (capture) {
      auto it = capture->find(n);
      if (it != capture->end())
        for (auto& [nr, slot] : it->second) *slot = in[nr];
      run_node = leads_to_capture[n];
    }
    if (run_node) {
      FASTNN_CHECK_STATE(!create_graph || n->supports_create_graph(), "[backward] create_graph=True (higher-order ",
                         "gradients) is not supported through ", n->name(), " yet");
      out = n->apply(in);
      n->run_post_hooks(out, in);
      if (AnomalyMode::is_enabled()) check_no_nan(*n, out);
      if (!retain_graph) n->release_saved();
    }
    // A node that did not run still releases its children's dependency on it.
    const auto& edges = n->next_edges();
    for (size_t i = 0; i < edges.size(); ++i) {
      const Edge& e = edges[i];
      if (!e.fn) continue;
      Node* m = e.fn.get();
      NodeState& ms = state[m];
      if (i < out.size() && out[i]) {
        const OutputMeta& meta = m->output_meta()[e.input_nr];
        FASTNN_CHECK_STATE(out[i]->shape() == meta.shape, "Function ", n->name(),
                           " returned an invalid gradient at index ", i, " - got ", shape_str(out[i]->shape()),
                           " but expected shape compatible with ", shape_str(meta.shape));
        FASTNN_CHECK_STATE(out[i]->device() == meta.device, "Function ", n->name(),
                           " returned an invalid gradient at index ", i, " - expected device ", meta.device.str(),
                           " but got ", out[i]->device().str());
        // As torch does, a gradient of another dtype (from a custom Function) is cast to the input's.
        TensorPtr g = out[i]->dtype() == meta.dtype ? out[i] : to_dtype(out[i], meta.dtype);
        ms.inputs.resize(m->output_meta().size());
        TensorPtr& slot = ms.inputs[e.input_nr];
        slot = slot ? add(slot, g, 1.0) : g;
      }
      if (--ms.dependencies == 0) ready.push(m);
    }
  }
}

// The callbacks queued (queue_callback) during the backward running on this thread.
thread_local std::vector<std::function<void()>>* final_callbacks = nullptr;

// run(), then the callbacks queued while it ran (which may queue more); a nested backward has its own.
void run_then_callbacks(const std::vector<TensorPtr>& roots, const std::vector<TensorPtr>& grads, bool retain_graph,
                        bool create_graph,
                        std::unordered_map<Node*, std::vector<std::pair<uint32_t, TensorPtr*>>>* capture) {
  std::vector<std::function<void()>> callbacks;
  struct Restore {
    std::vector<std::function<void()>>* outer;
    ~Restore() { final_callbacks = outer; }
  } restore{std::exchange(final_callbacks, &callbacks)};
  run(roots, grads, retain_graph, create_graph, capture);
  while (!callbacks.empty()) {
    auto batch = std::move(callbacks);
    callbacks.clear();
    for (auto& fn : batch) fn();
  }
}

}  // namespace

void queue_callback(std::function<void()> fn) {
  FASTNN_CHECK_STATE(final_callbacks != nullptr,
                     "[queue_callback] Final callbacks can only be installed during backward pass.");
  final_callbacks->push_back(std::move(fn));
}

void backward(const std::vector<TensorPtr>& roots, const std::vector<TensorPtr>& grads, bool retain_graph,
              bool create_graph) {
  run_then_callbacks(roots, grads, retain_graph, create_graph, nullptr);
}

std::vector<TensorPtr> grad(const std::vector<TensorPtr>& outputs, const std::vector<TensorPtr>& inputs,
                            const std::vector<TensorPtr>& grad_outputs, bool retain_graph, bool allow_unused,
                            bool create_graph) {
  std::vector<TensorPtr> result(inputs.size());
  std::unordered_map<Node*, std::vector<std::pair<uint32_t, TensorPtr*>>> capture;
  std::vector<Edge> keep;  // holds AccumulateGrad nodes alive for the duration
  for (size_t i = 0; i < inputs.size(); ++i) {
    FASTNN_CHECK_TYPE(inputs[i] != nullptr, "[grad] expected a Tensor for input ", i, ", got None");
    FASTNN_CHECK_STATE(inputs[i]->requires_grad(), "[grad] One of the differentiated Tensors (input ", i,
                       ") does not require grad");
    Edge e = gradient_edge(inputs[i]);
    capture[e.fn.get()].push_back({e.input_nr, &result[i]});
    keep.push_back(e);
  }
  run_then_callbacks(outputs, grad_outputs, retain_graph, create_graph, &capture);
  for (size_t i = 0; i < inputs.size(); ++i)
    FASTNN_CHECK_STATE(result[i] || allow_unused, "One of the differentiated Tensors (input ", i,
                       ") appears to not have been used in the graph. Set allow_unused=True if this "
                       "is the desired behavior.");
  return result;
}

}  // namespace fastnn
