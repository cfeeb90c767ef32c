// CopySlices and AsStridedBackward0: gradients through in-place writes into views (see view_history.h).
#include "fastnn/autograd/view_history.h"

#include "fastnn/autograd/grad_mode.h"
#include "fastnn/autograd/node.h"
#include "fastnn/dtype.h"
#include "fastnn/error.h"
#include "fastnn/ops/ops.h"

namespace fastnn {
namespace {

// Where a view lies in its base's memory. The base is contiguous, so the view's strides and offset
// (less the base's) place it in any contiguous tensor of the base's shape.
struct ViewGeometry {
  Shape base_shape, shape, strides;
  int64_t offset;
  explicit ViewGeometry(const Tensor& view)
      : base_shape(view.base()->shape()),
        shape(view.shape()),
        strides(view.strides()),
        offset(view.offset() - view.base()->offset()) {}
  // The view's elements inside `t` (contiguous, of the base's shape): an alias with no autograd history.
  TensorPtr in(const TensorPtr& t) const {
    return Tensor::make(t->storage(), shape, strides, t->offset() + offset, t->dtype());
  }
};

// The view's gradient placed in a zero gradient of its base; elements the view reaches more than once
// (an expanded view) add up.
class AsStridedBackward : public Node {
 public:
  explicit AsStridedBackward(const Tensor& view) : geometry_(view) {}
  std::string name() const override { return "AsStridedBackward0"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr g = contiguous(grads[0]);
    TensorPtr out = zeros(geometry_.base_shape, g->dtype());
    if (g->numel() == 0) return {out};
    const Shape& shape = geometry_.shape;
    const Shape& strides = geometry_.strides;
    FASTNN_DISPATCH_FLOAT(g->dtype(), "as_strided", [&] {
      scalar_t* o = out->mutable_data<scalar_t>() + geometry_.offset;
      const scalar_t* src = g->data<scalar_t>();
      std::vector<int64_t> index(shape.size(), 0);
      for (int64_t i = 0, n = g->numel(); i < n; ++i) {  // row-major walk, sequential: deterministic sums
        int64_t at = 0;
        for (size_t d = 0; d < shape.size(); ++d) at += index[d] * strides[d];
        o[at] += src[i];
        for (size_t d = shape.size(); d-- > 0;) {
          if (++index[d] < shape[d]) break;
          index[d] = 0;
        }
      }
    });
    return {out};
  }

 private:
  ViewGeometry geometry_;
};

// The base's history after an in-place op wrote into one of its views: the base's gradient passes
// unchanged outside the view; inside it, the op's node maps it to the view's old value (and to the op's
// other inputs, the edges after the first).
class CopySlices : public Node {
 public:
  CopySlices(const Tensor& view, std::shared_ptr<Node> fn) : geometry_(view), fn_(std::move(fn)) {}
  std::string name() const override { return "CopySlices"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr result = clone(grads[0]);  // contiguous
    TensorPtr slice = geometry_.in(result);
    std::vector<TensorPtr> fn_grads{clone(slice)};
    std::vector<TensorPtr> res = fn_->apply(fn_grads);
    if (res[0]) copy_(slice, res[0]);
    else zero_(slice);  // the view's old values do not reach the output
    res[0] = result;
    return res;
  }
  void release_saved() override { fn_->release_saved(); }

 private:
  ViewGeometry geometry_;
  std::shared_ptr<Node> fn_;
};

// Makes `view`'s history AsStridedBackward0 of its base's current history.
void regenerate(const TensorPtr& view) {
  const TensorPtr base = view->base();
  // (a base that left the graph, by detach_, leaves the view's history as it was, as in torch)
  if (base->requires_grad()) record(std::make_shared<AsStridedBackward>(*view), {&base}, {&view});
  view->set_base(base);  // its history is current again
}

}  // namespace

void check_view_rebase(const TensorPtr& self, const char* op) {
  const TensorPtr& base = self->base();
  FASTNN_CHECK_STATE(!(base->is_leaf() && base->requires_grad()),
                     "a view of a leaf Variable that requires grad is being used in an in-place operation. (", op, ")");
  FASTNN_CHECK_STATE(base->is_contiguous(), "[", op,
                     "] in-place modification of a view of a non-contiguous tensor "
                     "under autograd is not supported (base of shape ",
                     shape_str(base->shape()), ", strides ", shape_str(base->strides()), "); use the out-of-place op");
}

void rebase_view_history(const TensorPtr& self) {
  const TensorPtr base = self->base();
  std::shared_ptr<Node> fn = self->grad_fn();
  auto copy_slices = std::make_shared<CopySlices>(*self, fn);
  std::vector<Edge> edges = fn->next_edges();
  edges[0] = gradient_edge(base);  // the base's old history takes the place of the view's
  copy_slices->set_next_edges(std::move(edges));
  copy_slices->add_output_meta(*base);
  base->set_history(copy_slices, 0);
  regenerate(self);
}

void refresh_view_history(const TensorPtr& view) {
  const TensorPtr& base = view->base();
  if (!base || !view->view_history_is_stale()) return;
  FASTNN_CHECK_STATE(base->is_contiguous(),
                     "a view of a tensor was used after its base was modified by an in-place operation that "
                     "autograd recorded, and the base is not contiguous (shape ",
                     shape_str(base->shape()), ", strides ", shape_str(base->strides()),
                     "): fastnn cannot rebuild the view's history. Take the "
                     "view again after the in-place operation.");
  regenerate(view);
}

}  // namespace fastnn
