// Pooling kernels. Forward passes split work by output rows; backward passes by planes, so the
// scatter into one plane (overlapping windows) runs on one thread in PyTorch's output order.
#include "fastnn/kernels/cpu/pool.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <limits>

#include "fastnn/kernels/cpu/simd.h"
#include "fastnn/kernels/pool_window.h"
#include "fastnn/parallel.h"

namespace fastnn::kernels {
namespace {

// Elements of work per parallel chunk (below this a call stays on one thread).
constexpr int64_t kChunkWork = 32768;

int64_t grain(int64_t work_per_item) { return std::max<int64_t>(1, kChunkWork / std::max<int64_t>(1, work_per_item)); }

// The pooling shape, passed by value so the loops keep it in registers (a captured reference
// would be reloaded after every store through an int64_t pointer).
struct Pool {
  int64_t H, W, outH, outW, kH, kW, sH, sW, pH, pW, dH, dW;
  bool count_include_pad;
  int64_t divisor_override;
};

// First in-range tap of a dilated window starting at `start` (may be negative).
int64_t first_tap(int64_t start, int64_t dil) { return start >= 0 ? start : start + (-start + dil - 1) / dil * dil; }

// Strictly greater keeps the first maximum; every NaN takes over (PyTorch's rule). Written as
// selects, not a branch: with random data the branch mispredicts about half the time.
template <class T>
inline void take_if_max(T v, int64_t at, T& best_val, int64_t& best) {
  const bool take = (v > best_val) | (v != v);
  best_val = take ? v : best_val;
  best = take ? at : best;
}

// Output rows [r0, r1), row r = (plane, oh), of max pooling.
template <class T>
void max_rows(const T* in, const Pool g, int64_t r0, int64_t r1, T* out, int64_t* indices) {
  for (int64_t r = r0; r < r1; ++r) {
    const T* x = in + r / g.outH * g.H * g.W;
    const int64_t h_start = r % g.outH * g.sH - g.pH, h0 = first_tap(h_start, g.dH);
    const int64_t h1 = std::min(h_start + (g.kH - 1) * g.dH + 1, g.H);
    for (int64_t ow = 0; ow < g.outW; ++ow) {
      const int64_t w_start = ow * g.sW - g.pW, w0 = first_tap(w_start, g.dW);
      const int64_t w1 = std::min(w_start + (g.kW - 1) * g.dW + 1, g.W);
      int64_t best = h0 * g.W + w0;
      T best_val = -std::numeric_limits<T>::infinity();
      for (int64_t h = h0; h < h1; h += g.dH)
        for (int64_t w = w0; w < w1; w += g.dW) take_if_max(x[h * g.W + w], h * g.W + w, best_val, best);
      out[r * g.outW + ow] = best_val;
      indices[r * g.outW + ow] = best;
    }
  }
}

// Splits the 2L values lo:hi into their even and odd positions (vectors by reference: no ABI change).
template <class V, size_t... I>
FASTNN_INLINE void deinterleave(const V& lo, const V& hi, V& even, V& odd, std::index_sequence<I...>) {
  even = __builtin_shufflevector(lo, hi, (2 * I)...);
  odd = __builtin_shufflevector(lo, hi, (2 * I + 1)...);
}

// One output row of 2x2 windows at stride 2 without padding or dilation (the common CNN pool) from
// input rows a and b, L outputs per step: two loads per input row are split into the windows' even
// and odd columns, and the four taps are compared in scan order with selects. The first tap seeds
// the maximum (same result as starting from -inf); each lane keeps the number of the tap it took,
// from which its index is rebuilt. A last partial step overlaps the previous one (recomputing the
// same values); a row shorter than L takes half-width vectors.
template <class T, int L>
FASTNN_INLINE void max_row_2x2(const T* a, const T* b, int64_t top, int64_t W, int64_t outW, T* o, int64_t* idx) {
  if constexpr (L >= 2) {
    if (outW < L) return max_row_2x2<T, L / 2>(a, b, top, W, outW, o, idx);
    using V = Vec<T, L>;
    using Mask = decltype(V{} > V{});
    for (int64_t ow = 0;; ow += L) {
      ow = std::min(ow, outW - L);
      V a_lo, a_hi, b_lo, b_hi, best, taps[3];
      std::memcpy(&a_lo, a + 2 * ow, sizeof(V));
      std::memcpy(&a_hi, a + 2 * ow + L, sizeof(V));
      std::memcpy(&b_lo, b + 2 * ow, sizeof(V));
      std::memcpy(&b_hi, b + 2 * ow + L, sizeof(V));
      deinterleave(a_lo, a_hi, best, taps[0], std::make_index_sequence<L>{});
      deinterleave(b_lo, b_hi, taps[1], taps[2], std::make_index_sequence<L>{});
      Mask tap{};
      for (int t = 0; t < 3; ++t) {
        const Mask take = (taps[t] > best) | (taps[t] != taps[t]);
        best = take ? taps[t] : best;
        tap = take ? Mask{} + (t + 1) : tap;
      }
      std::memcpy(o + ow, &best, sizeof(V));
      for (int l = 0; l < L; ++l) idx[ow + l] = top + 2 * (ow + l) + (tap[l] & 1) + (tap[l] >> 1) * W;
      if (ow + L == outW) return;
    }
  } else {
    for (int64_t ow = 0; ow < outW; ++ow) {
      T best_val = a[2 * ow];
      int64_t best = top + 2 * ow;
      take_if_max(a[2 * ow + 1], top + 2 * ow + 1, best_val, best);
      take_if_max(b[2 * ow], top + W + 2 * ow, best_val, best);
      take_if_max(b[2 * ow + 1], top + W + 2 * ow + 1, best_val, best);
      o[ow] = best_val;
      idx[ow] = best;
    }
  }
}

// Output rows [r0, r1), row r = (plane, oh), of 2x2/stride-2 max pooling with Bytes-wide vectors.
template <class T, int Bytes>
FASTNN_INLINE void max_rows_2x2_body(const T* in, const Pool g, int64_t r0, int64_t r1, T* out, int64_t* indices) {
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t top = r % g.outH * 2 * g.W;
    const T* a = in + r / g.outH * g.H * g.W + top;
    max_row_2x2<T, Bytes / sizeof(T)>(a, a + g.W, top, g.W, g.outW, out + r * g.outW, indices + r * g.outW);
  }
}

template <class T>
void max_rows_2x2_generic(const T* in, const Pool g, int64_t r0, int64_t r1, T* out, int64_t* indices) {
  max_rows_2x2_body<T, 16>(in, g, r0, r1, out, indices);
}
#ifdef FASTNN_X86
template <class T>
FASTNN_TARGET_AVX2 void max_rows_2x2_avx2(const T* in, const Pool g, int64_t r0, int64_t r1, T* out, int64_t* indices) {
  max_rows_2x2_body<T, 32>(in, g, r0, r1, out, indices);
}
#endif

template <class T>
auto max_rows_2x2() {
  switch (kernel_isa()) {
#ifdef FASTNN_X86
    case Isa::Avx512:  // 16-float steps would not fit LeNet's rows (14 and 5 outputs)
    case Isa::Avx2: return &max_rows_2x2_avx2<T>;
#endif
    default: return &max_rows_2x2_generic<T>;
  }
}

// Output (oh, ow)'s average-pooling window (kernels/pool_window.h).
AvgWindow avg_window(const Pool& g, int64_t oh, int64_t ow) {
  return kernels::avg_window(g.H, g.W, g.kH, g.kW, g.sH, g.sW, g.pH, g.pW, g.count_include_pad, g.divisor_override, oh,
                             ow);
}

// Output rows [r0, r1), row r = (plane, oh), of average pooling.
template <class T>
void avg_rows(const T* in, const Pool g, int64_t r0, int64_t r1, T* out) {
  for (int64_t r = r0; r < r1; ++r) {
    const T* x = in + r / g.outH * g.H * g.W;
    for (int64_t ow = 0; ow < g.outW; ++ow) {
      const AvgWindow win = avg_window(g, r % g.outH, ow);
      T sum = 0;
      for (int64_t h = win.h0; h < win.h1; ++h)
        for (int64_t w = win.w0; w < win.w1; ++w) sum += x[h * g.W + w];
      // An empty window (only padding) gives 0, as in PyTorch.
      out[r * g.outW + ow] = win.h0 < win.h1 && win.w0 < win.w1 ? sum / T(win.divisor) : T(0);
    }
  }
}

// One plane's input gradient of average pooling, in PyTorch's order: outputs in scan order, each
// adding its share to its window.
template <class T>
void avg_backward_plane(const T* grad_out, const Pool g, T* grad_in) {
  std::fill(grad_in, grad_in + g.H * g.W, T(0));
  for (int64_t oh = 0; oh < g.outH; ++oh)
    for (int64_t ow = 0; ow < g.outW; ++ow) {
      const AvgWindow win = avg_window(g, oh, ow);
      if (win.h0 >= win.h1 || win.w0 >= win.w1) continue;
      const T delta = grad_out[oh * g.outW + ow] / T(win.divisor);
      for (int64_t h = win.h0; h < win.h1; ++h)
        for (int64_t w = win.w0; w < win.w1; ++w) grad_in[h * g.W + w] += delta;
    }
}

}  // namespace

template <class T>
void max_pool2d_forward(const T* in, int64_t planes, int64_t H, int64_t W, int64_t outH, int64_t outW, int64_t kH,
                        int64_t kW, int64_t sH, int64_t sW, int64_t pH, int64_t pW, int64_t dH, int64_t dW, T* out,
                        int64_t* indices) {
  const Pool g{H, W, outH, outW, kH, kW, sH, sW, pH, pW, dH, dW, false, 0};
  const bool two_by_two = kH == 2 && kW == 2 && sH == 2 && sW == 2 && pH == 0 && pW == 0 && dH == 1 && dW == 1 &&
                          outH * 2 <= H && outW * 2 <= W;  // ceil_mode's partial last window takes the general path
  const auto rows = two_by_two ? max_rows_2x2<T>() : &max_rows<T>;
  parallel_for(planes * outH, grain(outW * kH * kW),
               [&](int64_t r0, int64_t r1) { rows(in, g, r0, r1, out, indices); });
}

template <class T>
void max_pool2d_backward(const T* grad_out, const int64_t* indices, int64_t planes, int64_t H, int64_t W, int64_t outH,
                         int64_t outW, T* grad_in) {
  const int64_t in_plane = H * W, out_plane = outH * outW;
  parallel_for(planes, grain(in_plane + out_plane), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      T* g = grad_in + p * in_plane;
      const T* go = grad_out + p * out_plane;
      const int64_t* idx = indices + p * out_plane;
      std::fill(g, g + in_plane, T(0));
      // A window with no input tap (possible with dilation) has an out-of-range index, as in
      // PyTorch; it has no gradient to give.
      for (int64_t o = 0; o < out_plane; ++o)
        if (idx[o] >= 0 && idx[o] < in_plane) g[idx[o]] += go[o];
    }
  });
}

template <class T>
void avg_pool2d_forward(const T* in, int64_t planes, int64_t H, int64_t W, int64_t outH, int64_t outW, int64_t kH,
                        int64_t kW, int64_t sH, int64_t sW, int64_t pH, int64_t pW, bool count_include_pad,
                        int64_t divisor_override, T* out) {
  const Pool g{H, W, outH, outW, kH, kW, sH, sW, pH, pW, 1, 1, count_include_pad, divisor_override};
  parallel_for(planes * outH, grain(outW * kH * kW), [&](int64_t r0, int64_t r1) { avg_rows(in, g, r0, r1, out); });
}

template <class T>
void avg_pool2d_backward(const T* grad_out, int64_t planes, int64_t H, int64_t W, int64_t outH, int64_t outW,
                         int64_t kH, int64_t kW, int64_t sH, int64_t sW, int64_t pH, int64_t pW, bool count_include_pad,
                         int64_t divisor_override, T* grad_in) {
  const Pool g{H, W, outH, outW, kH, kW, sH, sW, pH, pW, 1, 1, count_include_pad, divisor_override};
  parallel_for(planes, grain(H * W + outH * outW * kH * kW), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) avg_backward_plane(grad_out + p * outH * outW, g, grad_in + p * H * W);
  });
}

#define FASTNN_INSTANTIATE_POOL(T)                                                                                 \
  template void max_pool2d_forward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,     \
                                      int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, T*, int64_t*);         \
  template void max_pool2d_backward<T>(const T*, const int64_t*, int64_t, int64_t, int64_t, int64_t, int64_t, T*); \
  template void avg_pool2d_forward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,     \
                                      int64_t, int64_t, int64_t, int64_t, bool, int64_t, T*);                      \
  template void avg_pool2d_backward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,    \
                                       int64_t, int64_t, int64_t, int64_t, bool, int64_t, T*);
FASTNN_INSTANTIATE_POOL(float)
FASTNN_INSTANTIATE_POOL(double)
#undef FASTNN_INSTANTIATE_POOL

}  // namespace fastnn::kernels
