// im2col copies each kernel tap's shifted (and strided) view of a channel into one row of col;
// col2im adds those rows back, each task owning a block of input rows, so no two threads touch a
// pixel and each pixel sums its taps in the fixed (ki, kj) order.
#include "fastnn/kernels/cpu/im2col.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "fastnn/arith.h"
#include "fastnn/kernels/cpu/simd.h"
#include "fastnn/parallel.h"

#ifdef FASTNN_X86
#include <immintrin.h>
#endif

namespace fastnn::kernels {
namespace {

// Elements of work per parallel chunk (below this a call stays on one thread).
constexpr int64_t kChunkWork = 32768;
// col2im tasks cover this many input rows of one channel.
constexpr int64_t kCol2imRows = 32;

// The convolution's shape, passed by value so the row loops keep it in registers.
struct Geometry {
  int64_t C, H, W, kH, kW, pH, pW, sH, sW, dH, dW, outH, outW;
  int64_t ld;  // col's row stride
};

// For kernel column kj: the output columns [lo, hi) whose input column ow * sW + offset lies in
// [0, W), with offset = kj * dW - pW.
struct ColRange {
  int64_t lo, hi, offset;
};

std::vector<ColRange> col_ranges(const Geometry& g) {
  std::vector<ColRange> out(g.kW);
  for (int64_t kj = 0; kj < g.kW; ++kj) {
    const int64_t offset = kj * g.dW - g.pW;
    const int64_t lo = std::min(g.outW, offset >= 0 ? 0 : (-offset + g.sW - 1) / g.sW);
    const int64_t hi = g.W - 1 - offset < 0 ? 0 : (g.W - 1 - offset) / g.sW + 1;
    out[kj] = {lo, std::clamp(hi, lo, g.outW), offset};
  }
  return out;
}

// dst[0, n) = src[0, n): fixed-size copies the compiler inlines (the last one overlapping),
// instead of a library call per short row.
template <class T>
FASTNN_INLINE void copy_row(const T* src, T* dst, int64_t n) {
  constexpr int64_t B = 32 / sizeof(T);
  if (n < B) {
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
    return;
  }
  for (int64_t i = 0; i + B < n; i += B) std::memcpy(dst + i, src + i, sizeof(T) * B);
  std::memcpy(dst + n - B, src + n - B, sizeof(T) * B);
}

#ifdef FASTNN_X86
// Masked loads and stores of float or double lanes (masked-off lanes are never read or written), and the lane mask
// of [a, b): kept in memory as Mask, used as Reg (AVX2: a vector of lane masks; AVX-512: a mask register).
struct Avx2Mask {  // a __m256i's bits, at any alignment
  int64_t bits[4];
};
template <class T>
struct X86Vectors {  // the 256- and 512-bit vectors of T
  using V256 = __m256;
  using V512 = __m512;
};
template <>
struct X86Vectors<double> {
  using V256 = __m256d;
  using V512 = __m512d;
};
template <class T>
struct Avx2Lanes {
  static constexpr int L = 32 / sizeof(T);
  using V = typename X86Vectors<T>::V256;
  using Mask = Avx2Mask;
  using Reg = __m256i;
  FASTNN_TARGET_AVX2 static Mask mask(int64_t a, int64_t b) {
    Reg m;
    if constexpr (sizeof(T) == 4) {
      const __m256i i = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
      m = _mm256_and_si256(_mm256_cmpgt_epi32(i, _mm256_set1_epi32(int32_t(a - 1))),
                           _mm256_cmpgt_epi32(_mm256_set1_epi32(int32_t(b)), i));
    } else {
      const __m256i i = _mm256_setr_epi64x(0, 1, 2, 3);
      m = _mm256_and_si256(_mm256_cmpgt_epi64(i, _mm256_set1_epi64x(a - 1)),
                           _mm256_cmpgt_epi64(_mm256_set1_epi64x(b), i));
    }
    Mask r;
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(r.bits), m);
    return r;
  }
  FASTNN_TARGET_AVX2 static Reg reg(const Mask& m) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(m.bits));
  }
  FASTNN_TARGET_AVX2 static bool empty(Reg m) { return _mm256_testz_si256(m, m); }
  FASTNN_TARGET_AVX2 static V load(const T* p, Reg m) {
    if constexpr (sizeof(T) == 4) return _mm256_maskload_ps(p, m);
    else return _mm256_maskload_pd(p, m);
  }
  FASTNN_TARGET_AVX2 static void store(T* p, Reg m, V v) {
    if constexpr (sizeof(T) == 4) _mm256_maskstore_ps(p, m, v);
    else _mm256_maskstore_pd(p, m, v);
  }
  FASTNN_TARGET_AVX2 static V add_where(V acc, V v, Reg m) {
    if constexpr (sizeof(T) == 4) return _mm256_blendv_ps(acc, _mm256_add_ps(acc, v), _mm256_castsi256_ps(m));
    else return _mm256_blendv_pd(acc, _mm256_add_pd(acc, v), _mm256_castsi256_pd(m));
  }
  FASTNN_TARGET_AVX2 static V zero() { return V{}; }
};
template <class T>
struct Avx512Lanes {
  static constexpr int L = 64 / sizeof(T);
  using V = typename X86Vectors<T>::V512;
  using Mask = std::conditional_t<sizeof(T) == 4, __mmask16, __mmask8>;
  using Reg = Mask;
  static Mask mask(int64_t a, int64_t b) {
    a = std::clamp<int64_t>(a, 0, L), b = std::clamp<int64_t>(b, a, L);
    return Mask(((1u << b) - 1) & ~((1u << a) - 1));
  }
  static Reg reg(Mask m) { return m; }
  static bool empty(Reg m) { return m == 0; }
  FASTNN_TARGET_AVX512 static V load(const T* p, Reg m) {
    if constexpr (sizeof(T) == 4) return _mm512_maskz_loadu_ps(m, p);
    else return _mm512_maskz_loadu_pd(m, p);
  }
  FASTNN_TARGET_AVX512 static void store(T* p, Reg m, V v) {
    if constexpr (sizeof(T) == 4) _mm512_mask_storeu_ps(p, m, v);
    else _mm512_mask_storeu_pd(p, m, v);
  }
  FASTNN_TARGET_AVX512 static V add_where(V acc, V v, Reg m) {
    if constexpr (sizeof(T) == 4) return _mm512_mask_add_ps(acc, m, acc, v);
    else return _mm512_mask_add_pd(acc, m, acc, v);
  }
  FASTNN_TARGET_AVX512 static V zero() { return V{}; }
};

// copy_row by 64-byte vectors, the last one masked (nothing outside the runs read or written): one load and one
// store for a run of up to 16 floats, where copy_row's overlapping pair costs two of each; `runs` runs of n values,
// src's W apart, packed in dst (on Zen 4, LeNet's conv2 im2col of 16 images 41 -> 35 us, its training step at
// batch 64 3.16 -> 2.90 ms).
template <class T>
FASTNN_TARGET_AVX512 void copy_runs_avx512(const T* src, int64_t W, T* dst, int64_t n, int64_t runs) {
  using A = Avx512Lanes<T>;
  const int64_t full = n / A::L * A::L;
  const typename A::Reg all = A::mask(0, A::L), tail = A::mask(0, n - full);
  for (int64_t r = 0; r < runs; ++r, src += W, dst += n) {
    for (int64_t i = 0; i < full; i += A::L) A::store(dst + i, all, A::load(src + i, all));
    A::store(dst + full, tail, A::load(src + full, tail));
  }
}
#endif

// `runs` runs of n values, src's W apart, packed in dst: by copy_row, or (Masked: the caller is compiled for
// AVX-512) by copy_runs_avx512.
template <bool Masked, class T>
FASTNN_INLINE void copy_runs(const T* src, int64_t W, T* dst, int64_t n, int64_t runs = 1) {
#ifdef FASTNN_X86
  if constexpr (Masked) return copy_runs_avx512(src, W, dst, n, runs);
#endif
  for (int64_t r = 0; r < runs; ++r) copy_row(src + r * W, dst + r * n, n);
}

// One row of col, (c, ki, kj): any padding and stride.
template <bool Masked, class T>
FASTNN_INLINE void im2col_row_general(const T* __restrict im, const Geometry& g, const ColRange cr, int64_t c,
                                      int64_t ki, T* __restrict dst) {
  for (int64_t oh = 0; oh < g.outH; ++oh, dst += g.outW) {
    const int64_t ih = oh * g.sH - g.pH + ki * g.dH;
    if (ih < 0 || ih >= g.H) {
      std::fill(dst, dst + g.outW, T(0));
      continue;
    }
    const T* src = im + (c * g.H + ih) * g.W;
    std::fill(dst, dst + cr.lo, T(0));
    if (g.sW == 1) {
      if (cr.hi > cr.lo) copy_runs<Masked>(src + cr.lo + cr.offset, 0, dst + cr.lo, cr.hi - cr.lo);
    } else {
      for (int64_t ow = cr.lo; ow < cr.hi; ++ow) dst[ow] = src[ow * g.sW + cr.offset];
    }
    std::fill(dst + cr.hi, dst + g.outW, T(0));
  }
}

// Rows [r0, r1) of col, row r = (c, ki, kj). Compiled per instruction set (wider copies; Masked: AVX-512's).
template <class T, bool Masked = false>
FASTNN_INLINE void im2col_rows_body(const T* __restrict im, const Geometry g, const ColRange* ranges, int64_t r0,
                                    int64_t r1, T* __restrict col) {
  int64_t c = r0 / (g.kH * g.kW), ki = r0 / g.kW % g.kH, kj = r0 % g.kW;
  for (int64_t r = r0; r < r1; ++r) {
    const ColRange cr = ranges[kj];
    T* dst = col + r * g.ld;
    const int64_t ih0 = ki * g.dH - g.pH;  // input row of output row 0
    if (g.sH == 1 && g.sW == 1 && cr.lo == 0 && cr.hi == g.outW && ih0 >= 0 && ih0 + g.outH <= g.H) {
      // The common case, every tap inside the image: one copy per output row.
      const T* src = im + (c * g.H + ih0) * g.W + cr.offset;
      copy_runs<Masked>(src, g.W, dst, g.outW, g.outH);
    } else {
      im2col_row_general<Masked>(im, g, cr, c, ki, dst);
    }
    if (++kj == g.kW) {  // next (c, ki, kj) without divisions
      kj = 0;
      if (++ki == g.kH) {
        ki = 0;
        ++c;
      }
    }
  }
}

template <class T>
void im2col_rows_generic(const T* im, const Geometry g, const ColRange* ranges, int64_t r0, int64_t r1, T* col) {
  im2col_rows_body(im, g, ranges, r0, r1, col);
}
#ifdef FASTNN_X86
template <class T>
FASTNN_TARGET_AVX2 void im2col_rows_avx2(const T* im, const Geometry g, const ColRange* ranges, int64_t r0, int64_t r1,
                                         T* col) {
  im2col_rows_body(im, g, ranges, r0, r1, col);
}
template <class T>
FASTNN_TARGET_AVX512 void im2col_rows_avx512(const T* im, const Geometry g, const ColRange* ranges, int64_t r0,
                                             int64_t r1, T* col) {
  im2col_rows_body<T, true>(im, g, ranges, r0, r1, col);
}
#endif

// Input rows [h0, h1) of channel c: zeroed (unless accumulating), then every col row segment that reads them added in
// (ki, kj, oh) order, so each pixel sums its taps in (ki, kj) order. Consecutive adds go to
// different rows (adds to one row from neighbouring taps overlap, and back-to-back they stall).
template <class T>
FASTNN_INLINE void col2im_rows_body(const T* __restrict col, const Geometry g, const ColRange* ranges, int64_t c,
                                    int64_t h0, int64_t h1, T* __restrict im, bool accumulate) {
  T* img = im + c * g.H * g.W;
  if (!accumulate) std::fill(img + h0 * g.W, img + h1 * g.W, T(0));
  for (int64_t ki = 0; ki < g.kH; ++ki) {
    // Output rows oh whose input row oh * sH - pH + ki * dH lies in [h0, h1).
    const int64_t shift = ki * g.dH - g.pH;
    const int64_t oh0 = std::max<int64_t>(0, ceil_div(h0 - shift, g.sH));
    const int64_t oh1 = std::min(g.outH, ceil_div(h1 - shift, g.sH));
    for (int64_t kj = 0; kj < g.kW; ++kj) {
      const ColRange cr = ranges[kj];
      const T* src = col + ((c * g.kH + ki) * g.kW + kj) * g.ld;
      for (int64_t oh = oh0; oh < oh1; ++oh) {
        T* dst = img + (oh * g.sH + shift) * g.W;
        const T* s = src + oh * g.outW;
        if (g.sW == 1) {
          for (int64_t ow = cr.lo; ow < cr.hi; ++ow) dst[ow + cr.offset] += s[ow];
        } else {
          for (int64_t ow = cr.lo; ow < cr.hi; ++ow) dst[ow * g.sW + cr.offset] += s[ow];
        }
      }
    }
  }
}

template <class T>
void col2im_rows_generic(const T* col, const Geometry g, const ColRange* ranges, int64_t c, int64_t h0, int64_t h1,
                         T* im, bool accumulate) {
  col2im_rows_body(col, g, ranges, c, h0, h1, im, accumulate);
}
#ifdef FASTNN_X86
// col2im_rows_body for unit column stride, input row by input row: each run of L pixels sums its taps in (ki, kj)
// order in a register, the tap's segment read by a masked load (lanes outside it neither read nor added), and is
// stored once, instead of a load-add-store of the image per tap. The same adds in the same order: the same bits.
// A: the lanes (Avx2Lanes, Avx512Lanes), whose target the caller has (always inlined into the target's wrapper below,
// so no call passes a vector: GCC's ABI note for vectors in a function without the target does not apply).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
template <class A, class T>
FASTNN_INLINE void col2im_rows_masked(const T* col, const Geometry g, const ColRange* ranges, int64_t c, int64_t h0,
                                      int64_t h1, T* im, bool accumulate) {
  if (g.sW != 1) return col2im_rows_body(col, g, ranges, c, h0, h1, im, accumulate);
  constexpr int L = A::L;
  const int64_t runs = ceil_div(g.W, int64_t(L));
  // masks[q * kW + kj]: the lanes of run q that kernel column kj's segment covers (pixels lo + offset .. hi + offset)
  std::vector<typename A::Mask> masks(size_t(runs * g.kW)), in_image(static_cast<size_t>(runs));
  for (int64_t q = 0; q < runs; ++q) {
    in_image[q] = A::mask(0, std::min<int64_t>(L, g.W - q * L));
    for (int64_t kj = 0; kj < g.kW; ++kj) {
      const ColRange cr = ranges[kj];
      masks[q * g.kW + kj] = A::mask(cr.lo + cr.offset - q * L, cr.hi + cr.offset - q * L);
    }
  }
  T* img = im + c * g.H * g.W;
  for (int64_t ih = h0; ih < h1; ++ih)
    for (int64_t q = 0; q < runs; ++q) {
      T* dst = img + ih * g.W + q * L;
      const typename A::Reg inside = A::reg(in_image[q]);
      typename A::V acc = accumulate ? A::load(dst, inside) : A::zero();
      for (int64_t ki = 0; ki < g.kH; ++ki) {
        const int64_t from = ih - (ki * g.dH - g.pH);  // oh * sH
        if (from < 0 || from % g.sH || from / g.sH >= g.outH) continue;
        const T* row = col + (c * g.kH + ki) * g.kW * g.ld + from / g.sH * g.outW + q * L;
        for (int64_t kj = 0; kj < g.kW; ++kj) {
          const typename A::Reg m = A::reg(masks[q * g.kW + kj]);
          if (A::empty(m)) continue;
          // lane l is pixel q L + l, read at ow = q L + l - offset: masked lanes may lie outside col, never read
          const T* src = reinterpret_cast<const T*>(reinterpret_cast<uintptr_t>(row + kj * g.ld) -
                                                    uintptr_t(ranges[kj].offset * int64_t(sizeof(T))));
          acc = A::add_where(acc, A::load(src, m), m);
        }
      }
      A::store(dst, inside, acc);
    }
}
#pragma GCC diagnostic pop
template <class T>
FASTNN_TARGET_AVX2 void col2im_rows_avx2(const T* col, const Geometry g, const ColRange* ranges, int64_t c, int64_t h0,
                                         int64_t h1, T* im, bool accumulate) {
  col2im_rows_masked<Avx2Lanes<T>>(col, g, ranges, c, h0, h1, im, accumulate);
}
template <class T>
FASTNN_TARGET_AVX512 void col2im_rows_avx512(const T* col, const Geometry g, const ColRange* ranges, int64_t c,
                                             int64_t h0, int64_t h1, T* im, bool accumulate) {
  col2im_rows_masked<Avx512Lanes<T>>(col, g, ranges, c, h0, h1, im, accumulate);
}
#endif

}  // namespace

template <class T>
void im2col(const T* im, int64_t C, int64_t H, int64_t W, int64_t kH, int64_t kW, int64_t padH, int64_t padW,
            int64_t strideH, int64_t strideW, int64_t dilH, int64_t dilW, int64_t outH, int64_t outW, T* col,
            int64_t ldcol) {
  const Geometry g{C, H, W, kH, kW, padH, padW, strideH, strideW, dilH, dilW, outH, outW, ldcol};
  if (outH * outW <= 0) return;
  const std::vector<ColRange> ranges = col_ranges(g);
#ifdef FASTNN_X86
  const Isa isa = kernel_isa();
  const auto rows = isa == Isa::Avx512 ? &im2col_rows_avx512<T>
                    : isa == Isa::Avx2 ? &im2col_rows_avx2<T>
                                       : &im2col_rows_generic<T>;
#else
  const auto rows = &im2col_rows_generic<T>;
#endif
  parallel_for(C * kH * kW, std::max<int64_t>(1, kChunkWork / (outH * outW)),
               [&](int64_t r0, int64_t r1) { rows(im, g, ranges.data(), r0, r1, col); });
}

template <class T>
void col2im(const T* col, int64_t ldcol, int64_t C, int64_t H, int64_t W, int64_t kH, int64_t kW, int64_t padH,
            int64_t padW, int64_t strideH, int64_t strideW, int64_t dilH, int64_t dilW, int64_t outH, int64_t outW,
            T* im, bool accumulate) {
  const Geometry g{C, H, W, kH, kW, padH, padW, strideH, strideW, dilH, dilW, outH, outW, ldcol};
  const std::vector<ColRange> ranges = col_ranges(g);
#ifdef FASTNN_X86
  const Isa isa = kernel_isa();
  const auto rows = isa == Isa::Avx512 ? &col2im_rows_avx512<T>
                    : isa == Isa::Avx2 ? &col2im_rows_avx2<T>
                                       : &col2im_rows_generic<T>;
#else
  const auto rows = &col2im_rows_generic<T>;
#endif
  // Tasks: blocks of kCol2imRows input rows of one channel (a fixed split, not per thread).
  const int64_t blocks = (H + kCol2imRows - 1) / kCol2imRows;
  const int64_t task_work = std::max<int64_t>(1, kH * kW * std::min(H, kCol2imRows) * std::max(W, outW));
  parallel_for(C * blocks, std::max<int64_t>(1, kChunkWork / task_work), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t h0 = t % blocks * kCol2imRows;
      rows(col, g, ranges.data(), t / blocks, h0, std::min(H, h0 + kCol2imRows), im, accumulate);
    }
  });
}

#define FASTNN_INSTANTIATE_IM2COL(T)                                                                                 \
  template void im2col<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, \
                          int64_t, int64_t, int64_t, int64_t, T*, int64_t);                                          \
  template void col2im<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, \
                          int64_t, int64_t, int64_t, int64_t, int64_t, T*, bool);
FASTNN_INSTANTIATE_IM2COL(float)
FASTNN_INSTANTIATE_IM2COL(double)
#undef FASTNN_INSTANTIATE_IM2COL

}  // namespace fastnn::kernels
