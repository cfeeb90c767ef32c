// More reductions: any/all, prod, var/std (alone or with the mean), logsumexp, vector norms,
// amax/amin, count_nonzero. Each works on a ReducePlan's contiguous rows: one thread reduces a row,
// and a long row is summed as fixed-size chunks added in order, so the bits do not depend on the
// number of threads. Backward nodes are per-row kernels too (RowsBackward).
#include <algorithm>
#include <cmath>
#include <limits>

#include "fastnn/autograd/functions.h"
#include "fastnn/autograd/grad_mode.h"
#include "fastnn/error.h"
#include "fastnn/kernels/cpu/reduce.h"
#include "fastnn/kernels/cpu/unary.h"
#include "fastnn/kernels/cuda/reduce.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/ops.h"
#include "fastnn/ops/reduce_rules.h"
#include "fastnn/parallel.h"

namespace fastnn {
namespace {

constexpr int64_t kChunk = 16384;

// Sum over [0, n) in double as chunk(b, e) of chunks of kChunk, added in chunk order (in parallel when there are
// several chunks and no enclosing parallel loop; same bits either way).
template <class F>
double chunked(int64_t n, const F& chunk) {
  if (n <= kChunk) return chunk(0, n);
  int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(chunks);
  parallel_for(chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) partial[c] = chunk(c * kChunk, std::min(n, (c + 1) * kChunk));
  });
  double s = 0;
  for (double v : partial) s += v;
  return s;
}

// Sum of term(i) for i in [0, n), in double, each chunk in index order.
template <class F>
double chunked_sum(int64_t n, const F& term) {
  return chunked(n, [&](int64_t b, int64_t e) {
    double s = 0;
    for (int64_t i = b; i < e; ++i) s += term(i);
    return s;
  });
}

// Sum of r[i] (and of r[i]^2) for i in [0, n): chunks by the vectorised row kernels.
template <class T>
double chunked_values(const T* r, int64_t n) {
  return chunked(n, [&](int64_t b, int64_t e) { return kernels::sum(r + b, e - b); });
}
template <class T>
double chunked_squares(const T* r, int64_t n) {
  return chunked(n, [&](int64_t b, int64_t e) { return kernels::dot(r + b, r + b, e - b); });
}

template <class T> bool is_nan(T v) { return v != v; }

Shape result_shape(const ReducePlan& p, bool keepdim) { return keepdim ? p.keep_shape : p.out_shape; }

// Backward of a reduction of x over `dims` computed row by row: `kernel(p, grads, saved, grad_rows)` gets
// x's plan (rows in the saved computation dtype), the output gradients and saved tensors as contiguous
// per-row arrays, and fills grad_rows (outputs x reduced); the result goes back to x's layout and dtype.
// With a `graph` (the backward as differentiable ops of g and x), create_graph records through it.
class RowsBackward : public Node {
 public:
  using Kernel = std::function<void(const ReducePlan&, const std::vector<TensorPtr>&, const std::vector<TensorPtr>&,
                                    const TensorPtr&)>;
  using Graph = std::function<TensorPtr(const TensorPtr& g, const TensorPtr& x)>;
  RowsBackward(std::string name, const TensorPtr& x, DType in_dtype, IntList dims, const std::vector<TensorPtr>& saved,
               Kernel kernel, Graph graph)
      : name_(std::move(name)),
        x_(SavedTensor::with_history(x)),
        in_dtype_(in_dtype),
        dims_(std::move(dims)),
        kernel_(std::move(kernel)),
        graph_(std::move(graph)) {
    for (const TensorPtr& t : saved) saved_.emplace_back(t);
  }
  std::string name() const override { return name_; }
  bool supports_create_graph() const override { return bool(graph_); }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr x = x_.unpack(*this);
    if (GradMode::is_enabled() && graph_) return {graph_(grads[0], x)};
    ReducePlan p = plan_reduction(x, dims_, name_.c_str());
    std::vector<TensorPtr> g, s;
    for (const TensorPtr& gi : grads) g.push_back(contiguous(cast(gi, x->dtype())));
    for (const SavedTensor& si : saved_) s.push_back(contiguous(si.unpack(*this)));
    TensorPtr rows = Tensor::empty({p.outputs, p.reduced}, x->dtype(), name_.c_str(), x->device());
    kernel_(p, g, s, rows);
    return {cast(from_rows(rows, x->shape(), p.perm, -1, 0), in_dtype_)};
  }
  void release_saved() override {
    x_.reset();
    for (SavedTensor& s : saved_) s.reset();
  }

 private:
  std::string name_;
  SavedTensor x_;
  DType in_dtype_;
  IntList dims_;
  std::vector<SavedTensor> saved_;
  Kernel kernel_;
  Graph graph_;
};

// Records a RowsBackward from x_in (whose values, converted to the computation dtype, are `x`) to `outputs`.
void record_rows(const char* name, const TensorPtr& x_in, const TensorPtr& x, const IntList& dims,
                 const std::vector<TensorPtr>& outputs, const std::vector<TensorPtr>& saved, RowsBackward::Kernel k,
                 RowsBackward::Graph graph = nullptr) {
  if (!any_requires_grad({&x_in})) return;
  // x keeps its history only where a graph may differentiate it again (x is x_in: no dtype conversion)
  if (x != x_in) graph = nullptr;
  TensorPtr kept = graph ? x : x->detach();
  record(std::make_shared<RowsBackward>(name, kept, x_in->dtype(), dims, saved, std::move(k), std::move(graph)), {x_in},
         outputs);
}

// ---- any / all ----

TensorPtr any_all(const TensorPtr& x, const IntList& dims, bool keepdim, bool is_any) {
  const char* op = is_any ? "any" : "all";
  check_defined(x, op);
  if (is_storage_dtype(x->dtype())) return any_all(cast(x, compute_dtype(x->dtype())), dims, keepdim, is_any);
  if (x->device().is_cuda()) {  // on a GPU: the count of nonzero (any) or zero (all) elements, compared with 0
    GradModeGuard no_grad(false);
    const TensorPtr hits = compare(x, scalar_tensor(0, DType::Int64, true), is_any ? CompareOp::Ne : CompareOp::Eq);
    const TensorPtr count = sum(hits, dims, keepdim);
    return compare(count, scalar_tensor(0, DType::Int64, true), is_any ? CompareOp::Gt : CompareOp::Eq);
  }
  ReducePlan p = plan_reduction(x, dims, op);
  TensorPtr out = Tensor::empty(result_shape(p, keepdim), DType::Bool, op);
  bool* o = out->mutable_data<bool>();
  FASTNN_DISPATCH_ALL(p.rows->dtype(), op, [&] {
    const scalar_t* r = p.rows->data<scalar_t>();
    for_each_row(p.outputs, p.reduced, [&](int64_t i) {
      const scalar_t* row = r + i * p.reduced;
      bool found = false;  // any: a nonzero (nan counts); all: a zero
      for (int64_t j = 0; j < p.reduced && !found; ++j) found = (row[j] != scalar_t(0)) == is_any;
      o[i] = is_any ? found : !found;
    });
  });
  return out;
}

// ---- prod ----

TensorPtr prod_impl(const TensorPtr& x_in, std::optional<int64_t> dim, bool keepdim, std::optional<DType> dtype) {
  check_defined(x_in, "prod");
  if (is_storage_dtype(x_in->dtype()) && !dtype) {  // integers multiply to int64, as torch
    TensorPtr r = prod_impl(widened(x_in), dim, keepdim, dtype);
    return is_floating(x_in->dtype()) ? narrowed(r, x_in->dtype()) : r;
  }
  DType out_dt = dtype ? *dtype : (is_floating(x_in->dtype()) ? x_in->dtype() : DType::Int64);
  TensorPtr x = cast(x_in->detach(), out_dt);
  IntList dims = dim ? IntList{wrap_dim(*dim, x->dim(), "prod")} : IntList{};
  ReducePlan p = plan_reduction(x, dims, "prod");
  TensorPtr out = Tensor::empty(result_shape(p, keepdim), out_dt, "prod", x->device());
  if (x->device().is_cuda()) {
    cuda::row_prods(p.rows->device_data(), p.outputs, p.reduced, out_dt, out->device_data(), x->device().index);
  } else {
    FASTNN_DISPATCH_NUMERIC(out_dt, "prod", [&] {
      const scalar_t* r = p.rows->data<scalar_t>();
      scalar_t* o = out->mutable_data<scalar_t>();
      for_each_row(p.outputs, p.reduced, [&](int64_t i) { o[i] = rules::prod_of_row(r + i * p.reduced, p.reduced); });
    });
  }
  if (is_floating(out_dt) && is_floating(x_in->dtype()))
    record_rows(
        dim ? "ProdBackward1" : "ProdBackward0", x_in, x, dims, {out}, {},
        [](const ReducePlan& p, const std::vector<TensorPtr>& g, const std::vector<TensorPtr>&, const TensorPtr& rows) {
          if (rows->device().is_cuda()) {
            cuda::row_prod_grads(p.rows->device_data(), g[0]->device_data(), p.outputs, p.reduced, rows->dtype(),
                                 rows->device_data(), rows->device().index);
            return;
          }
          FASTNN_DISPATCH_FLOAT(rows->dtype(), "prod", [&] {
            const scalar_t* x = p.rows->data<scalar_t>();
            const scalar_t* go = g[0]->data<scalar_t>();
            scalar_t* d = rows->mutable_data<scalar_t>();
            for_each_row(p.outputs, p.reduced, [&](int64_t o) {
              rules::prod_row_grads(x + o * p.reduced, p.reduced, go[o], d + o * p.reduced);
            });
          });
        });
  return out;
}

// ---- var / std (and with the mean) ----

// Mean and sum of squared deviations of a row (two passes, in double, chunked).
template <class T>
std::pair<double, double> row_moments(const T* r, int64_t n) {
  double mean = chunked_values(r, n) / double(n);
  double ss = chunked_sum(n, [&](int64_t i) {
    double d = double(r[i]) - mean;
    return d * d;
  });
  return {mean, ss};
}

// Gradient of var (or std, given its result) with correction, plus the mean's when gm is not null:
//   d var / d x_i = 2 (x_i - mean) / dof;  d std = d var / (2 std), 0 where std is 0;  d mean / d x_i = 1 / N.
template <class T>
void moments_backward_rows(const ReducePlan& p, double dof, const T* gv, const T* gm, const T* std_result, T* out) {
  const T* x = p.rows->data<T>();
  int64_t n = p.reduced;
  for_each_row(p.outputs, n, [&](int64_t o) {
    const T* r = x + o * n;
    double mean = chunked_values(r, n) / double(n);
    T g = gv[o];
    if (std_result) g = std_result[o] == 0 ? T(0) : T(g / (std_result[o] * 2));
    T scale = T(2.0 / dof);
    T mean_part = gm ? T(gm[o] / T(n)) : T(0);
    for (int64_t i = 0; i < n; ++i) out[o * n + i] = scale * g * T(r[i] - T(mean)) + mean_part;
  });
}

// On a GPU: composed of GPU ops (the mean, the squared deviations' sum), recorded by autograd op by op; a zero
// standard deviation has a zero gradient (sqrt of v + [v == 0], masked), as the CPU's node gives it.
std::pair<TensorPtr, TensorPtr> moments_composed(const TensorPtr& x, const IntList& dims, double correction,
                                                 bool keepdim, bool take_sqrt, bool with_mean, const char* op) {
  check_cuda_float(x->dtype(), op);
  const DType dt = x->dtype();
  const TensorPtr d = sub(x, mean(x, dims, true), 1);
  TensorPtr v = sum(mul(d, d), dims, keepdim);
  const double n = v->numel() ? double(x->numel()) / double(v->numel()) : 0.0;
  v = div(v, scalar_tensor(std::max(0.0, n - correction), dt, true));  // dof <= 0: inf, or nan for 0 / 0, as torch
  if (take_sqrt) {
    const TensorPtr zero = compare(v, scalar_tensor(0, dt, true), CompareOp::Eq);
    v = where(zero, scalar_tensor(0, dt, true), sqrt(add(v, cast(zero, dt), 1)));
  }
  return {v, with_mean ? mean(x, dims, keepdim) : nullptr};
}

std::pair<TensorPtr, TensorPtr> moments(const TensorPtr& x, const IntList& dims, double correction, bool keepdim,
                                        bool take_sqrt, bool with_mean) {
  const char* op = with_mean ? (take_sqrt ? "std_mean" : "var_mean") : (take_sqrt ? "std" : "var");
  check_defined(x, op);
  if (is_floating(x->dtype()) && is_storage_dtype(x->dtype())) {
    auto [v, m] = moments(widened(x), dims, correction, keepdim, take_sqrt, with_mean);
    return {narrowed(v, x->dtype()), m ? narrowed(m, x->dtype()) : m};
  }
  FASTNN_CHECK_TYPE(is_floating(x->dtype()), "[", op,
                    "] std and var only support floating point and complex dtypes, got ", dtype_name(x->dtype()));
  if (x->device().is_cuda()) return moments_composed(x, dims, correction, keepdim, take_sqrt, with_mean, op);
  ReducePlan p = plan_reduction(x, dims, op);
  TensorPtr v = Tensor::empty(result_shape(p, keepdim), x->dtype(), op);
  TensorPtr m = with_mean ? Tensor::empty(v->shape(), x->dtype(), op) : nullptr;
  double dof = double(p.reduced) - correction;
  FASTNN_DISPATCH_FLOAT(x->dtype(), op, [&] {
    const scalar_t* r = p.rows->data<scalar_t>();
    scalar_t* pv = v->mutable_data<scalar_t>();
    scalar_t* pm = m ? m->mutable_data<scalar_t>() : nullptr;
    for_each_row(p.outputs, p.reduced, [&](int64_t o) {
      auto [mean, ss] = row_moments(r + o * p.reduced, p.reduced);
      double var = ss / std::max(0.0, dof);  // dof <= 0: inf, or nan for 0 / 0, as torch
      pv[o] = scalar_t(take_sqrt ? std::sqrt(var) : var);
      if (pm) pm[o] = scalar_t(mean);
    });
  });
  const char* name =
      with_mean ? (take_sqrt ? "StdMeanBackward0" : "VarMeanBackward0") : (take_sqrt ? "StdBackward0" : "VarBackward0");
  std::vector<TensorPtr> outs = with_mean ? std::vector<TensorPtr>{v, m} : std::vector<TensorPtr>{v};
  record_rows(name, x, x, dims, outs, take_sqrt ? std::vector<TensorPtr>{v} : std::vector<TensorPtr>{},
              [dof, take_sqrt, with_mean](const ReducePlan& p, const std::vector<TensorPtr>& g,
                                          const std::vector<TensorPtr>& s, const TensorPtr& rows) {
                FASTNN_DISPATCH_FLOAT(rows->dtype(), "var", [&] {
                  moments_backward_rows<scalar_t>(
                      p, dof, g[0]->data<scalar_t>(), with_mean ? g[1]->data<scalar_t>() : nullptr,
                      take_sqrt ? s[0]->data<scalar_t>() : nullptr, rows->mutable_data<scalar_t>());
                });
              });
  return {v, m};
}

// ---- logsumexp ----

// d = exp(d): float32 by the vectorised kernel, float64 by libm.
void exp_in_place(float* d, int64_t n) { kernels::vec_unary(kernels::VecUnary::Exp, n, d, d); }
void exp_in_place(double* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = std::exp(d[i]);
}

TensorPtr logsumexp_impl(const TensorPtr& x_in, const IntList& dims, bool keepdim) {
  check_defined(x_in, "logsumexp");
  if (is_floating(x_in->dtype()) && is_storage_dtype(x_in->dtype()))
    return narrowed(logsumexp_impl(widened(x_in), dims, keepdim), x_in->dtype());
  TensorPtr x = is_floating(x_in->dtype()) ? x_in : cast(x_in, default_float_dtype());
  if (x->device().is_cuda()) {  // on a GPU: log(sum(exp(x - m))) + m, m the (detached) maximum, 0 where infinite
    const DType dt = x->dtype();
    TensorPtr m = amax(x->detach(), dims, true);
    const TensorPtr inf = scalar_tensor(std::numeric_limits<double>::infinity(), dt, true);
    m = where(compare(abs(m), inf, CompareOp::Eq), scalar_tensor(0, dt, true), m);
    TensorPtr out = add(log(sum(exp(sub(x, m, 1)), dims, true)), m, 1);
    return keepdim ? out : reshape(out, plan_reduction(x, dims, "logsumexp").out_shape);
  }
  ReducePlan p = plan_reduction(x, dims, "logsumexp");
  TensorPtr out = Tensor::empty(result_shape(p, keepdim), x->dtype(), "logsumexp");
  FASTNN_DISPATCH_FLOAT(x->dtype(), "logsumexp", [&] {
    const scalar_t* r = p.rows->data<scalar_t>();
    scalar_t* o = out->mutable_data<scalar_t>();
    for_each_row(p.outputs, p.reduced, [&](int64_t i) { o[i] = kernels::logsumexp_row(r + i * p.reduced, p.reduced); });
  });
  record_rows(
      "LogsumexpBackward0", x_in, x, dims, {out}, {out},
      [](const ReducePlan& p, const std::vector<TensorPtr>& g, const std::vector<TensorPtr>& s, const TensorPtr& rows) {
        FASTNN_DISPATCH_FLOAT(rows->dtype(), "logsumexp", [&] {
          const scalar_t *x = p.rows->data<scalar_t>(), *pg = g[0]->data<scalar_t>(), *po = s[0]->data<scalar_t>();
          scalar_t* d = rows->mutable_data<scalar_t>();
          const int64_t n = p.reduced;
          parallel_for(p.outputs * n, kGrainSize, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e;) {  // d = g exp(x - out), row by row of the chunk
              const int64_t row = i / n, end = std::min(e, (row + 1) * n);
              for (int64_t k = i; k < end; ++k) d[k] = x[k] - po[row];
              exp_in_place(d + i, end - i);
              for (int64_t k = i; k < end; ++k) d[k] *= pg[row];
              i = end;
            }
          });
        });
      });
  return out;
}

// ---- vector norms ----

template <class T> T sgn(T v) { return T((v > 0) - (v < 0)); }

template <class T>
double row_norm(const T* r, int64_t n, double ord) {
  if (std::isinf(ord)) {
    double best = std::abs(double(r[0]));
    for (int64_t j = 1; j < n && !is_nan(best); ++j) {
      double a = std::abs(double(r[j]));
      if (is_nan(a) || (ord > 0 ? a > best : a < best)) best = a;
    }
    return best;
  }
  if (ord == 0) return chunked_sum(n, [&](int64_t j) { return r[j] != 0 ? 1.0 : 0.0; });
  if (ord == 1) return chunked_sum(n, [&](int64_t j) { return std::abs(double(r[j])); });
  if (ord == 2) return std::sqrt(chunked_squares(r, n));
  return std::pow(chunked_sum(n, [&](int64_t j) { return std::pow(std::abs(double(r[j])), ord); }), 1.0 / ord);
}

// d ||x||_p / d x_i (times g), as torch: 0 for p = 0; for +-inf the gradient is split evenly among the
// elements whose |x_i| is the norm; elsewhere sgn(x) |x|^(p-1) / norm^(p-1), 0 where the norm is 0
// (for p < 1, 0 where x_i is 0).
template <class T>
void norm_backward_rows(const ReducePlan& p, double ord, const T* g, const T* norm, T* out) {
  const T* x = p.rows->data<T>();
  int64_t n = p.reduced;
  for_each_row(p.outputs, n, [&](int64_t o) {
    const T* r = x + o * n;
    T* d = out + o * n;
    T nv = norm[o], gv = g[o];
    if (ord == 0) {
      std::fill(d, d + n, T(0));
    } else if (std::isinf(ord)) {
      int64_t count = 0;
      for (int64_t i = 0; i < n; ++i) count += std::abs(r[i]) == nv || is_nan(r[i]);
      T share = gv / T(count);
      for (int64_t i = 0; i < n; ++i) d[i] = std::abs(r[i]) == nv || is_nan(r[i]) ? sgn(r[i]) * share : T(0);
    } else if (ord == 1) {
      for (int64_t i = 0; i < n; ++i) d[i] = sgn(r[i]) * gv;
    } else if (ord == 2) {
      T scale = nv == 0 ? T(0) : gv / nv;
      for (int64_t i = 0; i < n; ++i) d[i] = r[i] * scale;
    } else if (ord < 1) {
      T scale = gv * T(std::pow(double(nv), 1 - ord));
      for (int64_t i = 0; i < n; ++i)
        d[i] = r[i] == 0 ? T(0) : sgn(r[i]) * T(std::pow(std::abs(double(r[i])), ord - 1)) * scale;
    } else {
      T scale = nv == 0 ? T(0) : gv / T(std::pow(double(nv), ord - 1));
      for (int64_t i = 0; i < n; ++i) d[i] = sgn(r[i]) * T(std::pow(std::abs(double(r[i])), ord - 1)) * scale;
    }
  });
}

std::string ord_str(double ord) {
  if (std::isinf(ord)) return ord > 0 ? "inf" : "-inf";
  return str(ord);
}

// ---- amax / amin ----

template <class T>
void extreme_rows(const T* x, int64_t outputs, int64_t n, bool is_max, T* out) {
  for_each_row(outputs, n, [&](int64_t o) {
    const T* r = x + o * n;
    if constexpr (std::is_floating_point_v<T>) {  // vectorised, with NaN winning as below
      out[o] = kernels::extreme(r, n, is_max);
      return;
    }
    T best = r[0];
    for (int64_t j = 1; j < n && !is_nan(best); ++j)
      if (is_nan(r[j]) || (is_max ? r[j] > best : r[j] < best)) best = r[j];
    out[o] = best;
  });
}

// amax/amin on a GPU: each row's extreme (NaN counting as one, as on the CPU); ties share the gradient evenly.
TensorPtr extreme_cuda(const TensorPtr& x, const ReducePlan& p, bool keepdim, bool is_max, const char* op) {
  check_cuda_number(x->dtype(), op);
  const Device device = x->device();
  TensorPtr out = Tensor::empty(result_shape(p, keepdim), x->dtype(), op, device);
  const TensorPtr idx = Tensor::empty({p.outputs}, DType::Int64, op, device);
  cuda::row_arg_extreme(p.rows->device_data(), p.outputs, p.reduced, x->dtype(), is_max,
                        static_cast<int64_t*>(idx->device_data()), out->device_data(), device.index);
  const TensorPtr xd = x->detach(), od = reshape(out->detach(), p.keep_shape);
  const Shape keep = p.keep_shape;
  IntList reduced;  // the dims kept as 1 (summing over a dim that was 1 already changes nothing)
  for (size_t d = 0; d < keep.size(); ++d)
    if (keep[d] == 1) reduced.push_back(int64_t(d));
  record_grad_only(is_max ? "AmaxBackward0" : "AminBackward0", out, {x}, [xd, od, keep, reduced](const TensorPtr& g) {
    const TensorPtr hit = compare(xd, od, CompareOp::Eq);
    const TensorPtr count = sum(cast(hit, g->dtype()), reduced, true);
    return std::vector<TensorPtr>{where(hit, div(reshape(g, keep), count), scalar_tensor(0, g->dtype(), true))};
  });
  return out;
}

TensorPtr amax_amin(const TensorPtr& x, const IntList& dims, bool keepdim, bool is_max) {
  const char* op = is_max ? "amax" : "amin";
  check_defined(x, op);
  if (is_storage_dtype(x->dtype())) return narrowed(amax_amin(widened(x), dims, keepdim, is_max), x->dtype());
  ReducePlan p = plan_reduction(x, dims, op);
  if (dims.empty())
    FASTNN_CHECK_INDEX(x->numel() > 0, "[", op,
                       "] Expected reduction dim to be specified for input.numel() == 0. "
                       "Specify the reduction dim with the 'dim' argument.");
  for (int64_t d : dims)
    FASTNN_CHECK_INDEX(x->dim() == 0 || x->shape()[wrap_dim(d, x->dim(), op)] > 0, "[", op, "] Expected reduction dim ",
                       wrap_dim(d, x->dim(), op), " to have non-zero size.");
  if (x->device().is_cuda()) return extreme_cuda(x, p, keepdim, is_max, op);
  TensorPtr out = Tensor::empty(result_shape(p, keepdim), x->dtype(), op);
  FASTNN_DISPATCH_ALL(x->dtype(), op, [&] {
    extreme_rows<scalar_t>(p.rows->data<scalar_t>(), p.outputs, p.reduced, is_max, out->mutable_data<scalar_t>());
  });
  if (is_floating(x->dtype()))
    // Ties share the gradient evenly (g / count where x equals the result).
    record_rows(is_max ? "AmaxBackward0" : "AminBackward0", x, x, dims, {out}, {out},
                [](const ReducePlan& p, const std::vector<TensorPtr>& g, const std::vector<TensorPtr>& s,
                   const TensorPtr& rows) {
                  FASTNN_DISPATCH_FLOAT(rows->dtype(), "amax", [&] {
                    const scalar_t *x = p.rows->data<scalar_t>(), *pg = g[0]->data<scalar_t>(),
                                   *po = s[0]->data<scalar_t>();
                    scalar_t* d = rows->mutable_data<scalar_t>();
                    int64_t n = p.reduced;
                    for_each_row(p.outputs, n, [&](int64_t o) {
                      int64_t count = 0;
                      for (int64_t i = 0; i < n; ++i) count += x[o * n + i] == po[o];
                      scalar_t share = pg[o] / scalar_t(count);
                      for (int64_t i = 0; i < n; ++i) d[o * n + i] = x[o * n + i] == po[o] ? share : scalar_t(0);
                    });
                  });
                });
  return out;
}

}  // namespace

TensorPtr any(const TensorPtr& x, IntList dims, bool keepdim) { return any_all(x, dims, keepdim, true); }
TensorPtr all(const TensorPtr& x, IntList dims, bool keepdim) { return any_all(x, dims, keepdim, false); }

TensorPtr prod(const TensorPtr& x, std::optional<DType> dtype) { return prod_impl(x, std::nullopt, false, dtype); }
TensorPtr prod(const TensorPtr& x, int64_t dim, bool keepdim, std::optional<DType> dtype) {
  return prod_impl(x, dim, keepdim, dtype);
}

TensorPtr var(const TensorPtr& x, IntList dims, double correction, bool keepdim) {
  return moments(x, dims, correction, keepdim, false, false).first;
}
TensorPtr stddev(const TensorPtr& x, IntList dims, double correction, bool keepdim) {
  return moments(x, dims, correction, keepdim, true, false).first;
}
std::pair<TensorPtr, TensorPtr> var_mean(const TensorPtr& x, IntList dims, double correction, bool keepdim) {
  return moments(x, dims, correction, keepdim, false, true);
}
std::pair<TensorPtr, TensorPtr> std_mean(const TensorPtr& x, IntList dims, double correction, bool keepdim) {
  return moments(x, dims, correction, keepdim, true, true);
}

TensorPtr logsumexp(const TensorPtr& x, IntList dims, bool keepdim) { return logsumexp_impl(x, dims, keepdim); }

namespace {

// vector_norm on a GPU, composed of GPU ops: sum |x|^ord then its ord-th root (a root of 0 has a zero gradient, as
// on the CPU: root(s + [s == 0]) masked), max/min of |x| for +-inf, the count of nonzeros for 0.
TensorPtr norm_composed(const TensorPtr& x, double ord, const IntList& dims, bool keepdim) {
  check_cuda_float(x->dtype(), "linalg.vector_norm");
  const DType dt = x->dtype();
  if (std::isinf(ord)) return amax_amin(abs(x), dims, keepdim, ord > 0);
  if (ord == 0) {
    GradModeGuard no_grad(false);
    return sum(cast(compare(x, scalar_tensor(0, dt, true), CompareOp::Ne), dt), dims, keepdim);
  }
  if (ord == 1) return sum(abs(x), dims, keepdim);
  const TensorPtr s = sum(ord == 2 ? mul(x, x) : pow(abs(x), ord), dims, keepdim);
  const TensorPtr zero = compare(s, scalar_tensor(0, dt, true), CompareOp::Eq);
  const TensorPtr root = pow(add(s, cast(zero, dt), 1), 1.0 / ord);
  return where(zero, scalar_tensor(0, dt, true), root);
}

}  // namespace

TensorPtr vector_norm(const TensorPtr& x_in, double ord, IntList dims, bool keepdim, std::optional<DType> dtype) {
  const char* op = "linalg.vector_norm";
  check_defined(x_in, op);
  if (is_floating(x_in->dtype()) && is_storage_dtype(x_in->dtype()) && !dtype)
    return narrowed(vector_norm(widened(x_in), ord, dims, keepdim, dtype), x_in->dtype());
  FASTNN_CHECK_TYPE(is_floating(x_in->dtype()), "[", op, "] Expected a floating point or complex tensor as input. Got ",
                    dtype_name(x_in->dtype()));
  if (dtype)
    FASTNN_CHECK_TYPE(is_floating(*dtype), "[", op, "] dtype should be floating point or complex. Got ",
                      dtype_name(*dtype));
  TensorPtr x = dtype ? cast(x_in->detach(), *dtype) : x_in;
  ReducePlan p = plan_reduction(x, dims, op);
  if ((ord < 0 || std::isinf(ord)) && p.reduced == 0) {  // max/min of nothing: no identity
    FASTNN_CHECK_INDEX(!dims.empty(), "[", op, "] cannot compute the ", ord_str(ord),
                       " norm on an empty tensor because "
                       "the operation does not have an identity");
    for (int64_t d : dims) {
      int64_t w = wrap_dim(d, x->dim(), op);
      FASTNN_CHECK_INDEX(x->dim() == 0 || x->shape()[w] > 0, "[", op, "] cannot compute the ", ord_str(ord),
                         " norm on the dimension ", w,
                         " because this dimension is empty and the operation does not have "
                         "an identity");
    }
  }
  if (x->device().is_cuda()) return norm_composed(x, ord, dims, keepdim);
  TensorPtr out = Tensor::empty(result_shape(p, keepdim), x->dtype(), op);
  FASTNN_DISPATCH_FLOAT(x->dtype(), op, [&] {
    const scalar_t* r = p.rows->data<scalar_t>();
    scalar_t* o = out->mutable_data<scalar_t>();
    for_each_row(p.outputs, p.reduced,
                 [&](int64_t i) { o[i] = scalar_t(row_norm(r + i * p.reduced, p.reduced, ord)); });
  });
  record_rows("LinalgVectorNormBackward0", x_in, x, dims, {out}, {out},
              [ord](const ReducePlan& p, const std::vector<TensorPtr>& g, const std::vector<TensorPtr>& s, const TensorPtr& rows) {
                FASTNN_DISPATCH_FLOAT(rows->dtype(), "linalg.vector_norm", [&] {
                  norm_backward_rows<scalar_t>(p, ord, g[0]->data<scalar_t>(), s[0]->data<scalar_t>(), rows->mutable_data<scalar_t>());
                });
              },
              ord != 2 ? RowsBackward::Graph() : [dims](const TensorPtr& g, const TensorPtr& x) {
                // d|x|_2 = x / |x| (0 where the norm is 0, as torch), as ops so that create_graph can differentiate it
                TensorPtr n = vector_norm(x, 2, dims, /*keepdim=*/true, std::nullopt);
                TensorPtr r = div(mul(reshape(g, n->shape()), x), n);
                TensorPtr zero = scalar_tensor(0, r->dtype(), true);
                return where(compare(n, zero, CompareOp::Eq), zero, r);
              });
  return out;
}

TensorPtr amax(const TensorPtr& x, IntList dims, bool keepdim) { return amax_amin(x, dims, keepdim, true); }
TensorPtr amin(const TensorPtr& x, IntList dims, bool keepdim) { return amax_amin(x, dims, keepdim, false); }

TensorPtr count_nonzero(const TensorPtr& x, IntList dims) {
  check_defined(x, "count_nonzero");
  if (is_storage_dtype(x->dtype())) return count_nonzero(cast(x, compute_dtype(x->dtype())), dims);
  if (x->device().is_cuda())  // on a GPU: the sum of a comparison
    return sum(cast(compare(x->detach(), scalar_tensor(0, DType::Int64, true), CompareOp::Ne), DType::Int64), dims,
               false);
  ReducePlan p = plan_reduction(x, dims, "count_nonzero");
  TensorPtr out = Tensor::empty(p.out_shape, DType::Int64, "count_nonzero");
  int64_t* o = out->mutable_data<int64_t>();
  FASTNN_DISPATCH_ALL(x->dtype(), "count_nonzero", [&] {
    const scalar_t* r = p.rows->data<scalar_t>();
    for_each_row(p.outputs, p.reduced, [&](int64_t i) {
      int64_t c = 0;
      for (int64_t j = 0; j < p.reduced; ++j) c += r[i * p.reduced + j] != scalar_t(0);
      o[i] = c;
    });
  });
  return out;
}

}  // namespace fastnn
