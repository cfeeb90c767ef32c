// Advanced indexing with index tensors and masks (torch's x[idx], index_put_), and masked_select.
#include <algorithm>
#include <memory>

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

// torch's rules for one list of indices into a tensor of `shape`, resolved once: masks become the
// coordinates of their true elements, index tensors broadcast together and are wrapped into [0, size).
struct IndexPlan {
  Shape shape;                     // the indexed tensor's shape
  std::vector<int64_t> dims;       // its indexed dims, in order
  std::vector<TensorPtr> idx;      // per indexed dim: contiguous int64 of shape index_shape, in [0, size)
  Shape index_shape;               // the index tensors' broadcast shape
  std::vector<int64_t> pre, post;  // the other dims, placed before / after the index dims in the result
  Shape result_shape;

  struct Offsets {
    std::vector<int64_t> pre, mid, post;
  };
  // Where the result's elements lie in a tensor of `shape` laid out with `strides`.
  Offsets offsets(const Shape& strides) const {
    Offsets o{kernels::walk_offsets(shape, strides, pre), {}, kernels::walk_offsets(shape, strides, post)};
    int64_t n = idx.empty() ? 0 : idx[0]->numel();
    o.mid.assign(size_t(n), 0);
    for (size_t j = 0; j < dims.size(); ++j) {
      const int64_t* p = idx[j]->data<int64_t>();
      for (int64_t i = 0; i < n; ++i) o.mid[size_t(i)] += p[i] * strides[dims[j]];
    }
    return o;
  }
};

IndexPlan plan_index(const Tensor& self, const std::vector<TensorPtr>& indices, const char* op) {
  for (const TensorPtr& t : indices)  // a GPU tensor takes CPU indices too; a CPU tensor only CPU ones, as torch
    FASTNN_CHECK_STATE(!t || t->is_cpu() || t->device() == self.device(), "[", op,
                       "] indices should be either on cpu or on the same device as the indexed tensor (",
                       self.device().str(), ")");
  const Shape& shape = self.shape();
  IndexPlan plan;
  plan.shape = shape;
  const int64_t nd = int64_t(shape.size());
  std::vector<TensorPtr> tensors;
  std::vector<bool> from_mask;  // per tensor: a mask's coordinates
  int64_t d = 0;
  for (TensorPtr t : indices) {
    if (!t) {
      ++d;
      continue;
    }
    t = to_device(t->detach(), Device{});  // resolved on the CPU (one copy of a GPU index or mask to the host)
    const DType dt = t->dtype();
    FASTNN_CHECK_INDEX(dt == DType::Int64 || dt == DType::Int32 || dt == DType::UInt8 || dt == DType::Bool, "[", op,
                       "] tensors used as indices must be long, int, byte or bool tensors, got ", dtype_name(dt));
    if (dt == DType::Int64 || dt == DType::Int32) {
      plan.dims.push_back(d++);
      tensors.push_back(cast(t->detach(), DType::Int64));
      from_mask.push_back(false);
      continue;
    }
    if (dt == DType::UInt8) t = cast(t, DType::Bool);  // a byte tensor is a mask (torch's deprecated form)
    FASTNN_CHECK_INDEX(t->dim() > 0, "[", op, "] a 0-dim bool index is only supported through x[True] / x[False]");
    FASTNN_CHECK_INDEX(d + t->dim() <= nd, "[", op, "] too many indices for tensor of dimension ", nd, " (got ",
                       d + t->dim(), ")");
    for (int64_t j = 0; j < t->dim(); ++j)
      FASTNN_CHECK_INDEX(t->shape()[j] == shape[d + j], "[", op, "] The shape of the mask ", shape_str(t->shape()),
                         " at index ", j, " does not match the shape of the indexed tensor ", shape_str(shape),
                         " at index ", d + j);
    TensorPtr mask = contiguous(t->detach());
    const int64_t count = kernels::count_true(mask->data<bool>(), mask->numel());
    std::vector<TensorPtr> coords;
    std::vector<int64_t*> out;
    for (int64_t j = 0; j < t->dim(); ++j) {
      coords.push_back(Tensor::empty({count + 1}, DType::Int64, op));  // + 1: nonzero_coords' scratch slot
      out.push_back(coords.back()->mutable_data<int64_t>());
    }
    kernels::nonzero_coords(mask->data<bool>(), mask->shape(), out.data());
    for (int64_t j = 0; j < t->dim(); ++j) {
      plan.dims.push_back(d + j);
      tensors.push_back(narrow(coords[size_t(j)], 0, 0, count));
      from_mask.push_back(true);
    }
    d += t->dim();
  }
  FASTNN_CHECK_INDEX(d <= nd, "[", op, "] too many indices for tensor of dimension ", nd, " (got ", d, ")");
  FASTNN_CHECK_INDEX(!tensors.empty(), "[", op, "] expected at least one index tensor");
  try {
    plan.index_shape = tensors[0]->shape();
    for (const TensorPtr& t : tensors) plan.index_shape = broadcast_shapes(plan.index_shape, t->shape(), op);
  } catch (const std::invalid_argument&) {
    std::string shapes;
    for (const TensorPtr& t : tensors) shapes += (shapes.empty() ? "" : ", ") + shape_str(t->shape());
    throw std::out_of_range(
        str("[", op, "] shape mismatch: indexing tensors could not be broadcast together with shapes ", shapes));
  }
  for (size_t j = 0; j < tensors.size(); ++j) {
    if (from_mask[j] && tensors[j]->shape() == plan.index_shape) {  // a mask's coordinates: in range already
      plan.idx.push_back(tensors[j]);
      continue;
    }
    TensorPtr e = contiguous(expand(tensors[j], plan.index_shape));
    TensorPtr w = Tensor::empty(plan.index_shape, DType::Int64, op);
    const int64_t size = shape[plan.dims[j]], *in = e->data<int64_t>();
    int64_t* out = w->mutable_data<int64_t>();
    for (int64_t i = 0, n = w->numel(); i < n; ++i) {
      const int64_t v = in[i];
      if (v < -size || v >= size) {
        FASTNN_CHECK_INDEX(size != 0, "[", op, "] index is out of bounds for dimension with size 0");
        // the dimension counts among the indexed ones, as torch reports it
        throw std::out_of_range(
            str("[", op, "] index ", v, " is out of bounds for dimension ", j, " with size ", size));
      }
      out[i] = v < 0 ? v + size : v;
    }
    plan.idx.push_back(w);
  }
  // Index dims next to each other keep their place in the result; separated ones go first.
  const bool adjacent = plan.dims.back() - plan.dims.front() + 1 == int64_t(plan.dims.size());
  for (int64_t k = 0; k < nd; ++k) {
    if (std::find(plan.dims.begin(), plan.dims.end(), k) != plan.dims.end()) continue;
    (adjacent && k < plan.dims.front() ? plan.pre : plan.post).push_back(k);
  }
  for (int64_t k : plan.pre) plan.result_shape.push_back(shape[k]);
  plan.result_shape.insert(plan.result_shape.end(), plan.index_shape.begin(), plan.index_shape.end());
  for (int64_t k : plan.post) plan.result_shape.push_back(shape[k]);
  return plan;
}

const int64_t* ptr(const TensorPtr& t) { return static_cast<const int64_t*>(t->device_data()); }

// On a GPU: the plan's offsets copied there, with the m sharing a mid offset grouped for the scatters (each
// destination then sums its sources in index order: the CPU's order, no atomics).
struct DeviceOffsets {
  TensorPtr pre, mid, post, unique, starts, positions;
  int64_t P, M, Q, U;
  DeviceOffsets(const IndexPlan::Offsets& o, Device device)
      : P(int64_t(o.pre.size())), M(int64_t(o.mid.size())), Q(int64_t(o.post.size())) {
    std::vector<int64_t> order(o.mid.size()), unique_mids, first;
    for (size_t m = 0; m < order.size(); ++m) order[m] = int64_t(m);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return o.mid[a] < o.mid[b]; });
    for (size_t k = 0; k < order.size(); ++k)
      if (k == 0 || o.mid[order[k]] != o.mid[order[k - 1]]) {
        unique_mids.push_back(o.mid[order[k]]);
        first.push_back(int64_t(k));
      }
    first.push_back(int64_t(order.size()));
    U = int64_t(unique_mids.size());
    pre = int64_tensor(o.pre, device), mid = int64_tensor(o.mid, device), post = int64_tensor(o.post, device);
    unique = int64_tensor(unique_mids, device), starts = int64_tensor(first, device);
    positions = int64_tensor(order, device);
  }
};

// The plan's elements of `src`, as a new contiguous tensor of the result's shape.
TensorPtr gather_plan(const IndexPlan& plan, const TensorPtr& src, const char* op) {
  TensorPtr out = Tensor::empty(plan.result_shape, src->dtype(), op, src->device());
  IndexPlan::Offsets o = plan.offsets(src->strides());
  if (src->device().is_cuda()) {
    const DeviceOffsets d(o, src->device());
    cuda::index_gather(src->device_data(), ptr(d.pre), d.P, ptr(d.mid), d.M, ptr(d.post), d.Q, itemsize(src->dtype()),
                       out->device_data(), src->device().index);
    return out;
  }
  kernels::index_gather(src->dtype(), src->raw_data(), out->raw_mutable_data(), o.pre, o.mid, o.post);
  return out;
}

// dst's plan elements <- (or +=) values broadcast to the result's shape; repeated indices in index order.
void scatter_plan(const IndexPlan& plan, Tensor& dst, const TensorPtr& values, bool accumulate) {
  TensorPtr v = values->detach();
  if (v->device() != dst.device()) {  // a CPU 0-d value (a number) joins a GPU destination, as in torch
    FASTNN_CHECK_STATE(v->is_cpu() && v->dim() == 0, "[index_put_] Expected all tensors to be on the same device, ",
                       "but found at least two devices, ", dst.device().str(), " and ", v->device().str(), "!");
    v = to_device(v, dst.device());
  }
  v = contiguous(expand(v, plan.result_shape));
  if (v->storage() == dst.storage()) v = clone(v);  // never read what this write changes
  IndexPlan::Offsets o = plan.offsets(dst.strides());
  if (dst.device().is_cuda()) return index_scatter_cuda(dst, v, o.pre, o.mid, o.post, accumulate);
  kernels::index_scatter(dst.dtype(), dst.raw_mutable_data(), v->raw_data(), o.pre, o.mid, o.post,
                         accumulate ? ScatterMode::Add : ScatterMode::Assign);
}

// A zero tensor of the plan's shape with `g` added at the plan's elements (the adjoint of gather_plan).
TensorPtr accumulate_plan(const IndexPlan& plan, const TensorPtr& g) {
  TensorPtr r = zeros_on(plan.shape, g->dtype(), g->device());
  scatter_plan(plan, *r, g, true);
  return r;
}

void check_values(const TensorPtr& self, const IndexPlan& plan, const TensorPtr& values, const char* op) {
  FASTNN_CHECK_TYPE(values->dtype() == self->dtype(), "[", op,
                    "] Index put requires the source and destination dtypes "
                    "match, got ",
                    dtype_name(self->dtype()), " for the destination and ", dtype_name(values->dtype()),
                    " for the source.");
  const Shape& r = plan.result_shape;
  bool ok = values->dim() <= int64_t(r.size());
  for (int64_t i = 1; ok && i <= values->dim(); ++i) {
    int64_t v = values->shape()[size_t(values->dim() - i)];
    ok = v == 1 || v == r[r.size() - size_t(i)];
  }
  FASTNN_CHECK(ok, "[", op, "] shape mismatch: value tensor of shape ", shape_str(values->shape()),
               " cannot be broadcast to indexing result of shape ", shape_str(r));
}

TensorPtr index_put_impl(const TensorPtr& self, const std::vector<TensorPtr>& indices, const TensorPtr& values,
                         bool accumulate, const char* op) {
  check_defined(self, op, "self");
  check_defined(values, op, "values");
  auto plan = std::make_shared<const IndexPlan>(plan_index(*self, indices, op));
  check_values(self, *plan, values, op);
  TensorPtr out = clone(self->detach());
  scatter_plan(*plan, *out, values, accumulate);
  if (any_requires_grad({&self, &values})) {
    const Shape vshape = values->shape();
    const bool need_self = any_requires_grad({&self}), need_values = any_requires_grad({&values});
    record_grad_only("IndexPutBackward0", out, {self, values}, [=](const TensorPtr& g) {
      std::vector<TensorPtr> r(2);
      if (need_self && accumulate) r[0] = g;
      if (need_self && !accumulate) {  // overwritten elements do not reach the output
        r[0] = clone(g);
        scatter_plan(*plan, *r[0], zeros({}, g->dtype()), false);
      }
      if (need_values) r[1] = sum_to(gather_plan(*plan, g, "index_put"), vshape);
      return r;
    });
  }
  return out;
}

}  // namespace

void index_scatter_cuda(Tensor& dst, const TensorPtr& src, const std::vector<int64_t>& pre,
                        const std::vector<int64_t>& mid, const std::vector<int64_t>& post, bool accumulate) {
  const DeviceOffsets d(IndexPlan::Offsets{pre, mid, post}, dst.device());
  cuda::index_scatter(accumulate, dst.dtype(), dst.device_data(), src->device_data(), ptr(d.pre), d.P, ptr(d.unique),
                      ptr(d.starts), ptr(d.positions), d.U, d.M, ptr(d.post), d.Q, dst.device().index);
}

TensorPtr index(const TensorPtr& self, const std::vector<TensorPtr>& indices) {
  check_defined(self, "index");
  auto plan = std::make_shared<const IndexPlan>(plan_index(*self, indices, "index"));
  TensorPtr out = gather_plan(*plan, self, "index");
  record_grad_only("IndexBackward0", out, {self},
                   [plan](const TensorPtr& g) { return std::vector<TensorPtr>{accumulate_plan(*plan, g)}; });
  return out;
}

TensorPtr index_put(const TensorPtr& self, const std::vector<TensorPtr>& indices, const TensorPtr& values,
                    bool accumulate) {
  return index_put_impl(self, indices, values, accumulate, "index_put");
}

void index_put_(TensorPtr& self, const std::vector<TensorPtr>& indices, const TensorPtr& values, bool accumulate) {
  check_defined(self, "index_put_", "self");
  check_defined(values, "index_put_", "values");
  if (any_requires_grad({&self, &values})) {
    inplace_with_history(self, "index_put_", true, [&](const TensorPtr& snapshot) {
      return index_put_impl(snapshot, indices, values, accumulate, "index_put_");
    });
    return;
  }
  IndexPlan plan = plan_index(*self, indices, "index_put_");
  check_values(self, plan, values, "index_put_");
  check_inplace(self, "index_put_");
  scatter_plan(plan, *self, values, accumulate);
  self->bump_version();
}

TensorPtr masked_select(const TensorPtr& self, const TensorPtr& mask) {
  check_defined(self, "masked_select");
  check_defined(mask, "masked_select", "mask");
  FASTNN_CHECK_TYPE(mask->dtype() == DType::Bool, "[masked_select] expected BoolTensor for mask, got ",
                    dtype_name(mask->dtype()));
  Shape shape = broadcast_shapes(self->shape(), mask->shape(), "masked_select");
  TensorPtr src = expand(self->detach(), shape), m = expand(mask->detach(), shape);
  // A 0-d mask selects from a 0-d input as a 1-element one.
  if (shape.empty()) {
    src = reshape(src, {1});
    m = reshape(m, {1});
  }
  auto plan = std::make_shared<const IndexPlan>(plan_index(*src, {m}, "masked_select"));
  TensorPtr out = gather_plan(*plan, src, "masked_select");
  const Shape in = self->shape();
  record_grad_only("MaskedSelectBackward0", out, {self}, [plan, shape, in](const TensorPtr& g) {
    return std::vector<TensorPtr>{sum_to(reshape(accumulate_plan(*plan, g), shape), in)};
  });
  return out;
}

}  // namespace fastnn
