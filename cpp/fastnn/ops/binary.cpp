// Elementwise binary ops with broadcasting and torch's type promotion; their in-place forms.
#include <cmath>

#include "fastnn/autograd/functions.h"
#include "fastnn/autograd/grad_mode.h"
#include "fastnn/error.h"
#include "fastnn/kernels/cuda/binary.h"
#include "fastnn/ops/binary_rules.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/loops.h"
#include "fastnn/ops/ops.h"

namespace fastnn {
namespace {

// Gradient for an operand: reduced over broadcast dims and converted to the operand's dtype.
TensorPtr grad_for(const TensorPtr& g, const Shape& shape, DType dtype) { return cast(sum_to(g, shape), dtype); }

// out = f(a, b) in the promoted dtype `compute` (result stored as `out_dtype`).
template <class Kernel>
TensorPtr binary_forward(const TensorPtr& a, const TensorPtr& b, DType compute, DType out_dtype, const char* op,
                         const Kernel& kernel) {
  Shape shape = broadcast_shapes(a->shape(), b->shape(), op);
  // A storage dtype computes in its compute dtype (the kernel dispatches on its operands' dtype).
  TensorPtr ac = cast(a, compute_dtype(compute)), bc = cast(b, compute_dtype(compute));
  TensorPtr out = Tensor::empty(shape, compute_dtype(out_dtype), op);
  kernel(*out, *ac, *bc);
  return cast(out, out_dtype);
}

// Records a node whose input gradients need only the output gradient (add, sub).
void record_linear(const char* name, const TensorPtr& out, const TensorPtr& a, const TensorPtr& b, double alpha_b) {
  Shape sa = a->shape(), sb = b->shape();
  DType da = a->dtype(), db = b->dtype();
  bool need_a = any_requires_grad({&a}), need_b = any_requires_grad({&b});
  record_grad_only(
      name, out, {a, b},
      [=](const TensorPtr& g) {
        std::vector<TensorPtr> r(2);
        if (need_a) r[0] = grad_for(g, sa, da);
        if (need_b) r[1] = grad_for(alpha_b == 1 ? g : mul(g, scalar_tensor(alpha_b, DType::Float64, true)), sb, db);
        return r;
      },
      /*differentiable=*/true);
}

// Backward of mul, div and pow: both operands saved (only those whose partner needs a grad).
class ProductBackward : public Node {
 public:
  enum Kind { Mul, Div, Pow };
  // A number base (2 ** x) has no edge, as in torch's PowBackward2: the node's only input is the exponent.
  ProductBackward(Kind kind, const TensorPtr& a, const TensorPtr& b)
      : kind_(kind), number_base_(kind == Pow && a->is_wrapped_number()) {
    bool need_a = any_requires_grad({&a}), need_b = any_requires_grad({&b});
    if (need_b || kind != Mul) a_ = SavedTensor::with_history(a);
    if (need_a || kind != Mul) b_ = SavedTensor::with_history(b);
  }
  bool supports_create_graph() const override { return kind_ != Pow; }
  bool number_base() const { return number_base_; }
  std::string name() const override {
    return kind_ == Mul   ? "MulBackward0"
           : kind_ == Div ? "DivBackward0"
           : number_base_ ? "PowBackward2"
                          : "PowBackward1";
  }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    if (number_base_) return {grads_of_inputs(grads[0], false, needs_input_grad(0))[1]};
    return grads_of_inputs(grads[0], needs_input_grad(0), needs_input_grad(1));
  }
  void release_saved() override {
    a_.reset();
    b_.reset();
  }
  void set_input_meta(const TensorPtr& a, const TensorPtr& b) {
    shapes_[0] = a->shape();
    shapes_[1] = b->shape();
    a_type_ = a->dtype();
    b_type_ = b->dtype();
  }

 private:
  // The gradients of both operands (null where not needed).
  std::vector<TensorPtr> grads_of_inputs(const TensorPtr& g, bool need_a, bool need_b) {
    std::vector<TensorPtr> r(2);
    TensorPtr a = a_.defined() ? a_.unpack(*this) : nullptr, b = b_.defined() ? b_.unpack(*this) : nullptr;
    const Shape& sa = output_shape_of(0);
    const Shape& sb = output_shape_of(1);
    if (kind_ == Mul) {
      if (need_a) r[0] = grad_for(mul(g, b), sa, a_type_);
      if (need_b) r[1] = grad_for(mul(g, a), sb, b_type_);
    } else if (kind_ == Div) {
      if (need_a) r[0] = grad_for(div(g, b), sa, a_type_);
      // -g * ((a / b) / b), as torch: (a * g) / (b * b) underflows to 0 / 0 or overflows for tiny or huge b
      if (need_b) r[1] = grad_for(neg(mul(g, div(div(a, b), b))), sb, b_type_);
    } else {
      // d/da a^b = b * a^(b-1), taken as 0 where b == 0 (also at a == 0);
      // d/db a^b = a^b * log(a), taken as 0 where a == 0 and b >= 0.
      // Computed in the result's dtype: a number operand may be an int or a bool.
      TensorPtr af = cast(a, g->dtype()), bf = cast(b, g->dtype());
      const TensorPtr zero = scalar_tensor(0, g->dtype(), true);
      if (need_a) {
        // g * (b * a^(b-1)) in torch's order: (g * b) underflows for tiny b, then 0 * inf is nan at a == 0
        TensorPtr d = mul(g, mul(bf, pow(af, sub(bf, scalar_tensor(1, DType::Int64, true), 1))));
        r[0] = grad_for(where(compare(bf, zero, CompareOp::Eq), zero, d), sa, a_type_);
      }
      if (need_b) {
        TensorPtr d = mul(g, mul(pow(af, bf), log(af)));
        TensorPtr zero_base = where(compare(bf, zero, CompareOp::Ge), zero, d);  // where a == 0
        r[1] = grad_for(where(compare(af, zero, CompareOp::Eq), zero_base, d), sb, b_type_);
      }
    }
    return r;
  }
  const Shape& output_shape_of(int i) const { return shapes_[i]; }
  Kind kind_;
  bool number_base_;
  SavedTensor a_, b_;
  Shape shapes_[2];
  DType a_type_ = DType::Float32, b_type_ = DType::Float32;
};

TensorPtr product(ProductBackward::Kind kind, const TensorPtr& a, const TensorPtr& b, const TensorPtr& out) {
  if (any_requires_grad({&a, &b})) {
    auto node = std::make_shared<ProductBackward>(kind, a, b);
    node->set_input_meta(a, b);
    if (node->number_base()) record(node, {&b}, {&out});
    else record(node, {&a, &b}, {&out});
  }
  return out;
}

void check_not_bool(const TensorPtr& a, const TensorPtr& b, const char* op) {
  FASTNN_CHECK_TYPE(a->dtype() != DType::Bool || b->dtype() != DType::Bool, "[", op,
                    "] not supported for two bool tensors");
}

// bool + bool is logical or (with a non-zero alpha), bool * bool logical and, as in torch.
template <class F>
TensorPtr bool_arith(const TensorPtr& a, const TensorPtr& b, const char* op, const F& f) {
  return binary_forward(a, b, DType::Bool, DType::Bool, op,
                        [&](Tensor& out, const Tensor& x, const Tensor& y) { map_binary<bool, bool>(out, x, y, f); });
}

template <class F>
TensorPtr arith(const TensorPtr& a, const TensorPtr& b, const char* op, DType compute, const F& f) {
  if (!a->is_cpu() || !b->is_cpu()) {
    if constexpr (F::has_cuda) return arith_cuda(a, b, op, compute, F::cuda_op, f.cuda_alpha());
    FASTNN_CHECK_STATE(false, "[cuda] fastnn has no CUDA kernel for ", op,
                       " yet; move its inputs to the CPU with .cpu()");
  }
  return binary_forward(a, b, compute, compute, op, [&](Tensor& out, const Tensor& x, const Tensor& y) {
    FASTNN_DISPATCH_NUMERIC(x.dtype(), op,
                            [&] { map_binary<scalar_t, scalar_t>(out, x, y, f.template operator()<scalar_t>()); });
  });
}

}  // namespace

// a op b with an operand on a GPU (internal.h).
TensorPtr arith_cuda(const TensorPtr& a, const TensorPtr& b, const char* op, DType dt, cuda::BinaryOp kind,
                     double alpha) {
  FASTNN_CHECK_TYPE(dt != DType::Bool && dt != DType::Float16 && dt != DType::BFloat16 &&
                        (is_floating(dt) || kind != cuda::BinaryOp::Div),
                    "[", op, "] CUDA tensors of dtype ", dtype_name(dt),
                    " are not supported yet (float32, float64 and the integer dtypes are)");
  const Device device = a->is_cpu() ? b->device() : a->device();
  const TensorPtr x = on_device(a, device, dt, op), y = on_device(b, device, dt, op);
  const Shape shape = broadcast_shapes(x->shape(), y->shape(), op);
  TensorPtr out = Tensor::empty(shape, dt, op, device);
  const Shape xs = broadcast_strides(x->shape(), x->strides(), shape),
              ys = broadcast_strides(y->shape(), y->strides(), shape);
  cuda::binary_forward(kind, dt, x->device_data(), xs.data(), y->device_data(), ys.data(), shape.data(),
                       int(shape.size()), alpha, out->numel(), out->device_data(), device.index);
  return out;
}

TensorPtr on_device(const TensorPtr& t, Device device, DType dtype, const char* op) {
  if (t->device() != device) {
    FASTNN_CHECK_STATE(t->is_cpu() && t->dim() == 0, "[", op,
                       "] Expected all tensors to be on the same device, but found at least two devices, ",
                       device.str(), " and ", t->device().str(), "!");
    return to_device(cast(t, dtype), device);
  }
  return cast(t, dtype);
}

DType result_type(std::initializer_list<const Tensor*> operands) {
  // Three priority classes; a lower class only wins when its kind (bool < int < float) is higher.
  int have[3] = {0, 0, 0};
  DType best[3] = {DType::Bool, DType::Bool, DType::Bool};
  for (const Tensor* t : operands) {
    FASTNN_CHECK_TYPE(t != nullptr, "[result_type] expected a Tensor, got None");
    int cls = t->is_wrapped_number() ? 2 : t->dim() == 0 ? 1 : 0;
    best[cls] = have[cls] ? promote(best[cls], t->dtype()) : t->dtype();
    have[cls] = 1;
  }
  if (have[2] && best[2] == DType::Float64) best[2] = default_float_dtype();  // Python floats use the default dtype
  DType r = DType::Bool;
  bool any = false;
  for (int cls = 0; cls < 3; ++cls) {
    if (!have[cls]) continue;
    if (!any || category(best[cls]) > category(r)) r = best[cls];
    any = true;
  }
  return r;
}

// Functor builders for arith(): each returns a lambda for scalar_t. Integers wrap around on overflow.
// has_cuda / cuda_op / cuda_alpha(): the GPU kernel (kernels/cuda/binary.h) computing the same thing.
struct AddF {
  double alpha;
  static constexpr bool has_cuda = true;
  static constexpr cuda::BinaryOp cuda_op = cuda::BinaryOp::Add;
  double cuda_alpha() const { return alpha; }
  template <class T> auto operator()() const {
    T al = convert<T>(alpha);
    return [al](T x, T y) { return wrapping_add(x, wrapping_mul(al, y)); };
  }
};
struct AddOneF {
  static constexpr bool has_cuda = true;
  static constexpr cuda::BinaryOp cuda_op = cuda::BinaryOp::Add;
  double cuda_alpha() const { return 1; }
  template <class T> auto operator()() const {
    return [](T x, T y) { return wrapping_add(x, y); };
  }
};
struct SubF {
  double alpha;
  static constexpr bool has_cuda = true;
  static constexpr cuda::BinaryOp cuda_op = cuda::BinaryOp::Sub;
  double cuda_alpha() const { return alpha; }
  template <class T> auto operator()() const {
    T al = convert<T>(alpha);
    return [al](T x, T y) { return wrapping_sub(x, wrapping_mul(al, y)); };
  }
};
struct SubOneF {
  static constexpr bool has_cuda = true;
  static constexpr cuda::BinaryOp cuda_op = cuda::BinaryOp::Sub;
  double cuda_alpha() const { return 1; }
  template <class T> auto operator()() const {
    return [](T x, T y) { return wrapping_sub(x, y); };
  }
};
struct MulF {
  static constexpr bool has_cuda = true;
  static constexpr cuda::BinaryOp cuda_op = cuda::BinaryOp::Mul;
  double cuda_alpha() const { return 1; }
  template <class T> auto operator()() const {
    return [](T x, T y) { return wrapping_mul(x, y); };
  }
};
struct DivF {
  static constexpr bool has_cuda = true;
  static constexpr cuda::BinaryOp cuda_op = cuda::BinaryOp::Div;
  double cuda_alpha() const { return 1; }
  template <class T> auto operator()() const {
    return [](T x, T y) { return x / y; };
  }
};
struct PowF {  // (negative integer exponents are refused by pow())
  static constexpr bool has_cuda = true;
  static constexpr cuda::BinaryOp cuda_op = cuda::BinaryOp::Pow;
  double cuda_alpha() const { return 1; }
  template <class T> auto operator()() const {
    return [](T x, T y) { return rules::pow_of(x, y); };
  }
};

// torch refuses a fractional alpha when the result is an integer (it would be truncated), and fastnn one
// that int64 cannot hold (converting it would be undefined).
static void check_alpha(DType dt, double alpha, const char* op) {
  if (is_floating(dt)) return;
  FASTNN_CHECK_TYPE(alpha == std::floor(alpha) && std::isfinite(alpha), "[", op,
                    "] for integral input tensors, "
                    "argument alpha must not be a floating point number, got ",
                    alpha);
  FASTNN_CHECK(std::fabs(alpha) < 9.2e18, "[", op, "] alpha ", alpha, " does not fit in int64");
}

TensorPtr add(const TensorPtr& a, const TensorPtr& b, double alpha) {
  check_defined(a, "add");
  check_defined(b, "add", "other");
  DType dt = result_type({a.get(), b.get()});
  check_alpha(dt, alpha, "add");
  if (dt == DType::Bool) {
    if (alpha == 0) return bool_arith(a, b, "add", [](bool x, bool) { return x; });
    return bool_arith(a, b, "add", [](bool x, bool y) { return x || y; });
  }
  TensorPtr out = alpha == 1 ? arith(a, b, "add", dt, AddOneF{}) : arith(a, b, "add", dt, AddF{alpha});
  if (any_requires_grad({&a, &b})) record_linear("AddBackward0", out, a, b, alpha);
  return out;
}

namespace {
TensorPtr sub_values(const TensorPtr& a, const TensorPtr& b, double alpha) {
  check_defined(a, "sub");
  check_defined(b, "sub", "other");
  FASTNN_CHECK_TYPE(a->dtype() != DType::Bool && b->dtype() != DType::Bool,
                    "[sub] subtraction with a bool tensor is not supported; use logical_xor or ~ instead");
  DType dt = result_type({a.get(), b.get()});
  check_alpha(dt, alpha, "sub");
  return alpha == 1 ? arith(a, b, "sub", dt, SubOneF{}) : arith(a, b, "sub", dt, SubF{alpha});
}
}  // namespace

TensorPtr sub(const TensorPtr& a, const TensorPtr& b, double alpha) {
  TensorPtr out = sub_values(a, b, alpha);
  if (any_requires_grad({&a, &b})) record_linear("SubBackward0", out, a, b, -alpha);
  return out;
}

TensorPtr rsub(const TensorPtr& a, const TensorPtr& other) {
  check_defined(other, "sub");
  if (!other->is_wrapped_number()) return sub(other, a, 1);
  TensorPtr out = sub_values(other, a, 1);
  Shape sa = a->shape();
  DType da = a->dtype();
  record_grad_only(
      "RsubBackward1", out, {a}, [=](const TensorPtr& g) { return std::vector<TensorPtr>{grad_for(neg(g), sa, da)}; },
      /*differentiable=*/true);
  return out;
}

TensorPtr mul(const TensorPtr& a, const TensorPtr& b) {
  check_defined(a, "mul");
  check_defined(b, "mul", "other");
  const DType dt = result_type({a.get(), b.get()});
  if (dt == DType::Bool) return bool_arith(a, b, "mul", [](bool x, bool y) { return x && y; });
  return product(ProductBackward::Mul, a, b, arith(a, b, "mul", dt, MulF{}));
}

TensorPtr div(const TensorPtr& a, const TensorPtr& b) {
  check_defined(a, "div");
  check_defined(b, "div", "other");
  DType dt = result_type({a.get(), b.get()});
  if (!is_floating(dt)) dt = default_float_dtype();  // true division
  return product(ProductBackward::Div, a, b, arith(a, b, "div", dt, DivF{}));
}

TensorPtr pow(const TensorPtr& a, const TensorPtr& b) {
  check_defined(a, "pow");
  check_defined(b, "pow", "exponent");
  check_not_bool(a, b, "pow");
  DType dt = result_type({a.get(), b.get()});
  // An empty result computes no power, so an empty base with a negative exponent is fine (as in torch).
  if (!is_floating(dt) && b->numel() > 0 && checked_numel(broadcast_shapes(a->shape(), b->shape(), "pow"), "pow") > 0) {
    TensorPtr neg_exp = compare(b, scalar_tensor(0, DType::Int64, true), CompareOp::Lt);
    FASTNN_CHECK(host_int64(any(neg_exp, {}, false)) == 0, "[pow] integers to negative integer powers are not allowed");
  }
  return product(ProductBackward::Pow, a, b, arith(a, b, "pow", dt, PowF{}));
}

TensorPtr compare(const TensorPtr& a, const TensorPtr& b, CompareOp op) {
  static const char* names[] = {"eq", "ne", "lt", "le", "gt", "ge"};
  const char* name = names[int(op)];
  check_defined(a, name);
  check_defined(b, name, "other");
  DType dt = result_type({a.get(), b.get()});
  if (!a->is_cpu() || !b->is_cpu()) {  // on a GPU: float32, float64 and int64 (bool and integers as int64)
    if (!is_floating(dt)) dt = DType::Int64;
    FASTNN_CHECK_TYPE(dt != DType::Float16 && dt != DType::BFloat16, "[", name, "] CUDA tensors of dtype ",
                      dtype_name(dt), " are not supported yet (float32, float64 and int64 are)");
    const Device device = a->is_cpu() ? b->device() : a->device();
    const TensorPtr x = on_device(a, device, dt, name), y = on_device(b, device, dt, name);
    const Shape shape = broadcast_shapes(x->shape(), y->shape(), name);
    TensorPtr out = Tensor::empty(shape, DType::Bool, name, device);
    const Shape xs = broadcast_strides(x->shape(), x->strides(), shape),
                ys = broadcast_strides(y->shape(), y->strides(), shape);
    cuda::compare_forward(cuda::CompareKind(int(op)), dt, x->device_data(), xs.data(), y->device_data(), ys.data(),
                          shape.data(), int(shape.size()), out->numel(), static_cast<bool*>(out->device_data()),
                          device.index);
    return out;
  }
  return binary_forward(a, b, dt, DType::Bool, name, [&](Tensor& out, const Tensor& x, const Tensor& y) {
    FASTNN_DISPATCH_ALL(x.dtype(), name, [&] {
      switch (op) {
        case CompareOp::Eq: map_binary<scalar_t, bool>(out, x, y, [](scalar_t p, scalar_t q) { return p == q; }); break;
        case CompareOp::Ne: map_binary<scalar_t, bool>(out, x, y, [](scalar_t p, scalar_t q) { return p != q; }); break;
        case CompareOp::Lt: map_binary<scalar_t, bool>(out, x, y, [](scalar_t p, scalar_t q) { return p < q; }); break;
        case CompareOp::Le: map_binary<scalar_t, bool>(out, x, y, [](scalar_t p, scalar_t q) { return p <= q; }); break;
        case CompareOp::Gt: map_binary<scalar_t, bool>(out, x, y, [](scalar_t p, scalar_t q) { return p > q; }); break;
        case CompareOp::Ge: map_binary<scalar_t, bool>(out, x, y, [](scalar_t p, scalar_t q) { return p >= q; }); break;
      }
    });
  });
}

// ---- in-place forms: direct kernel when autograd is not involved, else via the out-of-place op ----

namespace {
template <class F>
void inplace_arith(TensorPtr& self, const TensorPtr& other, const char* op, const F& f,
                   const std::function<TensorPtr(const TensorPtr&)>& out_of_place) {
  if (any_requires_grad({&self, &other})) {
    inplace_with_history(self, op, true, out_of_place);
    return;
  }
  if (!self->is_cpu() || !other->is_cpu()) {  // on a GPU: the out-of-place op's result written back
    inplace_with_history(self, op, false, out_of_place);
    return;
  }
  check_inplace(self, op);
  check_inplace_shape(self, broadcast_shapes(self->shape(), other->shape(), op), op);
  DType dt = result_type({self.get(), other.get()});
  FASTNN_CHECK_TYPE(category(dt) <= category(self->dtype()), "[", op, "] result type ", dtype_name(dt),
                    " can't be cast to the desired output type ", dtype_name(self->dtype()));
  // Compute in the promoted dtype and round once, as torch (float32 x *= float64 y); a storage dtype
  // computes in its compute dtype, bool through the out-of-place op's logical form.
  if (dt != self->dtype() || is_storage_dtype(dt) || dt == DType::Bool) {
    inplace_with_history(self, op, false, out_of_place);
    return;
  }
  // Read `other` in self's dtype; a copy when it overlaps self through another layout.
  TensorPtr o = cast(other, self->dtype());
  if (o->storage() == self->storage() && o != self) o = clone(o);
  FASTNN_DISPATCH_NUMERIC(self->dtype(), op,
                          [&] { map_binary<scalar_t, scalar_t>(*self, *self, *o, f.template operator()<scalar_t>()); });
  self->bump_version();
}
}  // namespace

void add_(TensorPtr& self, const TensorPtr& other, double alpha) {
  check_defined(self, "add_", "self");
  check_defined(other, "add_", "other");
  check_alpha(self->dtype(), alpha, "add_");
  auto oop = [&](const TensorPtr& s) { return add(s, other, alpha); };
  if (alpha == 1) inplace_arith(self, other, "add_", AddOneF{}, oop);
  else inplace_arith(self, other, "add_", AddF{alpha}, oop);
}

void sub_(TensorPtr& self, const TensorPtr& other, double alpha) {
  check_defined(self, "sub_", "self");
  check_defined(other, "sub_", "other");
  FASTNN_CHECK_TYPE(self->dtype() != DType::Bool && other->dtype() != DType::Bool,
                    "[sub_] subtraction with a bool tensor is not supported; use logical_xor or ~ instead");
  check_alpha(self->dtype(), alpha, "sub_");
  inplace_arith(self, other, "sub_", SubF{alpha}, [&](const TensorPtr& s) { return sub(s, other, alpha); });
}

void mul_(TensorPtr& self, const TensorPtr& other) {
  check_defined(self, "mul_", "self");
  check_defined(other, "mul_", "other");
  inplace_arith(self, other, "mul_", MulF{}, [&](const TensorPtr& s) { return mul(s, other); });
}

void div_(TensorPtr& self, const TensorPtr& other) {
  check_defined(self, "div_", "self");
  check_defined(other, "div_", "other");
  FASTNN_CHECK_TYPE(is_floating(self->dtype()), "[div_] result type Float can't be cast to the desired output type ",
                    dtype_name(self->dtype()));
  inplace_arith(self, other, "div_", DivF{}, [&](const TensorPtr& s) { return div(s, other); });
}

}  // namespace fastnn
