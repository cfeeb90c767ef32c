// Elementwise unary ops: the table in unary_table.h expanded into forward kernels, backward
// nodes and public functions; then clamp and pow, which take extra arguments.
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string_view>

#include "fastnn/autograd/grad_mode.h"
#include "fastnn/autograd/functions.h"
#include "fastnn/autograd/node.h"
#include "fastnn/error.h"
#include "fastnn/kernels/cpu/unary.h"
#include "fastnn/kernels/cuda/activation.h"
#include "fastnn/kernels/cuda/unary.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/loops.h"
#include "fastnn/ops/ops.h"
#include "fastnn/ops/unary_table.h"

namespace fastnn {
namespace {

enum class Saves { INPUT, OUTPUT, NOTHING };
enum class Kind { FLOAT, NUMERIC, ALL };

// floor, ceil, trunc and round leave integers as they are (as torch: exact, and int64 stays int64).
template <class T> T floor_of(T x) {
  if constexpr (std::is_integral_v<T>) return x;
  else return std::floor(x);
}
template <class T> T ceil_of(T x) {
  if constexpr (std::is_integral_v<T>) return x;
  else return std::ceil(x);
}
template <class T> T trunc_of(T x) {
  if constexpr (std::is_integral_v<T>) return x;
  else return std::trunc(x);
}
// Halves go to the even neighbour (nearbyint in the default rounding mode), as torch.round.
template <class T> T round_half_even(T x) {
  if constexpr (std::is_integral_v<T>) return x;
  else return std::nearbyint(x);
}

TensorPtr number(double v) { return scalar_tensor(v, DType::Float64, true); }

// The table ops whose backward create_graph supports (backward_graph below).
bool has_backward_graph(std::string_view op) {
  for (std::string_view o : {"neg", "exp", "log", "sqrt", "abs", "relu", "sigmoid", "tanh", "reciprocal"})
    if (op == o) return true;
  return false;
}

// Their backward as differentiable ops (v: the saved input or output, with its history).
TensorPtr backward_graph(std::string_view op, const TensorPtr& g, const TensorPtr& v) {
  if (op == "neg") return neg(g);
  if (op == "exp") return mul(g, v);
  if (op == "log") return div(g, v);
  if (op == "sqrt") return div(g, mul(v, number(2)));
  if (op == "abs")
    return mul(g, sub(cast(compare(v, number(0), CompareOp::Gt), g->dtype()),
                      cast(compare(v, number(0), CompareOp::Lt), g->dtype()), 1));
  if (op == "relu") return mul(g, compare(v, number(0), CompareOp::Gt));
  if (op == "sigmoid") return mul(g, mul(v, rsub(v, number(1))));
  if (op == "tanh") return mul(g, rsub(mul(v, v), number(1)));
  if (op == "reciprocal") return neg(mul(g, mul(v, v)));
  return nullptr;
}

// Backward of a table op: grad_in = BWD(g, v) with v the saved input or output.
template <class Op>
class UnaryBackward : public Node {
 public:
  explicit UnaryBackward(SavedTensor saved) : saved_(std::move(saved)) {}
  std::string name() const override { return Op::node_name; }
  bool supports_create_graph() const override { return has_backward_graph(Op::name); }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    const TensorPtr& g = grads[0];
    TensorPtr v = Op::saves == Saves::NOTHING ? g : saved_.unpack(*this);
    if (GradMode::is_enabled() && has_backward_graph(Op::name)) return {backward_graph(Op::name, g, v)};
    if (!g->is_cpu()) {  // the forward ran on the GPU: float32/float64 only, so no dtype conversions
      TensorPtr gc = contiguous(g), vc = contiguous(v),
                out = Tensor::empty(g->shape(), g->dtype(), Op::name, g->device());
      cuda::unary_backward(Op::cuda_op, g->dtype() == DType::Float64, gc->device_data(), vc->device_data(),
                           out->device_data(), g->numel(), g->device().index);
      return {out};
    }
    const DType dt = compute_dtype(g->dtype());  // float16/bfloat16 grads compute in float32
    TensorPtr gc = cast(g, dt), vc = cast(v, dt), out = Tensor::empty(g->shape(), dt);
    constexpr kernels::VecUnary vec = kernels::vec_unary_of(Op::name);
    if (kernels::has_vec_unary_backward(vec) && dt == DType::Float32) {  // SIMD under the runtime ISA choice
      gc = contiguous(gc);
      vc = contiguous(vc);
      const float *pg = gc->data<float>(), *pv = vc->data<float>();
      float* po = out->mutable_data<float>();
      parallel_for(out->numel(), kGrainSize,
                   [&](int64_t b, int64_t e) { kernels::vec_unary_backward(vec, e - b, pg + b, pv + b, po + b); });
      return {cast(out, g->dtype())};
    }
    FASTNN_DISPATCH_FLOAT(dt, Op::name, [&] {
      map_binary<scalar_t, scalar_t>(*out, *gc, *vc, [](scalar_t g, scalar_t v) { return Op::backward(g, v); });
    });
    return {cast(out, g->dtype())};
  }
  void release_saved() override { saved_.reset(); }

 private:
  SavedTensor saved_;
};

template <class Op>
void record_unary(const TensorPtr& x_in, const TensorPtr& y) {
  if (any_requires_grad({&x_in})) {
    SavedTensor saved = Op::saves == Saves::INPUT    ? SavedTensor::with_history(x_in)
                        : Op::saves == Saves::OUTPUT ? SavedTensor::output(y, 0)
                                                     : SavedTensor();
    record(std::make_shared<UnaryBackward<Op>>(std::move(saved)), {&x_in}, {&y});
  }
}

// An integer (or bool) x on a GPU: the integer-preserving ops composed of GPU arithmetic and comparisons (integers
// never require grad). Null for an op that has no integer form.
TensorPtr integer_unary_cuda(const std::string& name, const TensorPtr& x) {
  const TensorPtr zero = scalar_tensor(0, DType::Int64, true);
  if (name == "neg") return sub(zero, x, 1);
  if (name == "abs") return where(compare(x, zero, CompareOp::Lt), sub(zero, x, 1), x);
  if (name == "relu") return where(compare(x, zero, CompareOp::Lt), zero, x);
  if (name == "sign")
    return x->dtype() == DType::Bool ? clone(x)
                                     : sub(cast(compare(x, zero, CompareOp::Gt), x->dtype()),
                                           cast(compare(x, zero, CompareOp::Lt), x->dtype()), 1);
  if (name == "floor" || name == "ceil" || name == "round" || name == "trunc") return clone(x);
  return nullptr;
}

// y = Op(x) for x on a GPU: float32 and float64 by the kernels, integers as torch (FLOAT ops in the default float
// dtype, the rest composed).
template <class Op>
TensorPtr unary_cuda(const TensorPtr& x) {
  if (!is_floating(x->dtype()) && Op::kind == Kind::FLOAT) return unary_cuda<Op>(cast(x, default_float_dtype()));
  if (!is_floating(x->dtype()))
    if (TensorPtr y = integer_unary_cuda(Op::name, x)) return y;
  FASTNN_CHECK_TYPE(x->dtype() == DType::Float32 || x->dtype() == DType::Float64, "[", Op::name,
                    "] CUDA tensors of dtype ", dtype_name(x->dtype()),
                    " are not supported yet (float32 and float64 are)");
  TensorPtr y = Tensor::empty(x->shape(), x->dtype(), Op::name, x->device());
  cuda::unary_forward(Op::cuda_op, x->dtype() == DType::Float64, x->device_data(), x->shape().data(),
                      x->strides().data(), int(x->dim()), x->numel(), y->device_data(), x->device().index);
  record_unary<Op>(x, y);
  return y;
}

// Computes y = Op(x) into a new tensor and records the node.
template <class Op>
TensorPtr unary(const TensorPtr& x_in) {
  check_defined(x_in, Op::name);
  // Float ops take bools as torch does (as 0.0 and 1.0); neg/abs/relu/floor refuse them, as torch does.
  FASTNN_CHECK_TYPE(Op::kind != Kind::NUMERIC || x_in->dtype() != DType::Bool, "[", Op::name,
                    "] not supported for bool tensors");
  if (!x_in->is_cpu()) return unary_cuda<Op>(x_in);
  TensorPtr x = Op::kind == Kind::FLOAT && !is_floating(x_in->dtype()) ? cast(x_in, default_float_dtype()) : x_in;
  const DType out_dtype = x->dtype();  // a storage dtype computes in its compute dtype and rounds once
  x = cast(x, compute_dtype(out_dtype));
  TensorPtr y = Tensor::empty(x->shape(), x->dtype(), Op::name);
  constexpr kernels::VecUnary vec = kernels::vec_unary_of(Op::name);
  if (vec != kernels::VecUnary::None && x->dtype() == DType::Float32) {  // SIMD under the runtime ISA choice
    const TensorPtr xc = contiguous(x);
    const float* src = xc->data<float>();
    float* dst = y->mutable_data<float>();
    parallel_for(y->numel(), kGrainSize,
                 [&](int64_t b, int64_t e) { kernels::vec_unary(vec, e - b, src + b, dst + b); });
  } else {
    FASTNN_DISPATCH_ALL(x->dtype(), Op::name, [&] {
      map_unary<scalar_t, scalar_t>(*y, *x, [](scalar_t x) { return Op::template forward<scalar_t>(x); });
    });
  }
  y = cast(y, out_dtype);
  record_unary<Op>(x_in, y);
  return y;
}

#define FASTNN_DEFINE_UNARY(NAME, NODE, KIND, SAVES, FWD, BWD)                                                      \
  struct NAME##_op {                                                                                                \
    static constexpr const char* name = #NAME;                                                                      \
    static constexpr const char* node_name = #NODE;                                                                 \
    static constexpr Saves saves = Saves::SAVES;                                                                    \
    static constexpr Kind kind = Kind::KIND;                                                                        \
    static constexpr cuda::UnaryOp cuda_op = cuda::UnaryOp::NAME;                                                   \
    /* only ALL ops see bools (unchanged); FLOAT ops only floats */                                                 \
    template <class scalar_t>                                                                                       \
    static scalar_t forward(scalar_t x) {                                                                           \
      if constexpr (std::is_same_v<scalar_t, bool> || (kind == Kind::FLOAT && !std::is_floating_point_v<scalar_t>)) \
        return x;                                                                                                   \
      else return FWD;                                                                                              \
    }                                                                                                               \
    template <class scalar_t>                                                                                       \
    static scalar_t backward(scalar_t g, scalar_t v) {                                                              \
      return BWD;                                                                                                   \
    }                                                                                                               \
  };
FASTNN_UNARY_OPS(FASTNN_DEFINE_UNARY)
#undef FASTNN_DEFINE_UNARY

// out = rule.backward(g, x) on a GPU.
template <class Rule>
TensorPtr activation_grad_cuda(const Rule& rule, const TensorPtr& g, const TensorPtr& x, const TensorPtr& out) {
  const TensorPtr gc = contiguous(g), xc = contiguous(x);
  cuda::activation_backward(rule, g->dtype() == DType::Float64, gc->device_data(), xc->device_data(),
                            out->device_data(), out->numel(), g->device().index);
  return out;
}

// y = rule.forward(x) on a GPU (float32 or float64, any layout).
template <class Rule>
TensorPtr activation_cuda(const Rule& rule, const TensorPtr& x, const char* op) {
  check_cuda_float(x->dtype(), op);
  TensorPtr y = Tensor::empty(x->shape(), x->dtype(), op, x->device());
  cuda::activation_forward(rule, x->dtype() == DType::Float64, x->device_data(), x->shape().data(), x->strides().data(),
                           int(x->dim()), x->numel(), y->device_data(), x->device().index);
  return y;
}

// Clamp's gradient passes where min <= x <= max (boundaries included, as in torch).
class ClampBackward : public Node {
 public:
  ClampBackward(const TensorPtr& x, OptDouble lo, OptDouble hi) : x_(x), lo_(lo), hi_(hi) {}
  std::string name() const override { return "ClampBackward1"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr x = x_.unpack(*this), g = grads[0];
    TensorPtr out = Tensor::empty(g->shape(), g->dtype(), "clamp", g->device());
    double lo_d = lo_ ? *lo_ : -INFINITY, hi_d = hi_ ? *hi_ : INFINITY;
    if (g->device().is_cuda())
      return {activation_grad_cuda(rules::Clamp{in_precision(lo_d, g), in_precision(hi_d, g)}, g, x, out)};
    FASTNN_DISPATCH_FLOAT(g->dtype(), "clamp", [&] {
      // the bounds in the input's dtype, as the forward compared them (0.1 is 0.100000001f for a float32 x)
      scalar_t lo = scalar_t(lo_d), hi = scalar_t(hi_d);
      map_binary<scalar_t, scalar_t>(*out, *g, *x,
                                     [lo, hi](scalar_t g, scalar_t x) { return x >= lo && x <= hi ? g : scalar_t(0); });
    });
    return {out};
  }
  void release_saved() override { x_.reset(); }

 private:
  SavedTensor x_;
  OptDouble lo_, hi_;
};

// x ** e as torch computes it: e = 0.5 and -0.5 are sqrt and 1/sqrt (so (-inf) ** 0.5 is nan and
// (-0.0) ** 0.5 is -0.0, unlike std::pow); whole exponents up to 64 by squaring in double (x ** 3 and the
// gradient of x ** 4 without libm's pow per element), other exponents std::pow.
template <class T>
T pow_scalar(T x, T e) {
  if (e == T(1)) return x;
  if (e == T(2)) return x * x;
  if (e == std::floor(e) && std::abs(e) <= 64) return T(rules::PowScalar::power(double(x), double(e)));
  return e == T(0.5) ? std::sqrt(x) : e == T(-0.5) ? T(1) / std::sqrt(x) : std::pow(x, e);
}

// v^N for a constant whole N in T, by squaring (x ** 3 is x * x * x in float, as torch's).
template <int N, class T>
T power_of(T v) {
  if constexpr (N < 0) {
    return T(1) / power_of<-N>(v);
  } else if constexpr (N == 1) {
    return v;
  } else if constexpr (N % 2) {
    return power_of<N - 1>(v) * v;
  } else {
    const T h = power_of<N / 2>(v);
    return h * h;
  }
}

// f(std::integral_constant<int, n>) for the exponents pow specialises (3, 4, -1, -2).
template <class F>
void with_whole_exponent(int n, const F& f) {
  switch (n) {
    case 3: return f(std::integral_constant<int, 3>());
    case 4: return f(std::integral_constant<int, 4>());
    case -1: return f(std::integral_constant<int, -1>());
    default: return f(std::integral_constant<int, -2>());
  }
}

// pow(x, e) for a scalar exponent: d/dx = e * x^(e-1) (zero when e == 0).
class PowScalarBackward : public Node {
 public:
  PowScalarBackward(const TensorPtr& x, double e) : x_(SavedTensor::with_history(x)), e_(e) {}
  std::string name() const override { return "PowBackward0"; }
  bool supports_create_graph() const override { return true; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr x = x_.unpack(*this), g = grads[0];
    if (GradMode::is_enabled())  // create_graph: the same formula as differentiable ops
      return {e_ == 0 ? mul(g, number(0)) : mul(g, mul(pow(x, e_ - 1), number(e_)))};
    TensorPtr out = Tensor::empty(g->shape(), g->dtype(), "pow", g->device());
    double e = e_;
    if (g->device().is_cuda()) return {activation_grad_cuda(rules::PowScalar{e}, g, x, out)};
    FASTNN_DISPATCH_FLOAT(g->dtype(), "pow", [&] {
      map_binary<scalar_t, scalar_t>(*out, *g, *x, [e](scalar_t g, scalar_t x) {
        return e == 0 ? scalar_t(0) : scalar_t(g * e * pow_scalar(x, scalar_t(e - 1)));
      });
    });
    return {out};
  }
  void release_saved() override { x_.reset(); }

 private:
  SavedTensor x_;
  double e_;
};

}  // namespace

#define FASTNN_DEFINE_PUBLIC(NAME, NODE, KIND, SAVES, FWD, BWD) \
  TensorPtr NAME(const TensorPtr& x) { return unary<NAME##_op>(x); }
FASTNN_UNARY_OPS(FASTNN_DEFINE_PUBLIC)
#undef FASTNN_DEFINE_PUBLIC

void relu_(TensorPtr& x) {
  check_defined(x, "relu_");
  if (!any_requires_grad({&x}) && x->is_cpu()) {
    check_inplace(x, "relu_");
    FASTNN_DISPATCH_NUMERIC(x->dtype(), "relu_", [&] {
      map_unary<scalar_t, scalar_t>(*x, *x, [](scalar_t v) { return relu_op::forward(v); });
    });
    x->bump_version();
    return;
  }
  inplace_with_history(x, "relu_", any_requires_grad({&x}), [](const TensorPtr& s) { return relu(s); });
}

TensorPtr clamp(const TensorPtr& x, OptDouble lo, OptDouble hi) {
  check_defined(x, "clamp");
  if (any_storage_dtype({&x})) return narrowed(clamp(widened(x), lo, hi), x->dtype());
  FASTNN_CHECK(lo || hi, "[clamp] at least one of 'min' or 'max' must not be None");
  FASTNN_CHECK_TYPE(x->dtype() != DType::Bool, "[clamp] not supported for bool tensors");
  // A float bound on an integer tensor gives a float result, as in torch.
  bool float_bound = (lo && *lo != std::floor(*lo)) || (hi && *hi != std::floor(*hi));
  TensorPtr xs = float_bound && !is_floating(x->dtype()) ? cast(x, default_float_dtype()) : x;
  TensorPtr y;
  if (xs->device().is_cuda() && !is_floating(xs->dtype())) {  // integers: torch's maximum and minimum (exact)
    y = xs;
    if (lo) y = maximum(y, scalar_tensor(*lo, DType::Int64, true));
    if (hi) y = minimum(y, scalar_tensor(*hi, DType::Int64, true));
    if (y == xs) y = clone(xs);
  } else if (xs->device().is_cuda()) {
    y = activation_cuda(rules::Clamp{in_precision(lo ? *lo : -INFINITY, xs), in_precision(hi ? *hi : INFINITY, xs)}, xs,
                        "clamp");
  } else {
    y = Tensor::empty(xs->shape(), xs->dtype(), "clamp");
    FASTNN_DISPATCH_NUMERIC(xs->dtype(), "clamp", [&] {
      using limits = std::numeric_limits<scalar_t>;
      const scalar_t l = lo ? scalar_t(*lo) : limits::has_infinity ? -limits::infinity() : limits::lowest();
      const scalar_t h = hi ? scalar_t(*hi) : limits::has_infinity ? limits::infinity() : limits::max();
      // Selects, not branches, so the loop vectorises; NaN fails both tests and stays NaN; min > max gives max.
      map_unary<scalar_t, scalar_t>(*y, *xs, [=](scalar_t v) {
        v = v < l ? l : v;
        return v > h ? h : v;
      });
    });
  }
  if (any_requires_grad({&x})) record(std::make_shared<ClampBackward>(x, lo, hi), {&x}, {&y});
  return y;
}

void clamp_(TensorPtr& x, OptDouble lo, OptDouble hi) {
  check_defined(x, "clamp_");
  inplace_with_history(x, "clamp_", any_requires_grad({&x}), [&](const TensorPtr& s) { return clamp(s, lo, hi); });
}

TensorPtr pow(const TensorPtr& x_in, double e) {
  check_defined(x_in, "pow");
  FASTNN_CHECK_TYPE(x_in->dtype() != DType::Bool, "[pow] not supported for bool tensors");
  if (is_storage_dtype(x_in->dtype())) return narrowed(pow(widened(x_in), e), x_in->dtype());
  bool float_exp = e != std::floor(e);
  TensorPtr x = float_exp && !is_floating(x_in->dtype()) ? cast(x_in, default_float_dtype()) : x_in;
  if (!is_floating(x->dtype()))
    FASTNN_CHECK(e >= 0 && fits_int64(e),
                 "[pow] integers to negative integer powers are not allowed "
                 "(exponent ",
                 e, ")");
  TensorPtr y;
  if (x->device().is_cuda()) y = activation_cuda(rules::PowScalar{e}, x, "pow");
  else y = Tensor::empty(x->shape(), x->dtype(), "pow");
  if (x->is_cpu())
    FASTNN_DISPATCH_NUMERIC(x->dtype(), "pow", [&] {
      if (e == 2) map_unary<scalar_t, scalar_t>(*y, *x, [](scalar_t v) { return wrapping_mul(v, v); });
      else if (std::is_floating_point_v<scalar_t> && (e == 3 || e == 4 || e == -1 || e == -2))
        with_whole_exponent(int(e), [&](auto n) {  // a constant exponent: the loop vectorises
          map_unary<scalar_t, scalar_t>(*y, *x, [](scalar_t v) { return power_of<decltype(n)::value>(v); });
        });
      else
        map_unary<scalar_t, scalar_t>(*y, *x, [e](scalar_t v) {
          if constexpr (std::is_floating_point_v<scalar_t>) return pow_scalar(v, scalar_t(e));
          else return wrapping_pow(v, uint64_t(e));  // exact, as torch's integer pow
        });
    });
  if (any_requires_grad({&x_in})) record(std::make_shared<PowScalarBackward>(x_in, e), {&x_in}, {&y});
  return y;
}

void apply_(TensorPtr& self, const std::function<TensorPtr(const TensorPtr&)>& op, const char* name) {
  check_defined(self, name, "self");
  inplace_with_history(self, name, any_requires_grad({&self}), op);
}

TensorPtr square(const TensorPtr& x) {
  check_defined(x, "square");
  return pow(x->dtype() == DType::Bool ? cast(x, DType::Int64) : x, 2.0);  // a bool squares to int64, as torch
}

TensorPtr round(const TensorPtr& x, int64_t decimals) {
  check_defined(x, "round");
  FASTNN_CHECK_TYPE(is_floating(x->dtype()), "[round] decimals is not supported for ", dtype_name(x->dtype()),
                    " tensors");
  TensorPtr y = Tensor::empty(x->shape(), x->dtype(), "round");
  FASTNN_DISPATCH_FLOAT(x->dtype(), "round", [&] {
    // x * 10^d rounded then divided back (d > 0), or x / 10^-d rounded then multiplied (d <= 0), as torch.
    bool up = decimals > 0;
    scalar_t ten = scalar_t(std::pow(10.0, std::fabs(double(decimals))));
    map_unary<scalar_t, scalar_t>(
        *y, *x, [up, ten](scalar_t v) { return up ? std::nearbyint(v * ten) / ten : std::nearbyint(v / ten) * ten; });
  });
  record_grad_only("RoundBackward1", y, {x},
                   [](const TensorPtr& g) { return std::vector<TensorPtr>{zeros(g->shape(), g->dtype())}; });
  return y;
}

namespace {
// A bool tensor of pred(x) elementwise (not differentiable).
template <class Pred>
TensorPtr predicate(const TensorPtr& x, const char* op, const Pred& pred) {
  check_defined(x, op);
  TensorPtr y = Tensor::empty(x->shape(), DType::Bool, op);
  FASTNN_DISPATCH_ALL(x->dtype(), op, [&] { map_unary<scalar_t, bool>(*y, *x, pred); });
  return y;
}
}  // namespace

// On a GPU the predicates are comparisons: nan alone differs from itself, x - x is 0 only for a finite x.
TensorPtr isnan(const TensorPtr& x) {
  if (x && x->device().is_cuda()) return compare(x->detach(), x->detach(), CompareOp::Ne);
  return predicate(x, "isnan", [](auto v) { return v != v; });
}
TensorPtr isinf(const TensorPtr& x) {
  if (x && x->device().is_cuda())
    return is_floating(x->dtype())
               ? compare(abs(x->detach()), scalar_tensor(INFINITY, DType::Float64, true), CompareOp::Eq)
               : compare(x, x, CompareOp::Ne);
  return predicate(x, "isinf", [](auto v) {
    if constexpr (std::is_floating_point_v<decltype(v)>) return bool(std::isinf(v));
    else return false;
  });
}
TensorPtr isfinite(const TensorPtr& x) {
  if (x && x->device().is_cuda())
    return is_floating(x->dtype())
               ? compare(sub(x->detach(), x->detach(), 1), scalar_tensor(0, DType::Int64, true), CompareOp::Eq)
               : compare(x, x, CompareOp::Eq);
  return predicate(x, "isfinite", [](auto v) {
    if constexpr (std::is_floating_point_v<decltype(v)>) return bool(std::isfinite(v));
    else return true;
  });
}
TensorPtr logical_not(const TensorPtr& x) {
  if (x && x->device().is_cuda()) return compare(x->detach(), scalar_tensor(0, DType::Int64, true), CompareOp::Eq);
  return predicate(x, "logical_not", [](auto v) { return v == decltype(v)(0); });  // nan is true, so gives false
}

}  // namespace fastnn
