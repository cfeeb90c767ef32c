// Dropout: zero elements (or whole channels) with probability p, scale the rest by 1/(1-p).
// The mask comes from the counter-based generator, the default one (fastnn.manual_seed reproduces it).
#include "fastnn/error.h"
#include "fastnn/kernels/cuda/random.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/loops.h"
#include "fastnn/ops/ops.h"
#include "fastnn/random.h"

namespace fastnn {
namespace {

// A tensor of `shape` holding 0 (dropped) or 1/(1-p) (kept), with keep probability 1-p.
// On a GPU the same numbers are drawn there (kernels/cuda/random.cu): the mask does not depend on the device.
TensorPtr dropout_mask(const Shape& shape, double p, DType dtype, Device device) {
  TensorPtr mask = Tensor::empty(shape, dtype, "dropout", device);
  const RandomState draw = default_generator()->reserve(uint64_t(mask->numel()));
  const uint64_t seed = draw.seed, base = draw.counter;
  double scale = p < 1 ? 1.0 / (1.0 - p) : 0.0;
  if (device.is_cuda()) {
    check_cuda_float(dtype, "dropout");
    cuda::dropout_mask(seed, base, p, scale, dtype == DType::Float64, mask->numel(), mask->device_data(), device.index);
    return mask;
  }
  FASTNN_DISPATCH_FLOAT(dtype, "dropout", [&] {
    scalar_t* m = mask->mutable_data<scalar_t>();
    parallel_for(mask->numel(), kGrainSize, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        m[i] = uniform_double(random_bits(seed, base + uint64_t(i))) < p ? scalar_t(0) : scalar_t(scale);
    });
  });
  return mask;
}

void check_p(double p, const char* op) {
  FASTNN_CHECK(p >= 0 && p <= 1, "[", op, "] dropout probability has to be between 0 and 1, but got ", p);
}

}  // namespace

TensorPtr dropout(const TensorPtr& x, double p, bool train) {
  check_defined(x, "dropout");
  if (any_storage_dtype({&x})) return narrowed(dropout(widened(x), p, train), x->dtype());
  check_p(p, "dropout");
  if (!train || p == 0) return x;
  FASTNN_CHECK_TYPE(is_floating(x->dtype()), "[dropout] expected a floating-point input, got ", dtype_name(x->dtype()));
  return mul(x, dropout_mask(x->shape(), p, x->dtype(), x->device()));  // MulBackward0, as torch records on the CPU
}

TensorPtr feature_dropout(const TensorPtr& x, double p, bool train) {
  check_defined(x, "feature_dropout");
  check_p(p, "dropout2d");
  if (!train || p == 0) return x;
  FASTNN_CHECK(x->dim() >= 2,
               "[dropout2d] expected an input with a channel dimension (N, C, ...) or (C, ...), got shape ",
               x->shape());
  FASTNN_CHECK_TYPE(is_floating(x->dtype()), "[dropout2d] expected a floating-point input, got ",
                    dtype_name(x->dtype()));
  // One mask value per (N, C) channel, broadcast over the spatial dims: the op is a plain multiply.
  Shape noise_shape(x->dim(), 1);
  noise_shape[0] = x->shape()[0];
  noise_shape[1] = x->shape()[1];
  return mul(x, dropout_mask(noise_shape, p, x->dtype(), x->device()));
}

}  // namespace fastnn
