// Backward pass: runs the graph's nodes in dependency order, iteratively.
#pragma once
#include <functional>
#include <vector>

#include "fastnn/tensor.h"

namespace fastnn {

// Computes gradients of `roots` (seeded with `grads`; a null grad means ones for a scalar root)
// and accumulates them into the .grad of the leaves. Frees saved tensors unless retain_graph.
// create_graph: the backward is itself recorded (grad mode on), so the gradients can be differentiated
// again; every node it runs must support it (Node::supports_create_graph), else a RuntimeError names it.
void backward(const std::vector<TensorPtr>& roots, const std::vector<TensorPtr>& grads, bool retain_graph,
              bool create_graph = false);

// Gradients of `outputs` with respect to `inputs` (torch.autograd.grad), without touching .grad.
std::vector<TensorPtr> grad(const std::vector<TensorPtr>& outputs, const std::vector<TensorPtr>& inputs,
                            const std::vector<TensorPtr>& grad_outputs, bool retain_graph, bool allow_unused,
                            bool create_graph = false);

// Runs `fn` on this thread when the backward (or grad) now running on it has finished every node
// (torch's queue_callback); outside a backward it is an error.
void queue_callback(std::function<void()> fn);

}  // namespace fastnn
