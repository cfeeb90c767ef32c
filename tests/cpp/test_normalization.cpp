// Normalisation and row-reduction kernels against naive double references, at every instruction set this CPU has,
// and bitwise-identical results at 1, 2 and 3 threads (and, for the sums, on every instruction set).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "fastnn/kernels/cpu/normalization.h"
#include "fastnn/kernels/cpu/reduce.h"
#include "fastnn/kernels/cpu/simd.h"
#include "fastnn/parallel.h"

namespace fk = fastnn::kernels;

namespace {

std::vector<float> random_floats(size_t n, uint32_t seed, float offset = 0) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist;
  std::vector<float> v(n);
  for (auto& x : v) x = offset + dist(rng);
  return v;
}

std::vector<fk::Isa> supported_isas() {
  std::vector<fk::Isa> out;
  const fk::Isa saved = fk::kernel_isa();
  for (fk::Isa isa : {fk::Isa::Generic, fk::Isa::Avx2, fk::Isa::Avx512}) {
    try {
      fk::set_kernel_isa(isa);
      out.push_back(isa);
    } catch (const std::invalid_argument&) {
    }
  }
  fk::set_kernel_isa(saved);
  return out;
}

struct Grads {
  std::vector<float> y, gx, gw, gb;
};

// Layer norm (rms: RMS norm) of rows x n with weight and bias, and its gradients for grad_output g.
Grads run_layer_norm(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                     const std::vector<float>& g, int64_t rows, int64_t n, bool rms) {
  Grads r{std::vector<float>(x.size()), std::vector<float>(x.size()), std::vector<float>(n), std::vector<float>(n)};
  std::vector<double> mean(rows), rstd(rows);
  fk::layer_norm_forward<float>(x.data(), w.data(), rms ? nullptr : b.data(), rows, n, 1e-5, rms, r.y.data(),
                                mean.data(), rstd.data());
  fk::layer_norm_backward<float>(g.data(), x.data(), mean.data(), rstd.data(), w.data(), rows, n, rms, r.gx.data(),
                                 r.gw.data(), r.gb.data());
  return r;
}

// The same in double, straight from the formulas.
Grads naive_layer_norm(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                       const std::vector<float>& g, int64_t rows, int64_t n, bool rms) {
  Grads r{std::vector<float>(x.size()), std::vector<float>(x.size()), std::vector<float>(n), std::vector<float>(n)};
  std::vector<double> gw(n), gb(n);
  for (int64_t i = 0; i < rows; ++i) {
    const float *xr = &x[i * n], *gr = &g[i * n];
    double m = 0, v = 0;
    for (int64_t j = 0; j < n; ++j) m += xr[j];
    m = rms ? 0 : m / n;
    for (int64_t j = 0; j < n; ++j) v += (xr[j] - m) * (xr[j] - m);
    const double rs = 1 / std::sqrt(v / n + 1e-5);
    double sa = 0, sax = 0;
    for (int64_t j = 0; j < n; ++j) {
      const double xh = (xr[j] - m) * rs, a = double(gr[j]) * w[j];
      r.y[i * n + j] = float(xh * w[j] + (rms ? 0.0 : b[j]));
      sa += a;
      sax += a * xh;
      gw[j] += gr[j] * xh;
      gb[j] += gr[j];
    }
    for (int64_t j = 0; j < n; ++j) {
      const double xh = (xr[j] - m) * rs, a = double(gr[j]) * w[j];
      r.gx[i * n + j] = float(rs * (a - (rms ? 0.0 : sa / n) - xh * sax / n));
    }
  }
  for (int64_t j = 0; j < n; ++j) {
    r.gw[j] = float(gw[j]);
    r.gb[j] = float(rms ? 0.0 : gb[j]);
  }
  return r;
}

void expect_near(const std::vector<float>& a, const std::vector<float>& b, double tol, const char* what) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], tol * (1 + std::abs(b[i]))) << what << " at " << i;
}

}  // namespace

TEST(NormalizationKernels, LayerAndRmsNormMatchNaive) {
  const fk::Isa saved = fk::kernel_isa();
  for (fk::Isa isa : supported_isas()) {
    fk::set_kernel_isa(isa);
    for (bool rms : {false, true})
      for (auto [rows, n] : {std::pair<int64_t, int64_t>{7, 5}, {33, 128}, {3, 1000}, {70, 37}}) {
        auto x = random_floats(rows * n, 1, rms ? 0.0f : 30.0f), g = random_floats(rows * n, 2);
        auto w = random_floats(n, 3), b = random_floats(n, 4);
        Grads ours = run_layer_norm(x, w, b, g, rows, n, rms), ref = naive_layer_norm(x, w, b, g, rows, n, rms);
        expect_near(ours.y, ref.y, 1e-4, "y");
        expect_near(ours.gx, ref.gx, 1e-3, "gx");
        expect_near(ours.gw, ref.gw, 1e-4 * std::sqrt(double(rows)), "gw");
        if (!rms) expect_near(ours.gb, ref.gb, 1e-5 * rows, "gb");
      }
  }
  fk::set_kernel_isa(saved);
}

TEST(NormalizationKernels, SameBitsAtAnyThreadCount) {
  const fk::Isa saved = fk::kernel_isa();
  const int threads = fastnn::get_num_threads();
  const int64_t rows = 700, n = 300, N = 16, C = 64, S = 100, G = 4;
  auto x = random_floats(rows * n, 5), g = random_floats(rows * n, 6), w = random_floats(n, 7), b = random_floats(n, 8);
  auto gx_in = random_floats(N * C * S, 9), gg = random_floats(N * C * S, 10), gw_in = random_floats(C, 11);
  for (fk::Isa isa : supported_isas()) {
    fk::set_kernel_isa(isa);
    std::vector<std::vector<float>> first;
    for (int t : {1, 2, 3}) {
      fastnn::set_num_threads(t);
      Grads r = run_layer_norm(x, w, b, g, rows, n, false);
      std::vector<float> y(N * C * S), gx(N * C * S), gw(C), gb(C);
      std::vector<double> mean(N * G), rstd(N * G);
      fk::group_norm_forward<float>(gx_in.data(), gw_in.data(), nullptr, N, C, S, G, 1e-5, y.data(), mean.data(),
                                    rstd.data());
      fk::group_norm_backward<float>(gg.data(), gx_in.data(), mean.data(), rstd.data(), gw_in.data(), N, C, S, G,
                                     gx.data(), gw.data(), gb.data());
      std::vector<std::vector<float>> all{r.y, r.gx, r.gw, r.gb, y, gx, gw, gb};
      if (first.empty()) first = all;
      else
        for (size_t i = 0; i < all.size(); ++i)
          EXPECT_EQ(all[i], first[i]) << "output " << i << " at " << t << " threads";
    }
  }
  fastnn::set_num_threads(threads);
  fk::set_kernel_isa(saved);
}

// ---------------------------------------------------------------- row reductions and softmax (kernels/cpu/reduce.h)

// kernels::sum: the same bits on every instruction set (one arithmetic, reduce.h); sum and dot within a few float
// roundings per block of the exact sum; rows under 16 values are the plain double sum in index order. (dot's
// products contract into multiply-adds where the instruction set has them, so its bits may differ by ISA.)
template <class T>
void check_sums(int64_t n) {
  std::vector<T> x(n), y(n);
  std::mt19937 rng{uint32_t(n)};
  std::normal_distribution<double> dist(0.5, 1.0);
  for (int64_t i = 0; i < n; ++i) x[i] = T(dist(rng)), y[i] = T(dist(rng));
  long double exact = 0, exact_dot = 0, mag = 0, mag_dot = 0;
  double plain = 0;
  for (int64_t i = 0; i < n; ++i) {
    exact += x[i], mag += std::abs(x[i]), plain += double(x[i]);
    exact_dot += (long double)T(x[i] * y[i]), mag_dot += std::abs((long double)T(x[i] * y[i]));
  }
  const double eps = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  const fk::Isa saved = fk::kernel_isa();
  double first_sum = 0;
  bool first = true;
  for (fk::Isa isa : supported_isas()) {
    fk::set_kernel_isa(isa);
    const double s = fk::sum(x.data(), n), d = fk::dot(x.data(), y.data(), n);
    EXPECT_NEAR(s, double(exact), 4 * eps * double(mag) + 1e-300) << "n=" << n;
    EXPECT_NEAR(d, double(exact_dot), 4 * eps * double(mag_dot) + 1e-300) << "n=" << n;
    if (n < 16) EXPECT_EQ(s, plain) << "n=" << n;
    if (first) first_sum = s, first = false;
    EXPECT_EQ(std::memcmp(&s, &first_sum, sizeof s), 0) << "n=" << n << " isa " << int(isa);
  }
  fk::set_kernel_isa(saved);
}

TEST(RowReductions, SumHasTheSameBitsOnEveryIsa) {
  for (int64_t n : {0, 1, 5, 15, 16, 31, 32, 33, 100, 511, 512, 513, 544, 1000, 5000, 100000}) {
    check_sums<float>(n);
    check_sums<double>(n);
  }
}

// softmax_row and its backward against double references: long and short rows, -inf entries, a row of -inf
// only and a row with a NaN (NaN throughout, as torch), and large values (the max shift keeps exp finite).
TEST(RowReductions, SoftmaxMatchesNaive) {
  const fk::Isa saved = fk::kernel_isa();
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<std::vector<float>> rows = {random_floats(1000, 1), random_floats(7, 2), random_floats(33, 3),
                                          {3.f, -inf, 1.f, -inf}, {-inf, -inf, -inf},  {1.f, NAN, 2.f},
                                          {500.f, 499.f, -500.f}};
  for (int k = 0; k < 40; ++k) rows[0][k * 25] = -inf;
  for (fk::Isa isa : supported_isas()) {
    fk::set_kernel_isa(isa);
    for (const auto& x : rows)
      for (bool log : {false, true}) {
        const int64_t n = int64_t(x.size());
        std::vector<float> y(n), g = random_floats(n, 9), dx(n);
        fk::softmax_row(x.data(), y.data(), n, log);
        fk::softmax_backward_row(g.data(), y.data(), dx.data(), n, log);
        double mx = -INFINITY, s = 0, gs = 0, gy = 0;
        bool nan = true;  // NaN anywhere, or -inf everywhere (0 / 0)
        for (float v : x) nan &= v == -inf;
        for (float v : x) nan |= v != v, mx = std::max(mx, double(v));
        if (std::isinf(mx)) mx = 0;
        for (float v : x) s += std::exp(double(v) - mx);
        std::vector<double> p(n);
        for (int64_t i = 0; i < n; ++i) p[i] = std::exp(double(x[i]) - mx) / s, gs += g[i], gy += g[i] * p[i];
        for (int64_t i = 0; i < n; ++i) {
          if (nan) {
            EXPECT_TRUE(std::isnan(y[i]) && std::isnan(dx[i])) << "n=" << n << " log=" << log << " i=" << i;
            continue;
          }
          const double want = log ? double(x[i]) - mx - std::log(s) : p[i];
          if (std::isinf(want)) EXPECT_EQ(double(y[i]), want) << i;
          else EXPECT_NEAR(y[i], want, 1e-6 * (1 + std::abs(want))) << "n=" << n << " log=" << log << " i=" << i;
          const double dwant = log ? g[i] - p[i] * gs : p[i] * (g[i] - gy);
          EXPECT_NEAR(dx[i], dwant, 1e-5 * (1 + std::abs(dwant))) << "n=" << n << " log=" << log << " i=" << i;
        }
      }
  }
  fk::set_kernel_isa(saved);
}

// logsumexp_row against a double reference: long and short rows, -inf entries, large values (the shift keeps exp
// finite), a row of -inf only (-inf), one with inf (inf), one with a NaN (NaN), and an empty row (-inf).
TEST(RowReductions, LogsumexpMatchesNaive) {
  const fk::Isa saved = fk::kernel_isa();
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<std::vector<float>> rows = {random_floats(1000, 4), random_floats(7, 5),    random_floats(33, 6),
                                          {3.f, -inf, 1.f, -inf}, {-inf, -inf, -inf},     {1.f, inf, 2.f},
                                          {1.f, NAN, 2.f},        {500.f, 499.f, -500.f}, {}};
  for (int k = 0; k < 40; ++k) rows[0][k * 25] = -inf;
  for (fk::Isa isa : supported_isas()) {
    fk::set_kernel_isa(isa);
    for (const auto& x : rows) {
      const int64_t n = int64_t(x.size());
      double mx = -INFINITY, s = 0;
      bool nan = false;
      for (float v : x) nan |= v != v, mx = std::max(mx, double(v));
      if (std::isinf(mx)) mx = 0;
      for (float v : x) s += std::exp(double(v) - mx);
      const double want = std::log(s) + mx;
      const float got = fk::logsumexp_row(x.data(), n);
      const double got_d = fk::logsumexp_row(std::vector<double>(x.begin(), x.end()).data(), n);
      if (nan) {
        EXPECT_TRUE(std::isnan(got) && std::isnan(got_d)) << "n=" << n;
      } else if (std::isinf(want)) {
        EXPECT_EQ(double(got), want) << "n=" << n;
        EXPECT_EQ(got_d, want) << "n=" << n;
      } else {
        EXPECT_NEAR(got, want, 1e-6 * (1 + std::abs(want))) << "n=" << n;
        EXPECT_NEAR(got_d, want, 1e-13 * (1 + std::abs(want))) << "n=" << n;
      }
    }
  }
  fk::set_kernel_isa(saved);
}

// kernels::extreme: the max or min, NaN wherever a NaN is (in the vector body or the tail), +-inf for an empty row.
TEST(RowReductions, ExtremeIsNaNFirst) {
  const fk::Isa saved = fk::kernel_isa();
  for (fk::Isa isa : supported_isas()) {
    fk::set_kernel_isa(isa);
    for (int64_t n : {1, 7, 8, 17, 100, 301}) {
      std::vector<float> x = random_floats(size_t(n), uint32_t(n));
      const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
      EXPECT_EQ(fk::extreme(x.data(), n, true), *hi) << n;
      EXPECT_EQ(fk::extreme(x.data(), n, false), *lo) << n;
      for (int64_t at : {int64_t(0), n / 2, n - 1}) {
        std::vector<double> d(x.begin(), x.end());
        std::vector<float> f = x;
        d[size_t(at)] = NAN;
        f[size_t(at)] = NAN;
        EXPECT_TRUE(std::isnan(fk::extreme(d.data(), n, true)) && std::isnan(fk::extreme(d.data(), n, false)));
        EXPECT_TRUE(std::isnan(fk::extreme(f.data(), n, true)) && std::isnan(fk::extreme(f.data(), n, false)));
      }
    }
    EXPECT_EQ(fk::extreme<float>(nullptr, 0, true), -std::numeric_limits<float>::infinity());
    EXPECT_EQ(fk::extreme<float>(nullptr, 0, false), std::numeric_limits<float>::infinity());
  }
  fk::set_kernel_isa(saved);
}
