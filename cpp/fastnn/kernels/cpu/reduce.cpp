#include "fastnn/kernels/cpu/reduce.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "fastnn/kernels/cpu/simd.h"
#include "fastnn/kernels/cpu/vec_math.h"

namespace fastnn::kernels {
namespace {

template <class T>
constexpr int kW = 64 / int(sizeof(T));  // lanes per logical accumulator: 16 floats, 8 doubles

// An instruction set's native vector of L lanes of T.
template <class T, int L>
FASTNN_INLINE Vec<T, L> load_v(const T* p) {
  Vec<T, L> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The lanes of a native vector of doubles summed by halves (lanes l and l + N/2 first).
template <int N>
FASTNN_INLINE double fold(const Vec<double, N>& v) {
  if constexpr (N == 1) {
    return v[0];
  } else if constexpr (N == 2) {
    return v[0] + v[1];
  } else {
    Vec<double, N / 2> lo, hi;
    std::memcpy(&lo, &v, sizeof lo);
    std::memcpy(&hi, reinterpret_cast<const char*>(&v) + sizeof lo, sizeof hi);
    return fold<N / 2>(lo + hi);
  }
}

// The sum of term(j) over [0, n), as reduce.h describes, with the W logical lanes held in native vectors of L
// lanes (the same arithmetic whatever L): vec(j) gives terms j .. j + L - 1, one(j) term j in double.
template <class T, int L, class Vf, class Of>
FASTNN_INLINE double sum_body(int64_t n, const Vf& vec, const Of& one) {
  constexpr int w = kW<T>, R = w / L;             // native vectors per accumulator
  constexpr int DL = sizeof(T) == 4 ? L / 2 : L;  // doubles per native double vector
  constexpr int ND = w / DL;                      // double vectors for the W lanes
  using D = Vec<double, DL>;
  const int64_t body = n - n % (2 * w);
  D lanes[ND] = {};
  for (int64_t j = 0; j < body;) {
    const int64_t end = std::min(body, j + kSumBlock);
    Vec<T, L> a0[R] = {}, a1[R] = {};
    for (; j < end; j += 2 * w) {
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        a0[r] += vec(j + r * L);
        a1[r] += vec(j + w + r * L);
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const Vec<T, L> a = a0[r] + a1[r];
      if constexpr (sizeof(T) == 4) {
        Vec<float, L / 2> lo, hi;
        std::memcpy(&lo, &a, sizeof lo);
        std::memcpy(&hi, reinterpret_cast<const char*>(&a) + sizeof lo, sizeof hi);
        lanes[2 * r] += __builtin_convertvector(lo, D);
        lanes[2 * r + 1] += __builtin_convertvector(hi, D);
      } else {
        lanes[r] += a;
      }
    }
  }
  // The W lanes by halves: first across the vectors, then within the last one.
#pragma GCC unroll 4
  for (int h = ND / 2; h >= 1; h /= 2)
#pragma GCC unroll 4
    for (int k = 0; k < h; ++k) lanes[k] += lanes[k + h];
  double s = fold<DL>(lanes[0]);
  for (int64_t j = body; j < n; ++j) s += one(j);
  return s;
}

template <class T, int L>
FASTNN_INLINE double sum_impl(const T* x, int64_t n) {
  return sum_body<T, L>(
      n, [&](int64_t j) __attribute__((always_inline)) { return load_v<T, L>(x + j); },
      [&](int64_t j) __attribute__((always_inline)) { return double(x[j]); });
}

template <class T, int L>
FASTNN_INLINE double dot_impl(const T* x, const T* y, int64_t n) {
  return sum_body<T, L>(
      n, [&](int64_t j) __attribute__((always_inline)) { return load_v<T, L>(x + j) * load_v<T, L>(y + j); },
      [&](int64_t j) __attribute__((always_inline)) { return double(T(x[j] * y[j])); });
}

// exp of each lane: the vectorised float exp, libm's for double.
template <class T, int L>
FASTNN_INLINE Vec<T, L> exp_v(Vec<T, L> v) {
  if constexpr (sizeof(T) == 4) {
    exp_approx(v);
  } else {
#pragma GCC unroll 8
    for (int l = 0; l < L; ++l) v[l] = std::exp(v[l]);
  }
  return v;
}

template <class T>
FASTNN_INLINE T exp_one(T v) {
  if constexpr (sizeof(T) == 4) exp_approx(v);
  else v = std::exp(v);
  return v;
}

// The row's max (or min); NaN if any value is NaN; -inf (+inf) for an empty row. Each vector select tests one
// comparison: this helper is compiled for the baseline target and inlined into the AVX-512 kernels, where GCC runs
// a select on two combined masks (v > m | v != v) lane by lane, 15 times slower.
template <class T, int L, bool Max = true>
FASTNN_INLINE T max_impl(const T* x, int64_t n) {
  auto beats = [](T v, T m) { return (Max ? v > m : v < m) || v != v; };
  T mx = Max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
  int64_t j = 0;
  if (n >= L) {
    Vec<T, L> m = load_v<T, L>(x), nan = m;  // nan: per lane, the last NaN seen (else any value)
    for (j = L; j + L <= n; j += L) {
      const Vec<T, L> v = load_v<T, L>(x + j);
      if constexpr (Max) m = v > m ? v : m;
      else m = v < m ? v : m;
      nan = v != v ? v : nan;
    }
    for (int l = 0; l < L; ++l) {
      if (nan[l] != nan[l]) return nan[l];
      mx = beats(m[l], mx) ? m[l] : mx;
    }
  }
  for (; j < n; ++j) mx = beats(x[j], mx) ? x[j] : mx;
  return mx;
}

template <class T, int L>
FASTNN_INLINE void softmax_impl(const T* x, T* y, int64_t n, bool log) {
  T mx = max_impl<T, L>(x, n);
  if (std::isinf(mx) && mx < 0) mx = 0;  // all -inf: avoid inf - inf
  // exp(x - mx) summed; softmax keeps each exp in y
  const double s = sum_body<T, L>(
      n,
      [&](int64_t j) __attribute__((always_inline)) {
        const Vec<T, L> e = exp_v<T, L>(load_v<T, L>(x + j) - mx);
        if (!log) std::memcpy(y + j, &e, sizeof e);
        return e;
      },
      [&](int64_t j) __attribute__((always_inline)) {
        const T e = exp_one(T(x[j] - mx));
        if (!log) y[j] = e;
        return double(e);
      });
  if (log) {
    const T shift = mx + T(std::log(s));
    for (int64_t j = 0; j < n; ++j) y[j] = x[j] - shift;
  } else {
    const T inv = T(1.0 / s);
    for (int64_t j = 0; j < n; ++j) y[j] *= inv;
  }
}

template <class T, int L>
FASTNN_INLINE T logsumexp_impl(const T* x, int64_t n) {
  T mx = max_impl<T, L>(x, n);
  if (std::isinf(mx)) mx = 0;  // no shift: -inf and inf come out as themselves
  const double s = sum_body<T, L>(
      n, [&](int64_t j) __attribute__((always_inline)) { return exp_v<T, L>(load_v<T, L>(x + j) - mx); },
      [&](int64_t j) __attribute__((always_inline)) { return double(exp_one(T(x[j] - mx))); });
  return T(std::log(s) + mx);
}

template <class T, int L>
FASTNN_INLINE void softmax_backward_impl(const T* g, const T* y, T* dx, int64_t n, bool log) {
  if (log) {
    const T s = T(sum_impl<T, L>(g, n));
    int64_t j = 0;
    for (; j + L <= n; j += L) {
      const Vec<T, L> d = load_v<T, L>(g + j) - exp_v<T, L>(load_v<T, L>(y + j)) * s;
      std::memcpy(dx + j, &d, sizeof d);
    }
    for (; j < n; ++j) dx[j] = g[j] - exp_one(y[j]) * s;
  } else {
    const T s = T(dot_impl<T, L>(g, y, n));
    for (int64_t j = 0; j < n; ++j) dx[j] = y[j] * (g[j] - s);
  }
}

// Per instruction set: <name>_<isa>(args) runs <name>_impl<T>(args) compiled for that target.
#define FASTNN_REDUCE_KERNELS(SUFFIX, TARGET, BYTES)                                          \
  template <class T>                                                                          \
  TARGET double sum_##SUFFIX(const T* x, int64_t n) {                                         \
    return sum_impl<T, BYTES / sizeof(T)>(x, n);                                              \
  }                                                                                           \
  template <class T>                                                                          \
  TARGET double dot_##SUFFIX(const T* x, const T* y, int64_t n) {                             \
    return dot_impl<T, BYTES / sizeof(T)>(x, y, n);                                           \
  }                                                                                           \
  template <class T>                                                                          \
  TARGET T extreme_##SUFFIX(const T* x, int64_t n, bool is_max) {                             \
    constexpr int L = BYTES / sizeof(T);                                                      \
    return is_max ? max_impl<T, L, true>(x, n) : max_impl<T, L, false>(x, n);                 \
  }                                                                                           \
  template <class T>                                                                          \
  TARGET void softmax_##SUFFIX(const T* x, T* y, int64_t n, bool log) {                       \
    softmax_impl<T, BYTES / sizeof(T)>(x, y, n, log);                                         \
  }                                                                                           \
  template <class T>                                                                          \
  TARGET void softmax_backward_##SUFFIX(const T* g, const T* y, T* dx, int64_t n, bool log) { \
    softmax_backward_impl<T, BYTES / sizeof(T)>(g, y, dx, n, log);                            \
  }                                                                                           \
  template <class T>                                                                          \
  TARGET T logsumexp_##SUFFIX(const T* x, int64_t n) {                                        \
    return logsumexp_impl<T, BYTES / sizeof(T)>(x, n);                                        \
  }

FASTNN_REDUCE_KERNELS(generic, , 16)
#ifdef FASTNN_X86
FASTNN_REDUCE_KERNELS(avx2, FASTNN_TARGET_AVX2, 32)
FASTNN_REDUCE_KERNELS(avx512, FASTNN_TARGET_AVX512, 64)
#endif
#undef FASTNN_REDUCE_KERNELS

}  // namespace

template <class T>
double sum(const T* x, int64_t n) {
  FASTNN_PICK_ISA(sum, x, n);
}
template <class T>
double dot(const T* x, const T* y, int64_t n) {
  FASTNN_PICK_ISA(dot, x, y, n);
}
template <class T>
T extreme(const T* x, int64_t n, bool is_max) {
  FASTNN_PICK_ISA(extreme, x, n, is_max);
}
template <class T>
void softmax_row(const T* x, T* y, int64_t n, bool log) {
  FASTNN_PICK_ISA(softmax, x, y, n, log);
}
template <class T>
void softmax_backward_row(const T* g, const T* y, T* dx, int64_t n, bool log) {
  FASTNN_PICK_ISA(softmax_backward, g, y, dx, n, log);
}
template <class T>
T logsumexp_row(const T* x, int64_t n) {
  FASTNN_PICK_ISA(logsumexp, x, n);
}

#define FASTNN_INSTANTIATE(T)                                                   \
  template double sum<T>(const T*, int64_t);                                    \
  template double dot<T>(const T*, const T*, int64_t);                          \
  template T extreme<T>(const T*, int64_t, bool);                               \
  template void softmax_row<T>(const T*, T*, int64_t, bool);                    \
  template void softmax_backward_row<T>(const T*, const T*, T*, int64_t, bool); \
  template T logsumexp_row<T>(const T*, int64_t);
FASTNN_INSTANTIATE(float) FASTNN_INSTANTIATE(double)
#undef FASTNN_INSTANTIATE

}  // namespace fastnn::kernels
