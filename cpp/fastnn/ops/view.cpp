// Views: new shape/strides/offset over the same storage; the backward maps the gradient back.
#include <numeric>
#include <optional>

#include "fastnn/autograd/functions.h"
#include "fastnn/error.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/ops.h"

namespace fastnn {
namespace {

using Grads = std::vector<TensorPtr>;

// A view of `t` with the given layout; shares storage and version counter.
TensorPtr make_view(const TensorPtr& t, Shape shape, Shape strides, int64_t offset) {
  TensorPtr v =
      Tensor::make(t->storage(), std::move(shape), std::move(strides), offset, t->dtype(), t->version_counter());
  v->set_base(t->base() ? t->base() : t);
  return v;
}

// Resolves a single -1 in `shape` against `numel`; checks the element count.
Shape infer_shape(IntList shape, int64_t numel, const char* op) {
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      FASTNN_CHECK(infer < 0, "[", op, "] only one dimension can be inferred");
      infer = int64_t(i);
    } else {
      FASTNN_CHECK(shape[i] >= 0, "[", op, "] invalid shape dimension ", shape[i]);
      // a product past 2^63 cannot equal any tensor's size
      FASTNN_CHECK(!__builtin_mul_overflow(known, shape[i], &known), "[", op, "] shape '", shape_str(shape),
                   "' is invalid for input of size ", numel);
    }
  }
  if (infer >= 0) {
    FASTNN_CHECK(known != 0 && numel % known == 0, "[", op, "] shape '", shape_str(shape),
                 "' is invalid for input of size ", numel);
    shape[infer] = numel / known;
  } else {
    FASTNN_CHECK(known == numel, "[", op, "] shape '", shape_str(shape), "' is invalid for input of size ", numel);
  }
  return shape;
}

// Strides that let (old_shape, old_strides) be read as new_shape without a copy, if any exist:
// each run of new dims must fall inside one run of old dims that are contiguous with each other.
std::optional<Shape> view_strides(const Shape& old_shape, const Shape& old_strides, const Shape& new_shape) {
  Shape out(new_shape.size());
  if (old_shape.empty()) {
    std::fill(out.begin(), out.end(), 1);
    return out;
  }
  int64_t numel = 1;
  for (int64_t s : old_shape) numel *= s;
  if (numel == 0) return contiguous_strides(new_shape);
  int64_t view_d = int64_t(new_shape.size()) - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = int64_t(old_shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    // At the start of a contiguous chunk (or the outermost dim), match new dims to it.
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_shape[view_d];
        view_d--;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

Grads reshape_grad(const TensorPtr& g, const Shape& shape) { return {reshape(g, shape)}; }

}  // namespace

TensorPtr view(const TensorPtr& t, IntList shape) {
  check_defined(t, "view");
  Shape s = infer_shape(std::move(shape), t->numel(), "view");
  auto strides = view_strides(t->shape(), t->strides(), s);
  FASTNN_CHECK_STATE(strides,
                     "[view] view size is not compatible with input tensor's size and stride (at "
                     "least one dimension spans across two contiguous subspaces). Use .reshape(...) "
                     "instead. (input size ",
                     t->shape(), ", strides ", t->strides(), ", view size ", s, ")");
  TensorPtr out = make_view(t, s, *strides, t->offset());
  Shape in = t->shape();
  record_grad_only(
      "ViewBackward0", out, {t}, [in](const TensorPtr& g) { return reshape_grad(g, in); }, /*differentiable=*/true);
  return out;
}

TensorPtr reshape(const TensorPtr& t, IntList shape) {
  check_defined(t, "reshape");
  Shape s = infer_shape(std::move(shape), t->numel(), "reshape");
  if (view_strides(t->shape(), t->strides(), s)) return view(t, s);
  // torch's _unsafe_view of a copy: the result owns the copy's memory, it is not a view (UnsafeViewBackward0)
  TensorPtr copy = clone(t);
  TensorPtr out =
      Tensor::make(copy->storage(), s, *view_strides(copy->shape(), copy->strides(), s), copy->offset(), copy->dtype());
  Shape in = t->shape();
  record_grad_only(
      "UnsafeViewBackward0", out, {copy}, [in](const TensorPtr& g) { return reshape_grad(g, in); },
      /*differentiable=*/true);
  return out;
}

TensorPtr flatten(const TensorPtr& t, int64_t start_dim, int64_t end_dim) {
  check_defined(t, "flatten");
  int64_t nd = t->dim();
  if (nd == 0) return reshape(t, {1});
  start_dim = wrap_dim(start_dim, nd, "flatten");
  end_dim = wrap_dim(end_dim, nd, "flatten");
  FASTNN_CHECK(start_dim <= end_dim, "[flatten] start_dim (", start_dim, ") cannot come after end_dim (", end_dim, ")");
  if (start_dim == end_dim) return t;
  Shape s(t->shape().begin(), t->shape().begin() + start_dim);
  int64_t merged = 1;
  for (int64_t d = start_dim; d <= end_dim; ++d) merged *= t->shape()[d];
  s.push_back(merged);
  s.insert(s.end(), t->shape().begin() + end_dim + 1, t->shape().end());
  return reshape(t, s);
}

TensorPtr squeeze(const TensorPtr& t) {
  check_defined(t, "squeeze");
  Shape s, st;
  for (int64_t d = 0; d < t->dim(); ++d)
    if (t->shape()[d] != 1) {
      s.push_back(t->shape()[d]);
      st.push_back(t->strides()[d]);
    }
  TensorPtr out = make_view(t, s, st, t->offset());
  Shape in = t->shape();
  record_grad_only(
      "SqueezeBackward0", out, {t}, [in](const TensorPtr& g) { return reshape_grad(g, in); }, /*differentiable=*/true);
  return out;
}

TensorPtr squeeze(const TensorPtr& t, int64_t dim) {
  check_defined(t, "squeeze");
  dim = wrap_dim(dim, t->dim(), "squeeze");
  Shape s = t->shape(), st = t->strides();
  if (t->dim() > 0 && s[dim] == 1) {
    s.erase(s.begin() + dim);
    st.erase(st.begin() + dim);
  }
  TensorPtr out = make_view(t, s, st, t->offset());
  Shape in = t->shape();
  record_grad_only(
      "SqueezeBackward1", out, {t}, [in](const TensorPtr& g) { return reshape_grad(g, in); }, /*differentiable=*/true);
  return out;
}

TensorPtr unsqueeze(const TensorPtr& t, int64_t dim) {
  check_defined(t, "unsqueeze");
  dim = wrap_dim(dim, t->dim() + 1, "unsqueeze");
  Shape s = t->shape(), st = t->strides();
  int64_t stride = dim < t->dim() ? s[dim] * st[dim] : 1;
  s.insert(s.begin() + dim, 1);
  st.insert(st.begin() + dim, stride);
  TensorPtr out = make_view(t, s, st, t->offset());
  record_grad_only(
      "UnsqueezeBackward0", out, {t}, [dim](const TensorPtr& g) { return Grads{squeeze(g, dim)}; },
      /*differentiable=*/true);
  return out;
}

TensorPtr transpose(const TensorPtr& t, int64_t dim0, int64_t dim1) {
  check_defined(t, "transpose");
  dim0 = wrap_dim(dim0, t->dim(), "transpose");
  dim1 = wrap_dim(dim1, t->dim(), "transpose");
  Shape s = t->shape(), st = t->strides();
  if (t->dim() > 0) {
    std::swap(s[dim0], s[dim1]);
    std::swap(st[dim0], st[dim1]);
  }
  TensorPtr out = make_view(t, s, st, t->offset());
  record_grad_only(
      "TransposeBackward0", out, {t}, [dim0, dim1](const TensorPtr& g) { return Grads{transpose(g, dim0, dim1)}; },
      /*differentiable=*/true);
  return out;
}

TensorPtr t(const TensorPtr& x) {
  check_defined(x, "t");
  FASTNN_CHECK(x->dim() <= 2, "[t] expects a tensor with <= 2 dimensions, but self is ", x->dim(), "D");
  Shape s = x->shape(), st = x->strides();
  std::reverse(s.begin(), s.end());
  std::reverse(st.begin(), st.end());
  TensorPtr out = make_view(x, s, st, x->offset());
  record_grad_only("TBackward0", out, {x}, [](const TensorPtr& g) { return Grads{t(g)}; }, /*differentiable=*/true);
  return out;
}

TensorPtr permute(const TensorPtr& t, IntList dims) {
  check_defined(t, "permute");
  int64_t nd = t->dim();
  FASTNN_CHECK(int64_t(dims.size()) == nd, "[permute] number of dims don't match in permute: the tensor has ", nd,
               " dims but ", dims.size(), " were given");
  Shape s(nd), st(nd);
  std::vector<bool> used(nd, false);
  IntList inverse(nd);
  for (int64_t i = 0; i < nd; ++i) {
    int64_t d = wrap_dim(dims[i], nd, "permute");
    FASTNN_CHECK(!used[d], "[permute] repeated dim ", dims[i], " in ", shape_str(dims));
    used[d] = true;
    s[i] = t->shape()[d];
    st[i] = t->strides()[d];
    inverse[d] = i;
  }
  TensorPtr out = make_view(t, s, st, t->offset());
  record_grad_only(
      "PermuteBackward0", out, {t}, [inverse](const TensorPtr& g) { return Grads{permute(g, inverse)}; },
      /*differentiable=*/true);
  return out;
}

TensorPtr expand(const TensorPtr& t, IntList shape) {
  check_defined(t, "expand");
  int64_t nd = int64_t(shape.size()), lead = nd - t->dim();
  FASTNN_CHECK(lead >= 0, "[expand] the number of sizes provided (", nd,
               ") must be greater or equal to the number of dimensions in the tensor (", t->dim(), ")");
  Shape s(nd), st(nd);
  for (int64_t i = 0; i < nd; ++i) {
    if (i < lead) {
      FASTNN_CHECK(shape[i] >= 0, "[expand] the expanded size ", shape[i], " is not allowed in a leading dimension");
      s[i] = shape[i];
      st[i] = 0;
      continue;
    }
    int64_t have = t->shape()[i - lead];
    int64_t want = shape[i] == -1 ? have : shape[i];
    FASTNN_CHECK(want >= 0, "[expand] invalid size ", shape[i], " at dimension ", i, " (only -1 keeps a size)");
    FASTNN_CHECK(have == want || have == 1, "[expand] the expanded size of the tensor (", want,
                 ") must match the existing size (", have, ") at non-singleton dimension ", i,
                 ". Target sizes: ", shape_str(shape), ". Tensor sizes: ", shape_str(t->shape()));
    s[i] = want;
    st[i] = have == want ? t->strides()[i - lead] : 0;
  }
  checked_numel(s, "expand");
  TensorPtr out = make_view(t, s, st, t->offset());
  Shape in = t->shape();
  record_grad_only(
      "ExpandBackward0", out, {t}, [in](const TensorPtr& g) { return Grads{sum_to(g, in)}; }, /*differentiable=*/true);
  return out;
}

TensorPtr sum_to(const TensorPtr& grad, const Shape& shape) {
  if (grad->shape() == shape) return grad;
  int64_t lead = grad->dim() - int64_t(shape.size());
  IntList dims;
  for (int64_t i = 0; i < grad->dim(); ++i)
    if (i < lead || (shape[i - lead] == 1 && grad->shape()[i] != 1)) dims.push_back(i);
  TensorPtr r = dims.empty() ? grad : sum(grad, dims, /*keepdim=*/true);
  return lead > 0 || !dims.empty() ? reshape(r, shape) : r;
}

}  // namespace fastnn
