// F.interpolate's kernels: nearest, nearest-exact, linear, bilinear and bicubic resampling of the
// last 1 or 2 dims, as separable taps (kernels/cpu/upsample.h). Backward gathers per plane.
#include <vector>

#include "fastnn/autograd/functions.h"
#include "fastnn/kernels/cpu/upsample.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/layers.h"

namespace fastnn {

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
  TensorPtr out = Tensor::empty(out_shape, x->dtype(), "interpolate");
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
