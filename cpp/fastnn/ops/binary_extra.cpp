// More elementwise binary ops with broadcasting and torch's type promotion: maximum/minimum, fmod,
// remainder, floor_divide, atan2, the logical ops, and the closeness tests (isclose, allclose, equal).
#include <cmath>

#include "fastnn/autograd/functions.h"
#include "fastnn/autograd/node.h"
#include "fastnn/error.h"
#include "fastnn/ops/binary_rules.h"
#include "fastnn/ops/bitwise.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/loops.h"
#include "fastnn/ops/ops.h"

namespace fastnn {
namespace {

// Gradient for an operand: reduced over broadcast dims and converted to the operand's dtype.
TensorPtr grad_for(const TensorPtr& g, const Shape& shape, DType dtype) { return cast(sum_to(g, shape), dtype); }

void check_operands(const TensorPtr& a, const TensorPtr& b, const char* op) {
  check_defined(a, op);
  check_defined(b, op, "other");
}

// out = make<scalar_t>()(a, b) elementwise, both read as `dt` (the result dtype; bool only WithBool).
template <bool WithBool = false, class Make>
TensorPtr binary_op(const TensorPtr& a, const TensorPtr& b, DType dt, const char* op, const Make& make) {
  if (!a->is_cpu() || !b->is_cpu()) {
    if constexpr (Make::has_cuda) return arith_cuda(a, b, op, dt, make.cuda_kind(), 1);
    FASTNN_CHECK_STATE(false, "[cuda] fastnn has no CUDA kernel for ", op,
                       " yet; move its inputs to the CPU with .cpu()");
  }
  Shape shape = broadcast_shapes(a->shape(), b->shape(), op);
  const DType storage = dt;  // a storage dtype computes in its compute dtype and rounds once
  dt = compute_dtype(dt);
  TensorPtr ac = cast(a, dt), bc = cast(b, dt);
  TensorPtr out = Tensor::empty(shape, dt, op);
  auto run = [&](auto zero) {
    using scalar_t = decltype(zero);
    map_binary<scalar_t, scalar_t>(*out, *ac, *bc, make.template operator()<scalar_t>());
  };
  if constexpr (WithBool) {
    if (dt == DType::Bool) {
      run(false);
      return out;
    }
  }
  FASTNN_DISPATCH_NUMERIC(dt, op, [&] { run(scalar_t(0)); });
  return cast(out, storage);
}

// True when every element of the bool tensor t is true (an empty t included).
bool all_true(const TensorPtr& t) { return t->numel() == 0 || host_int64(all(t, {}, false)) == 1; }

// Integer division by zero is an error in torch (floats give inf or nan).
void check_no_int_zero(const TensorPtr& b, DType dt, const char* op) {
  if (is_floating(dt) || b->numel() == 0) return;
  TensorPtr zero = compare(b, scalar_tensor(0, DType::Int64, true), CompareOp::Eq);
  FASTNN_CHECK(!host_int64(any(zero, {}, false)), "[", op, "] ZeroDivisionError");
}

DType integer_division_type(const TensorPtr& a, const TensorPtr& b, const char* op) {
  DType dt = result_type({a.get(), b.get()});
  FASTNN_CHECK_TYPE(dt != DType::Bool, "[", op, "] not supported for bool tensors");
  return dt;
}

// Functors for binary_op(): a lambda for scalar_t (the rule in binary_rules.h) and the GPU kernel computing it.
#define FASTNN_BINARY_RULE(Name, rule, kind)                          \
  struct Name {                                                       \
    static constexpr bool has_cuda = true;                            \
    cuda::BinaryOp cuda_kind() const { return cuda::BinaryOp::kind; } \
    template <class T> auto operator()() const {                      \
      return [](T x, T y) { return rules::rule(x, y); };              \
    }                                                                 \
  };
FASTNN_BINARY_RULE(FloorDivideF, floor_div, FloorDivide)
FASTNN_BINARY_RULE(FmodF, fmod_of, Fmod)
FASTNN_BINARY_RULE(RemainderF, remainder_of, Remainder)
FASTNN_BINARY_RULE(TruncDivF, trunc_div, TruncDiv)
FASTNN_BINARY_RULE(Atan2F, atan2_of, Atan2)
#undef FASTNN_BINARY_RULE

// max/min propagating nan (from either side), as torch.maximum.
template <bool IsMax>
struct ExtremeF {
  static constexpr bool has_cuda = false;  // (extreme() calls the GPU kernel itself)
  template <class T> auto operator()() const {
    return [](T x, T y) {
      if constexpr (std::is_floating_point_v<T>) {
        if (x != x) return x;
        if (y != y) return y;
      }
      return (IsMax ? x > y : x < y) ? x : y;
    };
  }
};

// maximum/minimum: the larger (smaller) operand gets the gradient, ties split it in halves; where
// either is nan both get it (as torch's where(a == b, g / 2, g) masked where the other wins).
class ExtremeBackward : public Node {
 public:
  ExtremeBackward(bool is_max, const TensorPtr& a, const TensorPtr& b)
      : is_max_(is_max), a_(a), b_(b), sa_(a->shape()), sb_(b->shape()), da_(a->dtype()), db_(b->dtype()) {}
  std::string name() const override { return is_max_ ? "MaximumBackward0" : "MinimumBackward0"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    const TensorPtr& g = grads[0];
    TensorPtr a = cast(a_.unpack(*this), g->dtype()), b = cast(b_.unpack(*this), g->dtype());
    std::vector<TensorPtr> r(2);
    for (int side = 0; side < 2; ++side) {
      if (!needs_input_grad(side)) continue;
      // this operand loses where (max) it is smaller than the other one
      bool lose_if_less = is_max_;
      const TensorPtr& self = side == 0 ? a : b;
      const TensorPtr& other = side == 0 ? b : a;
      if (g->device().is_cuda()) {  // the same rule as GPU ops: where(s == o, g / 2, where(s loses, 0, g))
        const TensorPtr zero = scalar_tensor(0, g->dtype(), true);
        const TensorPtr kept = where(compare(self, other, lose_if_less ? CompareOp::Lt : CompareOp::Gt), zero, g);
        const TensorPtr out =
            where(compare(self, other, CompareOp::Eq), mul(g, scalar_tensor(0.5, g->dtype(), true)), kept);
        r[side] = side == 0 ? grad_for(out, sa_, da_) : grad_for(out, sb_, db_);
        continue;
      }
      TensorPtr out = Tensor::empty(g->shape(), g->dtype());
      FASTNN_DISPATCH_FLOAT(g->dtype(), name().c_str(), [&] {
        map_ternary<scalar_t>(*out, *g, *self, *other, [lose_if_less](scalar_t g, scalar_t s, scalar_t o) {
          if (s == o) return g / 2;
          return (lose_if_less ? s < o : s > o) ? scalar_t(0) : g;
        });
      });
      r[side] = side == 0 ? grad_for(out, sa_, da_) : grad_for(out, sb_, db_);
    }
    return r;
  }
  void release_saved() override {
    a_.reset();
    b_.reset();
  }

 private:
  bool is_max_;
  SavedTensor a_, b_;
  Shape sa_, sb_;
  DType da_, db_;
};

TensorPtr extreme(const TensorPtr& a, const TensorPtr& b, bool is_max) {
  const char* op = is_max ? "maximum" : "minimum";
  check_operands(a, b, op);
  DType dt = result_type({a.get(), b.get()});
  TensorPtr out = !a->is_cpu() || !b->is_cpu()
                      ? arith_cuda(a, b, op, dt, is_max ? cuda::BinaryOp::Max : cuda::BinaryOp::Min, 1.0)
                  : is_max ? binary_op<true>(a, b, dt, op, ExtremeF<true>{})
                           : binary_op<true>(a, b, dt, op, ExtremeF<false>{});
  if (any_requires_grad({&a, &b})) record(std::make_shared<ExtremeBackward>(is_max, a, b), {&a, &b}, {&out});
  return out;
}

// fmod/remainder with a tensor divisor: d/da = 1, d/db = -(a / b rounded as the op rounds: trunc or floor).
class ModBackward : public Node {
 public:
  ModBackward(bool floor, const TensorPtr& a, const TensorPtr& b)
      : floor_(floor), a_(a), b_(b), sa_(a->shape()), sb_(b->shape()), da_(a->dtype()), db_(b->dtype()) {}
  std::string name() const override { return floor_ ? "RemainderBackward1" : "FmodBackward1"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    const TensorPtr& g = grads[0];
    std::vector<TensorPtr> r(2);
    if (needs_input_grad(0)) r[0] = grad_for(g, sa_, da_);
    if (needs_input_grad(1)) {
      TensorPtr a = a_.unpack(*this), b = b_.unpack(*this);
      TensorPtr q = floor_ ? binary_op(a, b, g->dtype(), "remainder", FloorDivideF{})
                           : binary_op(a, b, g->dtype(), "fmod", TruncDivF{});
      r[1] = grad_for(neg(mul(g, q)), sb_, db_);
    }
    return r;
  }
  void release_saved() override {
    a_.reset();
    b_.reset();
  }

 private:
  bool floor_;
  SavedTensor a_, b_;
  Shape sa_, sb_;
  DType da_, db_;
};

// A node standing for an op torch has no derivative for: backward through it is an error.
void record_not_implemented(const char* op, const TensorPtr& out, const TensorPtr& a, const TensorPtr& b) {
  std::string name = op;
  record_grad_only("NotImplemented", out, {a, b}, [name](const TensorPtr&) -> std::vector<TensorPtr> {
    throw std::runtime_error(str("[", name, "] the derivative for '", name, "' is not implemented"));
  });
}

TensorPtr modulo(const TensorPtr& a, const TensorPtr& b, bool floor) {
  const char* op = floor ? "remainder" : "fmod";
  check_operands(a, b, op);
  DType dt = integer_division_type(a, b, op);
  check_no_int_zero(b, dt, op);
  TensorPtr out = floor ? binary_op(a, b, dt, op, RemainderF{}) : binary_op(a, b, dt, op, FmodF{});
  if (!any_requires_grad({&a, &b})) return out;
  if (a->is_wrapped_number()) {
    record_not_implemented(op, out, a, b);  // remainder(number, tensor), 5 % x
  } else if (b->is_wrapped_number()) {
    Shape sa = a->shape();
    DType da = a->dtype();
    record_grad_only(floor ? "RemainderBackward0" : "FmodBackward0", out, {a},
                     [=](const TensorPtr& g) { return std::vector<TensorPtr>{grad_for(g, sa, da)}; });
  } else {
    record(std::make_shared<ModBackward>(floor, a, b), {&a, &b}, {&out});
  }
  return out;
}

class Atan2Backward : public Node {
 public:
  Atan2Backward(const TensorPtr& a, const TensorPtr& b)
      : a_(a), b_(b), sa_(a->shape()), sb_(b->shape()), da_(a->dtype()), db_(b->dtype()) {}
  std::string name() const override { return "Atan2Backward0"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    const TensorPtr& g = grads[0];
    TensorPtr a = cast(a_.unpack(*this), g->dtype()), b = cast(b_.unpack(*this), g->dtype());
    TensorPtr scale = div(g, add(mul(a, a), mul(b, b), 1));  // g / (a^2 + b^2)
    std::vector<TensorPtr> r(2);
    if (needs_input_grad(0)) r[0] = grad_for(mul(scale, b), sa_, da_);
    if (needs_input_grad(1)) r[1] = grad_for(neg(mul(scale, a)), sb_, db_);
    return r;
  }
  void release_saved() override {
    a_.reset();
    b_.reset();
  }

 private:
  SavedTensor a_, b_;
  Shape sa_, sb_;
  DType da_, db_;
};

enum class Logical { And, Or, Xor };

TensorPtr logical(const TensorPtr& a, const TensorPtr& b, Logical kind, const char* op) {
  check_operands(a, b, op);
  Shape shape = broadcast_shapes(a->shape(), b->shape(), op);
  TensorPtr ab = cast(a->detach(), DType::Bool), bb = cast(b->detach(), DType::Bool);  // nonzero (nan too) is true
  if (!a->is_cpu() || !b->is_cpu()) {  // on a GPU: selects and a comparison of the bools
    common_device({&a, &b}, op);
    return kind == Logical::And  ? where(ab, bb, ab)
           : kind == Logical::Or ? where(ab, ab, bb)
                                 : compare(ab, bb, CompareOp::Ne);
  }
  TensorPtr out = Tensor::empty(shape, DType::Bool, op);
  map_binary<bool, bool>(*out, *ab, *bb, [kind](bool x, bool y) {
    return kind == Logical::And ? x && y : kind == Logical::Or ? x || y : x != y;
  });
  return out;
}

enum class Bitwise { And, Or, Xor };

struct BitwiseF {
  Bitwise kind;
  static constexpr bool has_cuda = true;
  cuda::BinaryOp cuda_kind() const {
    return kind == Bitwise::And  ? cuda::BinaryOp::BitAnd
           : kind == Bitwise::Or ? cuda::BinaryOp::BitOr
                                 : cuda::BinaryOp::BitXor;
  }
  template <class T> auto operator()() const {
    return [k = kind](T x, T y) -> T {
      if constexpr (std::is_integral_v<T>) return k == Bitwise::And ? T(x & y) : k == Bitwise::Or ? T(x | y) : T(x ^ y);
      else return T(0);  // not reached: floating operands are refused first
    };
  }
};

void check_not_floating(DType dt, const char* op) {
  FASTNN_CHECK_TYPE(!is_floating(dt), "[", op, "] \"", op, "_cpu\" not implemented for '", dtype_name(dt),
                    "' (integer and bool tensors only)");
}

TensorPtr bitwise(const TensorPtr& a, const TensorPtr& b, Bitwise kind, const char* op) {
  check_operands(a, b, op);
  DType dt = result_type({a.get(), b.get()});
  check_not_floating(dt, op);
  if ((!a->is_cpu() || !b->is_cpu()) && dt == DType::Bool)
    return logical(a, b, kind == Bitwise::And ? Logical::And : kind == Bitwise::Or ? Logical::Or : Logical::Xor, op);
  return binary_op<true>(a, b, dt, op, BitwiseF{kind});
}

// |a - b| <= atol + |rtol * b| (finite), or a == b, or both nan with equal_nan; computed in T
// (float32 for int64 inputs, torch's default dtype), bools compared for equality.
template <class S, class T>
void isclose_kernel(Tensor& out, const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan) {
  T rt = T(rtol), at = T(atol);
  map_binary<S, bool>(out, a, b, [=](S x, S y) {
    if (x == y) return true;
    if constexpr (std::is_same_v<S, bool>) {
      return false;
    } else {
      T xf = T(x), yf = T(y);
      if (equal_nan && xf != xf && yf != yf) return true;
      T actual = std::abs(xf - yf);
      return std::isfinite(actual) && actual <= at + std::abs(rt * yf);
    }
  });
}

}  // namespace

TensorPtr maximum(const TensorPtr& a, const TensorPtr& b) { return extreme(a, b, true); }
TensorPtr minimum(const TensorPtr& a, const TensorPtr& b) { return extreme(a, b, false); }
TensorPtr fmod(const TensorPtr& a, const TensorPtr& b) { return modulo(a, b, false); }
TensorPtr remainder(const TensorPtr& a, const TensorPtr& b) { return modulo(a, b, true); }

TensorPtr floor_divide(const TensorPtr& a, const TensorPtr& b) {
  check_operands(a, b, "floor_divide");
  DType dt = integer_division_type(a, b, "floor_divide");
  check_no_int_zero(b, dt, "floor_divide");
  TensorPtr out = binary_op(a, b, dt, "floor_divide", FloorDivideF{});
  if (any_requires_grad({&a, &b})) record_not_implemented("floor_divide", out, a, b);
  return out;
}

TensorPtr atan2(const TensorPtr& a, const TensorPtr& b) {
  check_operands(a, b, "atan2");
  DType dt = result_type({a.get(), b.get()});
  if (!is_floating(dt)) dt = default_float_dtype();
  TensorPtr out = binary_op(a, b, dt, "atan2", Atan2F{});
  if (any_requires_grad({&a, &b})) record(std::make_shared<Atan2Backward>(a, b), {&a, &b}, {&out});
  return out;
}

void apply_(TensorPtr& self, const TensorPtr& other, TensorPtr (*op)(const TensorPtr&, const TensorPtr&),
            const char* name) {
  check_defined(self, name, "self");
  check_defined(other, name, "other");
  inplace_with_history(self, name, any_requires_grad({&self, &other}),
                       [&](const TensorPtr& s) { return op(s, other); });
}

TensorPtr logical_and(const TensorPtr& a, const TensorPtr& b) { return logical(a, b, Logical::And, "logical_and"); }
TensorPtr bitwise_and(const TensorPtr& a, const TensorPtr& b) { return bitwise(a, b, Bitwise::And, "bitwise_and"); }
TensorPtr bitwise_or(const TensorPtr& a, const TensorPtr& b) { return bitwise(a, b, Bitwise::Or, "bitwise_or"); }
TensorPtr bitwise_xor(const TensorPtr& a, const TensorPtr& b) { return bitwise(a, b, Bitwise::Xor, "bitwise_xor"); }

TensorPtr bitwise_not(const TensorPtr& x) {
  check_defined(x, "bitwise_not");
  check_not_floating(x->dtype(), "bitwise_not");
  if (x->dtype() == DType::Bool) return logical_not(x);
  if (!x->is_cpu()) return sub(scalar_tensor(-1, DType::Int64, true), x, 1);  // ~v is -1 - v, wrapping
  TensorPtr xc = cast(x, DType::Int64);  // every integer dtype computes in int64; ~ then wraps back
  TensorPtr out = Tensor::empty(xc->shape(), DType::Int64, "bitwise_not");
  map_unary<int64_t, int64_t>(*out, *xc, [](int64_t v) { return ~v; });
  return cast(out, x->dtype());
}
TensorPtr logical_or(const TensorPtr& a, const TensorPtr& b) { return logical(a, b, Logical::Or, "logical_or"); }
TensorPtr logical_xor(const TensorPtr& a, const TensorPtr& b) { return logical(a, b, Logical::Xor, "logical_xor"); }

TensorPtr isclose(const TensorPtr& a, const TensorPtr& b, double rtol, double atol, bool equal_nan, const char* op) {
  check_operands(a, b, op);
  FASTNN_CHECK_TYPE(a->dtype() == b->dtype(), "[", op, "] ", dtype_name(a->dtype()), " did not match ",
                    dtype_name(b->dtype()));
  FASTNN_CHECK(rtol >= 0, "[", op, "] rtol must be greater than or equal to zero, but got ", rtol);
  FASTNN_CHECK(atol >= 0, "[", op, "] atol must be greater than or equal to zero, but got ", atol);
  if (is_storage_dtype(a->dtype()))
    return isclose(cast(a, compute_dtype(a->dtype())), cast(b, compute_dtype(a->dtype())), rtol, atol, equal_nan, op);
  if (!a->is_cpu() || !b->is_cpu()) {  // on a GPU: tested on the host (a copy of each operand), the result sent back
    const Device device = common_device({&a, &b}, op);
    return to_device(
        isclose(to_device(a->detach(), Device{}), to_device(b->detach(), Device{}), rtol, atol, equal_nan, op), device);
  }
  TensorPtr out = Tensor::empty(broadcast_shapes(a->shape(), b->shape(), op), DType::Bool, op);
  switch (a->dtype()) {
    case DType::Bool: isclose_kernel<bool, float>(*out, *a, *b, rtol, atol, equal_nan); break;
    case DType::Int64: isclose_kernel<int64_t, float>(*out, *a, *b, rtol, atol, equal_nan); break;
    case DType::Float32: isclose_kernel<float, float>(*out, *a, *b, rtol, atol, equal_nan); break;
    case DType::Float64: isclose_kernel<double, double>(*out, *a, *b, rtol, atol, equal_nan); break;
    default: break;  // storage dtypes were converted above
  }
  return out;
}

bool allclose(const TensorPtr& a, const TensorPtr& b, double rtol, double atol, bool equal_nan) {
  return all_true(isclose(a, b, rtol, atol, equal_nan, "allclose"));
}

bool equal(const TensorPtr& a, const TensorPtr& b) {
  check_operands(a, b, "equal");
  return a->shape() == b->shape() && all_true(compare(a, b, CompareOp::Eq));
}

}  // namespace fastnn
