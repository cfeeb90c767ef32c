// F.pad: constant padding over any number of dims (negative pads crop), and the reflect, replicate
// and circular modes over the last 1-3 dims as index maps (kernels/cpu/pad.h).
#include <algorithm>
#include <vector>

#include "fastnn/autograd/functions.h"
#include "fastnn/autograd/grad_mode.h"
#include "fastnn/kernels/cpu/pad.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/layers.h"

namespace fastnn {

TensorPtr constant_pad_nd(const TensorPtr& input, IntList pad, double value) {
  FASTNN_CHECK(pad.size() % 2 == 0, "[pad] Padding length must be divisible by 2, got ", pad.size());
  const int64_t nd = input->dim(), k = int64_t(pad.size()) / 2;
  FASTNN_CHECK(k <= nd, "[pad] Padding length should be less than or equal to two times the input dimension but got ",
               "padding length ", pad.size(), " and input of dimension ", nd);
  Shape shape = input->shape();
  for (int64_t i = 0; i < k; ++i) {
    const int64_t d = nd - 1 - i, size = shape[d];
    __int128 n = (__int128)size + pad[2 * i] + pad[2 * i + 1];
    FASTNN_CHECK(n >= 0 && n <= INT64_MAX / 2, "[pad] The input size ", size, ", plus padding ", pad[2 * i], " and ",
                 pad[2 * i + 1], " resulted in an invalid output size ", (long long)(n < 0 ? -1 : n),
                 ". Check dimension ", d, " of your input.");
    shape[d] = int64_t(n);
  }
  TensorPtr out = Tensor::empty(shape, input->dtype(), "pad", input->device());
  fill_(out, scalar_tensor(value, DType::Float64, true), "pad");
  {  // the part of the input that survives the crop, copied to where it lands
    GradModeGuard no_grad(false);
    TensorPtr src = input->detach(), dst = out;
    bool empty = false;
    for (int64_t i = 0; i < k; ++i) {
      const int64_t d = nd - 1 - i, lo = pad[2 * i], hi = pad[2 * i + 1];
      const int64_t len = input->shape()[d] - std::max<int64_t>(-lo, 0) - std::max<int64_t>(-hi, 0);
      if (len <= 0) {
        empty = true;
        break;
      }
      src = narrow(src, d, std::max<int64_t>(-lo, 0), len);
      dst = narrow(dst, d, std::max<int64_t>(lo, 0), len);
    }
    if (!empty && src->numel() > 0) copy_(dst, src);
  }
  if (any_requires_grad({&input})) {
    IntList back(pad.size());
    for (size_t i = 0; i < pad.size(); ++i) back[i] = -pad[i];
    record_grad_only(
        "ConstantPadNdBackward0", out, {input},
        [back](const TensorPtr& g) { return std::vector<TensorPtr>{constant_pad_nd(g, back, 0.0)}; }, true);
  }
  return out;
}

namespace {

enum class PadMode { Reflect, Replicate, Circular };

// The input coordinate that output coordinate o reads along a dim of size n padded by lo before and
// hi after. Circular padding crops negative pads first and wraps within what is left (as torch).
int64_t source_index(int64_t o, int64_t n, int64_t lo, int64_t hi, PadMode mode) {
  int64_t i = o - lo;
  switch (mode) {
    case PadMode::Reflect:
      if (i < 0) i = -i;
      if (i >= n) i = 2 * (n - 1) - i;
      return i;
    case PadMode::Replicate: return std::clamp<int64_t>(i, 0, n - 1);
    case PadMode::Circular: {
      const int64_t start = std::max<int64_t>(-lo, 0), m = n - start - std::max<int64_t>(-hi, 0);
      const int64_t j = o - std::max<int64_t>(lo, 0);
      return start + ((j % m) + m) % m;
    }
  }
  return i;
}

TensorPtr index_pad(const TensorPtr& input, const IntList& pad, PadMode mode, const char* mode_name) {
  const int64_t k = int64_t(pad.size()) / 2, nd = input->dim();
  FASTNN_CHECK(pad.size() % 2 == 0 && k >= 1 && k <= 3 && (nd == k + 1 || nd == k + 2), "[pad] Padding size ",
               pad.size(), " is not supported for ", nd, "D input tensor in mode '", mode_name,
               "' (2-D or 3-D input: padding size 2; 3-D or 4-D: 4; 4-D or 5-D: 6)");
  FASTNN_CHECK_TYPE(is_floating(input->dtype()), "[pad] mode '", mode_name, "' expects a floating-point input, got ",
                    dtype_name(input->dtype()));
  for (int64_t d = nd == k + 2 ? 1 : 0; d < nd; ++d)
    FASTNN_CHECK(input->shape()[d] > 0, "[pad] mode '", mode_name, "' expects a ", k + 1, "-D or ", k + 2,
                 "-D (batch mode) tensor with possibly 0 batch size and other non-zero dimensions, but got input of "
                 "shape ",
                 input->shape());
  // (D, H, W) tables: unpadded leading spatial dims get size 1 and the identity map.
  int64_t in3[3] = {1, 1, 1}, out3[3] = {1, 1, 1};
  std::vector<int64_t> maps[3] = {{0}, {0}, {0}};
  Shape out_shape = input->shape();
  for (int64_t i = 0; i < k; ++i) {
    const int64_t d = nd - 1 - i, n = input->shape()[d], lo = pad[2 * i], hi = pad[2 * i + 1];
    if (mode == PadMode::Reflect)
      FASTNN_CHECK(lo < n && hi < n,
                   "[pad] Padding size should be less than the corresponding input dimension, but got: "
                   "padding (",
                   lo, ", ", hi, ") at dimension ", d, " of input ", input->shape());
    const __int128 o = (__int128)n + lo + hi;
    if (mode == PadMode::Circular && o > 0) {  // pads wrap within the input left after negative pads crop it
      const int64_t m = n - std::max<int64_t>(-lo, 0) - std::max<int64_t>(-hi, 0);
      FASTNN_CHECK(lo <= m && hi <= m, "[pad] Padding value causes wrapping around more than once: padding (", lo, ", ",
                   hi, ") at dimension ", d, " of input ", input->shape(), " (", m, " elements left after cropping)");
    }
    FASTNN_CHECK(o >= 0 && o <= INT64_MAX / 2, "[pad] input (size ", n, " at dimension ", d,
                 ") is too small for padding (", lo, ", ", hi, "): calculated output size ",
                 (long long)(o < 0 ? -1 : o));
    out_shape[d] = int64_t(o);
    in3[2 - i] = n, out3[2 - i] = int64_t(o);
  }
  // as torch: reflect and replicate need one padded dim of the output to be non-empty
  FASTNN_CHECK(mode == PadMode::Circular || *std::max_element(out3 + 3 - k, out3 + 3) > 0, "[pad] input of shape ",
               input->shape(), " is too small for padding ", pad, " in mode '", mode_name,
               "': every padded dim of the output would be empty");
  int64_t planes = 1;
  for (int64_t d = 0; d < nd - k; ++d) planes *= input->shape()[d];
  static const char* names[3][3] = {
      {"ReflectionPad1DBackward0", "ReflectionPad2DBackward0", "ReflectionPad3DBackward0"},
      {"ReplicationPad1DBackward0", "ReplicationPad2DBackward0", "ReplicationPad3DBackward0"},
      {"CopySlices", "CopySlices", "CopySlices"}};  // torch composes circular padding of slice copies
  const char* node = names[int(mode)][k - 1];
  if (checked_numel(out_shape, "pad") == 0) {
    TensorPtr out = Tensor::empty(out_shape, input->dtype(), "pad", input->device());
    if (any_requires_grad({&input}))
      record_grad_only(node, out, {input}, [in_shape = input->shape()](const TensorPtr& g) {
        return std::vector<TensorPtr>{zeros_on(in_shape, g->dtype(), g->device())};
      });
    return out;
  }
  const bool on_gpu = input->device().is_cuda();
  const TensorPtr x = on_gpu ? nullptr : contiguous(input->detach());
  // allocated before the maps, which are no longer than it: a huge pad fails here with a clear error
  TensorPtr out = on_gpu ? nullptr : Tensor::empty(out_shape, x->dtype(), "pad", x->device());
  for (int64_t i = 0; i < k; ++i) {
    const int64_t o = out3[2 - i];
    maps[2 - i].resize(size_t(o));
    for (int64_t j = 0; j < o; ++j)
      maps[2 - i][size_t(j)] = source_index(j, in3[2 - i], pad[2 * i], pad[2 * i + 1], mode);
  }
  if (on_gpu) {
    HostTaps taps;
    for (int k3 = 0; k3 < 3; ++k3) taps.in[k3] = in3[k3], taps.out[k3] = out3[k3], taps.idx[k3] = maps[k3];
    return resample_cuda(input, taps, planes, out_shape, node);
  }
  FASTNN_DISPATCH_FLOAT(x->dtype(), "pad", [&] {
    kernels::pad_gather<scalar_t>(x->data<scalar_t>(), planes, in3[0], in3[1], in3[2], maps[0].data(), out3[0],
                                  maps[1].data(), out3[1], maps[2].data(), out3[2], out->mutable_data<scalar_t>());
  });
  if (any_requires_grad({&input})) {
    const Shape in_shape = input->shape();
    record_grad_only(node, out, {input}, [=](const TensorPtr& g) {  // (captures copy the arrays)
      TensorPtr gc = contiguous(g);
      TensorPtr gx = Tensor::empty(in_shape, g->dtype());
      FASTNN_DISPATCH_FLOAT(g->dtype(), "pad", [&] {
        kernels::pad_scatter<scalar_t>(gc->data<scalar_t>(), planes, in3[0], in3[1], in3[2], maps[0].data(), out3[0],
                                       maps[1].data(), out3[1], maps[2].data(), out3[2], gx->mutable_data<scalar_t>());
      });
      return std::vector<TensorPtr>{gx};
    });
  }
  return out;
}

}  // namespace

TensorPtr reflection_pad(const TensorPtr& input, IntList pad) {
  return index_pad(input, pad, PadMode::Reflect, "reflect");
}
TensorPtr replication_pad(const TensorPtr& input, IntList pad) {
  return index_pad(input, pad, PadMode::Replicate, "replicate");
}
TensorPtr circular_pad(const TensorPtr& input, IntList pad) {
  return index_pad(input, pad, PadMode::Circular, "circular");
}

}  // namespace fastnn
