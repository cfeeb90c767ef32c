// Copies, dtype conversions and the in-place writers copy_, fill_, zero_.
#include <algorithm>
#include <cstring>
#include <vector>

#include "fastnn/autograd/functions.h"
#include "fastnn/autograd/grad_mode.h"
#include "fastnn/autograd/view_history.h"
#include "fastnn/error.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/loops.h"
#include "fastnn/ops/ops.h"

namespace fastnn {
namespace {

TensorPtr copy_of(const TensorPtr& t, DType dtype);

// d[i * dk + j] = s[i + j * sl] for i < m, j < n: one tile, its strides in registers.
template <class T>
void copy_tile(const T* __restrict s, T* __restrict d, int64_t m, int64_t n, int64_t sl, int64_t dk) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) d[i * dk + j] = s[i + j * sl];
}

// A same-dtype CPU copy into a contiguous dst from a src of the same shape whose unit stride is on another dim than
// the last (a transpose: t().contiguous(), NCHW -> NHWC, a reduction's permuted rows) goes in small tiles of those
// two dims, so the lines read and written stay in cache while the tile uses them.
// False when the layout is not of that kind.
bool transposed_copy(Tensor& dst, const Tensor& src) {
  // Tiles of 16 (the source's unit-stride dim) by 8 (dst's): with power-of-two strides, larger tiles' lines fall in
  // one L1 set and evict each other (1024 x 1024 floats: 32 x 32 tiles 3.3 ms, 16 x 8 1.7 ms, element-wise 4 ms).
  constexpr int64_t kTileK = 16, kTileL = 8;
  const int64_t nd = dst.dim(), last = nd - 1;
  if (nd < 2 || dst.numel() < 1024 || dst.dtype() != src.dtype() || src.shape() != dst.shape() || !dst.is_contiguous())
    return false;
  const Shape &shape = dst.shape(), &ss = src.strides(), &ds = dst.strides();
  if (ss[last] == 1 || shape[last] < 8) return false;
  int64_t k = -1;
  for (int64_t d = 0; d < last; ++d)
    if (ss[d] == 1 && shape[d] >= 8) k = d;
  if (k < 0) return false;
  std::vector<int64_t> outer_dims;
  int64_t outer = 1;
  for (int64_t d = 0; d < last; ++d)
    if (d != k) outer_dims.push_back(d), outer *= shape[d];
  const int64_t nk = shape[k], nl = shape[last], tk = ceil_div(nk, kTileK), tl = ceil_div(nl, kTileL);
  const int64_t src_l = ss[last], dst_k = ds[k];
  FASTNN_DISPATCH_BY_SIZE(dst.dtype(), [&] {
    const scalar_t* ps = static_cast<const scalar_t*>(src.raw_data());
    scalar_t* pd = static_cast<scalar_t*>(dst.raw_mutable_data());
    parallel_for(outer * tk * tl, std::max<int64_t>(1, kGrainSize / (kTileK * kTileL)), [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const int64_t bk = t / tl % tk * kTileK, bl = t % tl * kTileL;
        int64_t so = 0, dof = 0;
        for (int64_t i = int64_t(outer_dims.size()) - 1, o = t / (tk * tl); i >= 0; --i) {
          const int64_t d = outer_dims[size_t(i)], j = o % shape[d];
          o /= shape[d];
          so += j * ss[d];
          dof += j * ds[d];
        }
        copy_tile(ps + so + bk + bl * src_l, pd + dof + bk * dst_k + bl, std::min(kTileK, nk - bk),
                  std::min(kTileL, nl - bl), src_l, dst_k);
      }
    });
  });
  return true;
}

// dst <- src elementwise (src broadcast to dst's shape), converting the element type.
void copy_data(Tensor& dst, const Tensor& src) {
  if (!dst.is_cpu() || !src.is_cpu()) {  // a GPU is involved: convert where src lives, move, then lay out
    if (src.dtype() != dst.dtype()) {
      TensorPtr s = Tensor::empty(src.shape(), dst.dtype(), "to", src.device());
      if (src.is_cpu()) copy_data(*s, src);
      else
        cuda::convert(src.device_data(), src.dtype(), src.shape().data(), src.strides().data(), int(src.dim()),
                      src.numel(), s->device_data(), dst.dtype(), src.device().index);
      copy_data(dst, *s);
      return;
    }
    const size_t bytes = size_t(src.numel()) * itemsize(src.dtype());
    if (src.device() != dst.device()) {  // src's elements in row-major order, moved to dst's device
      const TensorPtr s = src.is_contiguous() ? src.detach() : copy_of(src.detach(), src.dtype());
      if (dst.is_contiguous() && dst.shape() == src.shape()) {
        cuda::copy(dst.device_data(), dst.device(), s->device_data(), s->device(), bytes);
        return;
      }
      TensorPtr moved = Tensor::empty(src.shape(), src.dtype(), "copy_", dst.device());
      cuda::copy(moved->device_data(), dst.device(), s->device_data(), s->device(), bytes);
      copy_data(dst, *moved);
      return;
    }
    const Shape src_strides = broadcast_strides(src.shape(), src.strides(), dst.shape());
    if (dst.is_contiguous())
      cuda::strided_copy(dst.device_data(), src.device_data(), dst.shape().data(), src_strides.data(), int(dst.dim()),
                         dst.numel(), itemsize(dst.dtype()), dst.device().index);
    else
      cuda::strided_to_strided(dst.device_data(), dst.strides().data(), src.device_data(), src_strides.data(),
                               dst.shape().data(), int(dst.dim()), dst.numel(), itemsize(dst.dtype()),
                               dst.device().index);
    return;
  }
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous() && dst.shape() == src.shape()) {
    std::memcpy(dst.raw_mutable_data(), src.raw_data(), size_t(dst.numel()) * itemsize(dst.dtype()));
    return;
  }
  if (transposed_copy(dst, src)) return;
  FASTNN_DISPATCH_EVERY(dst.dtype(), "copy_", [&] {
    using out_t = scalar_t;
    FASTNN_DISPATCH_EVERY(src.dtype(), "copy_",
                          [&] { map_unary<scalar_t, out_t>(dst, src, [](scalar_t v) { return convert<out_t>(v); }); });
  });
}

TensorPtr copy_of(const TensorPtr& t, DType dtype) {
  TensorPtr out = Tensor::empty(t->shape(), dtype, "clone", t->device());
  copy_data(*out, *t);
  return out;
}

}  // namespace

TensorPtr cast(const TensorPtr& t, DType dtype) { return t->dtype() == dtype ? t : copy_of(t, dtype); }

int64_t host_int64(const TensorPtr& t) { return *to_device(cast(t, DType::Int64), Device{})->data<int64_t>(); }

TensorPtr tensor_from_host(const void* data, int64_t n, DType dtype, Device device) {
  TensorPtr t = Tensor::empty({n}, dtype, "copy");
  if (n > 0) std::memcpy(t->raw_mutable_data(), data, size_t(n) * itemsize(dtype));
  return to_device(t, device);
}

TensorPtr scalar_as(const TensorPtr& value, DType dtype, const char* op) {
  if (dtype == DType::Int64 && is_floating(value->dtype())) {
    double v = value->dtype() == DType::Float32 ? double(*value->data<float>()) : *value->data<double>();
    FASTNN_CHECK(fits_int64(v), "[", op, "] value ", v, " cannot be converted to type int64 without overflow");
  }
  return cast(value, dtype);  // an int64 value stays exact
}

void check_inplace_shape(const TensorPtr& self, const Shape& shape, const char* op) {
  FASTNN_CHECK(shape == self->shape(), "[", op, "] output with shape ", shape_str(self->shape()),
               " doesn't match the broadcast shape ", shape_str(shape));
}

// The base of a view does not take over the history of a write through the view, so a value that
// requires grad written into a view would silently lose its gradient: refuse it instead.
// A value that requires grad written into a view: the base's history will record it (CopySlices).
static void check_view_write(const TensorPtr& self, bool src_requires_grad, const char* op) {
  if (src_requires_grad && self->base() && GradMode::is_enabled()) check_view_rebase(self, op);
}

void inplace_with_history(TensorPtr& self, const char* op, bool track,
                          const std::function<TensorPtr(const TensorPtr&)>& compute) {
  check_inplace(self, op);
  check_view_write(self, track, op);
  TensorPtr snapshot = self;
  if (track) {
    refresh_view_history(self);
    snapshot = copy_of(self, self->dtype());
    if (self->grad_fn()) snapshot->set_history(self->grad_fn(), self->output_nr());
  }
  TensorPtr result = compute(snapshot);
  check_inplace_shape(self, result->shape(), op);
  FASTNN_CHECK_TYPE(category(result->dtype()) <= category(self->dtype()), "[", op, "] result type ",
                    dtype_name(result->dtype()), " can't be cast to the desired output type ",
                    dtype_name(self->dtype()));
  if (result->dtype() != self->dtype()) result = to_dtype(result, self->dtype());
  // CopySlices replays the op's node on the view's gradient: one node whose first input is the view
  FASTNN_CHECK_STATE(
      !(track && self->base() && result->grad_fn() && result->grad_fn()->next_edges()[0].fn != snapshot->grad_fn()),
      "[", op,
      "] an in-place op on a view that autograd records as more than one step (here with "
      "a dtype conversion, ",
      dtype_name(result->dtype()), ") is not supported; use the out-of-place op");
  copy_data(*self, *result);
  self->bump_version();
  if (track && result->grad_fn()) {
    self->set_history(result->grad_fn(), result->output_nr());
    if (self->base()) rebase_view_history(self);
  }
}

void check_inplace(const TensorPtr& self, const char* op, bool may_overlap) {
  if (GradMode::is_enabled()) {
    FASTNN_CHECK_STATE(!(self->is_leaf() && self->requires_grad()),
                       "a leaf Variable that requires grad is being used in an in-place operation. (", op, ")");
    if (self->base() && self->requires_grad()) check_view_rebase(self, op);
  }
  if (may_overlap) return;
  for (size_t d = 0; d < self->shape().size() && self->numel() > 0; ++d)  // an empty tensor has no overlap
    FASTNN_CHECK_STATE(self->strides()[d] != 0 || self->shape()[d] <= 1, "[", op,
                       "] unsupported operation: more than one element of the written-to tensor refers to a "
                       "single memory location. Please clone() the tensor before performing the operation.");
}

TensorPtr clone(const TensorPtr& t) {
  check_defined(t, "clone");
  TensorPtr out = copy_of(t, t->dtype());
  record_grad_only(
      "CloneBackward0", out, {t}, [](const TensorPtr& g) { return std::vector<TensorPtr>{g}; },
      /*differentiable=*/true);
  return out;
}

TensorPtr contiguous(const TensorPtr& t) {
  check_defined(t, "contiguous");
  return t->is_contiguous() ? t : clone(t);
}

TensorPtr to_dtype(const TensorPtr& t, DType dtype) {
  check_defined(t, "to");
  return t->dtype() == dtype ? t : to_copy(t, dtype);
}

TensorPtr to_copy(const TensorPtr& t, DType dtype) {
  check_defined(t, "to");
  TensorPtr out = copy_of(t, dtype);
  if (is_floating(dtype)) {
    DType in = t->dtype();
    record_grad_only(
        "ToCopyBackward0", out, {t}, [in](const TensorPtr& g) { return std::vector<TensorPtr>{to_dtype(g, in)}; },
        /*differentiable=*/true);
  }
  return out;
}

TensorPtr to_device(const TensorPtr& t, Device device) {
  check_defined(t, "to");
  const Device from = t->device();
  if (from == device) return t;
  if (device.is_cuda()) cuda::check_device(device.index, "to");
  // The source's elements in row-major order, on its own device.
  const TensorPtr src = t->is_contiguous() ? t : copy_of(t, t->dtype());
  TensorPtr out = Tensor::empty(t->shape(), t->dtype(), "to", device);
  cuda::copy(out->device_data(), device, src->device_data(), from, size_t(t->numel()) * itemsize(t->dtype()));
  if (is_floating(t->dtype()))
    record_grad_only(
        "ToCopyBackward0", out, {t}, [from](const TensorPtr& g) { return std::vector<TensorPtr>{to_device(g, from)}; },
        /*differentiable=*/true);
  return out;
}

void copy_(TensorPtr& self, const TensorPtr& src) {
  check_defined(self, "copy_", "self");
  check_defined(src, "copy_", "src");
  check_inplace(self, "copy_");
  check_view_write(self, any_requires_grad({&src}), "copy_");
  broadcast_shapes(self->shape(), src->shape(), "copy_");
  FASTNN_CHECK(broadcast_shapes(self->shape(), src->shape(), "copy_") == self->shape(), "[copy_] source of shape ",
               src->shape(), " cannot be broadcast to the destination's shape ", self->shape());
  // Reading and writing the same memory through different layouts needs a snapshot first.
  TensorPtr from = src->storage() == self->storage() ? copy_of(src, src->dtype()) : src;
  copy_data(*self, *from);
  self->bump_version();
  if (any_requires_grad({&self, &src}) && is_floating(self->dtype())) {  // an integer copy ends the graph
    Shape src_shape = src->shape();
    DType src_dtype = src->dtype();
    auto node = std::make_shared<GradOnlyBackward>("CopyBackwards", [src_shape, src_dtype](const TensorPtr& g) {
      return std::vector<TensorPtr>{zeros_on(g->shape(), g->dtype(), g->device()),
                                    to_dtype(sum_to(g, src_shape), src_dtype)};
    });
    record(node, {&self, &src}, {&self});
    if (self->base()) rebase_view_history(self);
  }
}

void fill_(TensorPtr& self, double value) { fill_(self, scalar_tensor(value, DType::Float64, true)); }

void fill_(TensorPtr& self, const TensorPtr& value, const char* op) {
  check_defined(self, op, "self");
  check_defined(value, op, "value");
  FASTNN_CHECK(value->dim() == 0, "[", op, "] only supports a 0-dimension value tensor, got one with ", value->dim(),
               " dimensions");
  check_inplace(self, op, true);
  TensorPtr vt = scalar_as(value->is_cpu() ? value : to_device(value->detach(), Device{}), self->dtype(), op);
  // Elements that share memory (an expanded tensor) are written once: a 2**40-element view of one
  // element is one write, not 2**40.
  TensorPtr dst = self;
  {
    GradModeGuard no_grad(false);
    for (int64_t d = 0; d < self->dim(); ++d)
      if (self->strides()[d] == 0 && self->shape()[d] > 1) dst = slice(dst, d, 0, 1, 1);
  }
  if (dst->device().is_cuda())
    cuda::fill(dst->device_data(), dst->shape().data(), dst->strides().data(), int(dst->dim()), dst->numel(),
               vt->device_data(), itemsize(dst->dtype()), dst->device().index);
  else
    FASTNN_DISPATCH_BY_SIZE(self->dtype(), [&] {
      scalar_t v = *vt->data<scalar_t>();
      map_unary<scalar_t, scalar_t>(*dst, *vt, [v](scalar_t) { return v; });
    });
  self->bump_version();
  // torch's nodes: ZeroBackward0 and FillBackward2 (a number: one edge), FillBackward3 (a tensor: its gradient is
  // the sum of g's)
  if (any_requires_grad({&self, &value}) && is_floating(self->dtype())) {
    if (value->is_wrapped_number()) {
      auto node = std::make_shared<GradOnlyBackward>(
          std::string(op) == "zero_" ? "ZeroBackward0" : "FillBackward2",
          [](const TensorPtr& g) { return std::vector<TensorPtr>{zeros(g->shape(), g->dtype())}; });
      record(node, {&self}, {&self});
    } else {
      const DType value_dtype = value->dtype();
      auto node = std::make_shared<GradOnlyBackward>("FillBackward3", [value_dtype](const TensorPtr& g) {
        return std::vector<TensorPtr>{zeros(g->shape(), g->dtype()), to_dtype(sum(g), value_dtype)};
      });
      record(node, {&self, &value}, {&self});
    }
    if (self->base()) rebase_view_history(self);
  }
}

void zero_(TensorPtr& self) {
  check_defined(self, "zero_", "self");
  if (self->is_cpu() && self->is_contiguous() && !any_requires_grad({&self})) {
    check_inplace(self, "zero_", true);
    std::memset(self->raw_mutable_data(), 0, size_t(self->numel()) * itemsize(self->dtype()));
    self->bump_version();
    return;
  }
  fill_(self, scalar_tensor(0.0, DType::Float64, true), "zero_");
}

}  // namespace fastnn
