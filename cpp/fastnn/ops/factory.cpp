// Factories: new tensors filled with constants or ranges (random ones: random_ops.cpp).
#include <cmath>
#include <cstring>

#include "fastnn/error.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/ops.h"
#include "fastnn/parallel.h"

namespace fastnn {
namespace {

// Fills a fresh contiguous tensor: data[i] = gen(i), in parallel chunks.
template <class T, class G>
void fill_with(Tensor& t, const G& gen) {
  T* p = t.mutable_data<T>();
  parallel_for(t.numel(), kGrainSize, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) p[i] = gen(i);
  });
}

}  // namespace

TensorPtr empty(const Shape& shape, DType dtype) { return Tensor::empty(shape, dtype, "empty"); }

TensorPtr zeros(const Shape& shape, DType dtype) { return zeros_on(shape, dtype, Device{}); }

TensorPtr zeros_on(const Shape& shape, DType dtype, Device device) {
  TensorPtr t = Tensor::empty(shape, dtype, "zeros", device);
  if (device.is_cuda()) {
    const uint64_t zero = 0;  // all-zero bits: 0 in every dtype
    cuda::fill(t->device_data(), shape.data(), t->strides().data(), int(shape.size()), t->numel(), &zero,
               itemsize(dtype), device.index);
  } else {
    std::memset(t->raw_mutable_data(), 0, size_t(t->numel()) * itemsize(dtype));
  }
  return t;
}

TensorPtr full(const Shape& shape, double value, DType dtype) {
  FASTNN_CHECK(dtype != DType::Int64 || fits_int64(value), "[full] value ", value,
               " cannot be converted to type int64 without overflow");
  TensorPtr t = Tensor::empty(shape, dtype, "full");
  FASTNN_DISPATCH_EVERY(dtype, "full", [&] {
    scalar_t v = convert<scalar_t>(value);
    fill_with<scalar_t>(*t, [v](int64_t) { return v; });
  });
  return t;
}

TensorPtr full(const Shape& shape, const TensorPtr& value, DType dtype, const char* op) {
  TensorPtr v = scalar_as(value, dtype, op);
  TensorPtr t = Tensor::empty(shape, dtype, op);
  FASTNN_DISPATCH_BY_SIZE(dtype, [&] {
    scalar_t x = *v->data<scalar_t>();
    fill_with<scalar_t>(*t, [x](int64_t) { return x; });
  });
  return t;
}

TensorPtr scalar_tensor(double value, DType dtype, bool wrapped_number) {
  TensorPtr t = full({}, value, dtype);
  t->set_wrapped_number(wrapped_number);
  return t;
}

TensorPtr int_scalar_tensor(int64_t value, bool wrapped_number) {
  TensorPtr t = Tensor::empty({}, DType::Int64, "tensor");
  *t->mutable_data<int64_t>() = value;
  t->set_wrapped_number(wrapped_number);
  return t;
}

TensorPtr arange(double start, double end, double step, DType dtype) {
  if (is_storage_dtype(dtype)) return cast(arange(start, end, step, compute_dtype(dtype)), dtype);
  if (dtype == DType::Int64) {  // an integer range truncates its bounds and step first, as torch does
    start = std::trunc(start);
    end = std::trunc(end);
    step = std::trunc(step);
  }
  FASTNN_CHECK(step != 0, "[arange] step must be nonzero");
  FASTNN_CHECK(std::isfinite(start) && std::isfinite(end), "[arange] unsupported range: ", start, " -> ", end);
  FASTNN_CHECK((end - start) / step >= 0,
               "[arange] upper bound and larger bound inconsistent with step sign: start=", start, ", end=", end,
               ", step=", step);
  FASTNN_CHECK(dtype != DType::Int64 || (fits_int64(start) && fits_int64(end)), "[arange] the range ", start, " -> ",
               end, " does not fit in int64");
  double count = std::ceil((end - start) / step);
  FASTNN_CHECK(count < 9.2e18, "[arange] too many elements: ", count);
  TensorPtr t = Tensor::empty({int64_t(count)}, dtype, "arange");
  FASTNN_DISPATCH_NUMERIC(dtype, "arange", [&] {
    fill_with<scalar_t>(*t, [&](int64_t i) { return static_cast<scalar_t>(start + double(i) * step); });
  });
  return t;
}

namespace {

// start + i * step for the first half, end - (steps - 1 - i) * step for the rest, as torch computes them: start
// and end in the output type first, the step in it too for floats (in double for integers), each value one
// fused multiply-add for linspace (torch's kernel rounds so: it decides an integer result); then `map`.
template <class F>
TensorPtr spaced(double start, double end, int64_t steps, DType dtype, const char* op, bool fused, const F& map) {
  FASTNN_CHECK(steps >= 0, "[", op, "] number of steps must be non-negative");
  if (is_storage_dtype(dtype)) return cast(spaced(start, end, steps, compute_dtype(dtype), op, fused, map), dtype);
  TensorPtr t = Tensor::empty({steps}, dtype, op);
  FASTNN_DISPATCH_NUMERIC(dtype, op, [&] {
    using step_t = std::conditional_t<std::is_floating_point_v<scalar_t>, scalar_t, double>;
    step_t lo = step_t(convert<scalar_t>(start)), hi = step_t(convert<scalar_t>(end));
    step_t step = steps > 1 ? (hi - lo) / step_t(steps - 1) : step_t(0);
    int64_t half = steps / 2;
    fill_with<scalar_t>(*t, [&](int64_t i) {
      step_t k = step_t(i < half ? i : steps - 1 - i), from = i < half ? lo : hi, by = i < half ? step : -step;
      step_t v = steps == 1 ? lo : fused ? std::fma(by, k, from) : from + by * k;
      return convert<scalar_t>(map(v));
    });
  });
  return t;
}

}  // namespace

TensorPtr linspace(double start, double end, int64_t steps, DType dtype) {
  return spaced(start, end, steps, dtype, "linspace", true, [](auto v) { return v; });
}

TensorPtr logspace(double start, double end, int64_t steps, double base, DType dtype) {
  return spaced(start, end, steps, dtype, "logspace", false, [base](auto v) { return std::pow(decltype(v)(base), v); });
}

TensorPtr eye(int64_t n, int64_t m, DType dtype) {
  FASTNN_CHECK(n >= 0 && m >= 0, "[eye] n and m must be non-negative, got n=", n, ", m=", m);
  TensorPtr t = Tensor::empty({n, m}, dtype, "eye");  // (size errors name eye, not zeros)
  std::memset(t->raw_mutable_data(), 0, size_t(t->numel()) * itemsize(dtype));
  FASTNN_DISPATCH_EVERY(dtype, "eye", [&] {
    scalar_t* p = t->mutable_data<scalar_t>();
    for (int64_t i = 0; i < std::min(n, m); ++i) p[i * m + i] = convert<scalar_t>(1);
  });
  return t;
}

}  // namespace fastnn
