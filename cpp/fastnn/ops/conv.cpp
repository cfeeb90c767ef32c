// conv2d and conv1d (as height-1 conv2d) as im2col + GEMM; the transposed convolutions as GEMM + col2im.
// Work goes in tiles of a fixed shape: a small convolution takes several images per chunk (their im2col matrices
// side by side, so one GEMM covers them: a small per-image GEMM is too narrow to run at speed); a large one takes
// one image per chunk, cut into bands of output rows, so the scratch matrices stay under kTileElements elements
// whatever the image size. A 1x1 convolution with unit stride and no padding reads its input in place (no im2col).
// Weight and bias gradients are summed per chunk (its bands in order), then over chunks in order, so results do
// not depend on the thread count.
#include <vector>

#include "fastnn/arith.h"
#include "fastnn/autograd/grad_mode.h"
#include "fastnn/autograd/node.h"
#include "fastnn/kernels/cpu/gemm.h"
#include "fastnn/kernels/cpu/im2col.h"
#include "fastnn/kernels/cuda/conv.h"
#include "fastnn/ops/conv_util.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/layers.h"
#include "fastnn/parallel.h"

namespace fastnn {
namespace {

// A chunk of small images has at least kMinChunkImages images, and more while it spans under kChunkPixels
// output pixels. A scratch matrix (im2col's, or the output tile's) holds at most kTileElements elements
// (4 MB of float32) unless a single output row needs more. Rules on the shape only.
constexpr int64_t kMinChunkImages = 4;
constexpr int64_t kChunkPixels = 512;
constexpr int64_t kTileElements = int64_t(1) << 20;
// A tile whose GEMMs reach kInnerFlops is big enough to share one GEMM among the threads: tiles then run one
// after another (the weight gradient accumulating straight into its output, with no per-chunk partials),
// and each GEMM, im2col and col2im runs on all threads. Smaller tiles are shared out whole instead.
constexpr double kInnerFlops = 2e8;

struct ConvGeom {
  int64_t N, C, H, W, O, kH, kW, oH, oW, groups;
  int64_t sH, sW, pH, pW, dH, dW;
  int64_t Cg() const { return C / groups; }
  int64_t Og() const { return O / groups; }
  int64_t K() const { return Cg() * kH * kW; }  // GEMM depth per group
  int64_t P() const { return oH * oW; }         // output pixels per image
  // 1x1, unit stride, no padding: the input image is its own im2col matrix.
  bool pointwise() const { return kH == 1 && kW == 1 && sH == 1 && sW == 1 && pH == 0 && pW == 0; }
  // Output rows per band: all of them when an image's scratch fits kTileElements.
  int64_t band_rows() const {
    const int64_t rows = std::max<int64_t>(1, kTileElements / std::max<int64_t>(std::max(K(), Og()) * oW, 1));
    return rows >= oH ? std::max<int64_t>(oH, 1) : ceil_div(oH, ceil_div(oH, rows));  // equal bands
  }
  int64_t bands() const { return std::max<int64_t>(1, ceil_div(oH, band_rows())); }  // one (empty) if oH == 0
  int64_t chunk() const {                                                            // images per chunk, at most
    if (bands() > 1 || pointwise()) return 1;
    const int64_t fit = std::max<int64_t>(1, kTileElements / std::max<int64_t>(std::max(K(), Og()) * P(), 1));
    return std::min(fit, std::max(kMinChunkImages, kChunkPixels / std::max<int64_t>(P(), 1)));
  }
  // Chunks of near-equal size (chunk c: images [c N / chunks, (c + 1) N / chunks)), an even number when more than
  // one, so that two threads get equal shares: 16 images of at most 5 go as 4 x 4, not 5 + 5 + 5 + 1.
  int64_t chunks() const {
    const int64_t n = ceil_div(N, chunk());
    return n > 1 && n % 2 && n < N ? n + 1 : n;
  }
  int64_t chunk_begin(int64_t c) const { return c * N / chunks(); }
  int64_t ld() const { return chunk() * band_rows() * oW; }  // row stride of a tile's scratch matrices
  bool inner_parallel() const { return 2.0 * O * K() * ld() >= kInnerFlops; }
};

// One tile of work: images [n0, n0 + nb) (one image when banded), output rows [oh0, oh0 + rows) of each.
struct Tile {
  int64_t n0, nb, oh0, rows;
  int64_t pixels(const ConvGeom& g) const { return rows * g.oW; }  // per image
  int64_t cols(const ConvGeom& g) const { return nb * pixels(g); }
};

Tile tile_of(const ConvGeom& g, int64_t c, int64_t band) {
  const int64_t n0 = g.chunk_begin(c), oh0 = band * g.band_rows();
  return {n0, g.chunk_begin(c + 1) - n0, oh0, std::min(g.band_rows(), g.oH - oh0)};
}

// Per-thread scratch matrices of `rows` x ld, from the caching allocator, one for each of `threads`
// threads (the count the loop then runs with); this thread's via get(). None for a pointwise convolution.
template <class T>
struct Scratch {
  TensorPtr buf;
  Scratch(const ConvGeom& g, int64_t rows, int threads)
      : buf(Tensor::empty({g.pointwise() ? 0 : threads, rows * g.ld()}, dtype_of<T>::value, "conv2d")) {}
  T* get() const { return buf->numel() ? buf->mutable_data<T>() + thread_index() * buf->shape()[1] : nullptr; }
};

// Group gr's input channels of image n.
template <class T>
T* image(const ConvGeom& g, T* x, int64_t n, int64_t gr) {
  return x + (n * g.C + gr * g.Cg()) * g.H * g.W;
}

// The tile's im2col matrix (K x cols) for group gr: in place for a pointwise convolution (its row stride then
// H * W, returned in ld), else unfolded into col (row stride g.ld(), images side by side).
template <class T>
const T* unfold_tile(const ConvGeom& g, const T* x, const Tile& t, int64_t gr, T* col, int64_t& ld) {
  if (g.pointwise()) {
    ld = g.H * g.W;
    return image(g, x, t.n0, gr) + t.oh0 * g.oW;
  }
  ld = g.ld();
  for (int64_t i = 0; i < t.nb; ++i)
    kernels::im2col<T>(image(g, x, t.n0 + i, gr), g.Cg(), g.H, g.W, g.kH, g.kW, g.pH - t.oh0 * g.sH, g.pW, g.sH, g.sW,
                       g.dH, g.dW, t.rows, g.oW, col + i * t.pixels(g), ld);
  return col;
}

// Where the tile of group gr's output (or output gradient) channels starts in the NCHW tensor y, for image i
// of the tile.
template <class T>
T* output_at(const ConvGeom& g, T* y, const Tile& t, int64_t i, int64_t gr) {
  return y + ((t.n0 + i) * g.O + gr * g.Og()) * g.P() + t.oh0 * g.oW;
}

// relu's table row (x < 0 ? 0 : x), for the fused conv2d_relu.
template <class T>
T relu_of(T v) {
  return v < 0 ? T(0) : v;
}

// Copies between the NCHW tensor y and the tile matrix m (Og x ld), adding bias[o] on the way out when given
// (then the ReLU, for conv2d_relu).
template <class T>
void tile_to_nchw(const ConvGeom& g, const T* m, const T* bias, const Tile& t, int64_t gr, T* y, bool relu) {
  const int64_t px = t.pixels(g);
  for (int64_t i = 0; i < t.nb; ++i)
    for (int64_t o = 0; o < g.Og(); ++o) {
      const T* src = m + o * g.ld() + i * px;
      T* dst = output_at(g, y, t, i, gr) + o * g.P();
      const T b = bias ? bias[gr * g.Og() + o] : T(0);
      if (relu)
        for (int64_t p = 0; p < px; ++p) dst[p] = relu_of(src[p] + b);
      else
        for (int64_t p = 0; p < px; ++p) dst[p] = src[p] + b;
    }
}
template <class T>
void nchw_to_tile(const ConvGeom& g, const T* y, const Tile& t, int64_t gr, T* m) {
  const int64_t px = t.pixels(g);
  for (int64_t i = 0; i < t.nb; ++i)
    for (int64_t o = 0; o < g.Og(); ++o) {
      const T* src = output_at(g, y, t, i, gr) + o * g.P();
      std::copy(src, src + px, m + o * g.ld() + i * px);
    }
}

// Sum of v[0, n) with eight interleaved partial sums (vectorisable, and a fixed order).
template <class T>
T row_sum(const T* v, int64_t n) {
  T acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += v[i + j];
  for (; i < n; ++i) acc[i % 8] += v[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// Every tile writes its own outputs, so all tiles (bands included) are shared among the threads.
template <class T>
void conv_forward(const ConvGeom& g, const T* x, const T* w, const T* bias, T* y, bool relu = false) {
  const int threads = get_num_threads();
  const Scratch<T> cols(g, g.K(), threads), outs(g, g.Og(), threads);
  parallel_for(
      g.chunks() * g.bands(), 1,
      [&](int64_t t0, int64_t t1) {
        for (int64_t i = t0; i < t1; ++i) {
          const Tile t = tile_of(g, i / g.bands(), i % g.bands());
          for (int64_t gr = 0; gr < g.groups; ++gr) {
            int64_t ld;
            const T* col = unfold_tile(g, x, t, gr, cols.get(), ld);
            const T* wg = w + gr * g.Og() * g.K();
            if (g.pointwise()) {  // straight into y (one image per tile), then the bias
              T* out = output_at(g, y, t, 0, gr);
              kernels::gemm<T>(g.Og(), t.pixels(g), g.K(), wg, g.K(), 1, col, ld, 1, out, g.P(), false);
              if (bias)
                for (int64_t o = 0; o < g.Og(); ++o)
                  for (int64_t p = 0; p < t.pixels(g); ++p) out[o * g.P() + p] += bias[gr * g.Og() + o];
              if (relu)
                for (int64_t o = 0; o < g.Og(); ++o)
                  for (int64_t p = 0; p < t.pixels(g); ++p) out[o * g.P() + p] = relu_of(out[o * g.P() + p]);
              continue;
            }
            kernels::gemm<T>(g.Og(), t.cols(g), g.K(), wg, g.K(), 1, col, ld, 1, outs.get(), g.ld(), false);
            tile_to_nchw(g, outs.get(), bias, t, gr, y, relu);
          }
        }
      },
      g.inner_parallel() ? 1 : threads);
}

// Input gradient gx (overwritten), and the weight and bias gradients gw, gb (overwritten) as
// requested (null: not needed). A chunk's bands run in order on one thread: their col2im add into
// overlapping input rows, and their weight-gradient products add into the chunk's partial sum (or, for
// large tiles, run one after another into gw and gb themselves).
template <class T>
void conv_backward(const ConvGeom& g, const T* x, const T* w, const T* gy, T* gx, T* gw, T* gb) {
  const int64_t wsize = g.O * g.K();
  const bool inner = g.inner_parallel();
  std::vector<T> partial_w(gw && !inner ? size_t(g.chunks() * wsize) : 0);
  std::vector<T> partial_b(gb && !inner ? size_t(g.chunks() * g.O) : 0);
  if (inner && gw) std::fill(gw, gw + wsize, T(0));
  if (inner && gb) std::fill(gb, gb + g.O, T(0));
  const int threads = get_num_threads();
  const Scratch<T> cols(g, g.K(), threads), grads(g, g.Og(), threads);
  parallel_for(
      g.chunks(), 1,
      [&](int64_t c0, int64_t c1) {
        T* col = cols.get();
        for (int64_t c = c0; c < c1; ++c)
          for (int64_t band = 0; band < g.bands(); ++band) {
            const Tile t = tile_of(g, c, band);
            const bool first = band == 0 && !inner;  // the chunk's partial starts here
            for (int64_t gr = 0; gr < g.groups; ++gr) {
              const T* wg = w + gr * g.Og() * g.K();
              // The tile's output gradient (Og x cols): read in place for a pointwise convolution.
              const T* go = grads.get();
              int64_t ldo = g.ld();
              if (g.pointwise()) go = output_at(g, gy, t, 0, gr), ldo = g.P();
              else nchw_to_tile(g, gy, t, gr, grads.get());
              if (gb)
                for (int64_t o = 0; o < g.Og(); ++o) {
                  T& b = inner ? gb[gr * g.Og() + o] : partial_b[c * g.O + gr * g.Og() + o];
                  b = (first ? T(0) : b) + row_sum(go + o * ldo, t.cols(g));
                }
              if (gx) {  // col = W^T @ grad_out, folded back into each image (pointwise: written in place)
                if (g.pointwise()) {
                  T* gxi = image(g, gx, t.n0, gr) + t.oh0 * g.oW;
                  kernels::gemm<T>(g.K(), t.pixels(g), g.Og(), wg, 1, g.K(), go, ldo, 1, gxi, g.H * g.W, false);
                } else {
                  kernels::gemm<T>(g.K(), t.cols(g), g.Og(), wg, 1, g.K(), go, ldo, 1, col, g.ld(), false);
                  for (int64_t i = 0; i < t.nb; ++i)
                    kernels::col2im<T>(col + i * t.pixels(g), g.ld(), g.Cg(), g.H, g.W, g.kH, g.kW, g.pH - t.oh0 * g.sH,
                                       g.pW, g.sH, g.sW, g.dH, g.dW, t.rows, g.oW, image(g, gx, t.n0 + i, gr),
                                       band > 0);
                }
              }
              if (gw) {  // partial (+)= grad_out @ col^T
                int64_t ld;
                const T* xc = unfold_tile(g, x, t, gr, col, ld);
                T* pw = (inner ? gw : partial_w.data() + c * wsize) + gr * g.Og() * g.K();
                kernels::gemm<T>(g.Og(), g.K(), t.cols(g), go, ldo, 1, xc, 1, ld, pw, g.K(), !first);
              }
            }
          }
      },
      inner ? 1 : threads);
  if (inner) return;
  auto sum_chunks = [&](const std::vector<T>& partial, int64_t size, T* total) {
    std::fill(total, total + size, T(0));
    for (int64_t c = 0; c < g.chunks(); ++c)
      for (int64_t i = 0; i < size; ++i) total[i] += partial[c * size + i];
  };
  if (gw) sum_chunks(partial_w, wsize, gw);
  if (gb) sum_chunks(partial_b, g.O, gb);
}

// ---- tensors on a GPU (kernels/cuda/conv.cu) ----
// Images per chunk keep each scratch matrix under kCudaScratch elements (256 MB of float32).
constexpr int64_t kCudaScratch = int64_t(1) << 26;

cuda::ConvShape cuda_shape(const ConvGeom& g) {
  return {g.N, g.C, g.H, g.W, g.O, g.kH, g.kW, g.oH, g.oW, g.groups, g.sH, g.sW, g.pH, g.pW, g.dH, g.dW};
}

// The scratch matrices, allocated on `device` for as long as `keep` lives.
cuda::ConvScratch cuda_scratch(const ConvGeom& g, DType dt, Device device, std::vector<TensorPtr>& keep) {
  const int64_t per_image = std::max<int64_t>(std::max(g.K(), g.Og()) * g.P(), 1);
  const int64_t chunk = std::clamp<int64_t>(kCudaScratch / per_image, 1, std::max<int64_t>(g.N, 1));
  keep = {Tensor::empty({g.K() * chunk * g.P()}, dt, "conv2d", device),
          Tensor::empty({g.Og() * chunk * g.P()}, dt, "conv2d", device)};
  return {keep[0]->device_data(), keep[1]->device_data(), chunk};
}

void conv_forward_cuda(const ConvGeom& g, const TensorPtr& x, const TensorPtr& w, const TensorPtr& b,
                       const TensorPtr& y) {
  std::vector<TensorPtr> keep;
  cuda::conv2d_forward(x->dtype() == DType::Float64, cuda_shape(g), x->device_data(), w->device_data(),
                       b ? b->device_data() : nullptr, y->device_data(), cuda_scratch(g, x->dtype(), x->device(), keep),
                       x->device().index);
}

// Gradients are reshaped to the shapes the op was given (1-D and unbatched inputs run as 4-D).
// With `relu_out` (conv2d_relu's output), ReLU's gradient first: zero where the output is <= 0 (relu's table row).
class ConvolutionBackward : public Node {
 public:
  ConvolutionBackward(const TensorPtr& x, const TensorPtr& w, ConvGeom g, bool has_bias, Shape in_shape, Shape w_shape,
                      const TensorPtr& relu_out = nullptr)
      : x_(x), w_(w), g_(g), has_bias_(has_bias), in_shape_(std::move(in_shape)), w_shape_(std::move(w_shape)) {
    if (relu_out) relu_out_ = SavedTensor::output(relu_out, 0);
  }
  std::string name() const override {
    return relu_out_.defined() ? "ConvolutionReluBackward0" : "ConvolutionBackward0";
  }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr x = contiguous(x_.unpack(*this)), w = contiguous(w_.unpack(*this));
    TensorPtr gy = contiguous(reshape(grads[0], {g_.N, g_.O, g_.oH, g_.oW}));
    if (relu_out_.defined()) {
      TensorPtr y = relu_out_.unpack(*this), masked = Tensor::empty(gy->shape(), gy->dtype(), "conv2d_relu");
      FASTNN_DISPATCH_FLOAT(gy->dtype(), "conv2d_relu", [&] {
        const scalar_t *pg = gy->data<scalar_t>(), *py = y->data<scalar_t>();
        scalar_t* pm = masked->mutable_data<scalar_t>();
        parallel_for(gy->numel(), kGrainSize, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) {
            const scalar_t g = pg[i];  // loaded unconditionally: a select, not a branch
            pm[i] = py[i] <= 0 ? scalar_t(0) : g;
          }
        });
      });
      gy = masked;
    }
    if (x->device().is_cuda()) return apply_cuda(x, w, gy);
    std::vector<TensorPtr> r(3);
    TensorPtr gx = needs_input_grad(0) ? Tensor::empty({g_.N, g_.C, g_.H, g_.W}, x->dtype()) : nullptr;
    TensorPtr gw = needs_input_grad(1) ? Tensor::empty(w->shape(), w->dtype()) : nullptr;
    TensorPtr gb = has_bias_ && needs_input_grad(2) ? Tensor::empty({g_.O}, w->dtype()) : nullptr;
    if (gx || gw || gb) {
      FASTNN_DISPATCH_FLOAT(x->dtype(), "conv2d", [&] {
        auto out = [](const TensorPtr& t) { return t ? t->mutable_data<scalar_t>() : nullptr; };
        conv_backward<scalar_t>(g_, x->data<scalar_t>(), w->data<scalar_t>(), gy->data<scalar_t>(), out(gx), out(gw),
                                out(gb));
      });
    }
    if (gx) r[0] = reshape(gx, in_shape_);
    if (gw) r[1] = reshape(gw, w_shape_);
    r[2] = gb;
    return r;
  }
  void release_saved() override {
    x_.reset();
    w_.reset();
    relu_out_.reset();
  }

 private:
  // On a GPU (never fused with a ReLU there): the bias gradient is a sum over (N, oH, oW).
  std::vector<TensorPtr> apply_cuda(const TensorPtr& x, const TensorPtr& w, const TensorPtr& gy) {
    const Device device = x->device();
    TensorPtr gx =
        needs_input_grad(0) ? Tensor::empty({g_.N, g_.C, g_.H, g_.W}, x->dtype(), "conv2d", device) : nullptr;
    TensorPtr gw = needs_input_grad(1) ? Tensor::empty(w->shape(), w->dtype(), "conv2d", device) : nullptr;
    if (gw && g_.N == 0) gw = to_device(zeros(w->shape(), w->dtype()), device);
    if ((gx && gx->numel() > 0) || (gw && g_.N > 0 && gw->numel() > 0)) {
      std::vector<TensorPtr> keep;
      cuda::conv2d_backward(x->dtype() == DType::Float64, cuda_shape(g_), x->device_data(), w->device_data(),
                            gy->device_data(), gx ? gx->device_data() : nullptr,
                            gw && g_.N > 0 ? gw->device_data() : nullptr, cuda_scratch(g_, x->dtype(), device, keep),
                            device.index);
    }
    std::vector<TensorPtr> r(3);
    if (gx) r[0] = reshape(gx, in_shape_);
    if (gw) r[1] = reshape(gw, w_shape_);
    if (has_bias_ && needs_input_grad(2)) r[2] = sum(gy, {0, 2, 3}, false);
    return r;
  }

  SavedTensor x_, w_, relu_out_;
  ConvGeom g_;
  bool has_bias_;
  Shape in_shape_, w_shape_;
};

// The transposed convolution y = conv^T(x) with geometry g of the convolution that maps y's shape
// back to x's (g.C: y's channels, g.O: x's): forward is that convolution's input gradient, the
// input gradient is the convolution itself, the weight gradient the convolution's with the roles
// of input (here grad_y) and output gradient (here x) swapped.
class ConvTransposeBackward : public Node {
 public:
  ConvTransposeBackward(const TensorPtr& x, const TensorPtr& w, ConvGeom g, bool has_bias, Shape in_shape,
                        Shape w_shape)
      : x_(x), w_(w), g_(g), has_bias_(has_bias), in_shape_(std::move(in_shape)), w_shape_(std::move(w_shape)) {}
  std::string name() const override { return "ConvolutionBackward0"; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    TensorPtr x = contiguous(x_.unpack(*this)), w = contiguous(w_.unpack(*this));
    TensorPtr gy = contiguous(reshape(grads[0], {g_.N, g_.C, g_.H, g_.W}));
    const Device device = x->device();
    std::vector<TensorPtr> r(3);
    if (needs_input_grad(0)) {
      TensorPtr gx = zeros_on({g_.N, g_.O, g_.oH, g_.oW}, x->dtype(), device);
      if (g_.K() > 0 && gx->numel() > 0) {
        if (device.is_cuda()) conv_forward_cuda(g_, gy, w, nullptr, gx);
        else
          FASTNN_DISPATCH_FLOAT(x->dtype(), "conv_transpose2d", [&] {
            conv_forward<scalar_t>(g_, gy->data<scalar_t>(), w->data<scalar_t>(), nullptr,
                                   gx->mutable_data<scalar_t>());
          });
      }
      r[0] = reshape(gx, in_shape_);
    }
    if (needs_input_grad(1)) {
      TensorPtr gw = zeros_on(w->shape(), w->dtype(), device);
      if (gw->numel() > 0 && g_.N > 0) {
        if (device.is_cuda()) {
          std::vector<TensorPtr> keep;
          cuda::conv2d_backward(x->dtype() == DType::Float64, cuda_shape(g_), gy->device_data(), w->device_data(),
                                x->device_data(), nullptr, gw->device_data(),
                                cuda_scratch(g_, x->dtype(), device, keep), device.index);
        } else {
          FASTNN_DISPATCH_FLOAT(x->dtype(), "conv_transpose2d", [&] {
            conv_backward<scalar_t>(g_, gy->data<scalar_t>(), w->data<scalar_t>(), x->data<scalar_t>(), nullptr,
                                    gw->mutable_data<scalar_t>(), nullptr);
          });
        }
      }
      r[1] = reshape(gw, w_shape_);
    }
    if (has_bias_ && needs_input_grad(2)) r[2] = sum(gy, {0, 2, 3}, false);
    return r;
  }
  void release_saved() override {
    x_.reset();
    w_.reset();
  }

 private:
  SavedTensor x_, w_;
  ConvGeom g_;
  bool has_bias_;
  Shape in_shape_, w_shape_;
};

// (h, w) of a stride/padding/dilation argument: 2-D ops take an int or a pair, 1-D ops one int
// (the width; the height is `h1`).
std::pair<int64_t, int64_t> spatial_arg(const IntList& v, int spatial, const char* op, const char* what,
                                        int64_t min_value, int64_t h1) {
  if (spatial == 2) return pair_arg(v, op, what, min_value);
  FASTNN_CHECK(v.size() == 1, "[", op, "] ", what, " must be an int or a 1-tuple of ints, got ", v.size(), " values");
  FASTNN_CHECK(v[0] >= min_value, "[", op, "] ", what, " must be >= ", min_value, ", got ", v[0]);
  return {h1, v[0]};
}

// "(h x w)" for a 2-D op, "(w)" for a 1-D one.
std::string extent(int spatial, int64_t h, int64_t w) {
  return spatial == 2 ? str("(", h, " x ", w, ")") : str("(", w, ")");
}

// Checks shared by the convolutions: ranks, dtypes, groups. Returns whether the input is batched.
bool check_conv_args(const TensorPtr& input, const TensorPtr& weight, const TensorPtr& bias, int64_t groups,
                     int spatial, const char* op) {
  const int64_t nd = spatial + 2;
  FASTNN_CHECK(input->dim() == nd - 1 || input->dim() == nd, "[", op, "] expected ",
               spatial == 2 ? "3-D (C, H, W) or 4-D (N, C, H, W)" : "2-D (C, L) or 3-D (N, C, L)", " input, got ",
               input->dim(), "-D input of shape ", input->shape());
  FASTNN_CHECK(weight->dim() == nd, "[", op, "] expected ", nd, "-D weight ",
               spatial == 2 ? "(out_channels, in_channels/groups, kH, kW)" : "(out_channels, in_channels/groups, kW)",
               ", got shape ", weight->shape());
  FASTNN_CHECK_TYPE(
      is_floating(input->dtype()) && input->dtype() == weight->dtype() && (!bias || bias->dtype() == input->dtype()),
      "[", op, "] expected input, weight and bias of the same floating-point dtype, got ", dtype_name(input->dtype()),
      ", ", dtype_name(weight->dtype()), bias ? ", " : "", bias ? dtype_name(bias->dtype()) : "");
  FASTNN_CHECK(groups > 0, "[", op, "] groups must be a positive integer, got ", groups);
  return input->dim() == nd;
}

// x as (N, C, H, W) and w as 4-D views (made contiguous once checked): unbatched inputs get N = 1, 1-D ones H = 1.
std::pair<TensorPtr, TensorPtr> as_4d(const TensorPtr& input, const TensorPtr& weight, bool batched, int spatial) {
  TensorPtr x = batched ? input : unsqueeze(input, 0), w = weight;
  if (spatial == 1) x = unsqueeze(x, 2), w = unsqueeze(w, 2);
  return {x, w};
}

// The output shape the op returns: y's (N, O, H, W) without N when unbatched, without H for 1-D.
Shape result_shape(int64_t n, int64_t c, int64_t h, int64_t w, bool batched, int spatial) {
  Shape s = batched ? Shape{n, c} : Shape{c};
  if (spatial == 2) s.push_back(h);
  s.push_back(w);
  return s;
}

TensorPtr conv_nd(const TensorPtr& input, const TensorPtr& weight, const TensorPtr& bias, const IntList& stride,
                  const IntList& padding, const IntList& dilation, int64_t groups, int spatial, const char* op,
                  bool relu = false) {
  const bool batched = check_conv_args(input, weight, bias, groups, spatial, op);
  const Device device = common_device({&input, &weight, &bias}, op);
  if (device.is_cuda()) {
    check_cuda_float(input->dtype(), op);
    if (relu) return fastnn::relu(conv_nd(input, weight, bias, stride, padding, dilation, groups, spatial, op));
  }
  if (any_storage_dtype({&input, &weight, &bias}))
    return narrowed(
        conv_nd(widened(input), widened(weight), widened(bias), stride, padding, dilation, groups, spatial, op, relu),
        input->dtype());
  auto [x, w] = as_4d(input, weight, batched, spatial);
  ConvGeom g{};
  g.N = x->shape()[0], g.C = x->shape()[1], g.H = x->shape()[2], g.W = x->shape()[3];
  g.O = w->shape()[0], g.kH = w->shape()[2], g.kW = w->shape()[3], g.groups = groups;
  std::tie(g.sH, g.sW) = spatial_arg(stride, spatial, op, "stride", 1, 1);
  std::tie(g.pH, g.pW) = spatial_arg(padding, spatial, op, "padding", 0, 0);
  std::tie(g.dH, g.dW) = spatial_arg(dilation, spatial, op, "dilation", 1, 1);
  FASTNN_CHECK(g.C % groups == 0, "[", op, "] in_channels (", g.C, ") must be divisible by groups (", groups, ")");
  FASTNN_CHECK(g.O % groups == 0, "[", op, "] out_channels (", g.O, ") must be divisible by groups (", groups, ")");
  FASTNN_CHECK(weight->shape()[1] * groups == g.C, "[", op, "] expected input", input->shape(), " to have ",
               weight->shape()[1] * groups, " channels, but got ", g.C, " channels instead (weight of shape ",
               weight->shape(), ", groups=", groups, ")");
  if (bias)
    FASTNN_CHECK(bias->dim() == 1 && bias->shape()[0] == g.O, "[", op, "] expected bias of shape (", g.O, ",), got ",
                 bias->shape());
  // Padded input and dilated kernel extents, refused past 2^63 (then no output size formula overflows).
  int64_t eff_h, eff_w, padded_h, padded_w;
  FASTNN_CHECK(!__builtin_mul_overflow(g.dH, g.kH - 1, &eff_h) && !__builtin_mul_overflow(g.dW, g.kW - 1, &eff_w) &&
                   !__builtin_mul_overflow(g.pH, 2, &padded_h) && !__builtin_add_overflow(padded_h, g.H, &padded_h) &&
                   !__builtin_mul_overflow(g.pW, 2, &padded_w) && !__builtin_add_overflow(padded_w, g.W, &padded_w),
               "[", op, "] padding ", extent(spatial, g.pH, g.pW), " or dilation ", extent(spatial, g.dH, g.dW),
               " is too large: the padded input or the dilated kernel would have more than 2^63 elements per row");
  eff_h += 1, eff_w += 1;
  FASTNN_CHECK(padded_h >= eff_h && padded_w >= eff_w, "[", op,
               "] Calculated padded input size per channel: ", extent(spatial, padded_h, padded_w),
               ". Kernel size: ", extent(spatial, eff_h, eff_w),
               ". Kernel size can't be greater than actual input size");
  g.oH = window_out(g.H, g.kH, g.pH, g.sH, g.dH, false);
  g.oW = window_out(g.W, g.kW, g.pW, g.sW, g.dW, false);
  x = contiguous(x), w = contiguous(w);
  TensorPtr b = bias ? contiguous(bias) : nullptr;
  TensorPtr y = Tensor::empty({g.N, g.O, g.oH, g.oW}, x->dtype(), op, device);
  if (g.K() == 0) {  // no input channels: output is the bias (or zero)
    GradModeGuard no_grad(false);
    TensorPtr zero = to_device(zeros(y->shape(), y->dtype()), device);
    y = b ? add(zero, reshape(b, {1, g.O, 1, 1}), 1) : zero;
    if (relu) y = fastnn::relu(y);
  } else if (y->numel() > 0 && device.is_cuda()) {
    conv_forward_cuda(g, x, w, b, y);
  } else if (y->numel() > 0) {
    FASTNN_DISPATCH_FLOAT(x->dtype(), op, [&] {
      conv_forward<scalar_t>(g, x->data<scalar_t>(), w->data<scalar_t>(), b ? b->data<scalar_t>() : nullptr,
                             y->mutable_data<scalar_t>(), relu);
    });
  }
  Shape out_shape = result_shape(g.N, g.O, g.oH, g.oW, batched, spatial);
  if (out_shape != y->shape()) y = reshape(y->detach(), out_shape);
  if (any_requires_grad({&input, &weight, &bias}))
    record(std::make_shared<ConvolutionBackward>(x, w, g, bias != nullptr, input->shape(), weight->shape(),
                                                 relu ? y : nullptr),
           {&input, &weight, &bias}, {&y});
  return y;
}

TensorPtr conv_transpose_nd(const TensorPtr& input, const TensorPtr& weight, const TensorPtr& bias,
                            const IntList& stride, const IntList& padding, const IntList& output_padding,
                            int64_t groups, const IntList& dilation, int spatial, const char* op) {
  const bool batched = check_conv_args(input, weight, bias, groups, spatial, op);
  const Device device = common_device({&input, &weight, &bias}, op);
  if (device.is_cuda()) check_cuda_float(input->dtype(), op);
  if (any_storage_dtype({&input, &weight, &bias}))
    return narrowed(conv_transpose_nd(widened(input), widened(weight), widened(bias), stride, padding, output_padding,
                                      groups, dilation, spatial, op),
                    input->dtype());
  auto [x, w] = as_4d(input, weight, batched, spatial);
  ConvGeom g{};  // the convolution from the output's shape to the input's
  g.N = x->shape()[0], g.O = x->shape()[1], g.oH = x->shape()[2], g.oW = x->shape()[3];
  g.kH = w->shape()[2], g.kW = w->shape()[3], g.groups = groups;
  std::tie(g.sH, g.sW) = spatial_arg(stride, spatial, op, "stride", 1, 1);
  std::tie(g.pH, g.pW) = spatial_arg(padding, spatial, op, "padding", 0, 0);
  std::tie(g.dH, g.dW) = spatial_arg(dilation, spatial, op, "dilation", 1, 1);
  auto [opH, opW] = spatial_arg(output_padding, spatial, op, "output_padding", 0, 0);
  FASTNN_CHECK((opH < g.sH || opH < g.dH) && (opW < g.sW || opW < g.dW), "[", op,
               "] output padding must be smaller than either stride or dilation, but got output_padding ",
               extent(spatial, opH, opW), ", stride ", extent(spatial, g.sH, g.sW), " and dilation ",
               extent(spatial, g.dH, g.dW));
  FASTNN_CHECK(w->shape()[0] == g.O, "[", op, "] Given transposed=1, weight of size ", weight->shape(),
               ", expected input", input->shape(), " to have ", w->shape()[0], " channels, but got ", g.O,
               " channels instead");
  FASTNN_CHECK(g.O % groups == 0, "[", op, "] in_channels (", g.O, ") must be divisible by groups (", groups, ")");
  g.C = w->shape()[1] * groups;
  if (bias)
    FASTNN_CHECK(bias->dim() == 1 && bias->shape()[0] == g.C, "[", op, "] expected bias of shape (", g.C, ",), got ",
                 bias->shape());
  // (in - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1, without overflow.
  auto out_size = [&](int64_t in, int64_t s, int64_t p, int64_t d, int64_t k, int64_t extra) {
    __int128 v = (__int128)(in - 1) * s - (__int128)2 * p + (__int128)d * (k - 1) + extra + 1;
    FASTNN_CHECK(v <= INT64_MAX / 2, "[", op, "] an input of size ", extent(spatial, g.oH, g.oW),
                 " with this stride, padding and dilation gives an output size past 2^62");
    return v < 0 ? int64_t(-1) : int64_t(v);
  };
  g.H = out_size(g.oH, g.sH, g.pH, g.dH, g.kH, opH);
  g.W = out_size(g.oW, g.sW, g.pW, g.dW, g.kW, opW);
  FASTNN_CHECK(g.H > 0 && g.W > 0, "[", op, "] Given input size per channel: ", extent(spatial, g.oH, g.oW),
               ". Calculated output size per channel: ", extent(spatial, g.H, g.W), ". Output size is too small");
  x = contiguous(x), w = contiguous(w);
  TensorPtr y = zeros_on({g.N, g.C, g.H, g.W}, x->dtype(), device);
  if (g.K() > 0 && g.O > 0 && x->numel() > 0) {
    if (device.is_cuda()) {  // the convolution's input gradient (col2im overwrites y)
      std::vector<TensorPtr> keep;
      cuda::conv2d_backward(x->dtype() == DType::Float64, cuda_shape(g), nullptr, w->device_data(), x->device_data(),
                            y->device_data(), nullptr, cuda_scratch(g, x->dtype(), device, keep), device.index);
    } else {
      FASTNN_DISPATCH_FLOAT(x->dtype(), op, [&] {
        conv_backward<scalar_t>(g, nullptr, w->data<scalar_t>(), x->data<scalar_t>(), y->mutable_data<scalar_t>(),
                                nullptr, nullptr);
      });
    }
  }
  if (bias) {
    GradModeGuard no_grad(false);
    y = add(y, reshape(contiguous(bias), {1, g.C, 1, 1}), 1);
  }
  Shape out_shape = result_shape(g.N, g.C, g.H, g.W, batched, spatial);
  if (out_shape != y->shape()) y = reshape(y->detach(), out_shape);
  if (any_requires_grad({&input, &weight, &bias}))
    record(std::make_shared<ConvTransposeBackward>(x, w, g, bias != nullptr, input->shape(), weight->shape()),
           {&input, &weight, &bias}, {&y});
  return y;
}

}  // namespace

TensorPtr conv2d(const TensorPtr& input, const TensorPtr& weight, const TensorPtr& bias, IntList stride,
                 IntList padding, IntList dilation, int64_t groups) {
  return conv_nd(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d");
}

TensorPtr conv2d_relu(const TensorPtr& input, const TensorPtr& weight, const TensorPtr& bias, IntList stride,
                      IntList padding, IntList dilation, int64_t groups) {
  return conv_nd(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d", true);
}

TensorPtr conv1d(const TensorPtr& input, const TensorPtr& weight, const TensorPtr& bias, IntList stride,
                 IntList padding, IntList dilation, int64_t groups) {
  return conv_nd(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d");
}

TensorPtr conv_transpose1d(const TensorPtr& input, const TensorPtr& weight, const TensorPtr& bias, IntList stride,
                           IntList padding, IntList output_padding, int64_t groups, IntList dilation) {
  return conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, 1,
                           "conv_transpose1d");
}

TensorPtr conv_transpose2d(const TensorPtr& input, const TensorPtr& weight, const TensorPtr& bias, IntList stride,
                           IntList padding, IntList output_padding, int64_t groups, IntList dilation) {
  return conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                           "conv_transpose2d");
}

}  // namespace fastnn
