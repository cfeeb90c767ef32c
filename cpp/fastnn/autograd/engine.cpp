#include "fastnn/autograd/engine.h"

#include <queue>
#include <unordered_map>

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
    FASTNN_CHECK_STATE(g->shape() == root->shape(), "[backward] grad for output ", i, " has shape ",
                       shape_str(g->shape()), " but the output has shape ", shape_str(root->shape()));
    return g->dtype() == root->dtype() ? g : to_dtype(g, root->dtype());
  }
  FASTNN_CHECK_STATE(root->numel() == 1, "grad can be implicitly created only for scalar outputs (output ",
                     i, " has shape ", shape_str(root->shape()), ")");
  return full(root->shape(), 1.0, root->dtype());
}

// Runs the graph below `roots`. When `capture` is given, gradients reaching those edges are
// stored there instead of flowing further, and leaves are not touched.
void run(const std::vector<TensorPtr>& roots, const std::vector<TensorPtr>& grads, bool retain_graph,
         std::unordered_map<Node*, std::vector<std::pair<uint32_t, TensorPtr*>>>* capture) {
  FASTNN_CHECK_STATE(grads.empty() || grads.size() == roots.size(), "[backward] got ", grads.size(),
                     " gradients for ", roots.size(), " tensors");
  GradModeGuard no_grad(false);
  std::unordered_map<Node*, NodeState> state;
  std::vector<Node*> starts;
  for (size_t i = 0; i < roots.size(); ++i) {
    const TensorPtr& r = roots[i];
    FASTNN_CHECK_STATE(r->requires_grad(), "element ", i,
                       " of tensors does not require grad and does not have a grad_fn");
    Edge e = gradient_edge(r);
    TensorPtr g = seed_grad(r, grads.empty() ? nullptr : grads[i], i);
    NodeState& s = state[e.fn.get()];
    s.inputs.resize(e.fn->output_meta().size());
    TensorPtr& slot = s.inputs[e.input_nr];
    slot = slot ? add(slot, g, 1.0) : g;
    starts.push_back(e.fn.get());
  }
  // Count, for every reachable node, the edges pointing at it (iterative DFS).
  std::vector<Node*> stack(starts.begin(), starts.end());
  std::unordered_map<Node*, bool> seen;
  for (Node* n : starts) seen[n] = true;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    if (capture && capture->count(n)) continue;
    for (const Edge& e : n->next_edges()) {
      if (!e.fn) continue;
      Node* m = e.fn.get();
      state[m].dependencies++;
      if (!seen[m]) {
        seen[m] = true;
        stack.push_back(m);
      }
    }
  }
  std::priority_queue<Node*, std::vector<Node*>, LaterFirst> ready;
  for (Node* n : starts)
    if (state[n].dependencies == 0 && seen[n]) {
      ready.push(n);
      seen[n] = false;  // queued once
    }
  while (!ready.empty()) {
    Node* n = ready.top();
    ready.pop();
    NodeState& s = state[n];
    std::vector<TensorPtr> in = std::move(s.inputs);
    in.resize(n->output_meta().size());
    for (size_t i = 0; i < in.size(); ++i)
      if (!in[i]) in[i] = zeros(n->output_meta()[i].shape, n->output_meta()[i].dtype);
    for (auto& [nr, weak] : n->retained())
      if (TensorPtr t = weak.lock()) t->set_grad(t->grad() ? add(t->grad(), in[nr], 1.0) : clone(in[nr]));
    if (capture) {
      auto it = capture->find(n);
      if (it != capture->end()) {
        for (auto& [nr, out] : it->second) *out = in[nr];
        continue;
      }
      if (dynamic_cast<AccumulateGrad*>(n)) continue;
    }
    std::vector<TensorPtr> out = n->apply(in);
    if (!retain_graph) n->release_saved();
    const auto& edges = n->next_edges();
    for (size_t i = 0; i < edges.size(); ++i) {
      const Edge& e = edges[i];
      if (!e.fn) continue;
      Node* m = e.fn.get();
      NodeState& ms = state[m];
      if (i < out.size() && out[i]) {
        const OutputMeta& meta = m->output_meta()[e.input_nr];
        FASTNN_CHECK_STATE(out[i]->shape() == meta.shape, "Function ", n->name(),
                           " returned an invalid gradient at index ", i, " - got ",
                           shape_str(out[i]->shape()), " but expected shape compatible with ",
                           shape_str(meta.shape));
        ms.inputs.resize(m->output_meta().size());
        TensorPtr& slot = ms.inputs[e.input_nr];
        slot = slot ? add(slot, out[i], 1.0) : out[i];
      }
      if (--ms.dependencies == 0) ready.push(m);
    }
  }
}

}  // namespace

void backward(const std::vector<TensorPtr>& roots, const std::vector<TensorPtr>& grads, bool retain_graph) {
  run(roots, grads, retain_graph, nullptr);
}

std::vector<TensorPtr> grad(const std::vector<TensorPtr>& outputs, const std::vector<TensorPtr>& inputs,
                            const std::vector<TensorPtr>& grad_outputs, bool retain_graph,
                            bool allow_unused) {
  std::vector<TensorPtr> result(inputs.size());
  std::unordered_map<Node*, std::vector<std::pair<uint32_t, TensorPtr*>>> capture;
  std::vector<Edge> keep;  // holds AccumulateGrad nodes alive for the duration
  for (size_t i = 0; i < inputs.size(); ++i) {
    FASTNN_CHECK_STATE(inputs[i]->requires_grad(), "[grad] input ", i, " does not require grad");
    Edge e = gradient_edge(inputs[i]);
    capture[e.fn.get()].push_back({e.input_nr, &result[i]});
    keep.push_back(e);
  }
  run(outputs, grad_outputs, retain_graph, &capture);
  for (size_t i = 0; i < inputs.size(); ++i)
    FASTNN_CHECK_STATE(result[i] || allow_unused, "One of the differentiated Tensors (input ", i,
                       ") appears to not have been used in the graph. Set allow_unused=True if this "
                       "is the desired behavior.");
  return result;
}

}  // namespace fastnn
