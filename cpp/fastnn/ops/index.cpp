// Basic indexing: select (x[i]) and slice (x[a:b:c]) along one dim, as views; index_select and embedding.
#include <algorithm>
#include <vector>

#include "fastnn/autograd/functions.h"
#include "fastnn/autograd/grad_mode.h"
#include "fastnn/error.h"
#include "fastnn/kernels/cuda/index.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/ops.h"
#include "fastnn/parallel.h"

namespace fastnn {

TensorPtr select(const TensorPtr& t, int64_t dim, int64_t index) {
  check_defined(t, "select");
  FASTNN_CHECK_INDEX(t->dim() > 0,
                     "[select] invalid index of a 0-dim tensor. Use `tensor.item()` to convert a 0-dim "
                     "tensor to a number");
  dim = wrap_dim(dim, t->dim(), "select");
  int64_t size = t->shape()[dim];
  FASTNN_CHECK_INDEX(index >= -size && index < size, "[select] index ", index, " is out of bounds for dimension ", dim,
                     " with size ", size);
  if (index < 0) index += size;
  Shape s = t->shape(), st = t->strides();
  int64_t offset = t->offset() + index * st[dim];
  s.erase(s.begin() + dim);
  st.erase(st.begin() + dim);
  TensorPtr out = Tensor::make(t->storage(), s, st, offset, t->dtype(), t->version_counter());
  out->set_base(t->base() ? t->base() : t);
  Shape in = t->shape();
  record_grad_only("SelectBackward0", out, {t}, [in, dim, index](const TensorPtr& g) {
    TensorPtr full_grad = zeros_on(in, g->dtype(), g->device());
    TensorPtr part = select(full_grad, dim, index);
    copy_(part, g);
    return std::vector<TensorPtr>{full_grad};
  });
  return out;
}

TensorPtr slice(const TensorPtr& t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  check_defined(t, "slice");
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
  // ceil((end - start) / step) without overflow; a huge step keeps one element, whose stride never matters
  s[dim] = (end - start) / step + ((end - start) % step != 0);
  // Overflows only when at most one element is kept (else the last one would lie past the storage);
  // that element's stride never matters, so it keeps the input's.
  int64_t stepped;
  if (!__builtin_mul_overflow(st[dim], step, &stepped)) st[dim] = stepped;
  TensorPtr out = Tensor::make(t->storage(), s, st, offset, t->dtype(), t->version_counter());
  out->set_base(t->base() ? t->base() : t);
  Shape in = t->shape();
  record_grad_only("SliceBackward0", out, {t}, [in, dim, start, end, step](const TensorPtr& g) {
    TensorPtr full_grad = zeros_on(in, g->dtype(), g->device());
    TensorPtr part = slice(full_grad, dim, start, end, step);
    copy_(part, g);
    return std::vector<TensorPtr>{full_grad};
  });
  return out;
}

}  // namespace fastnn

namespace fastnn {
namespace {

// out[..., i, ...] = src[..., index[i], ...] along `dim`, for contiguous src/out viewed as (outer, n, inner).
template <class T>
void gather_rows(const T* src, T* out, const int64_t* index, int64_t outer, int64_t n_src, int64_t n_idx,
                 int64_t inner) {
  parallel_for(outer * n_idx, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(inner, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t r = b; r < e; ++r) {
                   int64_t o = r / n_idx, i = r % n_idx;
                   const T* s = src + (o * n_src + index[i]) * inner;
                   std::copy(s, s + inner, out + r * inner);
                 }
               });
}

// The adjoint: grad_src[..., index[i], ...] += grad[..., i, ...], summed in index order per row.
template <class T>
void scatter_add_rows(const T* grad, T* out, const int64_t* index, int64_t outer, int64_t n_src, int64_t n_idx,
                      int64_t inner) {
  parallel_for(outer, 1, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o)
      for (int64_t i = 0; i < n_idx; ++i) {
        const T* g = grad + (o * n_idx + i) * inner;
        T* d = out + (o * n_src + index[i]) * inner;
        for (int64_t k = 0; k < inner; ++k) d[k] += g[k];
      }
  });
}

// For each of `rows` rows, the positions i < n with idx[i] == row, ascending (a counting sort on the host), on
// `device`: the gather's adjoint sums them in that order.
struct RowLists {
  TensorPtr starts, positions;  // int64 (rows + 1) and (n)
};
RowLists rows_by_index(const int64_t* idx, int64_t n, int64_t rows, Device device) {
  TensorPtr starts = Tensor::empty({rows + 1}, DType::Int64, "index"), positions = Tensor::empty({n}, DType::Int64);
  int64_t* st = starts->mutable_data<int64_t>();
  int64_t* pos = positions->mutable_data<int64_t>();
  std::fill(st, st + rows + 1, 0);
  for (int64_t i = 0; i < n; ++i) ++st[idx[i] + 1];
  for (int64_t r = 0; r < rows; ++r) st[r + 1] += st[r];
  std::vector<int64_t> next(st, st + rows);
  for (int64_t i = 0; i < n; ++i) pos[next[idx[i]]++] = i;
  return {to_device(starts, device), to_device(positions, device)};
}

// (rows, width) on g's GPU: row r sums g's rows listed for r (`skip`, when >= 0, stays 0).
TensorPtr sum_rows_cuda(const TensorPtr& g, const RowLists& lists, int64_t rows, int64_t width, int64_t skip) {
  check_cuda_float(g->dtype(), "index backward");
  TensorPtr r = Tensor::empty({rows, width}, g->dtype(), "index", g->device());
  cuda::sum_rows_by_index(g->dtype() == DType::Float64, g->device_data(),
                          static_cast<const int64_t*>(lists.starts->device_data()),
                          static_cast<const int64_t*>(lists.positions->device_data()), rows, width, skip,
                          r->device_data(), g->device().index);
  return r;
}

// index_select on a GPU: the dim moved first, its rows gathered, moved back; host_idx holds the (wrapped) indices.
TensorPtr index_select_cuda(const TensorPtr& t, const TensorPtr& src, int64_t dim, const TensorPtr& host_idx) {
  const Device device = src->device();
  const int64_t nd = src->dim(), n_src = src->shape()[dim], n_idx = host_idx->numel();
  IntList perm{dim}, inverse(nd);
  for (int64_t d = 0; d < nd; ++d)
    if (d != dim) perm.push_back(d);
  for (int64_t i = 0; i < nd; ++i) inverse[perm[i]] = i;
  const TensorPtr front = contiguous(permute(src, perm));
  const int64_t width = n_src ? front->numel() / n_src : 0;
  Shape moved = front->shape();
  moved[0] = n_idx;
  const TensorPtr idx = to_device(host_idx, device);
  TensorPtr picked = Tensor::empty(moved, src->dtype(), "index_select", device);
  cuda::gather_rows(front->device_data(), static_cast<const int64_t*>(idx->device_data()), n_idx, width,
                    itemsize(src->dtype()), picked->device_data(), device.index);
  TensorPtr out = contiguous(permute(picked, inverse));
  if (any_requires_grad({&t})) {
    const RowLists lists = rows_by_index(host_idx->data<int64_t>(), n_idx, n_src, device);
    const Shape in = t->shape(), front_shape = front->shape();
    record_grad_only("IndexSelectBackward0", out, {t}, [=](const TensorPtr& g) {
      const TensorPtr gf = contiguous(permute(g, perm));
      const TensorPtr r = reshape(sum_rows_cuda(gf, lists, n_src, width, -1), front_shape);
      return std::vector<TensorPtr>{reshape(contiguous(permute(r, inverse)), in)};
    });
  }
  return out;
}

}  // namespace

TensorPtr index_select(const TensorPtr& t, int64_t dim, const TensorPtr& index_in) {
  check_defined(t, "index_select");
  check_defined(index_in, "index_select", "index");
  FASTNN_CHECK_TYPE(index_in->dtype() == DType::Int64 || index_in->dtype() == DType::Int32,
                    "[index_select] expected an int64 or int32 index tensor, got ", dtype_name(index_in->dtype()));
  TensorPtr index = cast(index_in, DType::Int64);
  FASTNN_CHECK(index->dim() <= 1, "[index_select] index must be 0-d or 1-d, got shape ", index->shape());
  int64_t nd = std::max<int64_t>(t->dim(), 1);
  dim = wrap_dim(dim, t->dim(), "index_select");
  TensorPtr src = contiguous(t->dim() == 0 ? reshape(t->detach(), {1}) : t->detach());
  const Device device = common_device({&t, &index}, "index_select");
  TensorPtr idx = contiguous(to_device(reshape(index, {-1}), Device{}));  // checked (and wrapped) on the CPU
  int64_t n_src = src->shape()[dim], n_idx = idx->numel();
  const int64_t* ip = idx->data<int64_t>();
  for (int64_t i = 0; i < n_idx; ++i)
    FASTNN_CHECK_INDEX(ip[i] >= -n_src && ip[i] < n_src, "[index_select] index ", ip[i],
                       " is out of bounds for dimension ", dim, " with size ", n_src);
  bool negative = false;
  for (int64_t i = 0; i < n_idx; ++i) negative = negative || ip[i] < 0;
  if (negative) {  // wrap negative indices once, into a private copy
    idx = clone(idx);
    int64_t* w = idx->mutable_data<int64_t>();
    for (int64_t i = 0; i < n_idx; ++i) w[i] += w[i] < 0 ? n_src : 0;
    ip = idx->data<int64_t>();
  }
  if (device.is_cuda()) {
    TensorPtr out = index_select_cuda(t, src, dim, idx);
    return t->dim() == 0 ? reshape(out, index->dim() == 0 ? Shape{} : Shape{n_idx}) : out;
  }
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= src->shape()[d];
  for (int64_t d = dim + 1; d < nd; ++d) inner *= src->shape()[d];
  Shape out_shape = src->shape();
  out_shape[dim] = n_idx;
  TensorPtr out = Tensor::empty(out_shape, src->dtype(), "index_select");
  FASTNN_DISPATCH_BY_SIZE(src->dtype(), [&] {
    gather_rows<scalar_t>(src->data<scalar_t>(), out->mutable_data<scalar_t>(), ip, outer, n_src, n_idx, inner);
  });
  if (t->dim() == 0) out = reshape(out, index->dim() == 0 ? Shape{} : Shape{n_idx});
  if (any_requires_grad({&t})) {
    Shape in = t->shape(), src_shape = src->shape();
    record_grad_only("IndexSelectBackward0", out, {t}, [=](const TensorPtr& g) {
      TensorPtr gc = contiguous(g);
      TensorPtr r = zeros(src_shape, g->dtype());
      FASTNN_DISPATCH_FLOAT(g->dtype(), "index_select", [&] {
        scatter_add_rows<scalar_t>(gc->data<scalar_t>(), r->mutable_data<scalar_t>(), idx->data<int64_t>(), outer,
                                   n_src, n_idx, inner);
      });
      return std::vector<TensorPtr>{reshape(r, in)};
    });
  }
  return out;
}

}  // namespace fastnn

namespace fastnn {

namespace {

// The embedding on a GPU: indices checked on the CPU (one copy to the host), rows gathered there; the weight's
// gradient sums, for each row, the output rows that picked it in index order (a CSR list built on the host).
TensorPtr embedding_cuda(const TensorPtr& weight, const TensorPtr& indices, int64_t pad) {
  const Device device = weight->device();
  check_cuda_float(weight->dtype(), "embedding");
  const int64_t num = weight->shape()[0], dim = weight->shape()[1];
  TensorPtr idx = contiguous(reshape(indices, {-1}));
  const TensorPtr host = to_device(idx, Device{});
  const int64_t* ip = host->data<int64_t>();
  const int64_t n = host->numel();
  for (int64_t i = 0; i < n; ++i)
    FASTNN_CHECK_INDEX(ip[i] >= 0 && ip[i] < num, "[embedding] index ", ip[i], " is out of range for ", num,
                       " embeddings");
  TensorPtr w = contiguous(weight->detach());
  Shape out_shape = indices->shape();
  out_shape.push_back(dim);
  TensorPtr out = Tensor::empty(out_shape, w->dtype(), "embedding", device);
  cuda::gather_rows(w->device_data(), static_cast<const int64_t*>(idx->device_data()), n, dim, itemsize(w->dtype()),
                    out->device_data(), device.index);
  if (!any_requires_grad({&weight})) return out;
  const RowLists lists = rows_by_index(ip, n, num, device);
  record_grad_only("EmbeddingBackward0", out, {weight, nullptr}, [=](const TensorPtr& g) {
    return std::vector<TensorPtr>{sum_rows_cuda(contiguous(g), lists, num, dim, pad), nullptr};
  });
  return out;
}

}  // namespace

TensorPtr embedding(const TensorPtr& weight, const TensorPtr& indices_in, std::optional<int64_t> padding_idx) {
  check_defined(weight, "embedding", "weight");
  check_defined(indices_in, "embedding");
  if (any_storage_dtype({&weight}))
    return narrowed(embedding(widened(weight), indices_in, padding_idx), weight->dtype());
  const TensorPtr indices = indices_in->dtype() == DType::Int32 ? cast(indices_in, DType::Int64) : indices_in;
  FASTNN_CHECK(weight->dim() == 2, "[embedding] expected a 2-D weight (num_embeddings, embedding_dim), got shape ",
               weight->shape());
  FASTNN_CHECK_TYPE(indices->dtype() == DType::Int64, "[embedding] expected int64 or int32 indices, got ",
                    dtype_name(indices->dtype()));
  if (common_device({&weight, &indices}, "embedding").is_cuda())
    return embedding_cuda(weight, indices, padding_idx ? *padding_idx : -1);
  int64_t num = weight->shape()[0], dim = weight->shape()[1];
  TensorPtr idx = contiguous(reshape(indices, {-1}));
  const int64_t* ip = idx->data<int64_t>();
  for (int64_t i = 0; i < idx->numel(); ++i)
    FASTNN_CHECK_INDEX(ip[i] >= 0 && ip[i] < num, "[embedding] index ", ip[i], " is out of range for ", num,
                       " embeddings");
  TensorPtr w = contiguous(weight->detach());
  Shape out_shape = indices->shape();
  out_shape.push_back(dim);
  TensorPtr out = Tensor::empty(out_shape, w->dtype(), "embedding");
  FASTNN_DISPATCH_FLOAT(w->dtype(), "embedding", [&] {
    gather_rows<scalar_t>(w->data<scalar_t>(), out->mutable_data<scalar_t>(), ip, 1, num, idx->numel(), dim);
  });
  if (any_requires_grad({&weight})) {
    int64_t pad = padding_idx ? *padding_idx : -1;
    record_grad_only("EmbeddingBackward0", out, {weight, nullptr}, [idx, num, dim, pad](const TensorPtr& g) {
      TensorPtr gc = contiguous(g);
      TensorPtr r = zeros({num, dim}, g->dtype());
      FASTNN_DISPATCH_FLOAT(g->dtype(), "embedding", [&] {
        scalar_t* pr = r->mutable_data<scalar_t>();
        scatter_add_rows<scalar_t>(gc->data<scalar_t>(), pr, idx->data<int64_t>(), 1, num, idx->numel(), dim);
        if (pad >= 0) std::fill(pr + pad * dim, pr + (pad + 1) * dim, scalar_t(0));  // the padding row never learns
      });
      return std::vector<TensorPtr>{r, nullptr};
    });
  }
  return out;
}

}  // namespace fastnn
