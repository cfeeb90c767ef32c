// Rearranging ops: splits into views (chunk, split, unbind, narrow), dim moves (movedim, squeeze of
// several dims, unflatten), copies that reorder or repeat elements (flip, roll, repeat, repeat_interleave),
// triangles and diagonals (tril, triu, diagonal, diag, diag_embed) and one_hot.
#include <algorithm>

#include "fastnn/autograd/functions.h"
#include "fastnn/autograd/grad_mode.h"
#include "fastnn/error.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/loops.h"
#include "fastnn/ops/ops.h"
#include "fastnn/parallel.h"

namespace fastnn {
namespace {

using Grads = std::vector<TensorPtr>;

// A view of `t` with the given layout (storage and version counter shared), no history.
TensorPtr alias(const TensorPtr& t, Shape shape, Shape strides, int64_t offset) {
  TensorPtr v =
      Tensor::make(t->storage(), std::move(shape), std::move(strides), offset, t->dtype(), t->version_counter());
  v->set_base(t->base() ? t->base() : t);
  return v;
}

// The backward of an op returning several views of its input (split, unbind): one node for all outputs,
// whose gradients (zeros for the unused ones) are joined back by `fn`.
class MultiViewBackward : public Node {
 public:
  using Fn = std::function<TensorPtr(const std::vector<TensorPtr>&)>;
  MultiViewBackward(const char* name, Fn fn) : name_(name), fn_(std::move(fn)) {}
  std::string name() const override { return name_; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override { return {fn_(grads)}; }

 private:
  const char* name_;
  Fn fn_;
};

// More outputs than this cannot be returned (a tuple of 2**40 views of an expanded tensor would exhaust memory).
void check_output_count(int64_t n, const char* op) {
  if (n > (int64_t(1) << 24)) throw OutOfMemory(str("[", op, "] cannot return ", n, " tensors"));
}

// Views of `t` along `dim` with the given sizes, one node `name` for all (gradients joined by cat).
std::vector<TensorPtr> split_views(const TensorPtr& t, int64_t dim, const IntList& sizes, const char* name) {
  std::vector<TensorPtr> outs;
  int64_t at = 0;
  for (int64_t len : sizes) {
    Shape s = t->shape();
    s[dim] = len;
    outs.push_back(alias(t, s, t->strides(), t->offset() + (len ? at * t->strides()[dim] : 0)));
    at += len;
  }
  if (any_requires_grad({&t})) {
    record(std::make_shared<MultiViewBackward>(name, [dim](const std::vector<TensorPtr>& g) { return cat(g, dim); }),
           {t}, outs);
  }
  return outs;
}

int64_t split_dim(const TensorPtr& t, int64_t dim, const char* op) {
  check_defined(t, op);
  FASTNN_CHECK(t->dim() > 0, "[", op, "] ", op, " expects at least a 1-dimensional tensor");
  return wrap_dim(dim, t->dim(), op);
}

// dims wrapped into [0, ndim), each at most once ("dim 0 appears multiple times in the list of dims").
std::vector<bool> dim_set(const IntList& dims, int64_t ndim, const char* op) {
  std::vector<bool> seen(std::max<int64_t>(ndim, 1), false);
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, ndim, op);
    FASTNN_CHECK(!seen[w], "[", op, "] dim ", w, " appears multiple times in the list of dims");
    seen[w] = true;
  }
  return seen;
}

// dst (contiguous, of `shape`) <- the elements at src + sum(index * src_strides), strides possibly negative.
void strided_copy(Tensor& dst, const void* src, const Shape& src_strides) {
  if (dst.numel() == 0) return;
  auto L = make_loop<2>(dst.shape(), {dst.strides(), src_strides});
  FASTNN_DISPATCH_BY_SIZE(dst.dtype(), [&] {
    scalar_t* po = dst.mutable_data<scalar_t>();
    const scalar_t* pi = static_cast<const scalar_t*>(src);
    for_each_run<2>(L, [&](const std::array<int64_t, 2>& off, const std::array<int64_t, 2>& st, int64_t n) {
      for (int64_t i = 0; i < n; ++i) po[off[0] + i * st[0]] = pi[off[1] + i * st[1]];
    });
  });
}

// A contiguous copy of `t` with no history.
TensorPtr plain_copy(const TensorPtr& t) {
  GradModeGuard no_grad(false);
  return clone(t->detach());
}

// dst <- src with no history (a write into a fresh tensor).
void write(TensorPtr dst, const TensorPtr& src) {
  GradModeGuard no_grad(false);
  copy_(dst, src->detach());
}

}  // namespace

// ---- splits ----

std::vector<TensorPtr> split(const TensorPtr& t, int64_t split_size, int64_t dim) {
  dim = split_dim(t, dim, "split");
  FASTNN_CHECK(split_size >= 0, "[split] split expects split_size be non-negative, but got split_size=", split_size);
  int64_t size = t->shape()[dim];
  FASTNN_CHECK(split_size > 0 || size == 0,
               "[split] split_size can only be 0 if dimension size is 0, but got "
               "dimension size of ",
               size);
  int64_t n = split_size == 0 ? 1 : std::max<int64_t>(size / split_size + (size % split_size != 0), 1);
  check_output_count(n, "split");
  IntList sizes(n, split_size);
  sizes.back() = size - split_size * (n - 1);
  return split_views(t, dim, sizes, "SplitBackward0");
}

std::vector<TensorPtr> split_with_sizes(const TensorPtr& t, IntList sizes, int64_t dim) {
  dim = split_dim(t, dim, "split_with_sizes");
  int64_t total = 0;
  for (int64_t s : sizes) {
    FASTNN_CHECK(s >= 0,
                 "[split_with_sizes] split_with_sizes expects split_sizes have only non-negative entries, "
                 "but got split_sizes=",
                 shape_str(sizes));
    FASTNN_CHECK(!__builtin_add_overflow(total, s, &total), "[split_with_sizes] split_sizes ", shape_str(sizes),
                 " do not sum to ", t->shape()[dim]);
  }
  FASTNN_CHECK(total == t->shape()[dim], "[split_with_sizes] split_with_sizes expects split_sizes to sum exactly to ",
               t->shape()[dim], " (input tensor's size at dimension ", dim,
               "), but got split_sizes=", shape_str(sizes));
  return split_views(t, dim, sizes, "SplitWithSizesBackward0");
}

std::vector<TensorPtr> chunk(const TensorPtr& t, int64_t chunks, int64_t dim) {
  dim = split_dim(t, dim, "chunk");
  FASTNN_CHECK(chunks > 0, "[chunk] chunk expects `chunks` to be greater than 0, got: ", chunks);
  int64_t size = t->shape()[dim];
  int64_t split_size = size / chunks + (size % chunks != 0);
  if (split_size == 0 && size == 0) return split_with_sizes(t, IntList(chunks, 0), dim);  // chunks empty parts
  return split(t, split_size, dim);
}

std::vector<TensorPtr> tensor_split(const TensorPtr& t, int64_t sections, int64_t dim) {
  check_defined(t, "tensor_split");
  FASTNN_CHECK(t->dim() > 0,
               "[tensor_split] tensor_split expected at least a 1-dimensional tensor, but got a tensor "
               "with 0 dims");
  FASTNN_CHECK(sections > 0, "[tensor_split] number of sections must be larger than 0, got ", sections);
  dim = wrap_dim(dim, t->dim(), "tensor_split");
  check_output_count(sections, "tensor_split");
  int64_t size = t->shape()[dim], base = size / sections, extra = size % sections;
  std::vector<TensorPtr> outs;
  for (int64_t i = 0, at = 0; i < sections; ++i) {
    int64_t len = base + (i < extra);
    outs.push_back(slice(t, dim, at, at + len, 1));
    at += len;
  }
  return outs;
}

std::vector<TensorPtr> tensor_split(const TensorPtr& t, const IntList& indices, int64_t dim) {
  check_defined(t, "tensor_split");
  FASTNN_CHECK(t->dim() > 0,
               "[tensor_split] tensor_split expected at least a 1-dimensional tensor, but got a tensor "
               "with 0 dims");
  dim = wrap_dim(dim, t->dim(), "tensor_split");
  std::vector<TensorPtr> outs;
  int64_t start = 0;
  for (int64_t end : indices) {
    outs.push_back(slice(t, dim, start, end, 1));
    start = end;
  }
  outs.push_back(slice(t, dim, start, t->shape()[dim], 1));
  return outs;
}

std::vector<TensorPtr> unbind(const TensorPtr& t, int64_t dim) {
  check_defined(t, "unbind");
  FASTNN_CHECK_INDEX(t->dim() > 0, "[unbind] Dimension specified as ", dim, " but tensor has no dimensions");
  dim = wrap_dim(dim, t->dim(), "unbind");
  Shape s = t->shape(), st = t->strides();
  int64_t n = s[dim], stride = st[dim];
  s.erase(s.begin() + dim);
  st.erase(st.begin() + dim);
  std::vector<TensorPtr> outs;
  check_output_count(n, "unbind");
  for (int64_t i = 0; i < n; ++i) outs.push_back(alias(t, s, st, t->offset() + i * stride));
  if (n > 0 && any_requires_grad({&t}))
    record(std::make_shared<MultiViewBackward>("UnbindBackward0",
                                               [dim](const std::vector<TensorPtr>& g) { return stack(g, dim); }),
           {t}, outs);
  return outs;
}

TensorPtr narrow(const TensorPtr& t, int64_t dim, int64_t start, int64_t length) {
  check_defined(t, "narrow");
  FASTNN_CHECK_INDEX(t->dim() > 0, "[narrow] narrow() cannot be applied to a 0-dim tensor.");
  FASTNN_CHECK(length >= 0, "[narrow] narrow(): length must be non-negative.");
  dim = wrap_dim(dim, t->dim(), "narrow");
  int64_t size = t->shape()[dim];
  FASTNN_CHECK_INDEX(start >= -size && start <= size, "[narrow] start out of range (expected to be in range of [",
                     -size, ", ", size, "], but got ", start, ")");
  if (start < 0) start += size;
  FASTNN_CHECK(start <= size - length, "[narrow] start (", start, ") + length (", length, ") exceeds dimension size (",
               size, ").");
  return slice(t, dim, start, start + length, 1);
}

// ---- moving and reshaping dims ----

TensorPtr movedim(const TensorPtr& t, const IntList& source, const IntList& destination) {
  check_defined(t, "movedim");
  int64_t nd = t->dim();
  FASTNN_CHECK(source.size() == destination.size(), "[movedim] movedim: Invalid source or destination dims: source (",
               shape_str(source), " dims) should contain the same number of dims as destination (",
               shape_str(destination), " dims)");
  IntList src, dst;
  for (int64_t d : source) src.push_back(wrap_dim(d, nd, "movedim"));
  for (int64_t d : destination) dst.push_back(wrap_dim(d, nd, "movedim"));
  auto repeated = [](IntList v) {
    std::sort(v.begin(), v.end());
    return std::adjacent_find(v.begin(), v.end()) != v.end();
  };
  FASTNN_CHECK(!repeated(src), "[movedim] movedim: repeated dim in `source` (", shape_str(source), ")");
  FASTNN_CHECK(!repeated(dst), "[movedim] movedim: repeated dim in `destination` (", shape_str(destination), ")");
  if (nd == 0) return permute(t, {});
  IntList order(nd, -1);
  std::vector<bool> moved(nd, false);
  for (size_t i = 0; i < src.size(); ++i) {
    order[dst[i]] = src[i];
    moved[src[i]] = true;
  }
  int64_t next = 0;  // the other dims keep their relative order in the free places
  for (int64_t& o : order) {
    if (o >= 0) continue;
    while (moved[next]) ++next;
    o = next++;
  }
  return permute(t, order);
}

TensorPtr squeeze(const TensorPtr& t, const IntList& dims) {
  check_defined(t, "squeeze");
  std::vector<bool> drop = dim_set(dims, t->dim(), "squeeze");
  Shape s, st;
  for (int64_t d = 0; d < t->dim(); ++d)
    if (!(drop[d] && t->shape()[d] == 1)) {
      s.push_back(t->shape()[d]);
      st.push_back(t->strides()[d]);
    }
  TensorPtr out = alias(t, s, st, t->offset());
  Shape in = t->shape();
  record_grad_only("SqueezeBackward2", out, {t}, [in](const TensorPtr& g) { return Grads{reshape(g, in)}; });
  return out;
}

TensorPtr unflatten(const TensorPtr& t, int64_t dim, const IntList& sizes) {
  check_defined(t, "unflatten");
  FASTNN_CHECK_INDEX(t->dim() > 0, "[unflatten] Dimension specified as ", dim, " but tensor has no dimensions");
  dim = wrap_dim(dim, t->dim(), "unflatten");
  FASTNN_CHECK(!sizes.empty(), "[unflatten] unflatten: sizes must be non-empty");
  int64_t size = t->shape()[dim], known = 1, infer = -1;
  IntList resolved = sizes;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == -1) {
      FASTNN_CHECK(infer < 0, "[unflatten] only one dimension can be inferred");
      infer = int64_t(i);
    } else {
      FASTNN_CHECK(sizes[i] >= 0, "[unflatten] invalid shape dimension ", sizes[i]);
      FASTNN_CHECK(!__builtin_mul_overflow(known, sizes[i], &known), "[unflatten] unflatten: Provided sizes ",
                   shape_str(sizes), " don't multiply up to the size of dim ", dim, " (", size,
                   ") in the input tensor");
    }
  }
  if (infer >= 0 && known != 0 && size % known == 0) resolved[infer] = size / known;
  FASTNN_CHECK((infer < 0 && known == size) || (infer >= 0 && known != 0 && size % known == 0),
               "[unflatten] unflatten: Provided sizes ", shape_str(sizes), " don't multiply up to the size of dim ",
               dim, " (", size, ") in the input tensor");
  Shape s = t->shape();
  s.erase(s.begin() + dim);
  s.insert(s.begin() + dim, resolved.begin(), resolved.end());
  return view(t, s);
}

// ---- copies that reorder or repeat elements ----

TensorPtr flip(const TensorPtr& t, const IntList& dims) {
  check_defined(t, "flip");
  std::vector<bool> flipped = dim_set(dims, t->dim(), "flip");
  TensorPtr out = Tensor::empty(t->shape(), t->dtype(), "flip", t->device());
  Shape st = t->strides();
  int64_t start = 0;  // element offset of the source's first read: the last index along flipped dims
  for (int64_t d = 0; d < t->dim(); ++d)
    if (flipped[d] && t->shape()[d] > 0) {
      start += (t->shape()[d] - 1) * st[d];
      st[d] = -st[d];
    }
  const int64_t first = start * int64_t(itemsize(t->dtype()));  // bytes to the first element read
  if (t->numel() > 0 && t->device().is_cuda())
    cuda::strided_copy(out->device_data(), static_cast<const char*>(t->device_data()) + first, t->shape().data(),
                       st.data(), int(t->dim()), t->numel(), itemsize(t->dtype()), t->device().index);
  else if (t->numel() > 0) strided_copy(*out, static_cast<const char*>(t->raw_data()) + first, st);
  IntList d = dims;
  record_grad_only("FlipBackward0", out, {t}, [d](const TensorPtr& g) { return Grads{flip(g, d)}; });
  return out;
}

TensorPtr roll(const TensorPtr& t, const IntList& shifts, const IntList& dims) {
  check_defined(t, "roll");
  FASTNN_CHECK(!shifts.empty(), "[roll] `shifts` required");
  FASTNN_CHECK(shifts.size() == dims.size() || (dims.empty() && shifts.size() == 1),
               "[roll] shifts and dimensions "
               "must align. shifts: ",
               shifts.size(), ", dims:", dims.size());
  IntList ds;
  for (int64_t d : dims) ds.push_back(wrap_dim(d, t->dim(), "roll"));
  // dims=None rolls the flattened tensor
  TensorPtr src = dims.empty() ? reshape(t->detach(), {-1}) : t->detach();
  if (dims.empty()) ds = {0};
  for (size_t i = 0; i < ds.size(); ++i) {
    int64_t d = ds[i], n = src->dim() ? src->shape()[d] : 1;
    int64_t s = n ? ((shifts[i] % n) + n) % n : 0;
    if (s == 0) continue;
    TensorPtr next =
        Tensor::empty(src->shape(), src->dtype(), "roll", src->device());  // next[s:] = src[:n-s], next[:s] = src[n-s:]
    write(slice(next, d, s, n, 1), slice(src, d, 0, n - s, 1));
    write(slice(next, d, 0, s, 1), slice(src, d, n - s, n, 1));
    src = next;
  }
  TensorPtr out = src->storage() == t->storage() ? plain_copy(src) : contiguous(src);
  out = Tensor::make(out->storage(), t->shape(), contiguous_strides(t->shape()), out->offset(), out->dtype());
  IntList back;  // shifts reduced modulo their dim's size first: negating INT64_MIN would overflow
  for (size_t i = 0; i < shifts.size(); ++i) {
    int64_t n = dims.empty() ? t->numel() : t->dim() ? t->shape()[ds[i]] : 1;
    back.push_back(n ? -(shifts[i] % n) : 0);
  }
  IntList d = dims;
  record_grad_only("RollBackward0", out, {t}, [back, d](const TensorPtr& g) { return Grads{roll(g, back, d)}; });
  return out;
}

TensorPtr repeat(const TensorPtr& t, const IntList& repeats) {
  check_defined(t, "repeat");
  int64_t nd = int64_t(repeats.size()), lead = nd - t->dim();
  FASTNN_CHECK(lead >= 0,
               "[repeat] Number of dimensions of repeat dims can not be smaller than number of dimensions "
               "of tensor");
  // the input (with leading 1s) read as (r0, s0, r1, s1, ...): zero strides over the repeats
  Shape paired, strides, out_shape;
  for (int64_t i = 0; i < nd; ++i) {
    int64_t s = i < lead ? 1 : t->shape()[i - lead], st = i < lead ? 0 : t->strides()[i - lead];
    paired.insert(paired.end(), {repeats[i], s});
    strides.insert(strides.end(), {0, st});
    FASTNN_CHECK(repeats[i] >= 0, "[repeat] Trying to create tensor with negative dimension ", repeats[i], ": ",
                 shape_str(repeats));
    int64_t size;
    FASTNN_CHECK(!__builtin_mul_overflow(repeats[i], s, &size), "[repeat] the size ", repeats[i], " x ", s,
                 " does not fit in 64 bits");
    out_shape.push_back(size);
  }
  checked_numel(out_shape, "repeat");
  TensorPtr out;
  if (t->is_cpu()) {
    out = Tensor::empty(paired, t->dtype(), "repeat");
    if (out->numel() > 0) strided_copy(*out, t->raw_data(), strides);
  } else {  // on a GPU: the zero-stride view gathered there
    out = clone(Tensor::make(t->storage(), paired, strides, t->offset(), t->dtype()));  // a fresh contiguous copy
  }
  out = Tensor::make(out->storage(), out_shape, contiguous_strides(out_shape), 0, out->dtype());
  Shape in = t->shape();
  record_grad_only("RepeatBackward0", out, {t}, [paired, in](const TensorPtr& g) {
    IntList sum_dims;
    for (size_t i = 0; i < paired.size(); i += 2) sum_dims.push_back(int64_t(i));
    return Grads{reshape(sum(reshape(g, paired), sum_dims, false), in)};
  });
  return out;
}

TensorPtr tile(const TensorPtr& t, IntList dims) {
  check_defined(t, "tile");
  if (int64_t(dims.size()) < t->dim()) dims.insert(dims.begin(), t->dim() - dims.size(), 1);
  return repeat(t, dims);
}

TensorPtr repeat_interleave(const TensorPtr& t, int64_t repeats, std::optional<int64_t> dim,
                            std::optional<int64_t> output_size) {
  check_defined(t, "repeat_interleave");
  FASTNN_CHECK(repeats >= 0, "[repeat_interleave] Repeats must be non-negative");
  FASTNN_CHECK_INDEX(!dim || t->dim() > 0,
                     "[repeat_interleave] Dimension out of range (expected to be in range of "
                     "[-1, 0], but got 1)");  // torch's message: the new dim after `dim` does not exist
  TensorPtr x = dim ? t : flatten(t, 0, -1);
  int64_t d = dim ? wrap_dim(*dim, x->dim(), "repeat_interleave") : 0;
  int64_t n = x->shape()[d], total;
  FASTNN_CHECK(!__builtin_mul_overflow(n, repeats, &total), "[repeat_interleave] ", n, " x ", repeats,
               " elements do not fit in 64 bits");
  FASTNN_CHECK(!output_size || *output_size == total,
               "[repeat_interleave] repeat_interleave: Invalid "
               "output_size, expected ",
               total, " but got ", *output_size);
  // each element followed by its copies: a new dim after `d`, expanded, copied, merged into `d`
  TensorPtr u = unsqueeze(x, d + 1);
  Shape e = u->shape();
  e[d + 1] = repeats;
  Shape out_shape = x->shape();
  out_shape[d] = total;
  return view(clone(expand(u, e)), out_shape);
}

TensorPtr repeat_interleave(const TensorPtr& repeats, std::optional<int64_t> output_size) {
  check_defined(repeats, "repeat_interleave", "repeats");
  FASTNN_CHECK_TYPE(repeats->dtype() == DType::Int64, "[repeat_interleave] repeats must be an int64 tensor, got ",
                    dtype_name(repeats->dtype()));
  FASTNN_CHECK(repeats->dim() <= 1, "[repeat_interleave] repeats must be 0-dim or 1-dim tensor");
  TensorPtr r = contiguous(reshape(repeats, {-1}));
  const int64_t* p = r->data<int64_t>();
  int64_t total = 0;
  for (int64_t i = 0; i < r->numel(); ++i) {
    FASTNN_CHECK(p[i] >= 0, "[repeat_interleave] repeats can not be negative");
    FASTNN_CHECK(!__builtin_add_overflow(total, p[i], &total),
                 "[repeat_interleave] the repeats add up to more than "
                 "64 bits hold");
  }
  FASTNN_CHECK(!output_size || *output_size == total,
               "[repeat_interleave] allocated size does not match required size");
  TensorPtr out = Tensor::empty({total}, DType::Int64, "repeat_interleave");
  int64_t* o = out->mutable_data<int64_t>();
  for (int64_t i = 0, at = 0; i < r->numel(); ++i)
    for (int64_t k = 0; k < p[i]; ++k) o[at++] = i;
  return out;
}

TensorPtr repeat_interleave(const TensorPtr& t, const TensorPtr& repeats, std::optional<int64_t> dim,
                            std::optional<int64_t> output_size) {
  check_defined(t, "repeat_interleave");
  check_defined(repeats, "repeat_interleave", "repeats");
  FASTNN_CHECK_TYPE(repeats->dtype() == DType::Int64, "[repeat_interleave] repeats must be an int64 tensor, got ",
                    dtype_name(repeats->dtype()));
  FASTNN_CHECK(repeats->dim() <= 1, "[repeat_interleave] repeats must be 0-dim or 1-dim tensor");
  TensorPtr x = dim ? t : flatten(t, 0, -1);
  int64_t d = dim ? wrap_dim(*dim, x->dim(), "repeat_interleave") : 0;
  int64_t n = x->dim() ? x->shape()[d] : 1;
  TensorPtr r = repeats;
  if (repeats->numel() == 1) r = expand(reshape(repeats, {1}), {n});
  FASTNN_CHECK(r->dim() == 1 && r->shape()[0] == n,
               "[repeat_interleave] repeats must have the same size as input "
               "along dim, but got repeats.size(0) = ",
               r->dim() ? r->shape()[0] : 1, " and input.size(", d, ") = ", n);
  return index_select(x, d, repeat_interleave(r, output_size));
}

// ---- triangles and diagonals ----

namespace {

TensorPtr triangle(const TensorPtr& t, int64_t k, bool lower) {
  const char* op = lower ? "tril" : "triu";
  check_defined(t, op);
  FASTNN_CHECK(t->dim() >= 2, "[", op, "] ", op, ": input tensor must have at least 2 dimensions");
  int64_t rows = t->shape()[t->dim() - 2], cols = t->shape().back();
  k = std::clamp<int64_t>(k, -rows - 1, cols + 1);  // the same triangle; i + k cannot overflow
  if (t->device().is_cuda()) {                      // on a GPU: the kept triangle as a mask made here, selected there
    TensorPtr keep = Tensor::empty({rows, cols}, DType::Bool, op);
    bool* pk = keep->mutable_data<bool>();
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) pk[i * cols + j] = lower ? j <= i + k : j >= i + k;
    TensorPtr out = where(to_device(keep, t->device()), t->detach(), scalar_tensor(0, t->dtype(), true));
    record_grad_only(lower ? "TrilBackward0" : "TriuBackward0", out, {t},
                     [k, lower](const TensorPtr& g) { return Grads{triangle(g, k, lower)}; });
    return out;
  }
  TensorPtr out = plain_copy(t);
  int64_t matrices = rows > 0 && cols > 0 ? out->numel() / (rows * cols) : 0;
  FASTNN_DISPATCH_BY_SIZE(out->dtype(), [&] {  // zero bits are zero in every dtype
    scalar_t* p = out->mutable_data<scalar_t>();
    parallel_for(matrices * rows, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(cols, 1)),
                 [&](int64_t b, int64_t e) {
                   for (int64_t r = b; r < e; ++r) {
                     int64_t i = r % rows;
                     // tril keeps j <= i + k, triu keeps j >= i + k
                     int64_t lo = lower ? std::clamp<int64_t>(i + k + 1, 0, cols) : 0;
                     int64_t hi = lower ? cols : std::clamp<int64_t>(i + k, 0, cols);
                     std::fill(p + r * cols + lo, p + r * cols + hi, scalar_t(0));
                   }
                 });
  });
  record_grad_only(lower ? "TrilBackward0" : "TriuBackward0", out, {t},
                   [k, lower](const TensorPtr& g) { return Grads{triangle(g, k, lower)}; });
  return out;
}

// (shape, strides, offset) of the diagonal view of `t` (dims already wrapped and distinct).
TensorPtr diagonal_alias(const TensorPtr& t, int64_t offset, int64_t d1, int64_t d2) {
  const Shape& sh = t->shape();
  const Shape& st = t->strides();
  int64_t len = offset >= 0 ? std::min(sh[d1], sh[d2] - offset) : std::min(sh[d1] + offset, sh[d2]);
  len = std::max<int64_t>(len, 0);
  int64_t at = t->offset();
  if (len > 0) at += offset >= 0 ? offset * st[d2] : -offset * st[d1];
  Shape s, strides;
  for (int64_t d = 0; d < t->dim(); ++d)
    if (d != d1 && d != d2) {
      s.push_back(sh[d]);
      strides.push_back(st[d]);
    }
  s.push_back(len);
  strides.push_back(st[d1] + st[d2]);
  return alias(t, s, strides, at);
}

std::pair<int64_t, int64_t> diagonal_dims(int64_t dim1, int64_t dim2, int64_t nd, const char* op) {
  int64_t d1 = wrap_dim(dim1, nd, op), d2 = wrap_dim(dim2, nd, op);
  FASTNN_CHECK(d1 != d2, "[", op, "] diagonal dimensions cannot be identical ", dim1, ", ", dim2);
  return {d1, d2};
}

// A zero tensor of `shape` whose (offset, d1, d2) diagonal holds `values` (no history).
TensorPtr embed_diagonal(const TensorPtr& values, const Shape& shape, int64_t offset, int64_t d1, int64_t d2) {
  TensorPtr out = zeros_on(shape, values->dtype(), values->device());
  write(diagonal_alias(out, offset, d1, d2), values);
  return out;
}

}  // namespace

TensorPtr tril(const TensorPtr& t, int64_t diagonal) { return triangle(t, diagonal, true); }
TensorPtr triu(const TensorPtr& t, int64_t diagonal) { return triangle(t, diagonal, false); }

TensorPtr diagonal(const TensorPtr& t, int64_t offset, int64_t dim1, int64_t dim2) {
  check_defined(t, "diagonal");
  FASTNN_CHECK_INDEX(t->dim() >= 2, "[diagonal] Dimension out of range: diagonal expects at least 2 dimensions, got ",
                     t->dim());
  auto [d1, d2] = diagonal_dims(dim1, dim2, t->dim(), "diagonal");
  TensorPtr out = diagonal_alias(t, offset, d1, d2);
  Shape in = t->shape();
  record_grad_only("DiagonalBackward0", out, {t}, [in, offset, d1 = d1, d2 = d2](const TensorPtr& g) {
    return Grads{embed_diagonal(g, in, offset, d1, d2)};
  });
  return out;
}

TensorPtr diag_embed(const TensorPtr& t, int64_t offset, int64_t dim1, int64_t dim2) {
  check_defined(t, "diag_embed");
  FASTNN_CHECK(t->dim() >= 1, "[diag_embed] expected a tensor with at least 1 dimension, got a 0-d tensor");
  auto [d1, d2] = diagonal_dims(dim1, dim2, t->dim() + 1, "diag_embed");
  int64_t n;
  FASTNN_CHECK(offset != INT64_MIN && !__builtin_add_overflow(t->shape().back(), offset < 0 ? -offset : offset, &n),
               "[diag_embed] offset ", offset, " makes the matrices too large");
  Shape s(t->shape().begin(), t->shape().end() - 1);
  int64_t lo = std::min(d1, d2), hi = std::max(d1, d2);
  s.insert(s.begin() + lo, n);
  s.insert(s.begin() + hi, n);
  TensorPtr out = embed_diagonal(t, s, offset, d1, d2);
  record_grad_only("DiagEmbedBackward0", out, {t}, [offset, d1 = d1, d2 = d2](const TensorPtr& g) {
    return Grads{contiguous(diagonal_alias(g, offset, d1, d2))};
  });
  return out;
}

TensorPtr diag(const TensorPtr& t, int64_t diagonal) {
  check_defined(t, "diag");
  FASTNN_CHECK(t->dim() == 1 || t->dim() == 2, "[diag] diag(): Supports 1D or 2D tensors. Got ", t->dim(), "D");
  if (t->dim() == 1) return diag_embed(t, diagonal, 0, 1);
  TensorPtr out = plain_copy(diagonal_alias(t, diagonal, 0, 1));
  Shape in = t->shape();
  record_grad_only("DiagonalBackward0_copy", out, {t},
                   [in, diagonal](const TensorPtr& g) { return Grads{embed_diagonal(g, in, diagonal, 0, 1)}; });
  return out;
}

// ---- encodings ----

TensorPtr one_hot(const TensorPtr& t, int64_t num_classes) {
  check_defined(t, "one_hot", "tensor");
  FASTNN_CHECK_TYPE(t->dtype() == DType::Int64,
                    "[one_hot] one_hot is only applicable to index tensor of type "
                    "LongTensor.");
  TensorPtr idx = contiguous(to_device(t->detach(), Device{}));  // checked on the host (one copy of a GPU index)
  const int64_t* p = idx->data<int64_t>();
  int64_t n = idx->numel();
  if (num_classes == -1) {
    FASTNN_CHECK(n > 0, "[one_hot] Can not infer total number of classes from empty tensor.");
    num_classes = *std::max_element(p, p + n) + 1;
  }
  for (int64_t i = 0; i < n; ++i) {
    FASTNN_CHECK(p[i] >= 0, "[one_hot] Class values must be non-negative.");
    FASTNN_CHECK(p[i] < num_classes, "[one_hot] Class values must be smaller than num_classes.");
  }
  FASTNN_CHECK(num_classes >= 0, "[one_hot] num_classes should be positive or -1, got ", num_classes);
  Shape s = t->shape();
  s.push_back(num_classes);
  if (t->device().is_cuda()) {  // built on the GPU: class == index, compared there
    GradModeGuard no_grad(false);
    const TensorPtr classes = to_device(arange(0, double(num_classes), 1, DType::Int64), t->device());
    return cast(compare(unsqueeze(t->detach(), -1), classes, CompareOp::Eq), DType::Int64);
  }
  TensorPtr out = zeros(s, DType::Int64);
  int64_t* o = out->mutable_data<int64_t>();
  for (int64_t i = 0; i < n; ++i) o[i * num_classes + p[i]] = 1;
  return out;
}

}  // namespace fastnn
