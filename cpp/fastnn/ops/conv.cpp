// conv2d as im2col + GEMM: forward, input gradient (GEMM + col2im) and weight gradient (GEMM
// summed over the batch in fixed-size chunks, combined in chunk order for determinism).
#include <vector>

#include "fastnn/autograd/grad_mode.h"
#include "fastnn/autograd/node.h"
#include "fastnn/kernels/cpu/gemm.h"
#include "fastnn/kernels/cpu/im2col.h"
#include "fastnn/ops/conv_util.h"
#include "fastnn/ops/internal.h"
#include "fastnn/parallel.h"

namespace fastnn {
namespace {

constexpr int64_t kImagesPerChunk = 4;  // weight-gradient partial sums: fixed, not per thread

struct ConvGeom {
  int64_t N, C, H, W, O, kH, kW, oH, oW, groups;
  int64_t sH, sW, pH, pW, dH, dW;
  int64_t Cg() const { return C / groups; }
  int64_t Og() const { return O / groups; }
  int64_t K() const { return Cg() * kH * kW; }  // GEMM depth per group
  int64_t P() const { return oH * oW; }         // output pixels per image
  // 1x1, stride 1, no padding: the image already is its im2col matrix.
  bool pointwise() const { return kH == 1 && kW == 1 && sH == 1 && sW == 1 && pH == 0 && pW == 0; }
};

template <class T>
void unfold(const ConvGeom& g, const T* img, T* col) {
  kernels::im2col<T>(img, g.Cg(), g.H, g.W, g.kH, g.kW, g.pH, g.pW, g.sH, g.sW, g.dH, g.dW, g.oH, g.oW, col);
}

// Runs body(n, col_buffer) for every image, in parallel over images when there are several.
template <class T, class F>
void for_each_image(const ConvGeom& g, const F& body) {
  int64_t col_size = g.pointwise() ? 0 : g.K() * g.P();
  parallel_for(g.N, 1, [&](int64_t b, int64_t e) {
    std::vector<T> col(col_size);
    for (int64_t n = b; n < e; ++n) body(n, col.data());
  });
}

template <class T>
void conv_forward(const ConvGeom& g, const T* x, const T* w, const T* bias, T* y) {
  for_each_image<T>(g, [&](int64_t n, T* col) {
    for (int64_t gr = 0; gr < g.groups; ++gr) {
      const T* img = x + (n * g.C + gr * g.Cg()) * g.H * g.W;
      const T* cols = img;
      if (!g.pointwise()) {
        unfold(g, img, col);
        cols = col;
      }
      T* out = y + (n * g.O + gr * g.Og()) * g.P();
      if (bias)
        for (int64_t o = 0; o < g.Og(); ++o) std::fill(out + o * g.P(), out + (o + 1) * g.P(), bias[gr * g.Og() + o]);
      kernels::gemm<T>(g.Og(), g.P(), g.K(), w + gr * g.Og() * g.K(), g.K(), 1, cols, g.P(), 1, out, g.P(), bias != nullptr);
    }
  });
}

template <class T>
void conv_backward(const ConvGeom& g, const T* x, const T* w, const T* gy, T* gx, T* gw) {
  int64_t chunks = (g.N + kImagesPerChunk - 1) / kImagesPerChunk;
  int64_t wsize = g.O * g.K();
  std::vector<T> partial(gw ? size_t(chunks * wsize) : 0, T(0));
  int64_t col_size = g.K() * g.P();
  parallel_for(chunks, 1, [&](int64_t cb, int64_t ce) {
    std::vector<T> col(col_size);
    for (int64_t c = cb; c < ce; ++c) {
      for (int64_t n = c * kImagesPerChunk; n < std::min(g.N, (c + 1) * kImagesPerChunk); ++n) {
        for (int64_t gr = 0; gr < g.groups; ++gr) {
          const T* go = gy + (n * g.O + gr * g.Og()) * g.P();
          const T* wg = w + gr * g.Og() * g.K();
          if (gx) {
            T* gimg = gx + (n * g.C + gr * g.Cg()) * g.H * g.W;
            if (g.pointwise()) {  // d(image) = W^T @ grad_out directly
              kernels::gemm<T>(g.K(), g.P(), g.Og(), wg, 1, g.K(), go, g.P(), 1, gimg, g.P(), false);
            } else {
              kernels::gemm<T>(g.K(), g.P(), g.Og(), wg, 1, g.K(), go, g.P(), 1, col.data(), g.P(), false);
              kernels::col2im<T>(col.data(), g.Cg(), g.H, g.W, g.kH, g.kW, g.pH, g.pW, g.sH, g.sW, g.dH, g.dW, g.oH,
                                 g.oW, gimg);
            }
          }
          if (gw) {  // partial[c] += grad_out @ col^T
            const T* img = x + (n * g.C + gr * g.Cg()) * g.H * g.W;
            const T* cols = img;
            if (!g.pointwise()) {
              unfold(g, img, col.data());
              cols = col.data();
            }
            kernels::gemm<T>(g.Og(), g.K(), g.P(), go, g.P(), 1, cols, 1, g.P(), partial.data() + c * wsize + gr * g.Og() * g.K(),
                             g.K(), true);
          }
        }
      }
    }
  });
  if (gw) {
    std::fill(gw, gw + wsize, T(0));
    for (int64_t c = 0; c < chunks; ++c)
      for (int64_t i = 0; i < wsize; ++i) gw[i] += partial[c * wsize + i];
  }
}

class ConvolutionBackward : public Node {
 public:
  ConvolutionBackward(const TensorPtr& x, const TensorPtr& w, ConvGeom g, bool has_bias)
      : x_(x), w_(w), g_(g), has_bias_(has_bias) {}
  std::string name() const override { return "ConvolutionBackward0"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr x = contiguous(x_.unpack(*this)), w = contiguous(w_.unpack(*this));
    TensorPtr gy = contiguous(reshape(grads[0], {g_.N, g_.O, g_.oH, g_.oW}));
    std::vector<TensorPtr> r(3);
    TensorPtr gx = needs_input_grad(0) ? Tensor::empty({g_.N, g_.C, g_.H, g_.W}, x->dtype()) : nullptr;
    TensorPtr gw = needs_input_grad(1) ? Tensor::empty(w->shape(), w->dtype()) : nullptr;
    if (gx || gw) {
      FASTNN_DISPATCH_FLOAT(x->dtype(), "conv2d", [&] {
        conv_backward<scalar_t>(g_, x->data<scalar_t>(), w->data<scalar_t>(), gy->data<scalar_t>(),
                                gx ? gx->mutable_data<scalar_t>() : nullptr, gw ? gw->mutable_data<scalar_t>() : nullptr);
      });
    }
    if (gx) r[0] = reshape(gx, output_meta_in_);
    r[1] = gw;
    if (has_bias_ && needs_input_grad(2)) r[2] = sum(gy, {0, 2, 3}, false);
    return r;
  }
  void release_saved() override {
    x_.reset();
    w_.reset();
  }
  Shape output_meta_in_;  // the input's shape as given (3-D when unbatched)

 private:
  SavedTensor x_, w_;
  ConvGeom g_;
  bool has_bias_;
};

}  // namespace

TensorPtr conv2d(const TensorPtr& input, const TensorPtr& weight, const TensorPtr& bias, IntList stride, IntList padding,
                 IntList dilation, int64_t groups) {
  FASTNN_CHECK(input->dim() == 3 || input->dim() == 4, "[conv2d] expected 3-D (C, H, W) or 4-D (N, C, H, W) input, got ",
               input->dim(), "-D input of shape ", input->shape());
  FASTNN_CHECK(weight->dim() == 4, "[conv2d] expected 4-D weight (out_channels, in_channels/groups, kH, kW), got shape ",
               weight->shape());
  FASTNN_CHECK_TYPE(is_floating(input->dtype()) && input->dtype() == weight->dtype() && (!bias || bias->dtype() == input->dtype()),
                    "[conv2d] expected input, weight and bias of the same floating-point dtype, got ",
                    dtype_name(input->dtype()), ", ", dtype_name(weight->dtype()), bias ? ", " : "",
                    bias ? dtype_name(bias->dtype()) : "");
  FASTNN_CHECK(groups > 0, "[conv2d] groups must be a positive integer, got ", groups);
  bool batched = input->dim() == 4;
  TensorPtr x = contiguous(batched ? input : unsqueeze(input, 0));
  ConvGeom g{};
  g.N = x->shape()[0], g.C = x->shape()[1], g.H = x->shape()[2], g.W = x->shape()[3];
  g.O = weight->shape()[0], g.kH = weight->shape()[2], g.kW = weight->shape()[3], g.groups = groups;
  std::tie(g.sH, g.sW) = pair_arg(stride, "conv2d", "stride", 1);
  std::tie(g.pH, g.pW) = pair_arg(padding, "conv2d", "padding", 0);
  std::tie(g.dH, g.dW) = pair_arg(dilation, "conv2d", "dilation", 1);
  FASTNN_CHECK(g.C % groups == 0, "[conv2d] in_channels (", g.C, ") must be divisible by groups (", groups, ")");
  FASTNN_CHECK(g.O % groups == 0, "[conv2d] out_channels (", g.O, ") must be divisible by groups (", groups, ")");
  FASTNN_CHECK(weight->shape()[1] * groups == g.C, "[conv2d] expected input", input->shape(), " to have ",
               weight->shape()[1] * groups, " channels, but got ", g.C, " channels instead (weight of shape ",
               weight->shape(), ", groups=", groups, ")");
  if (bias) FASTNN_CHECK(bias->dim() == 1 && bias->shape()[0] == g.O, "[conv2d] expected bias of shape (", g.O, ",), got ",
                         bias->shape());
  int64_t eff_h = g.dH * (g.kH - 1) + 1, eff_w = g.dW * (g.kW - 1) + 1;
  FASTNN_CHECK(g.H + 2 * g.pH >= eff_h && g.W + 2 * g.pW >= eff_w, "[conv2d] Calculated padded input size per channel: (",
               g.H + 2 * g.pH, " x ", g.W + 2 * g.pW, "). Kernel size: (", eff_h, " x ", eff_w,
               "). Kernel size can't be greater than actual input size");
  g.oH = window_out(g.H, g.kH, g.pH, g.sH, g.dH, false);
  g.oW = window_out(g.W, g.kW, g.pW, g.sW, g.dW, false);
  TensorPtr w = contiguous(weight);
  TensorPtr b = bias ? contiguous(bias) : nullptr;
  TensorPtr y = Tensor::empty({g.N, g.O, g.oH, g.oW}, x->dtype(), "conv2d");
  if (g.K() == 0) {  // no input channels: output is the bias (or zero)
    GradModeGuard no_grad(false);
    TensorPtr zero = zeros(y->shape(), y->dtype());
    y = b ? add(zero, reshape(b, {1, g.O, 1, 1}), 1) : zero;
  } else if (y->numel() > 0) {
    FASTNN_DISPATCH_FLOAT(x->dtype(), "conv2d", [&] {
      conv_forward<scalar_t>(g, x->data<scalar_t>(), w->data<scalar_t>(), b ? b->data<scalar_t>() : nullptr,
                             y->mutable_data<scalar_t>());
    });
  }
  if (!batched) y = reshape(y->detach(), {g.O, g.oH, g.oW});
  if (any_requires_grad({&input, &weight, &bias})) {
    auto node = std::make_shared<ConvolutionBackward>(x, w, g, bias != nullptr);
    node->output_meta_in_ = input->shape();
    record(node, {&input, &weight, &bias}, {&y});
  }
  return y;
}

}  // namespace fastnn
