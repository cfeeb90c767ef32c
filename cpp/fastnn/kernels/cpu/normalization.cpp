#include "fastnn/kernels/cpu/normalization.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "fastnn/kernels/cpu/simd.h"
#include "fastnn/parallel.h"

namespace fastnn::kernels {
namespace {

constexpr int64_t kChunk = 512;  // values summed in the input's precision before adding into double

// 32-byte vectors (8 floats, 4 doubles): one AVX2 register, two SSE ones in the generic build.
template <class T>
using V32 = Vec<T, 32 / sizeof(T)>;

// v (a vector or a scalar) read from p, unaligned. (An out-parameter: returning a 32-byte vector from a
// function compiled without AVX would change its ABI.)
template <class A, class T>
FASTNN_INLINE void load(A& v, const T* p) {
  std::memcpy(&v, p, sizeof(A));
}

// acc += the lanes of v as four doubles (float lanes i and i + 4 added in double). An out-parameter, as load().
template <class T>
FASTNN_INLINE void add_lanes(Vec<double, 4>& acc, const V32<T>& v) {
  if constexpr (sizeof(T) == 4) {
    const Vec<float, 4> lo = __builtin_shufflevector(v, v, 0, 1, 2, 3), hi = __builtin_shufflevector(v, v, 4, 5, 6, 7);
    acc += __builtin_convertvector(lo, Vec<double, 4>) + __builtin_convertvector(hi, Vec<double, 4>);
  } else {
    acc += v;
  }
}

// (sum of p(j), sum of q(j)) over j in [0, n). f(j, p, q) adds the terms of j's values into p and q, written
// once for A = V32<T> (the values from j on) and A = T (value j alone). Per chunk of kChunk values: two
// vector accumulators per sum and a scalar one for the tail, in the input's precision (fast, and accurate
// over a chunk); then the chunk's two vectors are added and their lanes added into four double lanes, its
// tail into a double. The four lanes are summed once per row in a fixed tree, so a short row (a
// transformer's 128 values) pays one cross-lane sum, and the bits are the same on every thread.
template <class T, class F>
FASTNN_INLINE void lane_sums(int64_t n, const F& f, double& s, double& q) {
  using V = V32<T>;
  constexpr int L = 32 / sizeof(T);
  using D = Vec<double, 4>;
  D sd = {}, qd = {};
  double st = 0, qt = 0;
  for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
    const int64_t c1 = std::min(n, c0 + kChunk);
    V ps0 = {}, pq0 = {}, ps1 = {}, pq1 = {};
    int64_t j = c0;
    for (; j + 2 * L <= c1; j += 2 * L) {
      f(j, ps0, pq0);
      f(j + L, ps1, pq1);
    }
    T ts = 0, tq = 0;
    for (; j < c1; ++j) f(j, ts, tq);
    add_lanes<T>(sd, ps0 + ps1);
    add_lanes<T>(qd, pq0 + pq1);
    st += double(ts);
    qt += double(tq);
  }
  s = ((sd[0] + sd[2]) + (sd[1] + sd[3])) + st;
  q = ((qd[0] + qd[2]) + (qd[1] + qd[3])) + qt;
}

// mean and rstd of one row of n values. Sums are shifted by the first value, so a large common offset
// does not cancel the variance away (one pass: sum(x - k), sum((x - k)^2)).
template <class T>
FASTNN_INLINE void row_stats(const T* x, int64_t n, double eps, bool rms, double& mean, double& rstd) {
  if (n == 0) {
    mean = 0;
    rstd = 1 / std::sqrt(eps);
    return;
  }
  const T k = rms ? T(0) : x[0];
  double s, q;
  lane_sums<T>(
      n,
      [&](int64_t j, auto& ps, auto& pq) __attribute__((always_inline)) {
        std::remove_reference_t<decltype(ps)> d;
        load(d, x + j);
        d -= k;
        ps += d;
        pq += d * d;
      },
      s, q);
  double shifted_mean = s / double(n);
  double var = rms ? q / double(n) : std::max(0.0, q / double(n) - shifted_mean * shifted_mean);
  mean = rms ? 0.0 : double(k) + shifted_mean;
  rstd = 1 / std::sqrt(var + eps);
}

// ---- bodies over a range of rows, compiled once per instruction set (dispatch below) ----

template <class T>
struct LayerNormForwardRows {
  static FASTNN_INLINE void run(const T* x, const T* w, const T* b, int64_t r0, int64_t r1, int64_t n, double eps,
                                bool rms, T* y, double* mean, double* rstd) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * n;
      T* yr = y + r * n;
      row_stats(xr, n, eps, rms, mean[r], rstd[r]);
      // (x - mean) * rstd rather than x * rstd - mean * rstd: a constant row gives exactly 0
      const T m = T(mean[r]), rs = T(rstd[r]);
      if (w && b)
        for (int64_t j = 0; j < n; ++j) yr[j] = (xr[j] - m) * rs * w[j] + b[j];
      else if (w)
        for (int64_t j = 0; j < n; ++j) yr[j] = (xr[j] - m) * rs * w[j];
      else if (b)
        for (int64_t j = 0; j < n; ++j) yr[j] = (xr[j] - m) * rs + b[j];
      else
        for (int64_t j = 0; j < n; ++j) yr[j] = (xr[j] - m) * rs;
    }
  }
};

// Rows [r0, r1) of the layer/RMS norm backward: gx (if wanted), and the sums of gy * xhat and gy over
// these rows added into pw[0, n) and pb[0, n) (if pw).
template <class T>
struct LayerNormBackwardRows {
  static FASTNN_INLINE void run(const T* gy, const T* x, const double* mean, const double* rstd, const T* w, int64_t r0,
                                int64_t r1, int64_t n, bool rms, T* gx, T* pw, T* pb) {
    for (int64_t r = r0; r < r1; ++r) {
      const T *xr = x + r * n, *gr = gy + r * n;
      const T m = T(mean[r]), rs = T(rstd[r]);
      if (gx) {
        // gx = rstd * (a - mean(a) - xhat * mean(a * xhat)), a = gy * w (mean(a) dropped for RMS norm)
        double sa, sax;
        lane_sums<T>(
            n,
            [&](int64_t j, auto& ps, auto& pq) __attribute__((always_inline)) {
              std::remove_reference_t<decltype(ps)> a, wj, xj;
              load(a, gr + j);
              if (w) {
                load(wj, w + j);
                a *= wj;
              }
              load(xj, xr + j);
              ps += a;
              pq += a * ((xj - m) * rs);
            },
            sa, sax);
        const T ca = T(rms ? 0.0 : sa / double(n)), cx = T(sax / double(n));
        T* gxr = gx + r * n;
        if (w)
          for (int64_t j = 0; j < n; ++j) gxr[j] = rs * (gr[j] * w[j] - ca - (xr[j] - m) * rs * cx);
        else
          for (int64_t j = 0; j < n; ++j) gxr[j] = rs * (gr[j] - ca - (xr[j] - m) * rs * cx);
      }
      if (pw)
        for (int64_t j = 0; j < n; ++j) {
          pw[j] += gr[j] * ((xr[j] - m) * rs);
          pb[j] += gr[j];
        }
    }
  }
};

template <class T>
struct GroupNormForwardRows {
  static FASTNN_INLINE void run(const T* x, const T* w, const T* b, int64_t r0, int64_t r1, int64_t Cg, int64_t S,
                                int64_t G, double eps, T* y, double* mean, double* rstd) {
    const int64_t M = Cg * S;
    for (int64_t r = r0; r < r1; ++r) {
      row_stats(x + r * M, M, eps, false, mean[r], rstd[r]);
      for (int64_t k = 0; k < Cg; ++k) {
        const int64_t c = (r % G) * Cg + k;
        const T m = T(mean[r]), sc = T(rstd[r] * (w ? double(w[c]) : 1.0)), bc = b ? b[c] : T(0);
        const T* xc = x + r * M + k * S;
        T* yc = y + r * M + k * S;
        for (int64_t s = 0; s < S; ++s) yc[s] = (xc[s] - m) * sc + bc;
      }
    }
  }
};

// Rows (sample, group) [r0, r1) of the group norm backward: per (sample, channel) the sums of gy * x
// (ds) and of gy (db), then gx if wanted.
template <class T>
struct GroupNormBackwardRows {
  static FASTNN_INLINE void run(const T* gy, const T* x, const double* mean, const double* rstd, const T* w, int64_t r0,
                                int64_t r1, int64_t Cg, int64_t S, int64_t G, T* gx, double* ds, double* db) {
    const int64_t M = Cg * S, C = Cg * G;
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / G, c0 = (r % G) * Cg;
      for (int64_t k = 0; k < Cg; ++k) {
        const T *xc = x + r * M + k * S, *gc = gy + r * M + k * S;
        lane_sums<T>(
            S,
            [&](int64_t s, auto& ps, auto& pq) __attribute__((always_inline)) {
              std::remove_reference_t<decltype(ps)> g, xv;
              load(g, gc + s);
              load(xv, xc + s);
              ps += g * xv;
              pq += g;
            },
            ds[n * C + c0 + k], db[n * C + c0 + k]);
      }
      if (!gx) continue;
      // gx = rstd * (a - mean(a) - xhat * mean(a * xhat)) over the group, a = gy * w[c]
      const double m = mean[r], rs = rstd[r];
      double sa = 0, sax = 0;
      for (int64_t k = 0; k < Cg; ++k) {
        const double wc = w ? double(w[c0 + k]) : 1.0, dsc = ds[n * C + c0 + k], dbc = db[n * C + c0 + k];
        sa += wc * dbc;
        sax += wc * rs * (dsc - m * dbc);
      }
      const T cx = T(-rs * rs * sax / double(M)), c1 = T(-rs * sa / double(M)), mt = T(m);
      for (int64_t k = 0; k < Cg; ++k) {
        const T cg = T(rs * (w ? double(w[c0 + k]) : 1.0));
        const T *xc = x + r * M + k * S, *gc = gy + r * M + k * S;
        T* out = gx + r * M + k * S;
        for (int64_t s = 0; s < S; ++s) out[s] = cg * gc[s] + (cx * (xc[s] - mt) + c1);
      }
    }
  }
};

template <class Body, class... A>
void run_generic(A... a) {
  Body::run(a...);
}
#ifdef FASTNN_X86
template <class Body, class... A>
FASTNN_TARGET_AVX2 void run_avx2(A... a) {
  Body::run(a...);
}
#endif

// Body::run compiled for the instruction set in use (AVX2 also serves AVX-512 machines); the argument,
// &Body::run, only gives the signature.
template <class Body, class... A>
auto pick(void (*)(A...)) -> void (*)(A...) {
#ifdef FASTNN_X86
  if (kernel_isa() != Isa::Generic) return &run_avx2<Body, A...>;
#endif
  return &run_generic<Body, A...>;
}

// Rows per block of the layer norm backward: a function of the row count only (so the partial sums of
// gw/gb, one set per block, are the same whatever the threads), at most about 64 blocks.
int64_t rows_per_block(int64_t rows) { return std::max<int64_t>(8, (rows + 63) / 64); }

// Items per parallel chunk when each item touches `work` values.
int64_t grain_for(int64_t work) { return std::max<int64_t>(1, kGrainSize / std::max<int64_t>(work, 1)); }

}  // namespace

template <class T>
void layer_norm_forward(const T* x, const T* w, const T* b, int64_t rows, int64_t n, double eps, bool rms, T* y,
                        double* mean, double* rstd) {
  auto body = pick<LayerNormForwardRows<T>>(&LayerNormForwardRows<T>::run);
  parallel_for(rows, grain_for(n), [&](int64_t r0, int64_t r1) { body(x, w, b, r0, r1, n, eps, rms, y, mean, rstd); });
}

template <class T>
void layer_norm_backward(const T* gy, const T* x, const double* mean, const double* rstd, const T* w, int64_t rows,
                         int64_t n, bool rms, T* gx, T* gw, T* gb) {
  auto body = pick<LayerNormBackwardRows<T>>(&LayerNormBackwardRows<T>::run);
  const int64_t block = rows_per_block(rows), blocks = (rows + block - 1) / block;
  const bool params = gw || gb;
  // per block: the partial sums of gy * xhat (gw) then of gy (gb) over its rows
  std::vector<T> partial(params ? size_t(blocks * 2 * n) : 0);
  parallel_for(blocks, grain_for(block * n), [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      T* pw = params ? partial.data() + blk * 2 * n : nullptr;
      body(gy, x, mean, rstd, w, blk * block, std::min(rows, (blk + 1) * block), n, rms, gx, pw, pw ? pw + n : nullptr);
    }
  });
  if (!params) return;
  // Each column's partials summed in block order, in double; kCols columns at a time so the adds vectorise.
  constexpr int64_t kCols = 64;
  parallel_for((n + kCols - 1) / kCols, grain_for(blocks * kCols), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t j0 = c * kCols, m = std::min(kCols, n - j0);
      double sw[kCols] = {}, sb[kCols] = {};
      for (int64_t blk = 0; blk < blocks; ++blk) {
        const T* p = partial.data() + blk * 2 * n + j0;
        for (int64_t j = 0; j < m; ++j) {
          sw[j] += double(p[j]);
          sb[j] += double(p[n + j]);
        }
      }
      for (int64_t j = 0; j < m; ++j) {
        if (gw) gw[j0 + j] = T(sw[j]);
        if (gb) gb[j0 + j] = T(sb[j]);
      }
    }
  });
}

template <class T>
void group_norm_forward(const T* x, const T* w, const T* b, int64_t N, int64_t C, int64_t S, int64_t G, double eps,
                        T* y, double* mean, double* rstd) {
  auto body = pick<GroupNormForwardRows<T>>(&GroupNormForwardRows<T>::run);
  const int64_t Cg = C / G;
  parallel_for(N * G, grain_for(Cg * S),
               [&](int64_t r0, int64_t r1) { body(x, w, b, r0, r1, Cg, S, G, eps, y, mean, rstd); });
}

template <class T>
void group_norm_backward(const T* gy, const T* x, const double* mean, const double* rstd, const T* w, int64_t N,
                         int64_t C, int64_t S, int64_t G, T* gx, T* gw, T* gb) {
  auto body = pick<GroupNormBackwardRows<T>>(&GroupNormBackwardRows<T>::run);
  const int64_t Cg = C / G;
  // per (sample, channel): sum of gy * x and sum of gy
  std::vector<double> ds(size_t(N * C)), db(size_t(N * C));
  parallel_for(N * G, grain_for(Cg * S),
               [&](int64_t r0, int64_t r1) { body(gy, x, mean, rstd, w, r0, r1, Cg, S, G, gx, ds.data(), db.data()); });
  if (!gw && !gb) return;
  parallel_for(C, grain_for(N), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double sw = 0, sb = 0;
      for (int64_t n = 0; n < N; ++n) {
        const int64_t r = n * G + c / Cg;
        sw += rstd[r] * (ds[size_t(n * C + c)] - mean[r] * db[size_t(n * C + c)]);
        sb += db[size_t(n * C + c)];
      }
      if (gw) gw[c] = T(sw);
      if (gb) gb[c] = T(sb);
    }
  });
}

template <class T>
void instance_norm_update_running(const double* mean, const double* rstd, int64_t N, int64_t C, int64_t S, double eps,
                                  double momentum, T* running_mean, T* running_var) {
  for (int64_t c = 0; c < C; ++c) {
    double sm = 0, sv = 0;
    for (int64_t n = 0; n < N; ++n) {
      const double rs = rstd[n * C + c];
      sm += mean[n * C + c];
      sv += (1 / (rs * rs) - eps) * double(S) / double(S - 1);  // unbiased variance of the instance
    }
    running_mean[c] = T((1 - momentum) * double(running_mean[c]) + momentum * sm / double(N));
    running_var[c] = T((1 - momentum) * double(running_var[c]) + momentum * sv / double(N));
  }
}

#define FASTNN_NORM_INSTANTIATE(T)                                                                                   \
  template void layer_norm_forward<T>(const T*, const T*, const T*, int64_t, int64_t, double, bool, T*, double*,     \
                                      double*);                                                                      \
  template void layer_norm_backward<T>(const T*, const T*, const double*, const double*, const T*, int64_t, int64_t, \
                                       bool, T*, T*, T*);                                                            \
  template void group_norm_forward<T>(const T*, const T*, const T*, int64_t, int64_t, int64_t, int64_t, double, T*,  \
                                      double*, double*);                                                             \
  template void group_norm_backward<T>(const T*, const T*, const double*, const double*, const T*, int64_t, int64_t, \
                                       int64_t, int64_t, T*, T*, T*);                                                \
  template void instance_norm_update_running<T>(const double*, const double*, int64_t, int64_t, int64_t, double,     \
                                                double, T*, T*);
FASTNN_NORM_INSTANTIATE(float)
FASTNN_NORM_INSTANTIATE(double)
#undef FASTNN_NORM_INSTANTIATE

}  // namespace fastnn::kernels
