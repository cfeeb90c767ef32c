// Joining tensors: cat along an existing dim, stack along a new one.
#include "fastnn/autograd/functions.h"
#include "fastnn/autograd/grad_mode.h"
#include "fastnn/error.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/ops.h"

namespace fastnn {

TensorPtr cat(const std::vector<TensorPtr>& tensors, int64_t dim) {
  for (const TensorPtr& t : tensors) check_defined(t, "cat", "tensors");
  FASTNN_CHECK(!tensors.empty(), "[cat] expected a non-empty list of Tensors");
  // torch skips 1-d empty tensors (legacy behaviour) when joining.
  // They still take part in type promotion and get (empty) gradients.
  std::vector<TensorPtr> parts;
  DType dt = tensors[0]->dtype();
  const Device device = tensors[0]->device();
  for (const TensorPtr& t : tensors) {
    if (!(t->dim() == 1 && t->numel() == 0)) parts.push_back(t);
    dt = promote(dt, t->dtype());
    common_device({&tensors[0], &t}, "cat");
  }
  const TensorPtr& first = parts.empty() ? tensors[0] : parts[0];
  FASTNN_CHECK(first->dim() > 0, "[cat] zero-dimensional tensor (at position 0) cannot be concatenated");
  // when all are skipped torch checks no dim: the result has shape (0,)
  dim = parts.empty() ? 0 : wrap_dim(dim, first->dim(), "cat");
  Shape shape = first->shape();
  int64_t total = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const TensorPtr& t = parts[i];
    FASTNN_CHECK(t->dim() == first->dim(), "[cat] tensors must have the same number of dimensions: got ", first->dim(),
                 " and ", t->dim(), " (tensor ", i, ")");
    for (int64_t d = 0; d < t->dim(); ++d)
      FASTNN_CHECK(d == dim || t->shape()[d] == shape[d], "[cat] sizes of tensors must match except in dimension ", dim,
                   ". Expected size ", shape[d], " but got size ", t->shape()[d], " for tensor number ", i,
                   " in the list");
    total += t->shape()[dim];
  }
  shape[dim] = total;
  TensorPtr out = Tensor::empty(shape, dt, "cat", device);
  {
    GradModeGuard no_grad(false);
    int64_t at = 0;
    for (const TensorPtr& t : parts) {
      TensorPtr dst = slice(out, dim, at, at + t->shape()[dim], 1);
      copy_(dst, t->detach());
      at += t->shape()[dim];
    }
  }
  bool needed = false;
  for (const TensorPtr& t : tensors) needed = needed || any_requires_grad({&t});
  if (needed) {
    std::vector<std::pair<int64_t, int64_t>> ranges;  // per input: [start, end) along dim; empty 1-d inputs get (0, 0)
    std::vector<DType> dtypes;
    int64_t at = 0;
    for (const TensorPtr& t : tensors) {
      bool skipped = t->dim() == 1 && t->numel() == 0;
      int64_t len = skipped ? 0 : t->shape()[dim];
      ranges.push_back(skipped ? std::make_pair(int64_t(-1), int64_t(-1)) : std::make_pair(at, at + len));
      dtypes.push_back(t->dtype());
      at += len;
    }
    record_grad_only(
        "CatBackward0", out, tensors,
        [ranges, dtypes, dim](const TensorPtr& g) {
          std::vector<TensorPtr> r;
          for (size_t i = 0; i < ranges.size(); ++i)
            r.push_back(ranges[i].first < 0
                            ? Tensor::empty({0}, dtypes[i], "cat", g->device())
                            : cast(contiguous(slice(g, dim, ranges[i].first, ranges[i].second, 1)), dtypes[i]));
          return r;
        },
        /*differentiable=*/true);
  }
  return out;
}

TensorPtr stack(const std::vector<TensorPtr>& tensors, int64_t dim) {
  for (const TensorPtr& t : tensors) check_defined(t, "stack", "tensors");
  FASTNN_CHECK(!tensors.empty(), "[stack] expected a non-empty list of Tensors");
  for (size_t i = 1; i < tensors.size(); ++i)
    FASTNN_CHECK(tensors[i]->shape() == tensors[0]->shape(),
                 "[stack] stack expects each tensor to be equal size, but got ", shape_str(tensors[0]->shape()),
                 " at entry 0 and ", shape_str(tensors[i]->shape()), " at entry ", i);
  dim = wrap_dim(dim, tensors[0]->dim() + 1, "stack");
  std::vector<TensorPtr> parts;
  for (const TensorPtr& t : tensors) parts.push_back(unsqueeze(t, dim));
  return cat(parts, dim);
}

}  // namespace fastnn
