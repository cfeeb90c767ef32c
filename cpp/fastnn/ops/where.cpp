// Selection by a bool condition: where, masked_fill (and masked_fill_), nonzero.
#include "fastnn/autograd/functions.h"
#include "fastnn/autograd/node.h"
#include "fastnn/error.h"
#include "fastnn/kernels/cuda/binary.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/loops.h"
#include "fastnn/ops/ops.h"

namespace fastnn {
namespace {

TensorPtr grad_for(const TensorPtr& g, const Shape& shape, DType dtype) { return cast(sum_to(g, shape), dtype); }

// out = cond ? a : b elementwise, cond (bool), a and b (out's dtype) broadcast to out's shape.
template <class T>
void select_kernel(Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) {
  T* po = out.mutable_data<T>();
  const bool* pc = cond.data<bool>();
  const T *pa = a.data<T>(), *pb = b.data<T>();
  if (dense_like(out, {&cond, &a, &b}))
    return parallel_for(out.numel(), kGrainSize, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) po[i] = pc[i] ? pa[i] : pb[i];
    });
  const Shape& s = out.shape();
  auto L =
      make_loop<4>(s, {out.strides(), broadcast_strides(cond.shape(), cond.strides(), s),
                       broadcast_strides(a.shape(), a.strides(), s), broadcast_strides(b.shape(), b.strides(), s)});
  for_each_run<4>(L, [&](const std::array<int64_t, 4>& off, const std::array<int64_t, 4>& st, int64_t n) {
    T* o = po + off[0];
    const bool* c = pc + off[1];
    const T *x = pa + off[2], *y = pb + off[3];
    for (int64_t i = 0; i < n; ++i) o[i * st[0]] = c[i * st[1]] ? x[i * st[2]] : y[i * st[3]];
  });
}

// cond ? a : b with a and b converted to `dt`, of the broadcast shape of all three; no autograd record.
TensorPtr select_values(const TensorPtr& cond, const TensorPtr& a, const TensorPtr& b, DType dt, const char* op) {
  Shape shape = broadcast_shapes(broadcast_shapes(cond->shape(), a->shape(), op), b->shape(), op);
  if (!cond->is_cpu() || !a->is_cpu() || !b->is_cpu()) {  // on a GPU; CPU 0-d operands (numbers) join there
    const Device device = !cond->is_cpu() ? cond->device() : !a->is_cpu() ? a->device() : b->device();
    const TensorPtr c = on_device(cond, device, DType::Bool, op), ac = on_device(a, device, dt, op),
                    bc = on_device(b, device, dt, op);
    TensorPtr out = Tensor::empty(shape, dt, op, device);
    const Shape cs = broadcast_strides(c->shape(), c->strides(), shape),
                as = broadcast_strides(ac->shape(), ac->strides(), shape),
                bs = broadcast_strides(bc->shape(), bc->strides(), shape);
    cuda::select_forward(static_cast<const bool*>(c->device_data()), cs.data(), ac->device_data(), as.data(),
                         bc->device_data(), bs.data(), shape.data(), int(shape.size()), out->numel(), itemsize(dt),
                         out->device_data(), device.index);
    return out;
  }
  TensorPtr ac = cast(a, dt), bc = cast(b, dt);
  TensorPtr out = Tensor::empty(shape, dt, op);
  FASTNN_DISPATCH_BY_SIZE(dt, [&] { select_kernel<scalar_t>(*out, *cond, *ac, *bc); });
  return out;
}

// g where `cond` is `keep`, zero elsewhere (the gradient of one side of a selection).
TensorPtr masked_grad(const TensorPtr& cond, const TensorPtr& g, bool keep) {
  TensorPtr zero = scalar_tensor(0, g->dtype(), false);
  return keep ? select_values(cond, g, zero, g->dtype(), "where") : select_values(cond, zero, g, g->dtype(), "where");
}

void check_bool_mask(const TensorPtr& mask, const char* op, const char* what) {
  FASTNN_CHECK_TYPE(mask->dtype() == DType::Bool, "[", op, "] expected ", what,
                    " to be a boolean tensor, but got a tensor with dtype ", dtype_name(mask->dtype()));
}

// Gradients of where and masked_fill: `first` gets g where cond is `first_when`, `second` elsewhere.
class SelectBackward : public Node {
 public:
  SelectBackward(const char* name, const TensorPtr& cond, const TensorPtr& first, const TensorPtr& second,
                 bool first_when)
      : name_(name),
        cond_(cond),
        first_when_(first_when),
        s1_(first->shape()),
        s2_(second->shape()),
        d1_(first->dtype()),
        d2_(second->dtype()) {}
  std::string name() const override { return name_; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr cond = cond_.unpack(*this);
    std::vector<TensorPtr> r(2);
    if (needs_input_grad(0)) r[0] = grad_for(masked_grad(cond, grads[0], first_when_), s1_, d1_);
    if (needs_input_grad(1)) r[1] = grad_for(masked_grad(cond, grads[0], !first_when_), s2_, d2_);
    return r;
  }
  void release_saved() override { cond_.reset(); }

 private:
  const char* name_;
  SavedTensor cond_;
  bool first_when_;
  Shape s1_, s2_;
  DType d1_, d2_;
};

}  // namespace

TensorPtr where(const TensorPtr& cond, const TensorPtr& a, const TensorPtr& b) {
  check_defined(cond, "where", "condition");
  check_defined(a, "where", "input");
  check_defined(b, "where", "other");
  check_bool_mask(cond, "where", "condition");
  TensorPtr out = select_values(cond, a, b, result_type({a.get(), b.get()}), "where");
  if (any_requires_grad({&a, &b}))
    record(std::make_shared<SelectBackward>("WhereBackward0", cond, a, b, true), {&a, &b}, {&out});
  return out;
}

TensorPtr masked_fill(const TensorPtr& self, const TensorPtr& mask, const TensorPtr& value) {
  check_defined(self, "masked_fill");
  check_defined(mask, "masked_fill", "mask");
  check_defined(value, "masked_fill", "value");
  FASTNN_CHECK_TYPE(mask->dtype() == DType::Bool, "[masked_fill] only supports boolean masks, but got mask with dtype ",
                    dtype_name(mask->dtype()));
  FASTNN_CHECK(value->dim() == 0, "[masked_fill] only supports a 0-dimensional value tensor, but got tensor with ",
               value->dim(), " dimension(s).");
  TensorPtr v = scalar_as(value, self->dtype(), "masked_fill");  // the result keeps self's dtype
  TensorPtr out = select_values(mask, v, self, self->dtype(), "masked_fill");
  if (value->is_wrapped_number()) {  // a number has no edge
    Shape s = self->shape();
    DType d = self->dtype();
    TensorPtr m = mask;
    record_grad_only("MaskedFillBackward0", out, {self}, [=](const TensorPtr& g) {
      return std::vector<TensorPtr>{grad_for(masked_grad(m, g, false), s, d)};
    });
  } else if (any_requires_grad({&self, &value})) {
    record(std::make_shared<SelectBackward>("MaskedFillBackward1", mask, self, value, false), {&self, &value}, {&out});
  }
  return out;
}

void masked_fill_(TensorPtr& self, const TensorPtr& mask, const TensorPtr& value) {
  check_defined(self, "masked_fill_", "self");
  check_defined(mask, "masked_fill_", "mask");
  check_defined(value, "masked_fill_", "value");
  check_inplace_shape(self, broadcast_shapes(self->shape(), mask->shape(), "masked_fill_"), "masked_fill_");
  inplace_with_history(self, "masked_fill_", any_requires_grad({&self, &value}),
                       [&](const TensorPtr& s) { return masked_fill(s, mask, value); });
}

TensorPtr nonzero(const TensorPtr& x_in) {
  check_defined(x_in, "nonzero");
  // On a GPU: found on the host (the result's size depends on the values, so torch's waits for them too).
  if (x_in->device().is_cuda()) return to_device(nonzero(to_device(x_in->detach(), Device{})), x_in->device());
  TensorPtr x = contiguous(x_in->detach());
  const int64_t nd = x->dim(), numel = x->numel();
  TensorPtr nz = cast(x, DType::Bool);  // nonzero, nan included
  const bool* p = nz->data<bool>();
  int64_t count = 0;
  for (int64_t i = 0; i < numel; ++i) count += p[i];
  TensorPtr out = Tensor::empty({count, nd}, DType::Int64, "nonzero");
  int64_t* o = out->mutable_data<int64_t>();
  Shape idx(nd, 0);  // the multi-index of element i, advanced as an odometer
  for (int64_t i = 0; i < numel; ++i) {
    if (p[i]) o = std::copy(idx.begin(), idx.end(), o);
    for (int64_t d = nd - 1; d >= 0; --d) {
      if (++idx[d] < x->shape()[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

}  // namespace fastnn
