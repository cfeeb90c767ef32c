// F.unfold (im2col over a batch), F.fold (col2im, its adjoint), pixel_shuffle and pixel_unshuffle
// (a rearranging copy and its inverse): each one's backward is the other.
#include "fastnn/autograd/functions.h"
#include "fastnn/autograd/grad_mode.h"
#include "fastnn/kernels/cpu/im2col.h"
#include "fastnn/kernels/cuda/conv.h"
#include "fastnn/ops/conv_util.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/layers.h"

namespace fastnn {
namespace {

struct FoldGeom {
  int64_t kH, kW, dH, dW, pH, pW, sH, sW, oH, oW;  // oH x oW sliding blocks
};

FoldGeom fold_geometry(int64_t H, int64_t W, const IntList& kernel_size, const IntList& dilation,
                       const IntList& padding, const IntList& stride, const char* op) {
  FoldGeom g{};
  std::tie(g.kH, g.kW) = pair_arg(kernel_size, op, "kernel_size", 1);
  std::tie(g.dH, g.dW) = pair_arg(dilation, op, "dilation", 1);
  std::tie(g.pH, g.pW) = pair_arg(padding, op, "padding", 0);
  std::tie(g.sH, g.sW) = pair_arg(stride, op, "stride", 1);
  auto blocks = [](int64_t in, int64_t k, int64_t p, int64_t s, int64_t d) {
    __int128 n = (__int128)in + 2 * (__int128)p - (__int128)d * (k - 1) - 1;
    return n < 0 ? int64_t(0) : n > INT64_MAX / 2 ? int64_t(-1) : int64_t(n / s + 1);
  };
  g.oH = blocks(H, g.kH, g.pH, g.sH, g.dH);
  g.oW = blocks(W, g.kW, g.pW, g.sW, g.dW);
  FASTNN_CHECK(g.oH > 0 && g.oW > 0, "[", op, "] Given input with spatial size (", H, ", ", W, "), kernel_size=(", g.kH,
               ", ", g.kW, "), dilation=(", g.dH, ", ", g.dW, "), padding=(", g.pH, ", ", g.pW,
               "), calculated shape of ", "the array of sliding blocks as (", g.oH, ", ", g.oW,
               "), but its components must be at least one.");
  return g;
}

// The GPU's im2col geometry (kernels/cuda/conv.h) for N images of (C, H, W).
cuda::ConvShape cuda_fold_shape(int64_t N, int64_t C, int64_t H, int64_t W, const FoldGeom& g) {
  return {N, C, H, W, 0, g.kH, g.kW, g.oH, g.oW, 1, g.sH, g.sW, g.pH, g.pW, g.dH, g.dW};
}

// out = permute(input viewed as `in_view`, perm), written into a fresh tensor of `out_shape`
// (viewed as the permuted shape): pixel (un)shuffle's one copy.
TensorPtr rearrange(const TensorPtr& input, const Shape& in_view, const IntList& perm, const Shape& out_shape) {
  GradModeGuard no_grad(false);
  TensorPtr src = permute(reshape(input->detach(), in_view), perm);
  TensorPtr out = Tensor::empty(out_shape, input->dtype(), "pixel_shuffle", input->device());
  TensorPtr dst = view(out, src->shape());
  if (out->numel() > 0) copy_(dst, src);
  return out;
}

TensorPtr shuffle(const TensorPtr& input, int64_t r, bool up) {
  const char* op = up ? "pixel_shuffle" : "pixel_unshuffle";
  const int64_t nd = input->dim();
  FASTNN_CHECK(nd >= 3, "[", op, "] expects input to have at least 3 dimensions, but got input with ", nd,
               " dimension(s)");
  FASTNN_CHECK(r > 0, "[", op, "] expects a positive ", up ? "upscale_factor" : "downscale_factor", ", but got ", r);
  const Shape& s = input->shape();
  const int64_t c = s[nd - 3], h = s[nd - 2], w = s[nd - 1];
  Shape lead(s.begin(), s.end() - 3);
  const int64_t n = int64_t(lead.size());
  Shape in_view = lead, out_shape = lead;
  IntList perm;
  for (int64_t i = 0; i < n; ++i) perm.push_back(i);
  if (up) {
    FASTNN_CHECK(c % (r * r) == 0, "[pixel_shuffle] expects its input's 'channel' dimension to be divisible by the ",
                 "square of upscale_factor, but input.size(-3)=", c, " is not divisible by ", r * r);
    in_view.insert(in_view.end(), {c / (r * r), r, r, h, w});  // (C, r1, r2, H, W) -> (C, H, r1, W, r2)
    for (int64_t d : {0, 3, 1, 4, 2}) perm.push_back(n + d);
    out_shape.insert(out_shape.end(), {c / (r * r), h * r, w * r});
  } else {
    FASTNN_CHECK(h % r == 0,
                 "[pixel_unshuffle] expects height to be divisible by downscale_factor, but input.size(-2)=", h,
                 " is not divisible by ", r);
    FASTNN_CHECK(w % r == 0,
                 "[pixel_unshuffle] expects width to be divisible by downscale_factor, but input.size(-1)=", w,
                 " is not divisible by ", r);
    in_view.insert(in_view.end(), {c, h / r, r, w / r, r});  // (C, H, r1, W, r2) -> (C, r1, r2, H, W)
    for (int64_t d : {0, 2, 4, 1, 3}) perm.push_back(n + d);
    out_shape.insert(out_shape.end(), {c * r * r, h / r, w / r});
  }
  TensorPtr out = rearrange(input, in_view, perm, out_shape);
  record_grad_only(
      up ? "PixelShuffleBackward0" : "PixelUnshuffleBackward0", out, {input},
      [r, up](const TensorPtr& g) { return std::vector<TensorPtr>{up ? pixel_unshuffle(g, r) : pixel_shuffle(g, r)}; },
      true);
  return out;
}

}  // namespace

TensorPtr pixel_shuffle(const TensorPtr& input, int64_t upscale_factor) { return shuffle(input, upscale_factor, true); }
TensorPtr pixel_unshuffle(const TensorPtr& input, int64_t downscale_factor) {
  return shuffle(input, downscale_factor, false);
}

TensorPtr unfold_im2col(const TensorPtr& input, IntList kernel_size, IntList dilation, IntList padding,
                        IntList stride) {
  const int64_t nd = input->dim();
  FASTNN_CHECK(nd == 3 || nd == 4, "[unfold] Input Error: Only 3D or 4D input Tensors are supported (got ", nd, "D)");
  FASTNN_CHECK_TYPE(is_floating(input->dtype()), "[unfold] expected a floating-point input, got ",
                    dtype_name(input->dtype()));
  const int64_t N = nd == 4 ? input->shape()[0] : 1, C = input->shape()[nd - 3], H = input->shape()[nd - 2],
                W = input->shape()[nd - 1];
  FASTNN_CHECK(C > 0 && H > 0 && W > 0, "[unfold] expected non-empty channel and spatial dims, got input of shape ",
               input->shape());
  const FoldGeom g = fold_geometry(H, W, kernel_size, dilation, padding, stride, "unfold");
  const int64_t rows = C * g.kH * g.kW, L = g.oH * g.oW;
  TensorPtr x = contiguous(input->detach());
  TensorPtr out = Tensor::empty(nd == 4 ? Shape{N, rows, L} : Shape{rows, L}, x->dtype(), "unfold", x->device());
  if (x->device().is_cuda()) {
    check_cuda_float(x->dtype(), "unfold");
    cuda::unfold(x->dtype() == DType::Float64, cuda_fold_shape(N, C, H, W, g), x->device_data(), out->device_data(),
                 x->device().index);
  } else {
    FASTNN_DISPATCH_FLOAT(x->dtype(), "unfold", [&] {
      for (int64_t n = 0; n < N; ++n)
        kernels::im2col<scalar_t>(x->data<scalar_t>() + n * C * H * W, C, H, W, g.kH, g.kW, g.pH, g.pW, g.sH, g.sW,
                                  g.dH, g.dW, g.oH, g.oW, out->mutable_data<scalar_t>() + n * rows * L, L);
    });
  }
  record_grad_only(
      "Im2ColBackward0", out, {input},
      [=](const TensorPtr& grad) {
        return std::vector<TensorPtr>{fold_col2im(grad, {H, W}, kernel_size, dilation, padding, stride)};
      },
      true);
  return out;
}

TensorPtr fold_col2im(const TensorPtr& input, IntList output_size, IntList kernel_size, IntList dilation,
                      IntList padding, IntList stride) {
  const int64_t nd = input->dim();
  FASTNN_CHECK(nd == 2 || nd == 3, "[fold] Input Error: Only unbatched (2D) or batched (3D) input Tensors are ",
               "supported (got ", nd, "D)");
  FASTNN_CHECK_TYPE(is_floating(input->dtype()), "[fold] expected a floating-point input, got ",
                    dtype_name(input->dtype()));
  auto [H, W] = pair_arg(output_size, "fold", "output_size", 1);
  const FoldGeom g = fold_geometry(H, W, kernel_size, dilation, padding, stride, "fold");
  const int64_t N = nd == 3 ? input->shape()[0] : 1, rows = input->shape()[nd - 2], L = input->shape()[nd - 1];
  FASTNN_CHECK(rows > 0 && rows % (g.kH * g.kW) == 0, "[fold] Expected size of input's dimension ", nd - 2,
               " to be divisible by the product of kernel_size, but got input.size(", nd - 2, ")=", rows,
               " and kernel_size=(", g.kH, ", ", g.kW, ")");
  FASTNN_CHECK(L == g.oH * g.oW, "[fold] Given output_size=(", H, ", ", W, "), kernel_size=(", g.kH, ", ", g.kW,
               "), dilation=(", g.dH, ", ", g.dW, "), padding=(", g.pH, ", ", g.pW, "), stride=(", g.sH, ", ", g.sW,
               "), expected size of input's dimension ", nd - 1, " to match the calculated number of sliding blocks ",
               g.oH, " * ", g.oW, " = ", g.oH * g.oW, ", but got input.size(", nd - 1, ")=", L, ".");
  const int64_t C = rows / (g.kH * g.kW);
  TensorPtr x = contiguous(input->detach());
  TensorPtr out = Tensor::empty(nd == 3 ? Shape{N, C, H, W} : Shape{C, H, W}, x->dtype(), "fold", x->device());
  if (x->device().is_cuda()) {
    check_cuda_float(x->dtype(), "fold");
    cuda::fold(x->dtype() == DType::Float64, cuda_fold_shape(N, C, H, W, g), x->device_data(), out->device_data(),
               x->device().index);
  } else {
    FASTNN_DISPATCH_FLOAT(x->dtype(), "fold", [&] {
      for (int64_t n = 0; n < N; ++n)
        kernels::col2im<scalar_t>(x->data<scalar_t>() + n * rows * L, L, C, H, W, g.kH, g.kW, g.pH, g.pW, g.sH, g.sW,
                                  g.dH, g.dW, g.oH, g.oW, out->mutable_data<scalar_t>() + n * C * H * W);
    });
  }
  record_grad_only(
      "Col2ImBackward0", out, {input},
      [=](const TensorPtr& grad) {
        return std::vector<TensorPtr>{unfold_im2col(grad, kernel_size, dilation, padding, stride)};
      },
      true);
  return out;
}

}  // namespace fastnn
