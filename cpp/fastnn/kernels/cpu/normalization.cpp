#include "fastnn/kernels/cpu/normalization.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "fastnn/parallel.h"

namespace fastnn::kernels {
namespace {

constexpr int kLanes = 8;  // independent accumulators per sum: the loop vectorises, the order stays fixed

// (sum of p(j), sum of q(j)) over j in [0, n): kLanes interleaved double accumulators, added in lane
// order at the end (the same order on every thread).
template <class F>
inline void lane_sums(int64_t n, const F& f, double& s, double& q) {
  double ps[kLanes] = {}, pq[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) f(j + l, ps[l], pq[l]);
  for (int l = 0; j < n; ++j, ++l) f(j, ps[l], pq[l]);
  s = q = 0;
  for (int l = 0; l < kLanes; ++l) {
    s += ps[l];
    q += pq[l];
  }
}

// mean and rstd of one row of n values. Sums are shifted by the first value, so a large common offset
// does not cancel the variance away (one pass: sum(x - k), sum((x - k)^2)).
template <class T>
void row_stats(const T* x, int64_t n, double eps, bool rms, double& mean, double& rstd) {
  if (n == 0) {
    mean = 0;
    rstd = 1 / std::sqrt(eps);
    return;
  }
  double k = rms ? 0.0 : double(x[0]), s, q;
  lane_sums(n, [&](int64_t j, double& ps, double& pq) {
    double d = double(x[j]) - k;
    ps += d;
    pq += d * d;
  }, s, q);
  double shifted_mean = s / double(n);
  double var = rms ? q / double(n) : std::max(0.0, q / double(n) - shifted_mean * shifted_mean);
  mean = rms ? 0.0 : k + shifted_mean;
  rstd = 1 / std::sqrt(var + eps);
}

// Rows per block of the backward pass: a function of the row count only (so the partial sums of
// gw/gb, one set per block, are the same whatever the threads), at most about 64 blocks.
int64_t rows_per_block(int64_t rows) { return std::max<int64_t>(8, (rows + 63) / 64); }

// Items per parallel chunk when each item touches `work` values.
int64_t grain_for(int64_t work) { return std::max<int64_t>(1, kGrainSize / std::max<int64_t>(work, 1)); }

}  // namespace

template <class T>
void layer_norm_forward(const T* x, const T* w, const T* b, int64_t rows, int64_t n, double eps, bool rms, T* y,
                        double* mean, double* rstd) {
  parallel_for(rows, grain_for(n), [&](int64_t r0, int64_t r1) {
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
  });
}

template <class T>
void layer_norm_backward(const T* gy, const T* x, const double* mean, const double* rstd, const T* w, int64_t rows,
                         int64_t n, bool rms, T* gx, T* gw, T* gb) {
  const int64_t block = rows_per_block(rows), blocks = (rows + block - 1) / block;
  const bool params = gw || gb;
  // per block: the partial sums of gy * xhat (gw) then of gy (gb) over its rows
  std::vector<double> partial(params ? size_t(blocks * 2 * n) : 0);
  parallel_for(blocks, grain_for(block * n), [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      double* pw = params ? partial.data() + blk * 2 * n : nullptr;
      if (pw) std::fill(pw, pw + 2 * n, 0.0);
      for (int64_t r = blk * block; r < std::min(rows, (blk + 1) * block); ++r) {
        const T *xr = x + r * n, *gr = gy + r * n;
        const double m = mean[r], rs = rstd[r];
        if (gx) {
          // gx = rstd * (a - mean(a) - xhat * mean(a * xhat)), a = gy * w (mean(a) dropped for RMS norm)
          double sa, sax;
          lane_sums(n, [&](int64_t j, double& ps, double& pq) {
            double a = double(gr[j]) * (w ? double(w[j]) : 1.0);
            ps += a;
            pq += a * (double(xr[j]) - m) * rs;
          }, sa, sax);
          const double ca = rms ? 0.0 : sa / double(n), cx = sax / double(n);
          T* gxr = gx + r * n;
          for (int64_t j = 0; j < n; ++j) {
            double a = double(gr[j]) * (w ? double(w[j]) : 1.0);
            gxr[j] = T(rs * (a - ca - (double(xr[j]) - m) * rs * cx));
          }
        }
        if (pw) {
          double* pb = pw + n;
          for (int64_t j = 0; j < n; ++j) {
            pw[j] += double(gr[j]) * (double(xr[j]) - m) * rs;
            pb[j] += double(gr[j]);
          }
        }
      }
    }
  });
  if (!params) return;
  parallel_for(n, grain_for(blocks), [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      double sw = 0, sb = 0;
      for (int64_t blk = 0; blk < blocks; ++blk) {
        sw += partial[size_t(blk * 2 * n + j)];
        sb += partial[size_t(blk * 2 * n + n + j)];
      }
      if (gw) gw[j] = T(sw);
      if (gb) gb[j] = T(sb);
    }
  });
}

template <class T>
void group_norm_forward(const T* x, const T* w, const T* b, int64_t N, int64_t C, int64_t S, int64_t G, double eps,
                        T* y, double* mean, double* rstd) {
  const int64_t Cg = C / G, M = Cg * S;
  parallel_for(N * G, grain_for(M), [&](int64_t r0, int64_t r1) {
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
  });
}

template <class T>
void group_norm_backward(const T* gy, const T* x, const double* mean, const double* rstd, const T* w, int64_t N,
                         int64_t C, int64_t S, int64_t G, T* gx, T* gw, T* gb) {
  const int64_t Cg = C / G, M = Cg * S;
  // per (sample, channel): sum of gy * x and sum of gy
  std::vector<double> ds(size_t(N * C)), db(size_t(N * C));
  parallel_for(N * G, grain_for(M), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / G, c0 = (r % G) * Cg;
      for (int64_t k = 0; k < Cg; ++k) {
        const T *xc = x + r * M + k * S, *gc = gy + r * M + k * S;
        lane_sums(S, [&](int64_t s, double& ps, double& pq) {
          ps += double(gc[s]) * double(xc[s]);
          pq += double(gc[s]);
        }, ds[size_t(n * C + c0 + k)], db[size_t(n * C + c0 + k)]);
      }
      if (!gx) continue;
      // gx = rstd * (a - mean(a) - xhat * mean(a * xhat)) over the group, a = gy * w[c]
      const double m = mean[r], rs = rstd[r];
      double sa = 0, sax = 0;
      for (int64_t k = 0; k < Cg; ++k) {
        const double wc = w ? double(w[c0 + k]) : 1.0, dsc = ds[size_t(n * C + c0 + k)], dbc = db[size_t(n * C + c0 + k)];
        sa += wc * dbc;
        sax += wc * rs * (dsc - m * dbc);
      }
      const double cx = -rs * rs * sax / double(M), c1 = m * rs * rs * sax / double(M) - rs * sa / double(M);
      for (int64_t k = 0; k < Cg; ++k) {
        const double cg = rs * (w ? double(w[c0 + k]) : 1.0);
        const T *xc = x + r * M + k * S, *gc = gy + r * M + k * S;
        T* out = gx + r * M + k * S;
        for (int64_t s = 0; s < S; ++s) out[s] = T(cg * double(gc[s]) + cx * double(xc[s]) + c1);
      }
    }
  });
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

#define FASTNN_NORM_INSTANTIATE(T)                                                                                  \
  template void layer_norm_forward<T>(const T*, const T*, const T*, int64_t, int64_t, double, bool, T*, double*,     \
                                      double*);                                                                       \
  template void layer_norm_backward<T>(const T*, const T*, const double*, const double*, const T*, int64_t, int64_t, \
                                       bool, T*, T*, T*);                                                             \
  template void group_norm_forward<T>(const T*, const T*, const T*, int64_t, int64_t, int64_t, int64_t, double, T*,  \
                                      double*, double*);                                                              \
  template void group_norm_backward<T>(const T*, const T*, const double*, const double*, const T*, int64_t, int64_t, \
                                       int64_t, int64_t, T*, T*, T*);                                                 \
  template void instance_norm_update_running<T>(const double*, const double*, int64_t, int64_t, int64_t, double,     \
                                                double, T*, T*);
FASTNN_NORM_INSTANTIATE(float)
FASTNN_NORM_INSTANTIATE(double)
#undef FASTNN_NORM_INSTANTIATE

}  // namespace fastnn::kernels
