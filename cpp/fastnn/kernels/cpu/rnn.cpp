#include "fastnn/kernels/cpu/rnn.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "fastnn/parallel.h"

namespace fastnn::kernels {
namespace {

template <class T> T sigmoid(T x) { return T(1) / (T(1) + std::exp(-x)); }

// tanh. For float, through expf (glibc's tanhf goes through expm1f, which took a sixth of an LSTM training
// step): below |x| = 0.5 the odd Taylor series through x^17 (the next term is under 1e-9 relative), above it
// 1 - 2 / (exp(2|x|) + 1); within 1.5 ulp of the exact value (measured). Past 9 it rounds to +-1.
template <class T> T tanh_of(T x) {
  if constexpr (std::is_same_v<T, float>) {
    const float a = std::fabs(x);
    if (a < 0.5f) {
      const double c[] = {-1.0 / 3, 2.0 / 15, -17.0 / 315, 62.0 / 2835, -1382.0 / 155925, 21844.0 / 6081075,
                          -929569.0 / 638512875, 6404582.0 / 10854718875};
      const float z = x * x;
      float p = float(c[7]);
      for (int k = 6; k >= 0; --k) p = float(c[k]) + z * p;
      return x + x * z * p;
    }
    if (a > 9.f) return std::copysign(1.f, x);
    return std::copysign(1.f - 2.f / (std::exp(2.f * a) + 1.f), x);
  } else {
    return std::tanh(x);
  }
}

// f(row) for rows [0, n), in chunks of about kGrainSize elements (a rule on the shape only).
template <class F>
void for_rows(int64_t n, int64_t width, const F& f) {
  parallel_for(n, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(width, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) f(r);
  });
}

}  // namespace

template <class T>
void rnn_cell_forward(RnnMode m, int64_t n, int64_t H, const T* gi, const T* gh, const T* b_hh, const T* hprev,
                      const T* cprev, T* h, T* c, T* act) {
  const int64_t G = rnn_gates(m) * H, A = rnn_saved(m) * H;
  for_rows(n, G, [&](int64_t r) {
    const T* xi = gi + r * G;
    const T* xh = gh + r * G;
    T* hr = h + r * H;
    T* ar = act + r * A;
    auto hh = [&](int64_t j) { return b_hh ? xh[j] + b_hh[j] : xh[j]; };
    switch (m) {
      case RnnMode::Tanh:
        for (int64_t j = 0; j < H; ++j) ar[j] = hr[j] = tanh_of(xi[j] + hh(j));
        break;
      case RnnMode::Relu:
        for (int64_t j = 0; j < H; ++j) ar[j] = hr[j] = std::max(xi[j] + hh(j), T(0));
        break;
      case RnnMode::Lstm:
        for (int64_t j = 0; j < H; ++j) {
          T i = sigmoid(xi[j] + hh(j)), f = sigmoid(xi[H + j] + hh(H + j));
          T g = tanh_of(xi[2 * H + j] + hh(2 * H + j)), o = sigmoid(xi[3 * H + j] + hh(3 * H + j));
          T cn = f * cprev[r * H + j] + i * g;
          c[r * H + j] = cn;
          hr[j] = o * tanh_of(cn);
          ar[j] = i, ar[H + j] = f, ar[2 * H + j] = g, ar[3 * H + j] = o;
        }
        break;
      case RnnMode::Gru:
        for (int64_t j = 0; j < H; ++j) {
          T rg = sigmoid(xi[j] + hh(j)), z = sigmoid(xi[H + j] + hh(H + j));
          T hn = hh(2 * H + j), nn = tanh_of(xi[2 * H + j] + rg * hn);
          hr[j] = (T(1) - z) * nn + z * hprev[r * H + j];
          ar[j] = rg, ar[H + j] = z, ar[2 * H + j] = nn, ar[3 * H + j] = hn;
        }
        break;
    }
  });
}

template <class T>
void rnn_cell_backward(RnnMode m, int64_t n, int64_t H, const T* dh, const T* dh2, T* dc, const T* act, const T* cprev,
                       const T* c, const T* hprev, T* dgi, T* dgh, T* dhprev) {
  const int64_t G = rnn_gates(m) * H, A = rnn_saved(m) * H;
  for_rows(n, G, [&](int64_t r) {
    const T* ar = act + r * A;
    T* gr = dgi + r * G;
    auto grad_h = [&](int64_t j) { return dh2 ? dh[r * H + j] + dh2[r * H + j] : dh[r * H + j]; };
    switch (m) {
      case RnnMode::Tanh:
        for (int64_t j = 0; j < H; ++j) gr[j] = grad_h(j) * (T(1) - ar[j] * ar[j]);
        break;
      case RnnMode::Relu:
        for (int64_t j = 0; j < H; ++j) gr[j] = ar[j] > T(0) ? grad_h(j) : T(0);
        break;
      case RnnMode::Lstm:
        for (int64_t j = 0; j < H; ++j) {
          T i = ar[j], f = ar[H + j], g = ar[2 * H + j], o = ar[3 * H + j];
          T tc = tanh_of(c[r * H + j]), d = grad_h(j);
          T dcell = dc[r * H + j] + d * o * (T(1) - tc * tc);
          gr[j] = dcell * g * i * (T(1) - i);
          gr[H + j] = dcell * cprev[r * H + j] * f * (T(1) - f);
          gr[2 * H + j] = dcell * i * (T(1) - g * g);
          gr[3 * H + j] = d * tc * o * (T(1) - o);
          dc[r * H + j] = dcell * f;
        }
        break;
      case RnnMode::Gru: {
        T* hr = dgh + r * G;
        for (int64_t j = 0; j < H; ++j) {
          T rg = ar[j], z = ar[H + j], nn = ar[2 * H + j], hn = ar[3 * H + j], d = grad_h(j);
          T dn = d * (T(1) - z) * (T(1) - nn * nn);
          T dr = dn * hn * rg * (T(1) - rg);
          T dz = d * (hprev[r * H + j] - nn) * z * (T(1) - z);
          gr[j] = hr[j] = dr;
          gr[H + j] = hr[H + j] = dz;
          gr[2 * H + j] = dn;
          hr[2 * H + j] = dn * rg;
          dhprev[r * H + j] = d * z;
        }
        break;
      }
    }
  });
}

template <class T>
void add_row_bias(int64_t n, int64_t G, const T* bias, T* out) {
  for_rows(n, G, [&](int64_t r) {
    for (int64_t j = 0; j < G; ++j) out[r * G + j] += bias[j];
  });
}

template <class T>
void column_sums(int64_t n, int64_t G, const T* in, T* out) {
  constexpr int64_t kCols = 64;  // columns per task: rows are walked in order, kCols contiguous values at a time
  parallel_for(G, std::max<int64_t>(kCols, kGrainSize / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
    std::fill(out + b, out + e, T(0));
    for (int64_t r = 0; r < n; ++r)
      for (int64_t j = b; j < e; ++j) out[j] += in[r * G + j];
  });
}

#define FASTNN_RNN_KERNELS(T)                                                                                  \
  template void rnn_cell_forward<T>(RnnMode, int64_t, int64_t, const T*, const T*, const T*, const T*, const T*, \
                                    T*, T*, T*);                                                               \
  template void rnn_cell_backward<T>(RnnMode, int64_t, int64_t, const T*, const T*, T*, const T*, const T*,    \
                                     const T*, const T*, T*, T*, T*);                                       \
  template void add_row_bias<T>(int64_t, int64_t, const T*, T*);                                            \
  template void column_sums<T>(int64_t, int64_t, const T*, T*);
FASTNN_RNN_KERNELS(float)
FASTNN_RNN_KERNELS(double)
#undef FASTNN_RNN_KERNELS

}  // namespace fastnn::kernels
