// max_pool2d (with indices), avg_pool2d and the adaptive pools over (N, C, H, W) or (C, H, W) inputs.
#include <cstdlib>

#include "fastnn/autograd/functions.h"
#include "fastnn/autograd/node.h"
#include "fastnn/kernels/cpu/adaptive_pool.h"
#include "fastnn/kernels/cpu/pool.h"
#include "fastnn/kernels/cuda/pool.h"
#include "fastnn/ops/conv_util.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/layers.h"

namespace fastnn {
namespace {

struct PoolGeom {
  int64_t planes, H, W, oH, oW, kH, kW, sH, sW, pH, pW, dH = 1, dW = 1;
  Shape out_shape;
  bool adaptive = false;  // adaptive pooling's windows (kernel, stride and padding unused)
};

PoolGeom pool_geometry(const TensorPtr& x, IntList kernel, IntList stride, IntList padding, IntList dilation,
                       bool ceil_mode, const char* op) {
  FASTNN_CHECK(x->dim() == 3 || x->dim() == 4, "[", op, "] expected 3-D (C, H, W) or 4-D (N, C, H, W) input, got ",
               x->dim(), "-D input of shape ", x->shape());
  FASTNN_CHECK_TYPE(is_floating(x->dtype()), "[", op, "] expected a floating-point input, got ",
                    dtype_name(x->dtype()));
  PoolGeom g{};
  std::tie(g.kH, g.kW) = pair_arg(kernel, op, "kernel_size", 1);
  std::tie(g.sH, g.sW) = stride.empty() ? std::make_pair(g.kH, g.kW) : pair_arg(stride, op, "stride", 1);
  std::tie(g.pH, g.pW) = pair_arg(padding, op, "padding", 0);
  std::tie(g.dH, g.dW) = pair_arg(dilation, op, "dilation", 1);
  FASTNN_CHECK(g.pH <= g.kH / 2 && g.pW <= g.kW / 2, "[", op,
               "] pad should be at most half of effective kernel size, but got pad=(", g.pH, ", ", g.pW,
               ") and kernel_size=(", g.kH, ", ", g.kW, ")");
  int64_t nd = x->dim();
  g.H = x->shape()[nd - 2];
  g.W = x->shape()[nd - 1];
  g.planes = x->numel() / std::max<int64_t>(g.H * g.W, 1);
  if (g.H * g.W == 0) g.planes = x->shape()[0] * (nd == 4 ? x->shape()[1] : 1);
  g.oH = window_out(g.H, g.kH, g.pH, g.sH, g.dH, ceil_mode);
  g.oW = window_out(g.W, g.kW, g.pW, g.sW, g.dW, ceil_mode);
  FASTNN_CHECK(g.oH > 0 && g.oW > 0, "[", op, "] given input size (", g.H, "x", g.W, ") with kernel (", g.kH, "x", g.kW,
               "), padding (", g.pH, ", ", g.pW, "), stride (", g.sH, ", ", g.sW, ") and dilation (", g.dH, ", ", g.dW,
               "), the calculated output size (", g.oH, "x", g.oW, ") is too small");
  g.out_shape = x->shape();
  g.out_shape[nd - 2] = g.oH;
  g.out_shape[nd - 1] = g.oW;
  return g;
}

cuda::PoolShape cuda_shape(const PoolGeom& g) {
  return {g.planes, g.H, g.W, g.oH, g.oW, g.kH, g.kW, g.sH, g.sW, g.pH, g.pW, g.dH, g.dW, g.adaptive};
}

cuda::AvgPoolShape cuda_avg_shape(const PoolGeom& g, bool count_include_pad, int64_t divisor, bool adaptive) {
  return {g.planes, g.H, g.W, g.oH, g.oW, g.kH, g.kW, g.sH, g.sW, g.pH, g.pW, count_include_pad, adaptive, divisor};
}

class MaxPoolBackward : public Node {
 public:
  MaxPoolBackward(const TensorPtr& indices, PoolGeom g, Shape in_shape,
                  const char* name = "MaxPool2DWithIndicesBackward0")
      : indices_(indices), g_(g), in_(std::move(in_shape)), name_(name) {}
  std::string name() const override { return name_; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr idx = indices_.unpack(*this);
    TensorPtr g = contiguous(grads[0]);
    TensorPtr gx = Tensor::empty(in_, g->dtype(), "max_pool2d", g->device());
    if (g->device().is_cuda()) {
      cuda::max_pool2d_backward(g->dtype() == DType::Float64, cuda_shape(g_), g->device_data(),
                                static_cast<const int64_t*>(idx->device_data()), gx->device_data(), g->device().index);
      return {gx};
    }
    FASTNN_DISPATCH_FLOAT(g->dtype(), "max_pool2d", [&] {
      kernels::max_pool2d_backward<scalar_t>(g->data<scalar_t>(), idx->data<int64_t>(), g_.planes, g_.H, g_.W, g_.oH,
                                             g_.oW, gx->mutable_data<scalar_t>());
    });
    return {gx};
  }
  void release_saved() override { indices_.reset(); }

 private:
  SavedTensor indices_;
  PoolGeom g_;
  Shape in_;
  const char* name_;
};

class AvgPoolBackward : public Node {
 public:
  AvgPoolBackward(PoolGeom g, Shape in_shape, bool count_include_pad, int64_t divisor)
      : g_(g), in_(std::move(in_shape)), count_include_pad_(count_include_pad), divisor_(divisor) {}
  std::string name() const override { return "AvgPool2DBackward0"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr g = contiguous(grads[0]);
    TensorPtr gx = Tensor::empty(in_, g->dtype(), "avg_pool2d", g->device());
    if (g->device().is_cuda())
      cuda::avg_pool2d_backward(g->dtype() == DType::Float64,
                                cuda_avg_shape(g_, count_include_pad_, std::abs(divisor_), false), g->device_data(),
                                gx->device_data(), g->device().index);
    else
      FASTNN_DISPATCH_FLOAT(g->dtype(), "avg_pool2d", [&] {
        kernels::avg_pool2d_backward<scalar_t>(g->data<scalar_t>(), g_.planes, g_.H, g_.W, g_.oH, g_.oW, g_.kH, g_.kW,
                                               g_.sH, g_.sW, g_.pH, g_.pW, count_include_pad_, std::abs(divisor_),
                                               gx->mutable_data<scalar_t>());
      });
    return {divisor_ < 0 ? neg(gx) : gx};
  }

 private:
  PoolGeom g_;
  Shape in_;
  bool count_include_pad_;
  int64_t divisor_;
};

// The adaptive pools' geometry (kernel, stride and padding unused): planes, H, W, oH, oW and the output shape.
PoolGeom adaptive_geometry(const TensorPtr& input, const IntList& output_size, const char* op) {
  FASTNN_CHECK(input->dim() == 3 || input->dim() == 4, "[", op, "] expected 3-D (C, H, W) or 4-D (N, C, H, W) ",
               "input, got ", input->dim(), "-D input of shape ", input->shape());
  FASTNN_CHECK_TYPE(is_floating(input->dtype()), "[", op, "] expected a floating-point input, got ",
                    dtype_name(input->dtype()));
  PoolGeom g{};
  g.adaptive = true;
  std::tie(g.oH, g.oW) = pair_arg(output_size, op, "output_size", 0);
  int64_t nd = input->dim();
  g.H = input->shape()[nd - 2], g.W = input->shape()[nd - 1];
  FASTNN_CHECK((g.H > 0 && g.W > 0) || g.oH * g.oW == 0, "[", op, "] input of shape ", input->shape(),
               " has an empty spatial dimension");
  g.planes = input->shape()[0] * (nd == 4 ? input->shape()[1] : 1);
  g.out_shape = input->shape();
  g.out_shape[nd - 2] = g.oH;
  g.out_shape[nd - 1] = g.oW;
  return g;
}

}  // namespace

std::pair<TensorPtr, TensorPtr> max_pool2d_with_indices(const TensorPtr& input, IntList kernel_size, IntList stride,
                                                        IntList padding, IntList dilation, bool ceil_mode) {
  if (input && any_storage_dtype({&input})) {
    auto [v, i] = max_pool2d_with_indices(widened(input), kernel_size, stride, padding, dilation, ceil_mode);
    return {narrowed(v, input->dtype()), i};
  }
  PoolGeom g = pool_geometry(input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d");
  TensorPtr x = contiguous(input->detach());
  const Device device = x->device();
  TensorPtr out = Tensor::empty(g.out_shape, x->dtype(), "max_pool2d", device);
  TensorPtr idx = Tensor::empty(g.out_shape, DType::Int64, "max_pool2d", device);
  if (device.is_cuda()) {
    check_cuda_float(x->dtype(), "max_pool2d");
    cuda::max_pool2d_forward(x->dtype() == DType::Float64, cuda_shape(g), x->device_data(), out->device_data(),
                             static_cast<int64_t*>(idx->device_data()), device.index);
  } else
    FASTNN_DISPATCH_FLOAT(x->dtype(), "max_pool2d", [&] {
      kernels::max_pool2d_forward<scalar_t>(x->data<scalar_t>(), g.planes, g.H, g.W, g.oH, g.oW, g.kH, g.kW, g.sH, g.sW,
                                            g.pH, g.pW, g.dH, g.dW, out->mutable_data<scalar_t>(),
                                            idx->mutable_data<int64_t>());
    });
  if (any_requires_grad({&input})) record(std::make_shared<MaxPoolBackward>(idx, g, input->shape()), {&input}, {&out});
  return {out, idx};
}

TensorPtr avg_pool2d(const TensorPtr& input, IntList kernel_size, IntList stride, IntList padding, bool ceil_mode,
                     bool count_include_pad, std::optional<int64_t> divisor_override) {
  if (input && any_storage_dtype({&input}))
    return narrowed(
        avg_pool2d(widened(input), kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override),
        input->dtype());
  PoolGeom g = pool_geometry(input, kernel_size, stride, padding, {1}, ceil_mode, "avg_pool2d");
  if (divisor_override) FASTNN_CHECK(*divisor_override != 0, "[avg_pool2d] divisor must be not zero");
  int64_t divisor = divisor_override ? *divisor_override : 0;
  TensorPtr x = contiguous(input->detach());
  TensorPtr out = Tensor::empty(g.out_shape, x->dtype(), "avg_pool2d", x->device());
  // The kernels take a positive divisor; torch accepts a negative override, which only flips the sign (exactly).
  if (x->device().is_cuda()) {
    check_cuda_float(x->dtype(), "avg_pool2d");
    cuda::avg_pool2d_forward(x->dtype() == DType::Float64,
                             cuda_avg_shape(g, count_include_pad, std::abs(divisor), false), x->device_data(),
                             out->device_data(), x->device().index);
  } else
    FASTNN_DISPATCH_FLOAT(x->dtype(), "avg_pool2d", [&] {
      kernels::avg_pool2d_forward<scalar_t>(x->data<scalar_t>(), g.planes, g.H, g.W, g.oH, g.oW, g.kH, g.kW, g.sH, g.sW,
                                            g.pH, g.pW, count_include_pad, std::abs(divisor),
                                            out->mutable_data<scalar_t>());
    });
  if (divisor < 0) out = neg(out);
  if (any_requires_grad({&input}))
    record(std::make_shared<AvgPoolBackward>(g, input->shape(), count_include_pad, divisor), {&input}, {&out});
  return out;
}

std::pair<TensorPtr, TensorPtr> adaptive_max_pool2d(const TensorPtr& input, IntList output_size) {
  PoolGeom g = adaptive_geometry(input, output_size, "adaptive_max_pool2d");
  TensorPtr x = contiguous(input->detach());
  const Device device = x->device();
  TensorPtr out = Tensor::empty(g.out_shape, x->dtype(), "adaptive_max_pool2d", device);
  TensorPtr idx = Tensor::empty(g.out_shape, DType::Int64, "adaptive_max_pool2d", device);
  if (device.is_cuda()) {
    check_cuda_float(x->dtype(), "adaptive_max_pool2d");
    if (out->numel() > 0)
      cuda::max_pool2d_forward(x->dtype() == DType::Float64, cuda_shape(g), x->device_data(), out->device_data(),
                               static_cast<int64_t*>(idx->device_data()), device.index);
  } else if (out->numel() > 0) {
    FASTNN_DISPATCH_FLOAT(x->dtype(), "adaptive_max_pool2d", [&] {
      kernels::adaptive_max_pool2d_forward<scalar_t>(x->data<scalar_t>(), g.planes, g.H, g.W, g.oH, g.oW,
                                                     out->mutable_data<scalar_t>(), idx->mutable_data<int64_t>());
    });
  }
  if (any_requires_grad({&input}))
    record(std::make_shared<MaxPoolBackward>(idx, g, input->shape(), "AdaptiveMaxPool2DBackward0"), {&input}, {&out});
  return {out, idx};
}

TensorPtr adaptive_avg_pool2d(const TensorPtr& input, IntList output_size) {
  PoolGeom ag = adaptive_geometry(input, output_size, "adaptive_avg_pool2d");
  const int64_t planes = ag.planes, H = ag.H, W = ag.W, oH = ag.oH, oW = ag.oW;
  const Shape& out_shape = ag.out_shape;
  TensorPtr x = contiguous(input->detach());
  const Device device = x->device();
  TensorPtr out = Tensor::empty(out_shape, x->dtype(), "adaptive_avg_pool2d", device);
  if (device.is_cuda()) {
    check_cuda_float(x->dtype(), "adaptive_avg_pool2d");
    cuda::avg_pool2d_forward(x->dtype() == DType::Float64, cuda_avg_shape(ag, false, 0, true), x->device_data(),
                             out->device_data(), device.index);
  } else
    FASTNN_DISPATCH_FLOAT(x->dtype(), "adaptive_avg_pool2d", [&] {
      kernels::adaptive_avg_pool2d_forward<scalar_t>(x->data<scalar_t>(), planes, H, W, oH, oW,
                                                     out->mutable_data<scalar_t>());
    });
  if (any_requires_grad({&input})) {
    Shape in_shape = input->shape();
    int64_t oh = oH, ow = oW;
    record_grad_only("AdaptiveAvgPool2DBackward0", out, {input}, [=](const TensorPtr& g) {
      TensorPtr gc = contiguous(g);
      TensorPtr gx = Tensor::empty(in_shape, g->dtype(), "adaptive_avg_pool2d", g->device());
      if (g->device().is_cuda()) {
        cuda::avg_pool2d_backward(g->dtype() == DType::Float64, cuda_avg_shape(ag, false, 0, true), gc->device_data(),
                                  gx->device_data(), g->device().index);
        return std::vector<TensorPtr>{gx};
      }
      FASTNN_DISPATCH_FLOAT(g->dtype(), "adaptive_avg_pool2d", [&] {
        kernels::adaptive_avg_pool2d_backward<scalar_t>(gc->data<scalar_t>(), planes, H, W, oh, ow,
                                                        gx->mutable_data<scalar_t>());
      });
      return std::vector<TensorPtr>{gx};
    });
  }
  return out;
}

}  // namespace fastnn
