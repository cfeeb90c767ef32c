// Normalisation kernels against naive double references, at every instruction set this CPU has, and
// bitwise-identical results at 1, 2 and 3 threads.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "fastnn/kernels/cpu/normalization.h"
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
