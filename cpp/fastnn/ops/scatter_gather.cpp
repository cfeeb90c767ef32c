// gather, scatter, scatter_add and index_add (values placed along one dim by an index tensor), and
// take_along_dim. Repeated indices combine in index order, so results do not depend on the thread count.
#include <algorithm>

#include "fastnn/autograd/functions.h"
#include "fastnn/autograd/grad_mode.h"
#include "fastnn/error.h"
#include "fastnn/kernels/cpu/index.h"
#include "fastnn/kernels/cuda/index.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/ops.h"

namespace fastnn {
namespace {

using kernels::ScatterMode;
static_assert(int(cuda::ScatterKind::Multiply) == int(ScatterMode::Multiply) &&
              int(cuda::ScatterKind::Add) == int(ScatterMode::Add));

// Shape and strides with a 0-d tensor taken as one element along dim 0.
Shape shape1(const Tensor& t) { return t.dim() == 0 ? Shape{1} : t.shape(); }
Shape strides1(const Tensor& t) { return t.dim() == 0 ? Shape{1} : t.strides(); }

// The positions of an index of shape `ishape` along `dim`, in a tensor with `strides`.
struct DimWalk {
  std::vector<int64_t> outer, inner;
  int64_t n, stride;
};
DimWalk dim_walk(const Shape& ishape, const Shape& strides, int64_t dim) {
  std::vector<int64_t> before, after;
  for (int64_t d = 0; d < int64_t(ishape.size()); ++d)
    if (d != dim) (d < dim ? before : after).push_back(d);
  return {kernels::walk_offsets(ishape, strides, before), kernels::walk_offsets(ishape, strides, after), ishape[dim],
          strides[dim]};
}

void check_index_dtype(const TensorPtr& index, const char* op) {
  FASTNN_CHECK_TYPE(index->dtype() == DType::Int64, "[", op, "] Expected dtype int64 for index, got ",
                    dtype_name(index->dtype()));
}

// The index as a contiguous int64 tensor on the CPU, every value checked to lie in [0, size).
TensorPtr checked_index(const TensorPtr& index, int64_t size, int64_t dim, const char* op) {
  TensorPtr idx = contiguous(to_device(index->detach(), Device{}));
  const int64_t* p = idx->data<int64_t>();
  for (int64_t i = 0, n = idx->numel(); i < n; ++i)
    FASTNN_CHECK_INDEX(p[i] >= 0 && p[i] < size, "[", op, "] index ", p[i], " is out of bounds for dimension ", dim,
                       " with size ", size);
  return idx;
}

// gather's result from checked inputs: src's elements at the index's positions along dim.
TensorPtr gather_raw(const TensorPtr& src, int64_t dim, const TensorPtr& idx, const Shape& out_shape) {
  TensorPtr out = Tensor::empty(out_shape, src->dtype(), "gather", src->device());
  if (src->device().is_cuda()) {  // idx: checked on the host, copied over
    const TensorPtr on = to_device(idx, src->device());
    const Shape ishape = shape1(*idx), sstrides = strides1(*src);
    cuda::gather_along(src->device_data(), sstrides.data(), static_cast<const int64_t*>(on->device_data()),
                       ishape.data(), int(ishape.size()), dim, itemsize(src->dtype()), out->device_data(),
                       src->device().index);
    return out;
  }
  DimWalk w = dim_walk(shape1(*idx), strides1(*src), dim);
  kernels::dim_gather(src->dtype(), src->raw_data(), out->raw_mutable_data(), idx->data<int64_t>(), w.outer, w.n,
                      w.stride, w.inner);
  return out;
}

// dst (op)= src (shaped as the index, or one value when `src_step` is 0) at the index's positions along dim.
void scatter_raw(Tensor& dst, int64_t dim, const TensorPtr& idx, const TensorPtr& src, int64_t src_step,
                 ScatterMode mode) {
  if (dst.device().is_cuda()) {  // dst contiguous (a fresh copy); each element folds its picks in index order
    FASTNN_CHECK_STATE(dst.is_contiguous(), "[scatter] a CUDA destination must be contiguous");
    const TensorPtr on = to_device(idx, dst.device()), from = to_device(src, dst.device());
    const Shape ishape = shape1(*idx), dshape = shape1(dst);
    cuda::scatter_along_dim(cuda::ScatterKind(int(mode)), dst.dtype(), dst.device_data(), dshape.data(),
                            from->device_data(), src_step == 0, static_cast<const int64_t*>(on->device_data()),
                            ishape.data(), int(ishape.size()), dim, dst.device().index);
    return;
  }
  DimWalk w = dim_walk(shape1(*idx), strides1(dst), dim);
  kernels::dim_scatter(dst.dtype(), dst.raw_mutable_data(), src->raw_data(), src_step, idx->data<int64_t>(), w.outer,
                       w.n, w.stride, w.inner, mode);
}

// The index-shaped gradient of a scatter's src, placed in zeros of src's shape (src may be larger).
TensorPtr src_grad(const TensorPtr& g, int64_t dim, const TensorPtr& idx, const Shape& idx_shape,
                   const Shape& src_shape) {
  TensorPtr part = gather_raw(contiguous(g), dim, idx, idx_shape);
  if (part->shape() == src_shape) return part;
  TensorPtr r = zeros_on(src_shape, g->dtype(), g->device()), view = r;
  for (int64_t d = 0; d < view->dim(); ++d) view = slice(view, d, 0, idx_shape[size_t(d)], 1);
  copy_(view, part);
  return r;
}

// Checks shared by scatter and scatter_add; returns the wrapped dim and the checked index.
std::pair<int64_t, TensorPtr> check_scatter(const TensorPtr& self, int64_t dim, const TensorPtr& index,
                                            const TensorPtr& src, const char* op) {
  check_defined(self, op);
  check_defined(index, op, "index");
  check_index_dtype(index, op);
  common_device({&self, &index, &src}, op);
  dim = wrap_dim(dim, self->dim(), op);
  const int64_t nd = std::max<int64_t>(self->dim(), 1);
  FASTNN_CHECK(std::max<int64_t>(index->dim(), 1) == nd, "[", op,
               "] Index tensor must have the same number of "
               "dimensions as self tensor");
  if (src) {
    FASTNN_CHECK_TYPE(src->dtype() == self->dtype(), "[", op, "] Expected self.dtype to be equal to src.dtype, got ",
                      dtype_name(self->dtype()), " and ", dtype_name(src->dtype()));
    FASTNN_CHECK(std::max<int64_t>(src->dim(), 1) == nd, "[", op,
                 "] Index tensor must have the same number of "
                 "dimensions as src tensor");
  }
  const Shape is = shape1(*index), xs = shape1(*self), ss = src ? shape1(*src) : Shape{};
  for (int64_t d = 0; d < nd; ++d) {
    bool ok = (d == dim || is[d] <= xs[d]) && (!src || is[d] <= ss[d]);
    if (ok) continue;
    if (src)
      throw std::invalid_argument(str("[", op, "] Expected index ", shape_str(index->shape()),
                                      " to be no larger than self ", shape_str(self->shape()), " apart from dimension ",
                                      dim, " and to be no larger size than src ", shape_str(src->shape())));
    throw std::invalid_argument(str("[", op, "] Expected index ", shape_str(index->shape()),
                                    " to be no larger than self ", shape_str(self->shape()), " apart from dimension ",
                                    dim));
  }
  return {dim, checked_index(index, xs[dim], dim, op)};
}

// scatter / scatter_add, out of place: a copy of self with src (or `value`) combined in by `mode`.
TensorPtr scatter_impl(const TensorPtr& self, int64_t dim, const TensorPtr& index, const TensorPtr& src,
                       const TensorPtr& value, ScatterMode mode, bool reduce, const char* op) {
  auto [d, idx] = check_scatter(self, dim, index, src, op);
  const Shape ishape = shape1(*index);
  TensorPtr out = clone(self->detach());
  TensorPtr from;
  if (src) {
    from = src->detach();
    if (from->dim() == 0) from = reshape(from, {1});
    for (int64_t k = 0; k < from->dim(); ++k) from = slice(from, k, 0, ishape[size_t(k)], 1);
    from = contiguous(from);
  } else {
    from = scalar_as(value, self->dtype(), op);
  }
  scatter_raw(*out, d, idx, from, src ? 1 : 0, mode);
  if (!any_requires_grad({&self, &src})) return out;
  if (reduce) {  // torch has no derivative for these either
    std::string name = op;
    record_grad_only("NotImplemented", out, {self, src}, [name](const TensorPtr&) -> std::vector<TensorPtr> {
      throw std::runtime_error(str("[", name, "] the derivative of ", name, " with reduce= is not implemented"));
    });
    return out;
  }
  const Shape src_shape = src ? src->shape() : Shape{}, idx_shape = index->shape();
  const bool need_self = any_requires_grad({&self}), need_src = any_requires_grad({&src});
  const int64_t at = d;
  if (mode == ScatterMode::Add) {
    record_grad_only("ScatterAddBackward0", out, {self, src}, [=](const TensorPtr& g) {
      return std::vector<TensorPtr>{need_self ? g : nullptr,
                                    need_src ? src_grad(g, at, idx, idx_shape, src_shape) : nullptr};
    });
  } else if (src) {
    record_grad_only("ScatterBackward0", out, {self, src}, [=](const TensorPtr& g) {
      std::vector<TensorPtr> r(2);
      if (need_self) {  // overwritten elements do not reach the output
        r[0] = clone(g);
        scatter_raw(*r[0], at, idx, zeros({}, g->dtype()), 0, ScatterMode::Assign);
      }
      if (need_src) r[1] = src_grad(g, at, idx, idx_shape, src_shape);
      return r;
    });
  } else {
    record_grad_only("ScatterBackward1", out, {self}, [=](const TensorPtr& g) {
      TensorPtr r = clone(g);
      scatter_raw(*r, at, idx, zeros({}, g->dtype()), 0, ScatterMode::Assign);
      return std::vector<TensorPtr>{r};
    });
  }
  return out;
}

ScatterMode reduce_mode(const std::optional<std::string>& reduce, const char* op) {
  if (!reduce) return ScatterMode::Assign;
  if (*reduce == "add") return ScatterMode::Add;
  if (*reduce == "multiply") return ScatterMode::Multiply;
  throw std::invalid_argument(str("[", op, "] reduce argument must be either add or multiply, got '", *reduce, "'"));
}

// Runs an out-of-place op into self: directly when autograd is not involved, else with self's history.
void into_self(TensorPtr& self, const TensorPtr& other, const char* op,
               const std::function<TensorPtr(const TensorPtr&)>& compute) {
  check_defined(self, op, "self");
  inplace_with_history(self, op, any_requires_grad({&self, &other}), compute);
}

}  // namespace

TensorPtr gather(const TensorPtr& self, int64_t dim, const TensorPtr& index) {
  check_defined(self, "gather");
  check_defined(index, "gather", "index");
  check_index_dtype(index, "gather");
  dim = wrap_dim(dim, self->dim(), "gather");
  const int64_t nd = std::max<int64_t>(self->dim(), 1);
  FASTNN_CHECK(std::max<int64_t>(index->dim(), 1) == nd,
               "[gather] Index tensor must have the same number of "
               "dimensions as input tensor");
  const Shape is = shape1(*index), xs = shape1(*self);
  for (int64_t d = 0; d < nd; ++d)
    FASTNN_CHECK(d == dim || is[d] <= xs[d], "[gather] Size does not match at dimension ", d, " expected index ",
                 shape_str(index->shape()), " to be no larger than self ", shape_str(self->shape()),
                 " apart from dimension ", dim);
  TensorPtr idx = checked_index(index, xs[dim], dim, "gather");
  common_device({&self, &index}, "gather");
  TensorPtr out = gather_raw(self, dim, idx, index->shape());
  const Shape in = self->shape();
  record_grad_only("GatherBackward0", out, {self}, [in, dim, idx](const TensorPtr& g) {
    TensorPtr r = zeros_on(in, g->dtype(), g->device());
    scatter_raw(*r, dim, idx, contiguous(g), 1, ScatterMode::Add);
    return std::vector<TensorPtr>{r};
  });
  return out;
}

TensorPtr scatter(const TensorPtr& self, int64_t dim, const TensorPtr& index, const TensorPtr& src,
                  const std::optional<std::string>& reduce) {
  check_defined(src, "scatter", "src");
  return scatter_impl(self, dim, index, src, nullptr, reduce_mode(reduce, "scatter"), reduce.has_value(), "scatter");
}

TensorPtr scatter_value(const TensorPtr& self, int64_t dim, const TensorPtr& index, const TensorPtr& value,
                        const std::optional<std::string>& reduce) {
  check_defined(value, "scatter", "value");
  FASTNN_CHECK(value->dim() == 0, "[scatter] value must be a number, got a tensor of shape ",
               shape_str(value->shape()));
  return scatter_impl(self, dim, index, nullptr, value, reduce_mode(reduce, "scatter"), reduce.has_value(), "scatter");
}

void scatter_(TensorPtr& self, int64_t dim, const TensorPtr& index, const TensorPtr& src,
              const std::optional<std::string>& reduce) {
  check_defined(src, "scatter_", "src");
  into_self(self, src, "scatter_", [&](const TensorPtr& s) {
    return scatter_impl(s, dim, index, src, nullptr, reduce_mode(reduce, "scatter_"), reduce.has_value(), "scatter_");
  });
}

void scatter_value_(TensorPtr& self, int64_t dim, const TensorPtr& index, const TensorPtr& value,
                    const std::optional<std::string>& reduce) {
  check_defined(value, "scatter_", "value");
  FASTNN_CHECK(value->dim() == 0, "[scatter_] value must be a number, got a tensor of shape ",
               shape_str(value->shape()));
  into_self(self, nullptr, "scatter_", [&](const TensorPtr& s) {
    return scatter_impl(s, dim, index, nullptr, value, reduce_mode(reduce, "scatter_"), reduce.has_value(), "scatter_");
  });
}

TensorPtr scatter_add(const TensorPtr& self, int64_t dim, const TensorPtr& index, const TensorPtr& src) {
  check_defined(src, "scatter_add", "src");
  return scatter_impl(self, dim, index, src, nullptr, ScatterMode::Add, false, "scatter_add");
}

void scatter_add_(TensorPtr& self, int64_t dim, const TensorPtr& index, const TensorPtr& src) {
  check_defined(src, "scatter_add_", "src");
  into_self(self, src, "scatter_add_", [&](const TensorPtr& s) {
    return scatter_impl(s, dim, index, src, nullptr, ScatterMode::Add, false, "scatter_add_");
  });
}

namespace {

TensorPtr index_add_impl(const TensorPtr& self, int64_t dim, const TensorPtr& index, const TensorPtr& source,
                         const TensorPtr& alpha, const char* op) {
  check_defined(self, op);
  check_defined(index, op, "index");
  check_defined(source, op, "source");
  FASTNN_CHECK_TYPE(index->dtype() == DType::Int64, "[", op,
                    "] Expected dtype int64 for index but got: ", dtype_name(index->dtype()));
  FASTNN_CHECK_INDEX(index->dim() <= 1, "[", op, "] Index is supposed to be a vector, but got dim: ", index->dim(),
                     " with size: ", shape_str(index->shape()));
  FASTNN_CHECK_TYPE(source->dtype() == self->dtype(), "[", op, "] self (", dtype_name(self->dtype()), ") and source (",
                    dtype_name(source->dtype()), ") must have the same scalar type");
  dim = wrap_dim(dim, self->dim(), op);
  const Shape xs = shape1(*self), ss = shape1(*source);
  bool same = self->dim() == source->dim();
  for (size_t d = 0; same && d < xs.size(); ++d) same = int64_t(d) == dim || xs[d] == ss[d];
  FASTNN_CHECK(same, "[", op,
               "] source tensor shape must match self tensor shape, excluding the specified dimension. "
               "Got self.shape = ",
               shape_str(self->shape()), " source.shape = ", shape_str(source->shape()));
  const int64_t n = index->numel();
  FASTNN_CHECK(ss[dim] == n, "[", op, "] Number of indices (", n, ") should be equal to source.size(dim): (", ss[dim],
               "), for dim: ", dim);
  TensorPtr idx = checked_index(index, xs[dim], dim, op);
  // alpha in self's dtype (an integer tensor truncates it, as torch); a bool alpha keeps or drops source
  common_device({&self, &index, &source}, op);
  TensorPtr a = scalar_as(alpha, self->dtype(), op), src = contiguous(source->detach());
  if (self->dtype() == DType::Bool) {
    if (!*a->data<bool>()) src = zeros_on(src->shape(), DType::Bool, src->device());
  } else {
    src = mul(src, a);
  }
  TensorPtr out = clone(self->detach());
  std::vector<int64_t> before, after;
  for (int64_t d = 0; d < int64_t(xs.size()); ++d)
    if (d != dim) (d < dim ? before : after).push_back(d);
  std::vector<int64_t> mid(idx->data<int64_t>(), idx->data<int64_t>() + n);
  const Shape os = shape1(*out), ost = strides1(*out);
  for (int64_t& m : mid) m *= ost[dim];
  if (out->device().is_cuda())
    index_scatter_cuda(*out, src, kernels::walk_offsets(os, ost, before), mid, kernels::walk_offsets(os, ost, after),
                       true);
  else
    kernels::index_scatter(out->dtype(), out->raw_mutable_data(), src->raw_data(),
                           kernels::walk_offsets(os, ost, before), mid, kernels::walk_offsets(os, ost, after),
                           ScatterMode::Add);
  const bool need_self = any_requires_grad({&self}), need_source = any_requires_grad({&source});
  const Shape src_shape = source->shape();
  record_grad_only("IndexAddBackward0", out, {self, source}, [=](const TensorPtr& g) {
    std::vector<TensorPtr> r{need_self ? g : nullptr, nullptr};
    if (need_source) r[1] = reshape(mul(index_select(g, dim, to_device(idx, g->device())), a), src_shape);
    return r;
  });
  return out;
}

}  // namespace

TensorPtr index_add(const TensorPtr& self, int64_t dim, const TensorPtr& index, const TensorPtr& source,
                    const TensorPtr& alpha) {
  return index_add_impl(self, dim, index, source, alpha, "index_add");
}

void index_add_(TensorPtr& self, int64_t dim, const TensorPtr& index, const TensorPtr& source, const TensorPtr& alpha) {
  into_self(self, source, "index_add_",
            [&](const TensorPtr& s) { return index_add_impl(s, dim, index, source, alpha, "index_add_"); });
}

TensorPtr take_along_dim(const TensorPtr& self, const TensorPtr& indices, std::optional<int64_t> dim) {
  check_defined(self, "take_along_dim");
  check_defined(indices, "take_along_dim", "indices");
  FASTNN_CHECK_TYPE(indices->dtype() == DType::Int64, "[take_along_dim] dtype of indices should be int64 but got ",
                    dtype_name(indices->dtype()));
  if (!dim) {  // over the flattened input
    TensorPtr idx = reshape(indices, {-1});
    checked_index(idx, self->numel(), 0, "take_along_dim");
    return gather(reshape(self, {-1}), 0, idx);
  }
  FASTNN_CHECK(self->dim() == indices->dim(),
               "[take_along_dim] input and indices should have the same number of "
               "dimensions, but got ",
               self->dim(), " dimensions for input, and ", indices->dim(), " dimensions for indices");
  FASTNN_CHECK_INDEX(self->dim() > 0, "[take_along_dim] Dimension specified as ", *dim,
                     " but tensor has no dimensions");
  const int64_t d = wrap_dim(*dim, self->dim(), "take_along_dim");
  Shape self_sizes = self->shape();
  self_sizes[d] = indices->shape()[d];
  Shape shape = broadcast_shapes(self_sizes, indices->shape(), "take_along_dim");
  TensorPtr idx = expand(indices, shape);
  checked_index(indices, self->shape()[d], d, "take_along_dim");
  shape[d] = self->shape()[d];
  return gather(expand(self, shape), d, idx);
}

}  // namespace fastnn
