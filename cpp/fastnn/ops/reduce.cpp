// Reductions: sum, mean, max/min (whole tensor and along dims), argmax/argmin.
// Deterministic: each output is reduced by one thread in index order; a whole-tensor reduction
// sums fixed-size chunks in parallel and adds the partial sums in chunk order.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "fastnn/autograd/functions.h"
#include "fastnn/error.h"
#include "fastnn/kernels/cpu/reduce.h"
#include "fastnn/kernels/cuda/reduce.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/loops.h"
#include "fastnn/ops/ops.h"

namespace fastnn {
namespace {

using Grads = std::vector<TensorPtr>;
constexpr int64_t kChunk = 16384;

// Accumulator type: double for floats; uint64 for integers and bools, so that an int64 sum wraps around
// on overflow as torch's does (signed overflow is undefined behaviour in C++).
template <class T> using acc_t = std::conditional_t<std::is_floating_point_v<T>, double, uint64_t>;
// An accumulated sum as a value: an integer one back to int64 (two's complement).
template <class A> auto acc_value(A s) {
  if constexpr (std::is_same_v<A, uint64_t>) return int64_t(s);
  else return s;
}

// The sum of x[0, n): for floats kernels::sum (vectorised; a row under 16 values is the same plain double sum
// in index order, done here without the call), for integers a uint64 sum.
template <class T>
acc_t<T> sum_of(const T* x, int64_t n) {
  if constexpr (std::is_floating_point_v<T>) {
    if (n >= 16) return kernels::sum(x, n);
  }
  acc_t<T> s = 0;
  for (int64_t i = 0; i < n; ++i) s += acc_t<T>(x[i]);
  return s;
}

// Sums each row of `rows` into out (dtype Out), in a thread-count independent order.
template <class T, class Out>
void row_sums(const T* x, int64_t outputs, int64_t reduced, Out* out, double scale) {
  using A = acc_t<T>;
  if (outputs == 1 && reduced > kChunk) {
    int64_t chunks = (reduced + kChunk - 1) / kChunk;
    std::vector<A> partial(chunks);
    parallel_for(chunks, 1, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; ++c)
        partial[c] = sum_of(x + c * kChunk, std::min(reduced, (c + 1) * kChunk) - c * kChunk);
    });
    A s = 0;
    for (A v : partial) s += v;
    out[0] = scale == 1 ? Out(acc_value(s)) : Out(acc_value(s) * scale);  // (an int64 sum stays exact)
    return;
  }
  parallel_for(outputs, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(reduced, 1)), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      const A s = sum_of(x + o * reduced, reduced);
      out[o] = scale == 1 ? Out(acc_value(s)) : Out(acc_value(s) * scale);
    }
  });
}

// Sums over the middle dim of a contiguous x viewed as (outer, reduced, inner): out[o][j] adds x[o][i][j] for i in
// order, in double; read in place, each outer slab's columns split in blocks.
template <class T, class Out>
void column_sums(const T* x, int64_t outer, int64_t reduced, int64_t inner, Out* out, double scale) {
  using A = acc_t<T>;
  constexpr int64_t kColumns = 256;
  const int64_t blocks = (inner + kColumns - 1) / kColumns;
  parallel_for(outer * blocks, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(reduced * kColumns, 1)),
               [&](int64_t b, int64_t e) {
                 A acc[kColumns];
                 for (int64_t t = b; t < e; ++t) {
                   const int64_t o = t / blocks, j0 = t % blocks * kColumns, n = std::min(inner, j0 + kColumns) - j0;
                   const T* slab = x + o * reduced * inner + j0;
                   std::fill(acc, acc + n, A(0));
                   for (int64_t i = 0; i < reduced; ++i) {
                     const T* r = slab + i * inner;
                     for (int64_t j = 0; j < n; ++j) acc[j] += A(r[j]);
                   }
                   Out* dst = out + o * inner + j0;
                   for (int64_t j = 0; j < n; ++j)
                     dst[j] = scale == 1 ? Out(acc_value(acc[j])) : Out(acc_value(acc[j]) * scale);
                 }
               });
}

// A sum over one block of consecutive dims [k0, k1) of a contiguous, non-empty x that keeps more than one element
// and not the last dim: x as (outer, reduced, inner), read in place by column_sums (a bias gradient's column sums
// with outer 1, mean pooling over a sequence). Past the leading dims, only for inner >= 16 (narrower, the rows'
// copy and vectorised row sums win). nullopt otherwise.
struct BlockPlan {
  ReducePlan plan;
  int64_t outer = 1, inner = 1;
};
std::optional<BlockPlan> block_plan(const TensorPtr& x, IntList dims) {
  const int64_t nd = x->dim();
  if (dims.empty() || !x->is_contiguous() || x->numel() == 0) return std::nullopt;
  std::vector<bool> red(nd, false);
  for (int64_t d : dims) {
    int64_t w = d < 0 ? d + nd : d;
    if (w < 0 || w >= nd || red[w]) return std::nullopt;  // (plan_reduction reports it)
    red[w] = true;
  }
  int64_t k0 = 0;
  while (k0 < nd && !red[k0]) ++k0;
  int64_t k1 = k0;
  while (k1 < nd && red[k1]) ++k1;
  BlockPlan b;
  ReducePlan& p = b.plan;
  for (int64_t d = 0; d < nd; ++d) {
    const int64_t n = x->shape()[d];
    if (red[d] && (d < k0 || d >= k1)) return std::nullopt;  // a second block
    if (red[d]) {
      p.reduced *= n;
      p.keep_shape.push_back(1);
      continue;
    }
    (d < k0 ? b.outer : b.inner) *= n;
    p.out_shape.push_back(n);
    p.keep_shape.push_back(n);
  }
  if (k1 == nd || b.outer * b.inner <= 1 || (b.outer > 1 && b.inner < 16)) return std::nullopt;
  p.outputs = b.outer * b.inner;
  p.rows = x->detach();
  return b;
}

// Expands a reduced gradient back over the reduced dims of `in_shape`.
TensorPtr expand_grad(const TensorPtr& g, const Shape& keep_shape, const Shape& in_shape) {
  return expand(reshape(g, keep_shape), in_shape);
}

TensorPtr sum_impl(const TensorPtr& x, IntList dims, bool keepdim, std::optional<DType> dtype, bool mean) {
  const char* op = mean ? "mean" : "sum";
  DType out_dt = dtype ? *dtype : (is_floating(x->dtype()) ? x->dtype() : DType::Int64);
  if (mean)
    FASTNN_CHECK_TYPE(is_floating(out_dt),
                      "[mean] could not infer output dtype. Input dtype must be either "
                      "a floating point or complex dtype. Got: ",
                      dtype_name(x->dtype()));
  // With a dtype the input is converted first (float -> int64 truncates each element), as in torch.
  // A storage dtype is read in its compute dtype; a float16/bfloat16 result is rounded once at the end.
  TensorPtr src = dtype ? cast(x->detach(), out_dt) : x;
  src = cast(src, compute_dtype(src->dtype()));
  const bool gpu = !src->is_cpu();
  if (gpu && out_dt == DType::Int64) src = cast(src, out_dt);  // bool and integer sums add int64s on a GPU
  FASTNN_CHECK_TYPE(!gpu || (src->dtype() == out_dt && (is_floating(out_dt) || out_dt == DType::Int64)), "[", op,
                    "] CUDA tensors of dtype ", dtype_name(src->dtype()),
                    " are not supported yet (float32, float64 and int64 are)");
  const std::optional<BlockPlan> block = gpu ? std::nullopt : block_plan(src, dims);
  ReducePlan p = block ? block->plan : plan_reduction(src, dims, op);
  const DType store_dt = out_dt;
  out_dt = compute_dtype(out_dt);
  TensorPtr out = Tensor::empty(keepdim ? p.keep_shape : p.out_shape, out_dt, op, src->device());
  double scale = mean ? 1.0 / double(p.reduced) : 1.0;
  if (mean && p.reduced == 0) scale = NAN;  // mean of nothing is nan, as in torch
  if (gpu) {                                // the plan's rows are contiguous on the GPU: a fixed-order sum per row
    cuda::row_sums(p.rows->device_data(), p.outputs, p.reduced, scale, out_dt, out->device_data(), src->device().index);
  } else {
    FASTNN_DISPATCH_ALL(p.rows->dtype(), op, [&] {
      using in_t = scalar_t;
      FASTNN_DISPATCH_NUMERIC(out_dt, op, [&] {
        if (mean && p.reduced == 0)
          for (int64_t o = 0; o < p.outputs; ++o) out->mutable_data<scalar_t>()[o] = scalar_t(NAN);
        else if (block)
          column_sums<in_t, scalar_t>(p.rows->data<in_t>(), block->outer, p.reduced, block->inner,
                                      out->mutable_data<scalar_t>(), scale);
        else row_sums<in_t, scalar_t>(p.rows->data<in_t>(), p.outputs, p.reduced, out->mutable_data<scalar_t>(), scale);
      });
    });
  }
  out = cast(out, store_dt);
  if (any_requires_grad({&x}) && is_floating(out_dt)) {  // an integer sum ends the graph, like .long()
    Shape in = x->shape(), keep = p.keep_shape;
    DType in_dt = x->dtype();
    double n = double(p.reduced);
    const char* name =
        mean ? (dims.empty() ? "MeanBackward0" : "MeanBackward1") : (dims.empty() ? "SumBackward0" : "SumBackward1");
    record_grad_only(
        name, out, {x},
        [=](const TensorPtr& g) {
          TensorPtr gi = mean ? div(g, scalar_tensor(n, DType::Float64, true)) : g;
          return Grads{cast(contiguous(expand_grad(gi, keep, in)), in_dt)};
        },
        /*differentiable=*/true);
  }
  return out;
}

// Index of the max (or min) of each row; NaN counts as the extreme; ties keep the first.
template <class T>
void row_argext(const T* x, int64_t outputs, int64_t reduced, bool is_max, T* values, int64_t* indices) {
  parallel_for(outputs, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(reduced, 1)), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      const T* r = x + o * reduced;
      int64_t best = 0;
      T bv = r[0];
      for (int64_t i = 1; i < reduced; ++i) {
        T v = r[i];
        if (bv != bv) break;  // NaN already found
        if (v != v || (is_max ? v > bv : v < bv)) {
          bv = v;
          best = i;
        }
      }
      if (values) values[o] = bv;
      if (indices) indices[o] = best;
    }
  });
}

// Values and indices of the extreme along `dims` (one dim, or all when empty).
std::pair<TensorPtr, TensorPtr> extreme(const TensorPtr& x_in, IntList dims, bool keepdim, bool is_max,
                                        const char* op) {
  TensorPtr x = cast(x_in, compute_dtype(x_in->dtype()));  // exact: every storage value is a compute value
  ReducePlan p = plan_reduction(x, dims, op);
  FASTNN_CHECK_INDEX(p.reduced > 0, "[", op, "] cannot reduce over a zero-size dimension (input shape ",
                     shape_str(x->shape()), "); specify a non-zero-size dim");
  Shape shape = keepdim ? p.keep_shape : p.out_shape;
  TensorPtr values = Tensor::empty(shape, x->dtype(), op, x->device());
  TensorPtr indices = Tensor::empty(shape, DType::Int64, op, x->device());
  if (x->device().is_cuda()) {
    check_cuda_number(x->dtype(), op);
    cuda::row_arg_extreme(p.rows->device_data(), p.outputs, p.reduced, x->dtype(), is_max,
                          static_cast<int64_t*>(indices->device_data()), values->device_data(), x->device().index);
    return {values, indices};
  }
  FASTNN_DISPATCH_ALL(x->dtype(), op, [&] {
    row_argext<scalar_t>(p.rows->data<scalar_t>(), p.outputs, p.reduced, is_max, values->mutable_data<scalar_t>(),
                         indices->mutable_data<int64_t>());
  });
  return {cast(values, x_in->dtype()), indices};
}

// Gradient of max/min along `dim`: g goes to the chosen index, zero elsewhere.
TensorPtr scatter_grad(const TensorPtr& g, const TensorPtr& idx, const Shape& in_shape, int64_t dim, bool keepdim) {
  TensorPtr gk = keepdim ? g : unsqueeze(g, dim);
  TensorPtr ik = keepdim ? idx : unsqueeze(idx, dim);
  TensorPtr out = Tensor::empty(in_shape, g->dtype(), "max", g->device());
  zero_(out);
  Shape st = out->strides();
  int64_t dim_stride = st[dim];
  st[dim] = 0;
  Shape shape = gk->shape();
  if (g->device().is_cuda()) {
    const Shape gs = broadcast_strides(gk->shape(), gk->strides(), shape),
                is = broadcast_strides(ik->shape(), ik->strides(), shape);
    cuda::scatter_along(out->device_data(), st.data(), dim_stride, gk->device_data(), gs.data(),
                        static_cast<const int64_t*>(ik->device_data()), is.data(), shape.data(), int(shape.size()),
                        gk->numel(), itemsize(g->dtype()), g->device().index);
    return out;
  }
  auto L = make_loop<3>(shape, {st, broadcast_strides(gk->shape(), gk->strides(), shape),
                                broadcast_strides(ik->shape(), ik->strides(), shape)});
  FASTNN_DISPATCH_BY_SIZE(g->dtype(), [&] {  // a scatter of values: any dtype of the width
    scalar_t* po = out->mutable_data<scalar_t>();
    const scalar_t* pg = gk->data<scalar_t>();
    const int64_t* pi = ik->data<int64_t>();
    for_each_run<3>(L, [&](const std::array<int64_t, 3>& off, const std::array<int64_t, 3>& s, int64_t n) {
      for (int64_t i = 0; i < n; ++i)
        po[off[0] + i * s[0] + pi[off[2] + i * s[2]] * dim_stride] = pg[off[1] + i * s[1]];
    });
  });
  return out;
}

std::pair<TensorPtr, TensorPtr> extreme_dim(const TensorPtr& x, int64_t dim, bool keepdim, bool is_max) {
  const char* op = is_max ? "max" : "min";
  int64_t d = wrap_dim(dim, x->dim(), op);
  auto [values, indices] = extreme(x, {d}, keepdim, is_max, op);
  if (any_requires_grad({&x})) {
    Shape in = x->shape();
    TensorPtr idx = indices;
    bool nd0 = x->dim() == 0;
    record_grad_only(is_max ? "MaxBackward0" : "MinBackward0", values, {x}, [=](const TensorPtr& g) {
      if (nd0) return Grads{g};
      return Grads{scatter_grad(g, idx, in, d, keepdim)};
    });
  }
  return {values, indices};
}

TensorPtr extreme_all(const TensorPtr& x, bool is_max) {
  const char* op = is_max ? "max" : "min";
  FASTNN_CHECK_INDEX(x->numel() > 0, "[", op,
                     "] max(): Expected reduction dim to be specified for input.numel() == 0. "
                     "Specify the reduction dim with the 'dim' argument.");
  TensorPtr v = extreme(x, {}, false, is_max, op).first;
  if (any_requires_grad({&x})) {
    // Ties share the gradient evenly, as in torch; a NaN result shares it among the NaNs.
    TensorPtr xs = x->detach();
    const bool nan_result = std::isnan(*to_device(cast(v, DType::Float64), Device{})->data<double>());
    record_grad_only(is_max ? "MaxBackward1" : "MinBackward1", v, {x}, [xs, v, nan_result](const TensorPtr& g) {
      TensorPtr mask =
          cast(nan_result ? compare(xs, xs, CompareOp::Ne) : compare(xs, v->detach(), CompareOp::Eq), g->dtype());
      TensorPtr count = sum(mask);
      return Grads{mul(mask, div(g, count))};
    });
  }
  return v;
}

}  // namespace

ReducePlan plan_reduction(const TensorPtr& x, IntList dims, const char* op) {
  int64_t nd = x->dim();
  std::vector<bool> red(std::max<int64_t>(nd, 1), false);
  if (dims.empty()) std::fill(red.begin(), red.end(), true);
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, nd, op);
    FASTNN_CHECK(!red[w] || dims.empty(), "[", op, "] dim ", w, " appears multiple times in the list of dims");
    red[w] = true;
  }
  ReducePlan p;
  IntList perm_red;
  for (int64_t d = 0; d < nd; ++d) {
    if (red[d]) {
      perm_red.push_back(d);
      p.reduced *= x->shape()[d];
      p.keep_shape.push_back(1);
    } else {
      p.perm.push_back(d);
      p.outputs *= x->shape()[d];
      p.out_shape.push_back(x->shape()[d]);
      p.keep_shape.push_back(x->shape()[d]);
    }
  }
  p.perm.insert(p.perm.end(), perm_red.begin(), perm_red.end());
  TensorPtr xd = x->detach();
  p.rows = nd == 0 ? xd : contiguous(permute(xd, p.perm));
  return p;
}

TensorPtr from_rows(const TensorPtr& rows, const Shape& shape, const IntList& perm, int64_t dim, int64_t size) {
  if (perm.empty()) return reshape(rows, {});
  Shape permuted;
  for (int64_t d : perm) permuted.push_back(d == dim ? size : shape[d]);
  IntList inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = int64_t(i);
  return contiguous(permute(reshape(rows, permuted), inverse));
}

TensorPtr sum(const TensorPtr& x, std::optional<DType> dtype) { return sum_impl(x, {}, false, dtype, false); }
TensorPtr sum(const TensorPtr& x, IntList dims, bool keepdim, std::optional<DType> dtype) {
  if (dims.empty()) {  // sum(x, dim=[]) reduces everything, keeping dims if asked
    for (int64_t d = 0; d < x->dim(); ++d) dims.push_back(d);
    if (dims.empty()) return sum_impl(x, {}, keepdim, dtype, false);
  }
  return sum_impl(x, dims, keepdim, dtype, false);
}
TensorPtr mean(const TensorPtr& x) { return sum_impl(x, {}, false, std::nullopt, true); }
TensorPtr mean(const TensorPtr& x, IntList dims, bool keepdim) {
  if (dims.empty()) {
    for (int64_t d = 0; d < x->dim(); ++d) dims.push_back(d);
    if (dims.empty()) return sum_impl(x, {}, keepdim, std::nullopt, true);
  }
  return sum_impl(x, dims, keepdim, std::nullopt, true);
}

TensorPtr max(const TensorPtr& x) { return extreme_all(x, true); }
TensorPtr min(const TensorPtr& x) { return extreme_all(x, false); }
std::pair<TensorPtr, TensorPtr> max(const TensorPtr& x, int64_t dim, bool keepdim) {
  return extreme_dim(x, dim, keepdim, true);
}
std::pair<TensorPtr, TensorPtr> min(const TensorPtr& x, int64_t dim, bool keepdim) {
  return extreme_dim(x, dim, keepdim, false);
}

namespace {
// argmax/argmin of a GPU tensor: the plan's contiguous rows, one fixed-order search each.
TensorPtr arg_extreme_cuda(const TensorPtr& x, std::optional<int64_t> dim, bool keepdim, bool is_max) {
  const char* op = is_max ? "argmax" : "argmin";
  check_cuda_number(x->dtype(), op);
  FASTNN_CHECK_INDEX(dim || x->numel() > 0, "[", op,
                     "] Expected reduction dim to be specified for input.numel() == 0.");
  const ReducePlan p = plan_reduction(x, dim ? IntList{*dim} : IntList{}, op);
  FASTNN_CHECK_INDEX(p.reduced > 0 || p.outputs == 0, "[", op, "] Expected reduction dim ", dim ? *dim : 0,
                     " to have non-zero size.");
  TensorPtr out = Tensor::empty(p.out_shape, DType::Int64, op, x->device());
  cuda::row_arg_extreme(p.rows->device_data(), p.outputs, p.reduced, x->dtype(), is_max,
                        static_cast<int64_t*>(out->device_data()), nullptr, x->device().index);
  if (!keepdim) return out;
  return reshape(out, dim ? p.keep_shape : Shape(x->dim(), 1));
}
}  // namespace

TensorPtr argmax(const TensorPtr& x, std::optional<int64_t> dim, bool keepdim) {
  if (x->device().is_cuda()) return arg_extreme_cuda(x, dim, keepdim, true);
  if (!dim) {
    FASTNN_CHECK_INDEX(x->numel() > 0, "[argmax] Expected reduction dim to be specified for input.numel() == 0.");
    TensorPtr flat = reshape(x->detach(), {-1});
    TensorPtr idx = extreme(flat, {0}, false, true, "argmax").second;
    return keepdim ? reshape(idx, IntList(x->dim(), 1)) : idx;
  }
  return extreme(x->detach(), {wrap_dim(*dim, x->dim(), "argmax")}, keepdim, true, "argmax").second;
}

TensorPtr argmin(const TensorPtr& x, std::optional<int64_t> dim, bool keepdim) {
  if (x->device().is_cuda()) return arg_extreme_cuda(x, dim, keepdim, false);
  if (!dim) {
    FASTNN_CHECK_INDEX(x->numel() > 0, "[argmin] Expected reduction dim to be specified for input.numel() == 0.");
    TensorPtr flat = reshape(x->detach(), {-1});
    TensorPtr idx = extreme(flat, {0}, false, false, "argmin").second;
    return keepdim ? reshape(idx, IntList(x->dim(), 1)) : idx;
  }
  return extreme(x->detach(), {wrap_dim(*dim, x->dim(), "argmin")}, keepdim, false, "argmin").second;
}

}  // namespace fastnn
