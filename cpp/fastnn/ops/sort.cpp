// Sorting along one dim: sort, argsort, topk, kthvalue, median. The dim is moved last into contiguous
// rows and each row is ordered by one thread under a total order (NaN largest, equal values by index),
// so sorts are stable and every result, ties included, is the same at any thread count.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "fastnn/autograd/functions.h"
#include "fastnn/error.h"
#include "fastnn/kernels/cuda/index.h"
#include "fastnn/kernels/cuda/sort.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/ops.h"

namespace fastnn {
namespace {

// Ascending (or descending) order of a row's positions: NaN is the largest value, equal values keep
// their index order.
template <class T>
struct RowOrder {
  const T* row;
  bool descending;
  bool operator()(int64_t a, int64_t b) const {
    T va = row[a], vb = row[b];
    bool na = va != va, nb = vb != vb;
    if (na != nb) return descending ? na : nb;
    if (!na && va != vb) return descending ? va > vb : va < vb;
    return a < b;
  }
};

// Positions [first, k) of each row's order: values and indices as rows of k - first. With `nan_wins`
// (median), a row holding a NaN gives its first NaN instead.
template <class T>
void order_rows(const T* x, int64_t rows, int64_t n, int64_t first, int64_t k, bool descending, bool nan_wins,
                T* values, int64_t* indices) {
  int64_t m = k - first;
  for_each_row(rows, n, [&](int64_t r) {
    const T* xr = x + r * n;
    if (nan_wins) {
      int64_t at = 0;
      while (at < n && xr[at] == xr[at]) ++at;
      if (at < n) {
        std::fill(values + r * m, values + (r + 1) * m, xr[at]);
        std::fill(indices + r * m, indices + (r + 1) * m, at);
        return;
      }
    }
    std::vector<int64_t> idx(n);
    std::iota(idx.begin(), idx.end(), int64_t(0));
    RowOrder<T> less{xr, descending};
    if (k == n) std::sort(idx.begin(), idx.end(), less);
    else std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), less);
    for (int64_t j = first; j < k; ++j) {
      values[r * m + j - first] = xr[idx[j]];
      indices[r * m + j - first] = idx[j];
    }
  });
}

// Values and indices of positions [first, k) of x's order along d (size k - first at d).
std::pair<TensorPtr, TensorPtr> pick(const TensorPtr& x, int64_t d, int64_t first, int64_t k, bool descending,
                                     bool nan_wins, const char* op) {
  ReducePlan p = plan_reduction(x, {d}, op);
  TensorPtr v = Tensor::empty({p.outputs, k - first}, x->dtype(), op, x->device());
  TensorPtr idx = Tensor::empty({p.outputs, k - first}, DType::Int64, op, x->device());
  if (x->device().is_cuda())
    cuda::order_rows(p.rows->device_data(), p.outputs, p.reduced, first, k, descending, nan_wins, x->dtype(),
                     v->device_data(), static_cast<int64_t*>(idx->device_data()), x->device().index);
  else
    FASTNN_DISPATCH_ALL(x->dtype(), op, [&] {
      order_rows<scalar_t>(p.rows->data<scalar_t>(), p.outputs, p.reduced, first, k, descending, nan_wins,
                           v->mutable_data<scalar_t>(), idx->mutable_data<int64_t>());
    });
  return {from_rows(v, x->shape(), p.perm, d, k - first), from_rows(idx, x->shape(), p.perm, d, k - first)};
}

// Records `name`: the gradient of values picked from x along d goes back to where they came from.
void record_pick(const char* name, const TensorPtr& x, const TensorPtr& values, const TensorPtr& indices, int64_t d,
                 bool kept_dim) {
  if (!is_floating(x->dtype())) return;
  Shape shape = x->shape();
  record_grad_only(name, values, {x}, [indices, shape, d, kept_dim](const TensorPtr& g) {
    bool squeezed = !kept_dim && !shape.empty();
    return std::vector<TensorPtr>{
        scatter_add_along(squeezed ? unsqueeze(g, d) : g, squeezed ? unsqueeze(indices, d) : indices, shape, d)};
  });
}

int64_t dim_size(const TensorPtr& x, int64_t d) { return x->dim() ? x->shape()[d] : 1; }

// The k-th smallest along d (k from 1), as kthvalue and median return it.
std::pair<TensorPtr, TensorPtr> kth(const TensorPtr& x, int64_t k, int64_t d, bool keepdim, bool nan_wins,
                                    const char* op) {
  auto [v, i] = pick(x, d, k - 1, k, false, nan_wins, op);
  if (!keepdim && x->dim()) {
    v = squeeze(v, d);
    i = squeeze(i, d);
  }
  return {v, i};
}

}  // namespace

TensorPtr scatter_add_along(const TensorPtr& g, const TensorPtr& indices, const Shape& shape, int64_t dim) {
  if (shape.empty()) return reshape(g, {});
  ReducePlan pg = plan_reduction(g, {dim}, "scatter"), pi = plan_reduction(indices, {dim}, "scatter");
  int64_t k = pg.reduced, n = shape[dim];
  TensorPtr out = zeros_on({pg.outputs, n}, g->dtype(), g->device());
  if (g->device().is_cuda()) {  // each row's picks added in order, as below
    const Shape out_shape{pg.outputs, n}, idx_shape{pg.outputs, k};
    cuda::scatter_along_dim(cuda::ScatterKind::Add, g->dtype(), out->device_data(), out_shape.data(),
                            pg.rows->device_data(), false, static_cast<const int64_t*>(pi.rows->device_data()),
                            idx_shape.data(), 2, 1, g->device().index);
    return from_rows(out, shape, pg.perm, dim, n);
  }
  FASTNN_DISPATCH_FLOAT(g->dtype(), "scatter", [&] {
    const scalar_t* pv = pg.rows->data<scalar_t>();
    const int64_t* px = pi.rows->data<int64_t>();
    scalar_t* po = out->mutable_data<scalar_t>();
    for_each_row(pg.outputs, n, [&](int64_t r) {
      for (int64_t j = 0; j < k; ++j) po[r * n + px[r * k + j]] += pv[r * k + j];
    });
  });
  return from_rows(out, shape, pg.perm, dim, n);
}

std::pair<TensorPtr, TensorPtr> sort(const TensorPtr& x, int64_t dim, bool descending) {
  check_defined(x, "sort");
  int64_t d = wrap_dim(dim, x->dim(), "sort");
  auto [v, i] = pick(x, d, 0, dim_size(x, d), descending, false, "sort");
  record_pick("SortBackward0", x, v, i, d, true);
  return {v, i};
}

TensorPtr argsort(const TensorPtr& x, int64_t dim, bool descending) {
  check_defined(x, "argsort");
  int64_t d = wrap_dim(dim, x->dim(), "argsort");
  return pick(x->detach(), d, 0, dim_size(x, d), descending, false, "argsort").second;
}

std::pair<TensorPtr, TensorPtr> topk(const TensorPtr& x, int64_t k, int64_t dim, bool largest) {
  check_defined(x, "topk");
  int64_t d = wrap_dim(dim, x->dim(), "topk");
  FASTNN_CHECK_INDEX(k >= 0 && k <= dim_size(x, d), "[topk] selected index k out of range: k is ", k, " but dimension ",
                     d, " has size ", dim_size(x, d));
  auto [v, i] = pick(x, d, 0, k, largest, false, "topk");
  record_pick("TopkBackward0", x, v, i, d, true);
  return {v, i};
}

std::pair<TensorPtr, TensorPtr> kthvalue(const TensorPtr& x, int64_t k, int64_t dim, bool keepdim) {
  check_defined(x, "kthvalue");
  int64_t d = wrap_dim(dim, x->dim(), "kthvalue");
  FASTNN_CHECK_INDEX(dim_size(x, d) > 0, "[kthvalue] Expected reduction dim ", d, " to have non-zero size.");
  FASTNN_CHECK_INDEX(k >= 1 && k <= dim_size(x, d), "[kthvalue] selected number k out of range for dimension ", d,
                     ": k is ", k, " but the dimension has size ", dim_size(x, d));
  auto [v, i] = kth(x, k, d, keepdim, false, "kthvalue");
  record_pick("KthvalueBackward0", x, v, i, d, keepdim);
  return {v, i};
}

std::pair<TensorPtr, TensorPtr> median(const TensorPtr& x, int64_t dim, bool keepdim) {
  check_defined(x, "median");
  int64_t d = wrap_dim(dim, x->dim(), "median");
  int64_t n = dim_size(x, d);
  FASTNN_CHECK_INDEX(n > 0, "[median] Expected reduction dim ", d, " to have non-zero size.");
  auto [v, i] = kth(x, (n - 1) / 2 + 1, d, keepdim, true, "median");
  record_pick("MedianBackward1", x, v, i, d, keepdim);
  return {v, i};
}

TensorPtr median(const TensorPtr& x) {
  check_defined(x, "median");
  TensorPtr v;
  if (x->numel() == 0) {
    FASTNN_CHECK_INDEX(is_floating(x->dtype()), "[median] cannot compute the median of an empty ",
                       dtype_name(x->dtype()), " tensor");
    v = to_device(full({}, NAN, x->dtype()), x->device());
  } else {
    v = kth(reshape(x->detach(), {-1}), (x->numel() - 1) / 2 + 1, 0, false, true, "median").first;
  }
  if (is_floating(x->dtype()) && any_requires_grad({&x})) {
    // Elements equal to the median share its gradient evenly (the NaNs when it is NaN), as in torch.
    TensorPtr xs = x->detach(), vs = v->detach();  // (v itself would make a reference cycle)
    bool nan_result = false;
    const TensorPtr host = to_device(v->detach(), Device{});  // (one copy of a GPU median's value)
    FASTNN_DISPATCH_FLOAT(v->dtype(), "median", [&] { nan_result = std::isnan(*host->data<scalar_t>()); });
    record_grad_only("MedianBackward0", v, {x}, [xs, vs, nan_result](const TensorPtr& g) {
      TensorPtr mask = cast(nan_result ? compare(xs, xs, CompareOp::Ne) : compare(xs, vs, CompareOp::Eq), g->dtype());
      return std::vector<TensorPtr>{mul(mask, div(g, sum(mask)))};
    });
  }
  return v;
}

}  // namespace fastnn
