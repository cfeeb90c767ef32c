// Small reusable backward nodes.
#pragma once
#include <functional>
#include <string>

#include "fastnn/autograd/node.h"

namespace fastnn {

// A node whose input gradients are a function of the output gradient alone (views, shape
// changes, add/sub): no saved tensors, so nothing to free and nothing to version-check.
class GradOnlyBackward : public Node {
 public:
  using Fn = std::function<std::vector<TensorPtr>(const TensorPtr& grad)>;
  GradOnlyBackward(std::string name, Fn fn, bool differentiable = false)
      : name_(std::move(name)), fn_(std::move(fn)), differentiable_(differentiable) {}
  std::string name() const override { return name_; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override { return fn_(grads[0]); }
  bool supports_create_graph() const override { return differentiable_; }

 private:
  std::string name_;
  Fn fn_;
  bool differentiable_;
};

// Records a GradOnlyBackward named `name` from `inputs` to `out` when any input requires grad.
// `differentiable`: fn is made of differentiable ops (so create_graph can go through it).
inline void record_grad_only(const char* name, const TensorPtr& out, std::vector<TensorPtr> inputs,
                             GradOnlyBackward::Fn fn, bool differentiable = false) {
  bool needed = false;
  for (const TensorPtr& t : inputs) needed = needed || any_requires_grad({&t});
  if (!needed) return;
  record(std::make_shared<GradOnlyBackward>(name, std::move(fn), differentiable), inputs, {out});
}

}  // namespace fastnn
