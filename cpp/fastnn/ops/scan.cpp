// Scans along one dim: cumsum, cumprod, cummax/cummin. The dim is moved last into contiguous rows
// (a ReducePlan over that dim) and each row is scanned in order by one thread, so the result does not
// depend on the number of threads.
#include <cmath>

#include "fastnn/autograd/functions.h"
#include "fastnn/error.h"
#include "fastnn/kernels/cuda/reduce.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/reduce_rules.h"
#include "fastnn/ops/ops.h"

namespace fastnn {
namespace {

// Running sums (products) of each row, forwards or (reverse) from the end; floats accumulate in double,
// integers wrap around.
template <class T>
void scan_rows(const T* x, T* y, int64_t rows, int64_t n, bool is_prod, bool reverse) {
  using A = std::conditional_t<std::is_floating_point_v<T>, double, T>;
  for_each_row(rows, n, [&](int64_t r) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    A acc = is_prod ? 1 : 0;
    for (int64_t k = 0; k < n; ++k) {
      int64_t i = reverse ? n - 1 - k : k;
      if constexpr (std::is_floating_point_v<T>) acc = is_prod ? acc * xr[i] : acc + xr[i];
      else acc = is_prod ? wrapping_mul(acc, xr[i]) : wrapping_add(acc, xr[i]);
      yr[i] = T(acc);
    }
  });
}

// x's running sums (products) along dim, in x's dtype.
TensorPtr scan(const TensorPtr& x, int64_t dim, bool is_prod, bool reverse, const char* op) {
  ReducePlan p = plan_reduction(x, {dim}, op);
  TensorPtr rows = Tensor::empty({p.outputs, p.reduced}, x->dtype(), op, x->device());
  if (x->device().is_cuda()) {  // the same row scans, one GPU thread per row
    cuda::scan_rows(p.rows->device_data(), rows->device_data(), p.outputs, p.reduced, is_prod, reverse, x->dtype(),
                    x->device().index);
    return from_rows(rows, x->shape(), p.perm, dim, p.reduced);
  }
  FASTNN_DISPATCH_NUMERIC(x->dtype(), op, [&] {
    scan_rows<scalar_t>(p.rows->data<scalar_t>(), rows->mutable_data<scalar_t>(), p.outputs, p.reduced, is_prod,
                        reverse);
  });
  return from_rows(rows, x->shape(), p.perm, dim, p.reduced);
}

// d y_j / d x_i for y = cumprod(x), summed against g, row by row. With z the first zero of the row:
//   i < z:  sum_{i <= j < z} g_j y_j / x_i  (later terms hold the factor x_z = 0);
//   i = z:  sum_{j >= z} g_j * (product of x_k for k <= j, k != z);
//   i > z:  0 (every term holds x_z).
template <class T>
void cumprod_backward_rows(const T* x, const T* y, const T* g, T* dx, int64_t rows, int64_t n) {
  for_each_row(rows, n, [&](int64_t r) {
    const T *xr = x + r * n, *yr = y + r * n, *gr = g + r * n;
    T* d = dx + r * n;
    int64_t z = 0;
    while (z < n && xr[z] != 0) ++z;
    double acc = 0;
    for (int64_t i = z - 1; i >= 0; --i) {
      acc += double(gr[i]) * yr[i];
      d[i] = T(acc / xr[i]);
    }
    if (z == n) return;
    double q = z > 0 ? double(yr[z - 1]) : 1.0;
    double s = gr[z] * q;
    for (int64_t j = z + 1; j < n; ++j) {
      q *= xr[j];
      s += gr[j] * q;
      d[j] = 0;
    }
    d[z] = T(s);
  });
}

class CumprodBackward : public Node {
 public:
  CumprodBackward(const TensorPtr& x, const TensorPtr& y, int64_t dim, DType in_dtype)
      : x_(x), y_(y), dim_(dim), in_dtype_(in_dtype) {}
  std::string name() const override { return "CumprodBackward0"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    // (on a GPU this runs on the host: one copy of x, y and the gradient each way)
    const Device device = grads[0]->device();
    TensorPtr x = to_device(x_.unpack(*this), Device{}), y = to_device(y_.unpack(*this), Device{});
    ReducePlan px = plan_reduction(x, {dim_}, "cumprod");
    TensorPtr yr = plan_reduction(y, {dim_}, "cumprod").rows;
    TensorPtr gr = plan_reduction(cast(to_device(grads[0], Device{}), x->dtype()), {dim_}, "cumprod").rows;
    TensorPtr dx = Tensor::empty({px.outputs, px.reduced}, x->dtype());
    FASTNN_DISPATCH_FLOAT(x->dtype(), "cumprod", [&] {
      cumprod_backward_rows<scalar_t>(px.rows->data<scalar_t>(), yr->data<scalar_t>(), gr->data<scalar_t>(),
                                      dx->mutable_data<scalar_t>(), px.outputs, px.reduced);
    });
    return {to_device(cast(from_rows(dx, x->shape(), px.perm, dim_, px.reduced), in_dtype_), device)};
  }
  void release_saved() override {
    x_.reset();
    y_.reset();
  }

 private:
  SavedTensor x_, y_;
  int64_t dim_;
  DType in_dtype_;
};

TensorPtr cumulative(const TensorPtr& x_in, int64_t dim, std::optional<DType> dtype, bool is_prod) {
  const char* op = is_prod ? "cumprod" : "cumsum";
  check_defined(x_in, op);
  int64_t d = wrap_dim(dim, x_in->dim(), op);
  DType out_dt = dtype ? *dtype : (is_floating(x_in->dtype()) ? x_in->dtype() : DType::Int64);
  TensorPtr x = cast(x_in->detach(), out_dt);
  TensorPtr y = scan(x, d, is_prod, false, op);
  if (is_floating(out_dt) && is_floating(x_in->dtype()) && any_requires_grad({&x_in})) {
    DType in_dt = x_in->dtype();
    if (is_prod) record(std::make_shared<CumprodBackward>(x, y, d, in_dt), {&x_in}, {&y});
    else  // the gradient of a running sum is the running sum of the gradient from the end
      record_grad_only("CumsumBackward0", y, {x_in}, [d, in_dt, out_dt](const TensorPtr& g) {
        return std::vector<TensorPtr>{cast(scan(cast(g, out_dt), d, false, true, "cumsum"), in_dt)};
      });
  }
  return y;
}

std::pair<TensorPtr, TensorPtr> cumext(const TensorPtr& x, int64_t dim, bool is_max) {
  const char* op = is_max ? "cummax" : "cummin";
  check_defined(x, op);
  int64_t d = wrap_dim(dim, x->dim(), op);
  ReducePlan p = plan_reduction(x, {d}, op);
  TensorPtr v = Tensor::empty({p.outputs, p.reduced}, x->dtype(), op, x->device());
  TensorPtr idx = Tensor::empty({p.outputs, p.reduced}, DType::Int64, op, x->device());
  if (x->device().is_cuda()) {
    check_cuda_number(x->dtype(), op);
    cuda::scan_extreme_rows(p.rows->device_data(), v->device_data(), static_cast<int64_t*>(idx->device_data()),
                            p.outputs, p.reduced, is_max, x->dtype(), x->device().index);
  } else {
    FASTNN_DISPATCH_ALL(x->dtype(), op, [&] {
      const scalar_t* xr = p.rows->data<scalar_t>();
      scalar_t* vr = v->mutable_data<scalar_t>();
      int64_t* ir = idx->mutable_data<int64_t>();
      const int64_t n = p.reduced;
      for_each_row(p.outputs, n, [&](int64_t r) { rules::cumext_row(xr + r * n, n, is_max, vr + r * n, ir + r * n); });
    });
  }
  TensorPtr values = from_rows(v, x->shape(), p.perm, d, p.reduced);
  TensorPtr indices = from_rows(idx, x->shape(), p.perm, d, p.reduced);
  if (is_floating(x->dtype())) {
    Shape shape = x->shape();
    record_grad_only(is_max ? "CummaxBackward0" : "CumminBackward0", values, {x},
                     [indices, shape, d](const TensorPtr& g) {
                       return std::vector<TensorPtr>{scatter_add_along(g, indices, shape, d)};
                     });
  }
  return {values, indices};
}

}  // namespace

TensorPtr cumsum(const TensorPtr& x, int64_t dim, std::optional<DType> dtype) {
  return cumulative(x, dim, dtype, false);
}
TensorPtr cumprod(const TensorPtr& x, int64_t dim, std::optional<DType> dtype) {
  return cumulative(x, dim, dtype, true);
}
std::pair<TensorPtr, TensorPtr> cummax(const TensorPtr& x, int64_t dim) { return cumext(x, dim, true); }
std::pair<TensorPtr, TensorPtr> cummin(const TensorPtr& x, int64_t dim) { return cumext(x, dim, false); }

}  // namespace fastnn
