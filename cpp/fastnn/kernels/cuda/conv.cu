// conv2d as im2col + GEMM on a GPU. A chunk of images is unfolded into col (K x chunk pixels, images side by side),
// multiplied by the group's weights into tile, and tile is written to the NCHW output with the bias. Backward runs
// the products the other way round; col2im gathers (each input pixel sums its taps in (ki, kj) order) instead of
// scattering with atomics, and the weight gradient adds the chunks in order: the same inputs give the same bits.
#include <cuda_runtime.h>

#include "fastnn/kernels/cuda/conv.h"
#include "fastnn/kernels/cuda/gemm.h"
#include "fastnn/kernels/cuda/layout.cuh"

namespace fastnn::cuda {
namespace {

// The images [n0, n0 + nb) of a chunk and a group gr: the geometry the kernels index with.
struct Chunk {
  ConvShape s;
  int64_t n0, nb, gr;
  __host__ __device__ int64_t Cg() const { return s.C / s.groups; }
  __host__ __device__ int64_t Og() const { return s.O / s.groups; }
  __host__ __device__ int64_t taps() const { return s.kH * s.kW; }
  __host__ __device__ int64_t K() const { return Cg() * taps(); }
  __host__ __device__ int64_t P() const { return s.oH * s.oW; }
  __host__ __device__ int64_t cols() const { return nb * P(); }
  // Input channel c of the group, image n of the chunk: its (H, W) plane's offset in x.
  __host__ __device__ int64_t plane(int64_t n, int64_t c) const { return ((n0 + n) * s.C + gr * Cg() + c) * s.H * s.W; }
};

template <class T>
__global__ void im2col_kernel(const T* x, Chunk g, T* col) {
  FASTNN_GRID_LOOP(e, g.K() * g.cols()) {
    const int64_t k = e / g.cols(), j = e % g.cols();
    const int64_t n = j / g.P(), oh = j % g.P() / g.s.oW, ow = j % g.s.oW;
    const int64_t c = k / g.taps(), ki = k % g.taps() / g.s.kW, kj = k % g.s.kW;
    const int64_t h = oh * g.s.sH - g.s.pH + ki * g.s.dH, w = ow * g.s.sW - g.s.pW + kj * g.s.dW;
    col[e] = h >= 0 && h < g.s.H && w >= 0 && w < g.s.W ? x[g.plane(n, c) + h * g.s.W + w] : T(0);
  }
}

template <class T>
__global__ void col2im_kernel(const T* col, Chunk g, T* gx) {
  FASTNN_GRID_LOOP(e, g.nb * g.Cg() * g.s.H * g.s.W) {
    const int64_t w = e % g.s.W, h = e / g.s.W % g.s.H, c = e / (g.s.W * g.s.H) % g.Cg(),
                  n = e / (g.s.W * g.s.H * g.Cg());
    T acc = 0;
    for (int64_t ki = 0; ki < g.s.kH; ++ki) {
      const int64_t hh = h + g.s.pH - ki * g.s.dH;
      if (hh < 0 || hh % g.s.sH != 0 || hh / g.s.sH >= g.s.oH) continue;
      for (int64_t kj = 0; kj < g.s.kW; ++kj) {
        const int64_t ww = w + g.s.pW - kj * g.s.dW;
        if (ww < 0 || ww % g.s.sW != 0 || ww / g.s.sW >= g.s.oW) continue;
        acc += col[((c * g.s.kH + ki) * g.s.kW + kj) * g.cols() + n * g.P() + hh / g.s.sH * g.s.oW + ww / g.s.sW];
      }
    }
    gx[g.plane(n, c) + h * g.s.W + w] = acc;
  }
}

// Where tile element (o, j) of the chunk lives in an NCHW output (or output gradient).
__device__ inline int64_t output_index(const Chunk& g, int64_t o, int64_t j) {
  return ((g.n0 + j / g.P()) * g.s.O + g.gr * g.Og() + o) * g.P() + j % g.P();
}

template <class T>
__global__ void tile_to_output_kernel(const T* tile, const T* bias, Chunk g, T* y) {
  FASTNN_GRID_LOOP(e, g.Og() * g.cols()) {
    const int64_t o = e / g.cols();
    y[output_index(g, o, e % g.cols())] = tile[e] + (bias ? bias[g.gr * g.Og() + o] : T(0));
  }
}

template <class T>
__global__ void output_to_tile_kernel(const T* gy, Chunk g, T* tile) {
  FASTNN_GRID_LOOP(e, g.Og() * g.cols()) tile[e] = gy[output_index(g, e / g.cols(), e % g.cols())];
}

// Calls f(chunk) for each chunk of images and each group, in order.
template <class F>
void for_each_chunk(const ConvShape& s, const ConvScratch& scratch, const F& f) {
  for (int64_t n0 = 0; n0 < s.N; n0 += scratch.chunk)
    for (int64_t gr = 0; gr < s.groups; ++gr) f(Chunk{s, n0, scratch.chunk < s.N - n0 ? scratch.chunk : s.N - n0, gr});
}

template <class T>
void forward(const ConvShape& s, const T* x, const T* w, const T* bias, T* y, const ConvScratch& scratch, int index) {
  T *col = static_cast<T*>(scratch.col), *tile = static_cast<T*>(scratch.tile);
  for_each_chunk(s, scratch, [&](const Chunk& g) {
    FASTNN_LAUNCH(blocks_for(g.K() * g.cols()), kThreads, im2col_kernel<T>)(x, g, col);
    gemm(sizeof(T) == 8, 1, g.Og(), g.cols(), g.K(), {w + g.gr * g.Og() * g.K(), 0, g.K(), 1}, {col, 0, g.cols(), 1},
         tile, 0, g.cols(), false, index);
    FASTNN_LAUNCH(blocks_for(g.Og() * g.cols()), kThreads, tile_to_output_kernel<T>)(tile, bias, g, y);
  });
}

template <class T>
void backward(const ConvShape& s, const T* x, const T* w, const T* gy, T* gx, T* gw, const ConvScratch& scratch,
              int index) {
  T *col = static_cast<T*>(scratch.col), *tile = static_cast<T*>(scratch.tile);
  for_each_chunk(s, scratch, [&](const Chunk& g) {
    const T* wg = w + g.gr * g.Og() * g.K();
    FASTNN_LAUNCH(blocks_for(g.Og() * g.cols()), kThreads, output_to_tile_kernel<T>)(gy, g, tile);
    if (gx) {  // col = W^T @ tile, gathered back into the images
      gemm(sizeof(T) == 8, 1, g.K(), g.cols(), g.Og(), {wg, 0, 1, g.K()}, {tile, 0, g.cols(), 1}, col, 0, g.cols(),
           false, index);
      FASTNN_LAUNCH(blocks_for(g.nb * g.Cg() * g.s.H * g.s.W), kThreads, col2im_kernel<T>)(col, g, gx);
    }
    if (gw) {  // gw (+)= tile @ col^T, the first chunk overwriting
      FASTNN_LAUNCH(blocks_for(g.K() * g.cols()), kThreads, im2col_kernel<T>)(x, g, col);
      gemm(sizeof(T) == 8, 1, g.Og(), g.K(), g.cols(), {tile, 0, g.cols(), 1}, {col, 0, 1, g.cols()},
           gw + g.gr * g.Og() * g.K(), 0, g.K(), g.n0 > 0, index);
    }
  });
}

// One image at a time: a chunk of one, whose col is that image's (K, oH * oW) block of cols.
template <class T>
void unfold_images(const ConvShape& s, const T* x, T* cols) {
  for (int64_t n = 0; n < s.N; ++n) {
    const Chunk g{s, n, 1, 0};
    FASTNN_LAUNCH(blocks_for(g.K() * g.P()), kThreads, im2col_kernel<T>)(x, g, cols + n * g.K() * g.P());
  }
}

template <class T>
void fold_images(const ConvShape& s, const T* cols, T* x) {
  for (int64_t n = 0; n < s.N; ++n) {
    const Chunk g{s, n, 1, 0};
    FASTNN_LAUNCH(blocks_for(s.C * s.H * s.W), kThreads, col2im_kernel<T>)(cols + n * g.K() * g.P(), g, x);
  }
}

}  // namespace

void unfold(bool is_double, const ConvShape& s, const void* x, void* cols, int index) {
  use_device(index, "unfold");
  if (is_double) unfold_images(s, static_cast<const double*>(x), static_cast<double*>(cols));
  else unfold_images(s, static_cast<const float*>(x), static_cast<float*>(cols));
  check_launch("unfold");
}

void fold(bool is_double, const ConvShape& s, const void* cols, void* x, int index) {
  use_device(index, "fold");
  if (is_double) fold_images(s, static_cast<const double*>(cols), static_cast<double*>(x));
  else fold_images(s, static_cast<const float*>(cols), static_cast<float*>(x));
  check_launch("fold");
}

void conv2d_forward(bool is_double, const ConvShape& s, const void* x, const void* w, const void* bias, void* y,
                    const ConvScratch& scratch, int index) {
  use_device(index, "conv2d");
  if (is_double)
    forward<double>(s, static_cast<const double*>(x), static_cast<const double*>(w), static_cast<const double*>(bias),
                    static_cast<double*>(y), scratch, index);
  else
    forward<float>(s, static_cast<const float*>(x), static_cast<const float*>(w), static_cast<const float*>(bias),
                   static_cast<float*>(y), scratch, index);
  check_launch("conv2d");
}

void conv2d_backward(bool is_double, const ConvShape& s, const void* x, const void* w, const void* gy, void* gx,
                     void* gw, const ConvScratch& scratch, int index) {
  use_device(index, "conv2d backward");
  if (is_double)
    backward<double>(s, static_cast<const double*>(x), static_cast<const double*>(w), static_cast<const double*>(gy),
                     static_cast<double*>(gx), static_cast<double*>(gw), scratch, index);
  else
    backward<float>(s, static_cast<const float*>(x), static_cast<const float*>(w), static_cast<const float*>(gy),
                    static_cast<float*>(gx), static_cast<float*>(gw), scratch, index);
  check_launch("conv2d backward");
}

}  // namespace fastnn::cuda
