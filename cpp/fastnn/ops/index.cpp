// Basic indexing: select (x[i]) and slice (x[a:b:c]) along one dim, as views.
#include "fastnn/autograd/functions.h"
#include "fastnn/autograd/grad_mode.h"
#include "fastnn/error.h"
#include "fastnn/ops/ops.h"

namespace fastnn {

TensorPtr select(const TensorPtr& t, int64_t dim, int64_t index) {
  FASTNN_CHECK_INDEX(t->dim() > 0, "[select] invalid index of a 0-dim tensor. Use `tensor.item()` to convert a 0-dim "
                                   "tensor to a number");
  dim = wrap_dim(dim, t->dim(), "select");
  int64_t size = t->shape()[dim];
  FASTNN_CHECK_INDEX(index >= -size && index < size, "[select] index ", index, " is out of bounds for dimension ",
                     dim, " with size ", size);
  if (index < 0) index += size;
  Shape s = t->shape(), st = t->strides();
  int64_t offset = t->offset() + index * st[dim];
  s.erase(s.begin() + dim);
  st.erase(st.begin() + dim);
  TensorPtr out = Tensor::make(t->storage(), s, st, offset, t->dtype(), t->version_counter());
  out->set_base(t->base() ? t->base() : t);
  Shape in = t->shape();
  record_grad_only("SelectBackward0", out, {t}, [in, dim, index](const TensorPtr& g) {
    TensorPtr full_grad = zeros(in, g->dtype());
    TensorPtr part = select(full_grad, dim, index);
    copy_(part, g);
    return std::vector<TensorPtr>{full_grad};
  });
  return out;
}

TensorPtr slice(const TensorPtr& t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  FASTNN_CHECK_INDEX(t->dim() > 0, "[slice] cannot slice a 0-dim tensor");
  dim = wrap_dim(dim, t->dim(), "slice");
  FASTNN_CHECK(step > 0, "[slice] step must be greater than zero, got ", step);
  int64_t size = t->shape()[dim];
  auto clamp_index = [size](int64_t i) {
    if (i < 0) i += size;
    return std::min(std::max<int64_t>(i, 0), size);
  };
  start = clamp_index(start);
  end = std::max(clamp_index(end), start);
  Shape s = t->shape(), st = t->strides();
  int64_t offset = t->offset() + (start < size ? start * st[dim] : 0);
  s[dim] = (end - start + step - 1) / step;
  st[dim] *= step;
  TensorPtr out = Tensor::make(t->storage(), s, st, offset, t->dtype(), t->version_counter());
  out->set_base(t->base() ? t->base() : t);
  Shape in = t->shape();
  record_grad_only("SliceBackward0", out, {t}, [in, dim, start, end, step](const TensorPtr& g) {
    TensorPtr full_grad = zeros(in, g->dtype());
    TensorPtr part = slice(full_grad, dim, start, end, step);
    copy_(part, g);
    return std::vector<TensorPtr>{full_grad};
  });
  return out;
}

}  // namespace fastnn
