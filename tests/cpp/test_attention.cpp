// The fused attention kernel against a naive double-precision reference, at every instruction set, and its
// thread-count determinism.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "fastnn/kernels/cpu/attention.h"
#include "fastnn/kernels/cpu/simd.h"
#include "fastnn/parallel.h"

namespace fk = fastnn::kernels;

namespace {

struct Case {
  int64_t problems, L, S, E, Ev;
  bool causal, mask;
};

// Contiguous operands of one case and the kernel's view of them.
struct Inputs {
  std::vector<float> q, k, v, mask;
  std::vector<int64_t> q_off, k_off, v_off, m_off;
  fk::AttentionProblem<float> p;

  explicit Inputs(const Case& c, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist;
    auto fill = [&](std::vector<float>& x, size_t n) {
      x.resize(n);
      for (auto& e : x) e = dist(rng);
    };
    fill(q, c.problems * c.L * c.E);
    fill(k, c.problems * c.S * c.E);
    fill(v, c.problems * c.S * c.Ev);
    fill(mask, c.L * c.S);
    for (int64_t i = 0; i < c.L * c.S; ++i)
      if (i % 7 == 3 || i / c.S == 1) mask[i] = -std::numeric_limits<float>::infinity();  // row 1 fully masked
    for (int64_t b = 0; b < c.problems; ++b) {
      q_off.push_back(b * c.L * c.E);
      k_off.push_back(b * c.S * c.E);
      v_off.push_back(b * c.S * c.Ev);
      m_off.push_back(0);  // one mask broadcast over the problems
    }
    p.problems = c.problems;
    p.L = c.L;
    p.S = c.S;
    p.E = c.E;
    p.Ev = c.Ev;
    p.q = {q.data(), q_off.data(), c.E, 1};
    p.k = {k.data(), k_off.data(), c.E, 1};
    p.v = {v.data(), v_off.data(), c.Ev, 1};
    if (c.mask) p.mask = {mask.data(), m_off.data(), c.S, 1};
    p.causal = c.causal;
    p.scale = 1.0f / std::sqrt(float(c.E));
  }
};

// out (problems, L, Ev) in double: softmax rows (zeros where no key takes part).
std::vector<double> reference(const Inputs& in, const Case& c) {
  std::vector<double> out(c.problems * c.L * c.Ev, 0.0), s(c.S);
  for (int64_t b = 0; b < c.problems; ++b)
    for (int64_t i = 0; i < c.L; ++i) {
      double mx = -INFINITY;
      for (int64_t j = 0; j < c.S; ++j) {
        double d = 0;
        for (int64_t e = 0; e < c.E; ++e) d += double(in.q[(b * c.L + i) * c.E + e]) * in.k[(b * c.S + j) * c.E + e];
        s[j] = d * in.p.scale + (c.mask ? in.mask[i * c.S + j] : 0.0) + (c.causal && j > i ? -INFINITY : 0.0);
        mx = std::max(mx, s[j]);
      }
      if (mx == -INFINITY) continue;
      double sum = 0;
      for (int64_t j = 0; j < c.S; ++j) sum += s[j] = std::exp(s[j] - mx);
      for (int64_t j = 0; j < c.S; ++j)
        for (int64_t e = 0; e < c.Ev; ++e) out[(b * c.L + i) * c.Ev + e] += s[j] / sum * in.v[(b * c.S + j) * c.Ev + e];
    }
  return out;
}

const Case kCases[] = {{3, 5, 7, 8, 6, false, true},
                       {2, 70, 70, 16, 16, true, false},
                       {2, 9, 33, 4, 5, false, true},
                       {1, 130, 20, 3, 2, true, false}};

}  // namespace

TEST(Attention, ForwardMatchesNaiveAtEveryIsa) {
  const fk::Isa saved = fk::kernel_isa();
  for (fk::Isa isa : {fk::Isa::Generic, fk::Isa::Avx2, fk::Isa::Avx512}) {
    if (!fk::cpu_supports(isa)) continue;
    fk::set_kernel_isa(isa);
    for (const Case& c : kCases) {
      Inputs in(c, 1);
      std::vector<float> out(c.problems * c.L * c.Ev), lse(c.problems * c.L);
      fk::attention_forward(in.p, out.data(), lse.data());
      const std::vector<double> ref = reference(in, c);
      for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], ref[i], 2e-5 * (1 + std::abs(ref[i]))) << i;
    }
  }
  fk::set_kernel_isa(saved);
}

TEST(Attention, BitwiseIdenticalAcrossThreadCounts) {
  const Case c{6, 150, 90, 16, 8, true, false};
  Inputs in(c, 2);
  in.p.dropout_p = 0.2;
  in.p.seed = 5;
  std::vector<float> g(c.problems * c.L * c.Ev, 0.5f);
  std::vector<std::vector<float>> first;
  const int saved = fastnn::get_num_threads();
  for (int threads : {1, 2, 3}) {
    fastnn::set_num_threads(threads);
    std::vector<float> out(c.problems * c.L * c.Ev), lse(c.problems * c.L), gq(c.problems * c.L * c.E),
        gk(c.problems * c.S * c.E), gv(c.problems * c.S * c.Ev), gm(c.problems * c.L * c.S);
    std::vector<float> w(c.problems * c.L * c.S), gq2(gq.size()), gk2(gk.size()), gv2(gv.size()), gm2(gm.size());
    fk::attention_forward(in.p, out.data(), lse.data(), w.data());
    fk::attention_backward(in.p, g.data(), lse.data(), static_cast<const float*>(nullptr), gq.data(), gk.data(),
                           gv.data(), gm.data());
    fk::attention_backward(in.p, g.data(), lse.data(), w.data(), gq2.data(), gk2.data(), gv2.data(), gm2.data());
    std::vector<std::vector<float>> all{out, lse, gq, gk, gv, gm, w, gq2, gk2, gv2, gm2};
    if (first.empty()) first = all;
    for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], first[i]) << "output " << i << " at " << threads;
  }
  fastnn::set_num_threads(saved);
}

// The backward from the weights the forward kept gives the gradients of the backward that recomputes them (masks,
// a fully masked row, causal, dropout), and each kept row is a softmax (sums to 1; 0 where no key takes part).
TEST(Attention, KeptWeightsGiveTheRecomputedGradients) {
  for (Case c : kCases)
    for (double dropout : {0.0, 0.3}) {
      Inputs in(c, 3);
      in.p.dropout_p = dropout;
      in.p.seed = 9;
      const int64_t nq = c.problems * c.L;
      std::vector<float> out(nq * c.Ev), lse(nq), w(nq * c.S), g(nq * c.Ev);
      for (size_t i = 0; i < g.size(); ++i) g[i] = std::sin(0.7f * float(i));
      fk::attention_forward(in.p, out.data(), lse.data(), w.data());
      for (int64_t r = 0; r < nq; ++r) {
        double sum = 0;
        for (int64_t j = 0; j < c.S; ++j) sum += w[r * c.S + j];
        ASSERT_NEAR(sum, std::isinf(lse[r]) ? 0.0 : 1.0, 1e-5) << "row " << r;
      }
      std::vector<std::vector<float>> grads[2];
      for (int kept = 0; kept < 2; ++kept) {
        std::vector<float> gq(nq * c.E), gk(c.problems * c.S * c.E), gv(c.problems * c.S * c.Ev), gm(nq * c.S);
        fk::attention_backward(in.p, g.data(), lse.data(), kept ? w.data() : static_cast<const float*>(nullptr),
                               gq.data(), gk.data(), gv.data(), gm.data());
        grads[kept] = {gq, gk, gv, gm};
      }
      for (size_t t = 0; t < 4; ++t)
        for (size_t i = 0; i < grads[0][t].size(); ++i)
          ASSERT_NEAR(grads[1][t][i], grads[0][t][i], 1e-5 * (1 + std::abs(grads[0][t][i])))
              << "gradient " << t << " element " << i << " dropout " << dropout;
    }
}
