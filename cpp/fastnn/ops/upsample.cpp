// F.interpolate's kernels: nearest, nearest-exact, linear, bilinear and bicubic resampling of the
// last 1 or 2 dims, as separable taps (kernels/cpu/upsample.h). Backward gathers per plane.
#include <vector>

#include "fastnn/autograd/functions.h"
#include "fastnn/kernels/cpu/group_by_key.h"
#include "fastnn/kernels/cpu/upsample.h"
#include "fastnn/kernels/cuda/resample.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/layers.h"

namespace fastnn {
namespace {

// One dim of `taps` on `device` in x's dtype, with its inverse (the entries reading each input coordinate, in
// order); the copies go to `keep`.
cuda::TapDim device_tap_dim(const HostTaps& taps, int k, DType dtype, Device device, std::vector<TensorPtr>& keep) {
  const std::vector<int64_t>& idx = taps.idx[k];
  const int64_t in = taps.in[k];
  const kernels::KeyGroups taps_of = kernels::group_by_key(  // the taps reading each input position
      int64_t(idx.size()), in, [&](int64_t e) { return idx[size_t(e)]; }, [](int64_t) { return true; });
  const std::vector<double>& wt = taps.wt[k];
  const TensorPtr idx_t = int64_tensor(idx, device), start_t = int64_tensor(taps_of.first, device),
                  inv_t = int64_tensor(taps_of.order, device);
  const TensorPtr wt_t =
      wt.empty()
          ? nullptr
          : to_device(cast(tensor_from_host(wt.data(), int64_t(wt.size()), DType::Float64, Device{}), dtype), device);
  for (const TensorPtr& t : {idx_t, start_t, inv_t, wt_t})
    if (t) keep.push_back(t);
  auto ptr = [](const TensorPtr& t) { return static_cast<const int64_t*>(t->device_data()); };
  return {in,
          taps.out[k],
          int(idx.size() / size_t(taps.out[k])),
          ptr(idx_t),
          wt_t ? wt_t->device_data() : nullptr,
          ptr(start_t),
          ptr(inv_t)};
}

}  // namespace

TensorPtr resample_cuda(const TensorPtr& input, const HostTaps& taps, int64_t planes, const Shape& out_shape,
                        const std::string& node) {
  const Device device = input->device();
  const TensorPtr x = contiguous(input->detach());
  check_cuda_float(x->dtype(), node.c_str());
  const bool is_double = x->dtype() == DType::Float64;
  auto keep = std::make_shared<std::vector<TensorPtr>>();  // the tables on the GPU, shared with the backward
  cuda::TapDims dims;
  for (int k = 0; k < 3; ++k) dims.d[k] = device_tap_dim(taps, k, x->dtype(), device, *keep);
  TensorPtr out = Tensor::empty(out_shape, x->dtype(), node.c_str(), device);
  cuda::resample_forward(is_double, x->device_data(), planes, dims, out->device_data(), device.index);
  if (any_requires_grad({&input}))
    record_grad_only(node.c_str(), out, {input},
                     [dtype = x->dtype(), dims, keep, planes, is_double, device, node,
                      in_shape = input->shape()](const TensorPtr& g) {
                       const TensorPtr gc = contiguous(cast(g, dtype));
                       TensorPtr gx = Tensor::empty(in_shape, gc->dtype(), node.c_str(), device);
                       cuda::resample_backward(is_double, gc->device_data(), planes, dims, gx->device_data(),
                                               device.index);
                       return std::vector<TensorPtr>{gx};
                     });
  return out;
}

TensorPtr upsample(const TensorPtr& input, IntList size, const std::vector<double>& scales, const std::string& mode,
                   bool align_corners) {
  using kernels::UpsampleMode;
  const int64_t k = int64_t(size.size()), nd = input->dim();
  UpsampleMode m;
  std::string node;
  if (mode == "nearest") m = k == 2 ? UpsampleMode::Nearest2d : UpsampleMode::Nearest, node = "UpsampleNearest";
  else if (mode == "nearest-exact") m = UpsampleMode::NearestExact, node = "UpsampleNearestExact";
  else if (mode == "linear" && k == 1) m = UpsampleMode::Linear, node = "UpsampleLinear";
  else if (mode == "bilinear" && k == 2) m = UpsampleMode::Linear, node = "UpsampleBilinear";
  else if (mode == "bicubic" && k == 2) m = UpsampleMode::Cubic, node = "UpsampleBicubic";
  else FASTNN_CHECK(false, "[interpolate] mode '", mode, "' is not supported for ", k, " spatial dims");
  node += std::to_string(k) + "DBackward0";
  FASTNN_CHECK((k == 1 || k == 2) && nd == k + 2, "[interpolate] expected a ", k + 2, "-D input (N, C, ",
               k == 2 ? "H, W" : "L", ") for ", k, " output sizes, got ", nd, "-D input of shape ", input->shape());
  FASTNN_CHECK(scales.empty() || int64_t(scales.size()) == k, "[interpolate] expected ", k, " scale factors, got ",
               scales.size());
  FASTNN_CHECK_TYPE(is_floating(input->dtype()), "[interpolate] expected a floating-point input, got ",
                    dtype_name(input->dtype()));
  const int64_t H = k == 2 ? input->shape()[2] : 1, W = input->shape()[nd - 1];
  const int64_t oH = k == 2 ? size[0] : 1, oW = size[size_t(k - 1)];
  FASTNN_CHECK(oH > 0 && oW > 0, "[interpolate] Input and output sizes should be greater than 0, but got input (",
               k == 2 ? str("H: ", H, ", ") : "", "W: ", W, ") output (", k == 2 ? str("H: ", oH, ", ") : "", "W: ", oW,
               ")");
  FASTNN_CHECK(H > 0 && W > 0 && input->shape()[1] > 0, "[interpolate] Non-empty ", nd,
               "D data tensor expected but got a tensor with sizes ", input->shape());
  const int64_t planes = input->shape()[0] * input->shape()[1];
  Shape out_shape = input->shape();
  out_shape[nd - 1] = oW;
  if (k == 2) out_shape[2] = oH;
  TensorPtr x = contiguous(input->detach());
  TensorPtr out = Tensor::empty(out_shape, x->dtype(), "interpolate", x->device());
  if (out->numel() == 0) {  // an empty batch: no taps to build (they are as long as the output sizes)
    record_grad_only(node.c_str(), out, {input}, [in_shape = input->shape()](const TensorPtr& g) {
      return std::vector<TensorPtr>{zeros_on(in_shape, g->dtype(), g->device())};
    });
    return out;
  }
  auto scale = [&](int64_t i) { return scales.empty() ? 0.0 : scales[size_t(i)]; };
  FASTNN_DISPATCH_FLOAT(x->dtype(), "interpolate", [&] {
    // Taps per dim; a 1-D resampling's height is one identity tap.
    std::vector<int64_t> ih{0}, iw;
    std::vector<scalar_t> wh{1}, ww;
    if (k == 2) kernels::upsample_taps<scalar_t>(m, H, oH, scale(0), align_corners, ih, wh);
    kernels::upsample_taps<scalar_t>(m, W, oW, scale(k - 1), align_corners, iw, ww);
    const int th = int(ih.size() / size_t(oH)), tw = int(iw.size() / size_t(oW));
    if (x->device().is_cuda()) {
      HostTaps taps;
      taps.in[1] = H, taps.out[1] = oH, taps.idx[1] = ih, taps.wt[1].assign(wh.begin(), wh.end());
      taps.in[2] = W, taps.out[2] = oW, taps.idx[2] = iw, taps.wt[2].assign(ww.begin(), ww.end());
      out = resample_cuda(input, taps, planes, out_shape, node);
      return;
    }
    kernels::upsample_forward<scalar_t>(x->data<scalar_t>(), planes, H, W, oH, oW, th, ih.data(), wh.data(), tw,
                                        iw.data(), ww.data(), out->mutable_data<scalar_t>());
    if (any_requires_grad({&input})) {
      const Shape in_shape = input->shape();
      record_grad_only(node.c_str(), out, {input}, [=](const TensorPtr& g) {
        TensorPtr gc = contiguous(g);
        TensorPtr gx = Tensor::empty(in_shape, gc->dtype());
        kernels::upsample_backward<scalar_t>(gc->data<scalar_t>(), planes, H, W, oH, oW, th, ih.data(), wh.data(), tw,
                                             iw.data(), ww.data(), gx->mutable_data<scalar_t>());
        return std::vector<TensorPtr>{gx};
      });
    }
  });
  return out;
}

}  // namespace fastnn
