// Random numbers: factories (rand, randn, randint, randperm, normal, bernoulli, multinomial) and
// in-place fills (uniform_, normal_, bernoulli_, exponential_, random_), drawing from a Generator
// (the default one when none is given). A draw reserves its counters up front and element i uses
// fixed ones (i, or 2i and 2i+1), so no value depends on the thread that computes it.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>
#include <vector>

#include "fastnn/autograd/functions.h"
#include "fastnn/autograd/grad_mode.h"
#include "fastnn/autograd/view_history.h"
#include "fastnn/error.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/loops.h"
#include "fastnn/ops/ops.h"
#include "fastnn/parallel.h"
#include "fastnn/random.h"

namespace fastnn {
namespace {

uint64_t bits_at(RandomState d, uint64_t i) { return random_bits(d.seed, d.counter + i); }

// A standard normal from counters 2i and 2i+1 (Box-Muller; u1 in (0, 1] keeps the log finite).
double normal_at(RandomState d, uint64_t i) {
  double u1 = 1.0 - uniform_double(bits_at(d, 2 * i));
  double u2 = uniform_double(bits_at(d, 2 * i + 1));
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

// t[i] = value(i) for every element, i its row-major index, whatever t's layout and device (a GPU tensor is drawn on
// the host and copied over: the CPU's numbers for the same generator state).
template <class T, class F>
void fill_indexed(Tensor& t, const F& value) {
  if (!t.is_cpu()) {
    TensorPtr tmp = Tensor::empty(t.shape(), t.dtype());
    fill_indexed<T>(*tmp, value);
    TensorPtr dst = t.shared_from_this();
    GradModeGuard no_grad(false);
    copy_(dst, tmp);
    return;
  }
  if (!t.is_contiguous()) {
    TensorPtr tmp = Tensor::empty(t.shape(), t.dtype());
    fill_indexed<T>(*tmp, value);
    map_unary<T, T>(t, *tmp, [](T v) { return v; });
    return;
  }
  T* p = t.mutable_data<T>();
  parallel_for(t.numel(), kGrainSize, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) p[i] = value(uint64_t(i));
  });
}

// Reserves `per_element` counters for each element of `t` from `gen` (the default generator when null).
RandomState reserve_for(const Tensor& t, Generator* gen, uint64_t per_element = 1) {
  return generator_or_default(gen).reserve(uint64_t(t.numel()) * per_element);
}

// The gradient of a random draw with respect to its inputs: zero (the values do not depend on them), on each input's
// device.
std::shared_ptr<Node> zero_grad_node(const char* name, const std::vector<const TensorPtr*>& of) {
  std::vector<std::tuple<Shape, DType, Device>> inputs;
  for (const TensorPtr* t : of) inputs.emplace_back((*t)->shape(), (*t)->dtype(), (*t)->device());
  return std::make_shared<GradOnlyBackward>(name, [inputs](const TensorPtr&) {
    std::vector<TensorPtr> grads;
    for (const auto& [shape, dtype, device] : inputs) grads.push_back(zeros_on(shape, dtype, device));
    return grads;
  });
}

// The end of an in-place random fill: version bump and, under autograd, torch's node for it.
void finish_inplace(TensorPtr& self, const char* node, const TensorPtr& p = nullptr) {
  self->bump_version();
  if (!any_requires_grad({&self, &p})) return;
  if (p) record(zero_grad_node(node, {&self, &p}), {&self, &p}, {&self});
  else record(zero_grad_node(node, {&self}), {&self}, {&self});
  if (self->base()) rebase_view_history(self);
}

void check_float_self(const TensorPtr& self, const char* op) {
  check_defined(self, op, "self");
  FASTNN_CHECK_TYPE(is_floating(self->dtype()), "[", op, "] expected a floating-point tensor, got ",
                    dtype_name(self->dtype()));
}

// A storage-dtype tensor is filled through a compute-dtype temporary, rounded once; false for others.
template <class Fill>
bool filled_via_compute_dtype(Tensor& t, const Fill& fill) {
  if (!is_storage_dtype(t.dtype())) return false;
  TensorPtr tmp = Tensor::empty(t.shape(), compute_dtype(t.dtype()), "random");
  fill(*tmp);
  TensorPtr dst = t.shared_from_this();
  GradModeGuard no_grad(false);
  copy_(dst, tmp);
  return true;
}

// Values of the uniform, normal and integer fills (shared by the factories and the in-place ops).
void fill_uniform(Tensor& t, double from, double to, Generator* gen) {
  if (filled_via_compute_dtype(t, [&](Tensor& c) { fill_uniform(c, from, to, gen); })) return;
  RandomState d = reserve_for(t, gen);
  FASTNN_DISPATCH_FLOAT(t.dtype(), "uniform_", [&] {
    const scalar_t width = scalar_t(to - from), lo = scalar_t(from);
    fill_indexed<scalar_t>(t, [&](uint64_t i) -> scalar_t {
      if constexpr (std::is_same_v<scalar_t, float>) return uniform_float(bits_at(d, i)) * width + lo;
      else return uniform_double(bits_at(d, i)) * width + lo;
    });
  });
}

void fill_normal(Tensor& t, double mean, double std, Generator* gen) {
  if (filled_via_compute_dtype(t, [&](Tensor& c) { fill_normal(c, mean, std, gen); })) return;
  RandomState d = reserve_for(t, gen, 2);
  FASTNN_DISPATCH_FLOAT(t.dtype(), "normal_", [&] {
    const scalar_t s = scalar_t(std), m = scalar_t(mean);
    fill_indexed<scalar_t>(t, [&](uint64_t i) { return static_cast<scalar_t>(normal_at(d, i)) * s + m; });
  });
}

// Integers in [from, from + range); range 0 stands for 2^64.
void fill_integers(Tensor& t, int64_t from, uint64_t range, Generator* gen) {
  if (filled_via_compute_dtype(t, [&](Tensor& c) { fill_integers(c, from, range, gen); })) return;
  RandomState d = reserve_for(t, gen);
  FASTNN_DISPATCH_ALL(t.dtype(), "random_", [&] {
    fill_indexed<scalar_t>(t, [&](uint64_t i) {
      uint64_t bits = bits_at(d, i);
      return static_cast<scalar_t>(int64_t(uint64_t(from) + (range ? bounded(bits, range) : bits)));
    });
  });
}

// [from, to) fits the dtype: bool holds only 0 and 1.
void check_integer_range(DType dtype, int64_t from, int64_t to_minus_1, const char* op) {
  if (dtype != DType::Bool) return;
  FASTNN_CHECK(from >= 0, "[", op, "] from is out of bounds for bool");
  FASTNN_CHECK(to_minus_1 <= 1, "[", op, "] to - 1 is out of bounds for bool");
}

// out = z * std + mean with z standard normals (counters 2i, 2i+1); mean and std broadcast to `shape`.
TensorPtr normal_out(const Shape& shape, DType dtype, const TensorPtr& mean, const TensorPtr& std, Generator* gen) {
  const Device device = mean->is_cpu() ? std->device() : mean->device();
  TensorPtr out = Tensor::empty(shape, dtype, "normal", device);
  fill_normal(*out, 0.0, 1.0, gen);
  TensorPtr m = cast(mean->detach(), dtype), s = cast(std->detach(), dtype);
  if (device.is_cuda()) return add(mul(out, s), m, 1);  // the CPU's z * std + mean, rounded the same way
  FASTNN_DISPATCH_FLOAT(dtype, "normal", [&] {
    map_ternary<scalar_t>(*out, *out, *s, *m, [](scalar_t z, scalar_t sd, scalar_t mu) { return z * sd + mu; });
  });
  return out;
}

void check_std(double std) { FASTNN_CHECK(std >= 0.0, "[normal] normal expects std >= 0.0, but found std ", std); }

// `t` (broadcast to `shape`) as a contiguous float64 tensor on the host, with no autograd record.
TensorPtr as_doubles(const TensorPtr& t, const Shape& shape, const char* op) {
  TensorPtr out = Tensor::empty(shape, DType::Float64, op);
  map_unary<double, double>(*out, *to_device(cast(t->detach(), DType::Float64), Device{}), [](double v) { return v; });
  return out;
}

bool all_of(const TensorPtr& doubles, bool (*pred)(double)) {
  const double* p = doubles->data<double>();
  return std::all_of(p, p + doubles->numel(), pred);
}

void check_all_std(const TensorPtr& std) {
  FASTNN_CHECK(all_of(as_doubles(std, std->shape(), "normal"), [](double v) { return v >= 0.0; }),
               "[normal] normal expects all elements of std >= 0.0");
}

// `p` (any float dtype, broadcast to `shape`) as a contiguous float64 tensor of `shape`, checked to lie in [0, 1].
TensorPtr probabilities(const TensorPtr& p, const Shape& shape, const char* op) {
  FASTNN_CHECK_TYPE(is_floating(p->dtype()), "[", op, "] expected floating-point probabilities, got ",
                    dtype_name(p->dtype()));
  FASTNN_CHECK(broadcast_shapes(shape, p->shape(), op) == shape, "[", op, "] probabilities of shape ", p->shape(),
               " cannot be broadcast to the shape ", shape);
  TensorPtr out = as_doubles(p, shape, op);
  FASTNN_CHECK(all_of(out, [](double v) { return v >= 0.0 && v <= 1.0; }), "[", op,
               "] Expected p_in >= 0 && p_in <= 1 to be true, but got false");
  return out;
}

// erf^-1(x): Giles' single-precision approximation refined by two Newton steps on erf.
double erfinv(double x) {
  if (std::abs(x) >= 1) return x == 1 ? INFINITY : x == -1 ? -INFINITY : NAN;
  double w = -std::log((1.0 - x) * (1.0 + x)), p;
  if (w < 5.0) {
    w -= 2.5;
    p = 2.81022636e-08;
    for (double c : {3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503, -0.00417768164,
                     0.246640727, 1.50140941})
      p = c + p * w;
  } else {
    w = std::sqrt(w) - 3.0;
    p = -0.000200214257;
    for (double c : {0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047,
                     1.00167406, 2.83297682})
      p = c + p * w;
  }
  double y = p * x;
  for (int k = 0; k < 2; ++k) y -= (std::erf(y) - x) / (M_2_SQRTPI * std::exp(-y * y));
  return y;
}

// self[i] = (u_i < p[i]) for uniforms u_i; `p` contiguous float64 of self's shape.
void fill_bernoulli(Tensor& self, const double* p, Generator* gen) {
  RandomState d = reserve_for(self, gen);
  FASTNN_DISPATCH_ALL(self.dtype(), "bernoulli_", [&] {
    fill_indexed<scalar_t>(self, [&](uint64_t i) { return scalar_t(uniform_double(bits_at(d, i)) < p[i]); });
  });
}

void fill_bernoulli(Tensor& self, double p, Generator* gen) {
  RandomState d = reserve_for(self, gen);
  FASTNN_DISPATCH_ALL(self.dtype(), "bernoulli_", [&] {
    fill_indexed<scalar_t>(self, [&](uint64_t i) { return scalar_t(uniform_double(bits_at(d, i)) < p); });
  });
}

}  // namespace

TensorPtr rand(const Shape& shape, DType dtype, Generator* gen) {
  FASTNN_CHECK_TYPE(is_floating(dtype), "[rand] expected a floating-point tensor, got ", dtype_name(dtype));
  TensorPtr t = Tensor::empty(shape, dtype, "rand");
  fill_uniform(*t, 0.0, 1.0, gen);
  return t;
}

TensorPtr randn(const Shape& shape, DType dtype, Generator* gen) {
  FASTNN_CHECK_TYPE(is_floating(dtype), "[randn] expected a floating-point tensor, got ", dtype_name(dtype));
  TensorPtr t = Tensor::empty(shape, dtype, "randn");
  fill_normal(*t, 0.0, 1.0, gen);
  return t;
}

TensorPtr randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Generator* gen) {
  FASTNN_CHECK(low < high, "[randint] expected low < high, got low=", low, ", high=", high);
  check_integer_range(dtype, low, high - 1, "randint");
  TensorPtr t = Tensor::empty(shape, dtype, "randint");
  fill_integers(*t, low, uint64_t(high) - uint64_t(low), gen);
  return t;
}

TensorPtr randperm(int64_t n, DType dtype, Generator* gen) {
  FASTNN_CHECK(n >= 0, "[randperm] n must be non-negative, got ", n);
  FASTNN_CHECK_TYPE(dtype != DType::Bool, "[randperm] not supported for bool");
  FASTNN_CHECK(dtype != DType::Float32 || n <= (int64_t(1) << 24) + 1,
               "[randperm] n cannot be greater than 2^24+1 for Float type.");
  FASTNN_CHECK(dtype != DType::Float64 || n <= (int64_t(1) << 53) + 1,
               "[randperm] n cannot be greater than 2^53+1 for Double type.");
  TensorPtr t = Tensor::empty({n}, dtype, "randperm");
  RandomState d = reserve_for(*t, gen);
  FASTNN_DISPATCH_NUMERIC(dtype, "randperm", [&] {
    scalar_t* p = t->mutable_data<scalar_t>();
    for (int64_t i = 0; i < n; ++i) p[i] = scalar_t(i);
    // Fisher-Yates, one counter per position: sequential, so no thread count can change it.
    for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[bounded(bits_at(d, uint64_t(i)), uint64_t(i) + 1)]);
  });
  return t;
}

void uniform_(TensorPtr& self, double from, double to, Generator* gen) {
  check_float_self(self, "uniform_");
  const double max =
      self->dtype() == DType::Float32 ? std::numeric_limits<float>::max() : std::numeric_limits<double>::max();
  const char* type = self->dtype() == DType::Float32 ? "float" : "double";
  FASTNN_CHECK(from >= -max && from <= max, "[uniform_] from is out of bounds for ", type);
  FASTNN_CHECK(to >= -max && to <= max, "[uniform_] to is out of bounds for ", type);
  FASTNN_CHECK(from <= to, "[uniform_] uniform_ expects to return a [from, to) range, but found from=", from,
               " > to=", to);
  FASTNN_CHECK(to - from <= max, "[uniform_] uniform_ expects to-from <= the largest ", type, ", but found to=", to,
               " and from=", from, " which result in to-from to exceed the limit");
  check_inplace(self, "uniform_");
  fill_uniform(*self, from, to, gen);
  finish_inplace(self, "UniformBackward0");
}

void normal_(TensorPtr& self, double mean, double std, Generator* gen) {
  check_float_self(self, "normal_");
  check_std(std);
  check_inplace(self, "normal_");
  fill_normal(*self, mean, std, gen);
  finish_inplace(self, "NormalBackward0");
}

void exponential_(TensorPtr& self, double lambd, Generator* gen) {
  check_defined(self, "exponential_", "self");
  FASTNN_CHECK_TYPE(is_floating(self->dtype()),
                    "[exponential_] Exponential distribution is a continuous probability "
                    "distribution. dtype must be a floating point but you specified ",
                    dtype_name(self->dtype()));
  FASTNN_CHECK(lambd > 0.0, "[exponential_] exponential_ expects lambda > 0.0, but found lambda=", lambd);
  check_inplace(self, "exponential_");
  RandomState d = reserve_for(*self, gen);
  FASTNN_DISPATCH_FLOAT(self->dtype(), "exponential_", [&] {
    fill_indexed<scalar_t>(*self, [&](uint64_t i) {
      return static_cast<scalar_t>(-std::log1p(-uniform_double(bits_at(d, i))) / lambd);  // 1 - u > 0
    });
  });
  finish_inplace(self, "ExponentialBackward0");
}

void random_(TensorPtr& self, std::optional<int64_t> from, std::optional<int64_t> to, Generator* gen) {
  check_defined(self, "random_", "self");
  // Without `to`: up to the largest integer the dtype holds exactly (2^24, 2^53, 2^63 - 1, true).
  const DType dt = self->dtype();
  const int64_t top = dt == DType::Float32   ? int64_t(1) << 24
                      : dt == DType::Float64 ? int64_t(1) << 53
                      : dt == DType::Bool    ? 1
                                             : std::numeric_limits<int64_t>::max();
  const int64_t lo = from.value_or(0);
  if (to)
    FASTNN_CHECK(lo < *to, "[random_] random_ expects 'from' to be less than 'to', but got from=", lo, " >= to=", *to);
  else
    FASTNN_CHECK(lo <= top, "[random_] random_ expects 'from' to be at most ", top, " for ", dtype_name(dt),
                 ", got from=", lo);
  check_integer_range(dt, lo, to ? *to - 1 : top, "random_");
  check_inplace(self, "random_");
  fill_integers(*self, lo, (to ? uint64_t(*to) : uint64_t(top) + 1) - uint64_t(lo), gen);
  finish_inplace(self, from ? "RandomBackward0" : to ? "RandomBackward1" : "RandomBackward2");
}

void bernoulli_(TensorPtr& self, double p, Generator* gen) {
  check_defined(self, "bernoulli_", "self");
  FASTNN_CHECK(p >= 0.0 && p <= 1.0, "[bernoulli_] bernoulli_ expects p to be in [0, 1], but got p=", p);
  check_inplace(self, "bernoulli_");
  fill_bernoulli(*self, p, gen);
  finish_inplace(self, "BernoulliBackward2");
}

void bernoulli_(TensorPtr& self, const TensorPtr& p, Generator* gen) {
  check_defined(self, "bernoulli_", "self");
  check_defined(p, "bernoulli_", "p");
  TensorPtr probs = probabilities(p, self->shape(), "bernoulli_");
  check_inplace(self, "bernoulli_");
  fill_bernoulli(*self, probs->data<double>(), gen);
  finish_inplace(self, "BernoulliBackward1", p);
}

TensorPtr bernoulli(const TensorPtr& input, Generator* gen) {
  check_defined(input, "bernoulli");
  FASTNN_CHECK_TYPE(is_floating(input->dtype()), "[bernoulli] expected a floating-point input, got ",
                    dtype_name(input->dtype()));
  TensorPtr probs = probabilities(input, input->shape(), "bernoulli");
  TensorPtr out = Tensor::empty(input->shape(), input->dtype(), "bernoulli", input->device());
  fill_bernoulli(*out, probs->data<double>(), gen);
  if (any_requires_grad({&input})) record(zero_grad_node("BernoulliBackward0", {&input}), {&input}, {&out});
  return out;
}

TensorPtr bernoulli(const TensorPtr& input, double p, Generator* gen) {
  check_defined(input, "bernoulli");
  FASTNN_CHECK(p >= 0.0 && p <= 1.0, "[bernoulli] bernoulli_ expects p to be in [0, 1], but got p=", p);
  TensorPtr out = Tensor::empty(input->shape(), input->dtype(), "bernoulli", input->device());
  fill_bernoulli(*out, p, gen);
  return out;  // not differentiable (torch records no usable node either)
}

TensorPtr normal(const TensorPtr& mean, const TensorPtr& std, Generator* gen) {
  check_defined(mean, "normal", "mean");
  check_defined(std, "normal", "std");
  FASTNN_CHECK_TYPE(is_floating(mean->dtype()), "[normal] expected a floating-point mean, got ",
                    dtype_name(mean->dtype()));
  Shape shape = broadcast_shapes(mean->shape(), std->shape(), "normal");
  check_all_std(std);
  TensorPtr out = normal_out(shape, mean->dtype(), mean, std, gen);
  if (any_requires_grad({&mean, &std})) record(zero_grad_node("NormalBackward3", {&mean, &std}), {&mean, &std}, {&out});
  return out;
}

TensorPtr normal(const TensorPtr& mean, double std, Generator* gen) {
  check_defined(mean, "normal", "mean");
  FASTNN_CHECK_TYPE(is_floating(mean->dtype()), "[normal] expected a floating-point mean, got ",
                    dtype_name(mean->dtype()));
  check_std(std);
  TensorPtr out = normal_out(mean->shape(), mean->dtype(), mean, scalar_tensor(std, DType::Float64, true), gen);
  if (any_requires_grad({&mean})) record(zero_grad_node("NormalBackward1", {&mean}), {&mean}, {&out});
  return out;
}

TensorPtr normal(double mean, const TensorPtr& std, Generator* gen) {
  check_defined(std, "normal", "std");
  FASTNN_CHECK_TYPE(is_floating(std->dtype()), "[normal] expected a floating-point std, got ",
                    dtype_name(std->dtype()));
  check_all_std(std);
  TensorPtr out = normal_out(std->shape(), std->dtype(), scalar_tensor(mean, DType::Float64, true), std, gen);
  if (any_requires_grad({&std})) record(zero_grad_node("NormalBackward2", {&std}), {&std}, {&out});
  return out;
}

TensorPtr normal(double mean, double std, const Shape& shape, DType dtype, Generator* gen) {
  FASTNN_CHECK_TYPE(is_floating(dtype), "[normal] expected a floating-point tensor, got ", dtype_name(dtype));
  check_std(std);
  TensorPtr t = Tensor::empty(shape, dtype, "normal");
  fill_normal(*t, mean, std, gen);
  return t;
}

void trunc_normal_(TensorPtr& self, double mean, double std, double a, double b, Generator* gen) {
  check_float_self(self, "trunc_normal_");
  FASTNN_CHECK(std >= 0.0, "[trunc_normal_] expected std >= 0, got ", std);
  FASTNN_CHECK(a <= b, "[trunc_normal_] expected a <= b, got a=", a, ", b=", b);
  FASTNN_CHECK_STATE(!any_requires_grad({&self}), "[trunc_normal_] cannot run under autograd; use fastnn.no_grad()");
  check_inplace(self, "trunc_normal_");
  // u uniform in [erf(a'), erf(b')) mapped back through erf^-1 (the normal's inverse CDF), then
  // clamped to [a, b] against rounding at the ends.
  const double lo = std::erf((a - mean) / (std * M_SQRT2)), hi = std::erf((b - mean) / (std * M_SQRT2));
  RandomState d = reserve_for(*self, gen);
  FASTNN_DISPATCH_FLOAT(self->dtype(), "trunc_normal_", [&] {
    fill_indexed<scalar_t>(*self, [&](uint64_t i) {
      double x = std > 0 ? erfinv(lo + uniform_double(bits_at(d, i)) * (hi - lo)) * std * M_SQRT2 + mean : mean;
      return static_cast<scalar_t>(std::min(std::max(x, a), b));
    });
  });
  self->bump_version();
}

TensorPtr multinomial(const TensorPtr& input, int64_t num_samples, bool replacement, Generator* gen) {
  check_defined(input, "multinomial");
  FASTNN_CHECK(input->dim() == 1 || input->dim() == 2, "[multinomial] prob_dist must be 1 or 2 dim, got ", input->dim(),
               " dims");
  FASTNN_CHECK_TYPE(is_floating(input->dtype()),
                    "[multinomial] multinomial only supports floating-point dtypes for "
                    "input, got: ",
                    dtype_name(input->dtype()));
  FASTNN_CHECK(num_samples > 0, "[multinomial] cannot sample n_sample <= 0 samples");
  const int64_t n = input->shape().back(), rows = input->dim() == 1 ? 1 : input->shape()[0];
  FASTNN_CHECK(replacement || num_samples <= n,
               "[multinomial] cannot sample n_sample > prob_dist.size(-1) samples "
               "without replacement (n_sample=",
               num_samples, ", categories=", n, ")");
  FASTNN_CHECK(n <= (int64_t(1) << 24), "[multinomial] number of categories cannot exceed 2^24");
  if (!input->is_cpu())  // drawn on the host (the CPU's numbers), the samples sent back
    return to_device(multinomial(to_device(input->detach(), Device{}), num_samples, replacement, gen), input->device());
  TensorPtr out =
      Tensor::empty(input->dim() == 1 ? Shape{num_samples} : Shape{rows, num_samples}, DType::Int64, "multinomial");
  TensorPtr w = as_doubles(input, input->shape(), "multinomial");
  const double* pw = w->data<double>();
  for (int64_t r = 0; r < rows; ++r) {
    double total = 0;
    for (int64_t j = 0; j < n; ++j) {
      double v = pw[r * n + j];
      FASTNN_CHECK(std::isfinite(v) && v >= 0,
                   "[multinomial] probability tensor contains either `inf`, `nan` or element < 0");
      total += v;
    }
    FASTNN_CHECK(total > 0, "[multinomial] invalid multinomial distribution (sum of probabilities <= 0)");
  }
  // Row r draws from counters r * per_row onwards: with replacement one per sample (inverting the
  // cumulative weights), without one per category (the smallest exponential(1) / weight keys win,
  // which samples without replacement in order).
  const int64_t per_row = replacement ? num_samples : n;
  RandomState d = generator_or_default(gen).reserve(uint64_t(rows) * uint64_t(per_row));
  int64_t* po = out->mutable_data<int64_t>();
  parallel_for(rows, std::max<int64_t>(1, kGrainSize / std::max(per_row, n)), [&](int64_t begin, int64_t end) {
    std::vector<double> acc(size_t(n), 0.0);
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t r = begin; r < end; ++r) {
      const double* row = pw + r * n;
      const uint64_t c0 = uint64_t(r) * uint64_t(per_row);
      int64_t* o = po + r * num_samples;
      if (replacement) {
        std::partial_sum(row, row + n, acc.begin());
        int64_t last = n - 1;  // the last category with weight: u * total may round up to total
        while (row[last] == 0) --last;
        for (int64_t s = 0; s < num_samples; ++s) {
          double x = uniform_double(bits_at(d, c0 + uint64_t(s))) * acc[size_t(n - 1)];
          o[s] = std::min<int64_t>(std::upper_bound(acc.begin(), acc.end(), x) - acc.begin(), last);
        }
      } else {
        for (int64_t j = 0; j < n; ++j)
          acc[size_t(j)] = row[j] > 0 ? -std::log1p(-uniform_double(bits_at(d, c0 + uint64_t(j)))) / row[j]
                                      : std::numeric_limits<double>::infinity();
        std::iota(order.begin(), order.end(), int64_t(0));
        std::partial_sort(order.begin(), order.begin() + num_samples, order.end(), [&](int64_t a, int64_t b) {
          return acc[size_t(a)] < acc[size_t(b)] || (acc[size_t(a)] == acc[size_t(b)] && a < b);
        });
        std::copy(order.begin(), order.begin() + num_samples, o);
      }
    }
  });
  return out;
}

}  // namespace fastnn
