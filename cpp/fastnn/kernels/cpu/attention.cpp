#include "fastnn/kernels/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <type_traits>
#include <vector>

#include "fastnn/error.h"
#include "fastnn/kernels/cpu/gemm.h"
#include "fastnn/kernels/cpu/reduce.h"
#include "fastnn/kernels/cpu/simd.h"
#include "fastnn/kernels/cpu/vec_math.h"
#include "fastnn/parallel.h"
#include "fastnn/random.h"

namespace fastnn::kernels {
namespace {

constexpr int64_t kRowBlock = 64;  // query rows whose scores are held at once

inline float exp_scalar(float x) {
  exp_approx<float, int32_t>(x);
  return x;
}

// row[j] = exp(row[j] - shift) and the row's maximum, L lanes at a time (a scalar tail).
template <int L>
FASTNN_INLINE void exp_shifted_body(float* row, int64_t n, float shift) {
  using V = Vec<float, L>;
  using I = Vec<int32_t, L>;
  int64_t j = 0;
  for (; j + L <= n; j += L) {
    V v;
    std::memcpy(&v, row + j, sizeof v);
    v -= shift;
    exp_approx<V, I>(v);
    std::memcpy(row + j, &v, sizeof v);
  }
  for (; j < n; ++j) row[j] = exp_scalar(row[j] - shift);
}

void exp_shifted_generic(float* row, int64_t n, float shift) { exp_shifted_body<4>(row, n, shift); }
#ifdef FASTNN_X86
FASTNN_TARGET_AVX2 void exp_shifted_avx2(float* row, int64_t n, float shift) { exp_shifted_body<8>(row, n, shift); }
FASTNN_TARGET_AVX512 void exp_shifted_avx512(float* row, int64_t n, float shift) {
  exp_shifted_body<16>(row, n, shift);
}
#endif

// row[j] = exp(row[j] - shift), in place.
void exp_shifted(float* row, int64_t n, float shift) {
  switch (kernel_isa()) {
#ifdef FASTNN_X86
    case Isa::Avx512: return exp_shifted_avx512(row, n, shift);
    case Isa::Avx2: return exp_shifted_avx2(row, n, shift);
#endif
    default: return exp_shifted_generic(row, n, shift);
  }
}
void exp_shifted(double* row, int64_t n, double shift) {  // float64 (gradchecks): libm's exp
  for (int64_t j = 0; j < n; ++j) row[j] = std::exp(row[j] - shift);
}

// sum(a[j] * b[j]) (b null: sum(a[j])) in 8 interleaved partial sums.
template <class T>
T sum_row(const T* a, int64_t n, const T* b = nullptr) {
  T part[8] = {};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int u = 0; u < 8; ++u) part[u] += b ? a[j + u] * b[j + u] : a[j + u];
  for (; j < n; ++j) part[j % 8] += b ? a[j] * b[j] : a[j];
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

// The block's scores, rows [i0, i0 + rows) by keys [0, cols), into P (row stride cols): scale * q_i . k_j
// plus the mask; -inf where the causal mask hides key j from row i.
template <class T>
void scores(const AttentionProblem<T>& p, int64_t b, int64_t i0, int64_t rows, int64_t cols, T* P) {
  const auto &q = p.q, &k = p.k, &m = p.mask;
  gemm<T>(rows, cols, p.E, q.data + q.offsets[b] + i0 * q.rs, q.rs, q.cs, k.data + k.offsets[b], k.cs, k.rs, P, cols,
          false);
  for (int64_t r = 0; r < rows; ++r) {
    T* row = P + r * cols;
    const int64_t i = i0 + r;
    if (m.data) {
      const T* mr = m.data + m.offsets[b] + i * m.rs;
      for (int64_t j = 0; j < cols; ++j) row[j] = row[j] * p.scale + mr[j * m.cs];
    } else {
      for (int64_t j = 0; j < cols; ++j) row[j] *= p.scale;
    }
    if (p.causal)
      for (int64_t j = i + 1; j < cols; ++j) row[j] = -std::numeric_limits<T>::infinity();
  }
}

// Keys a block of rows ending before row i1 can see: all of them, or those up to i1 - 1 when causal.
template <class T>
int64_t visible_keys(const AttentionProblem<T>& p, int64_t i1) {
  return p.causal ? std::min(p.S, i1) : p.S;
}

// Multiplies row r of the block (rows from i0, keys [0, cols)) by the dropout factors of its elements.
template <class T>
void apply_dropout(const AttentionProblem<T>& p, int64_t b, int64_t i, int64_t cols, T* row) {
  const T keep = p.dropout_p < 1 ? T(1.0 / (1.0 - p.dropout_p)) : T(0);
  const uint64_t base = p.counter + uint64_t((b * p.L + i) * p.S);
  for (int64_t j = 0; j < cols; ++j)
    row[j] *= uniform_double(random_bits(p.seed, base + uint64_t(j))) < p.dropout_p ? T(0) : keep;
}

// Scratch of rows x S elements for each of `threads` threads (OutOfMemory when that does not fit in 64 bits or
// in memory).
template <class T>
std::vector<T> scratch(int threads, int64_t rows, int64_t S) {
  int64_t n = 0;
  if (__builtin_mul_overflow(rows, S, &n) || __builtin_mul_overflow(n, int64_t(threads), &n) ||
      n > int64_t(PTRDIFF_MAX / sizeof(T)))
    n = -1;
  try {
    if (n >= 0) return std::vector<T>(size_t(n));
  } catch (const std::bad_alloc&) {
  }
  throw OutOfMemory(str("[scaled_dot_product_attention] cannot allocate the scores of ", rows, " query rows x ", S,
                        " keys for each of ", threads, " threads"));
}

}  // namespace

template <class T>
void attention_forward(const AttentionProblem<T>& p, T* out, T* lse, T* weights) {
  const int64_t rb = std::max<int64_t>(1, std::min(p.L, kRowBlock)), blocks = (p.L + rb - 1) / rb;
  const int threads = get_num_threads();
  std::vector<T> buf = scratch<T>(threads, rb, p.S);
  parallel_for(
      p.problems * blocks, 1,
      [&](int64_t t0, int64_t t1) {
        T* P = buf.data() + thread_index() * rb * p.S;
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t b = t / blocks, i0 = t % blocks * rb, rows = std::min(rb, p.L - i0),
                        cols = visible_keys(p, i0 + rows);
          scores(p, b, i0, rows, cols, P);
          for (int64_t r = 0; r < rows; ++r) {
            T* row = P + r * cols;
            const T mx = extreme(row, cols, true);  // NaN if the row has one (it spreads through the exps)
            T* kept = weights ? weights + (b * p.L + i0 + r) * p.S : nullptr;
            if (kept) std::fill(kept + cols, kept + p.S, T(0));  // keys hidden from the whole block
            if (mx == -std::numeric_limits<T>::infinity()) {     // no key takes part: zeros, as torch gives
              std::fill(row, row + cols, T(0));
              lse[b * p.L + i0 + r] = std::numeric_limits<T>::infinity();
              if (kept) std::copy(row, row + cols, kept);
              continue;
            }
            exp_shifted(row, cols, mx);
            const T sum = sum_row(row, cols);
            lse[b * p.L + i0 + r] = mx + std::log(sum);
            const T inv = T(1) / sum;
            for (int64_t j = 0; j < cols; ++j) row[j] *= inv;
            if (kept) std::copy(row, row + cols, kept);
            if (p.dropout_p > 0) apply_dropout(p, b, i0 + r, cols, row);
          }
          gemm<T>(rows, p.Ev, cols, P, cols, 1, p.v.data + p.v.offsets[b], p.v.rs, p.v.cs, out + (b * p.L + i0) * p.Ev,
                  p.Ev, false);
        }
      },
      threads);
}

template <class T>
void attention_backward(const AttentionProblem<T>& p, const T* grad_out, const T* lse, const T* weights, T* gq, T* gk,
                        T* gv, T* gmask) {
  const int64_t rb = std::max<int64_t>(1, std::min(p.L, kRowBlock));
  const int threads = get_num_threads();
  std::vector<T> buf = scratch<T>(threads, 2 * rb, p.S);
  const auto &q = p.q, &k = p.k, &v = p.v;
  parallel_for(
      p.problems, 1,
      [&](int64_t b0, int64_t b1) {
        T* P = buf.data() + thread_index() * 2 * rb * p.S;
        T* dP = P + rb * p.S;
        for (int64_t b = b0; b < b1; ++b) {
          T* gkb = gk ? gk + b * p.S * p.E : nullptr;
          T* gvb = gv ? gv + b * p.S * p.Ev : nullptr;
          if (gkb) std::fill(gkb, gkb + p.S * p.E, T(0));
          if (gvb) std::fill(gvb, gvb + p.S * p.Ev, T(0));
          for (int64_t i0 = 0; i0 < p.L; i0 += rb) {
            const int64_t rows = std::min(rb, p.L - i0), cols = visible_keys(p, i0 + rows);
            const T* g = grad_out + (b * p.L + i0) * p.Ev;
            // P = the attention weights: the forward's, or exp(score - logsumexp) (0 in a row with no key taking part)
            if (weights) {
              for (int64_t r = 0; r < rows; ++r) {
                const T* w = weights + (b * p.L + i0 + r) * p.S;
                std::copy(w, w + cols, P + r * cols);
              }
            } else {
              scores(p, b, i0, rows, cols, P);
              for (int64_t r = 0; r < rows; ++r) exp_shifted(P + r * cols, cols, lse[b * p.L + i0 + r]);
            }
            if (gvb) {  // gv += (P with dropout)^T g
              const T* A = P;
              if (p.dropout_p > 0) {
                std::copy(P, P + rows * cols, dP);
                for (int64_t r = 0; r < rows; ++r) apply_dropout(p, b, i0 + r, cols, dP + r * cols);
                A = dP;
              }
              gemm<T>(cols, p.Ev, rows, A, 1, cols, g, p.Ev, 1, gvb, p.Ev, true);
            }
            if (!gq && !gk && !gmask) continue;
            // dP = g V^T through the dropout; then the softmax's backward: dS = P * (dP - sum_j P dP)
            gemm<T>(rows, cols, p.Ev, g, p.Ev, 1, v.data + v.offsets[b], v.cs, v.rs, dP, cols, false);
            for (int64_t r = 0; r < rows; ++r) {
              T *pr = P + r * cols, *dr = dP + r * cols;
              if (p.dropout_p > 0) apply_dropout(p, b, i0 + r, cols, dr);
              const T d = sum_row(pr, cols, dr);
              for (int64_t j = 0; j < cols; ++j) dr[j] = pr[j] * (dr[j] - d);
              if (gmask) {
                T* gm = gmask + (b * p.L + i0 + r) * p.S;
                std::copy(dr, dr + cols, gm);
                std::fill(gm + cols, gm + p.S, T(0));
              }
              for (int64_t j = 0; j < cols; ++j) dr[j] *= p.scale;
            }
            if (gq)
              gemm<T>(rows, p.E, cols, dP, cols, 1, k.data + k.offsets[b], k.rs, k.cs, gq + (b * p.L + i0) * p.E, p.E,
                      false);
            if (gkb)
              gemm<T>(cols, p.E, rows, dP, 1, cols, q.data + q.offsets[b] + i0 * q.rs, q.rs, q.cs, gkb, p.E, true);
          }
        }
      },
      threads);
}

template void attention_forward<float>(const AttentionProblem<float>&, float*, float*, float*);
template void attention_forward<double>(const AttentionProblem<double>&, double*, double*, double*);
template void attention_backward<float>(const AttentionProblem<float>&, const float*, const float*, const float*,
                                        float*, float*, float*, float*);
template void attention_backward<double>(const AttentionProblem<double>&, const double*, const double*, const double*,
                                         double*, double*, double*, double*);

}  // namespace fastnn::kernels
