// CPU kernels against naive references: GEMM (every instruction set this CPU has, every layout),
// thread-count determinism, im2col/col2im (values, adjointness, convolution), pooling (PyTorch's rules).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "fastnn/kernels/cpu/gemm.h"
#include "fastnn/kernels/cpu/simd.h"
#include "fastnn/kernels/cpu/unary.h"
#include "fastnn/kernels/cpu/vec_math.h"
#include "fastnn/kernels/cpu/im2col.h"
#include "fastnn/kernels/cpu/pool.h"
#include "fastnn/parallel.h"

namespace fk = fastnn::kernels;

namespace {

template <class T>
std::vector<T> random_vector(size_t n, uint32_t seed, double lo = -1, double hi = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = T(dist(rng));
  return v;
}

// Small integers: sums of products stay exact, so results can be compared bit for bit.
template <class T>
std::vector<T> random_ints(size_t n, uint32_t seed, int lo, int hi) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = T(dist(rng));
  return v;
}

// Runs f with `n` threads, restoring the previous count afterwards.
template <class F>
void with_threads(int n, const F& f) {
  const int saved = fastnn::get_num_threads();
  fastnn::set_num_threads(n);
  f();
  fastnn::set_num_threads(saved);
}

// Restores the kernels' instruction set chosen at start-up when a test ends.
struct IsaGuard {
  fk::Isa saved = fk::kernel_isa();
  ~IsaGuard() { fk::set_kernel_isa(saved); }
};

std::vector<fk::Isa> supported_isas() {
  std::vector<fk::Isa> out;
  for (fk::Isa isa : {fk::Isa::Generic, fk::Isa::Avx2, fk::Isa::Avx512}) {
    try {
      IsaGuard guard;
      fk::set_kernel_isa(isa);
      out.push_back(isa);
    } catch (const std::invalid_argument&) {
    }
  }
  return out;
}

const char* isa_name(fk::Isa isa) {
  return isa == fk::Isa::Avx512 ? "avx512" : isa == fk::Isa::Avx2 ? "avx2" : "generic";
}

// ---------------------------------------------------------------- GEMM

// Operand storage: row-major, transposed (column-major), or a general strided view.
enum class Layout { Rows, Cols, Strided };

struct Operand {
  int64_t rs, cs, size;
};

// Strides of a (rows x cols) operand; Strided leaves gaps in both directions.
Operand layout_strides(Layout l, int64_t rows, int64_t cols) {
  switch (l) {
    case Layout::Rows: return {cols, 1, rows * cols};
    case Layout::Cols: return {1, rows, rows * cols};
    default: return {2 * (3 * cols + 1), 3, rows * 2 * (3 * cols + 1)};
  }
}

// gemm, or with B packed first (pack_b + gemm_packed_b).
template <class T>
void run_gemm(bool prepacked, int64_t M, int64_t N, int64_t K, const T* A, const Operand& a, const T* B,
              const Operand& b, T* C, int64_t ldc, bool accumulate) {
  if (prepacked) {
    const auto packed = fk::pack_b<T>(K, N, B, b.rs, b.cs);
    fk::gemm_packed_b<T>(M, A, a.rs, a.cs, packed, C, ldc, accumulate);
  } else {
    fk::gemm<T>(M, N, K, A, a.rs, a.cs, B, b.rs, b.cs, C, ldc, accumulate);
  }
}

template <class T>
void check_gemm(int64_t M, int64_t N, int64_t K, Layout la, Layout lb, bool accumulate, uint32_t seed,
                bool prepacked = false) {
  const Operand a = layout_strides(la, M, K), b = layout_strides(lb, K, N);
  const int64_t ldc = N + 3;  // padding columns must stay untouched
  const auto A = random_vector<T>(std::max<int64_t>(a.size, 1), seed);
  const auto B = random_vector<T>(std::max<int64_t>(b.size, 1), seed + 1);
  auto C = random_vector<T>(std::max<int64_t>(M * ldc, 1), seed + 2);
  const std::vector<T> C0 = C;
  if (!accumulate)  // C must then be written without being read: NaNs may not leak through
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = std::numeric_limits<T>::quiet_NaN();
  run_gemm<T>(prepacked, M, N, K, A.data(), a, B.data(), b, C.data(), ldc, accumulate);

  const double eps = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < ldc; ++j) {
      const T got = C[i * ldc + j];
      if (j >= N) {
        ASSERT_EQ(got, C0[i * ldc + j]) << "padding column written at (" << i << ", " << j << ")";
        continue;
      }
      double ref = accumulate ? double(C0[i * ldc + j]) : 0.0, mag = std::abs(ref);
      for (int64_t k = 0; k < K; ++k) {
        const double p = double(A[i * a.rs + k * a.cs]) * double(B[k * b.rs + j * b.cs]);
        ref += p;
        mag += std::abs(p);
      }
      ASSERT_NEAR(got, ref, 4 * eps * (mag + 1))
          << "M=" << M << " N=" << N << " K=" << K << " at (" << i << ", " << j << ") layouts " << int(la) << int(lb)
          << " accumulate=" << accumulate << " prepacked=" << prepacked;
    }
  }
}

struct GemmShape {
  int64_t M, N, K;
};

const GemmShape kGemmShapes[] = {
    {1, 1, 1},    {1, 7, 3},      {5, 1, 9},      {3, 5, 1},      {2, 3, 4},     {7, 13, 17},    {8, 32, 16},
    {9, 33, 17},  {13, 31, 65},   {31, 47, 129},  {64, 64, 64},   {65, 95, 257}, {100, 3, 300},  {3, 100, 300},
    {6, 784, 25}, {16, 100, 150}, {64, 120, 400}, {64, 84, 120},  {64, 10, 84},  {120, 400, 64}, {10, 84, 64},
    {25, 784, 6}, {6, 25, 784},   {150, 100, 16}, {16, 150, 100},
};

template <class T>
void check_all_gemm_shapes() {
  IsaGuard guard;
  for (fk::Isa isa : supported_isas()) {
    SCOPED_TRACE(isa_name(isa));
    fk::set_kernel_isa(isa);
    uint32_t seed = 1;
    for (const GemmShape& s : kGemmShapes)
      for (Layout la : {Layout::Rows, Layout::Cols, Layout::Strided})
        for (Layout lb : {Layout::Rows, Layout::Cols, Layout::Strided})
          for (bool acc : {false, true})
            for (bool pre : {false, true}) check_gemm<T>(s.M, s.N, s.K, la, lb, acc, seed += 3, pre);
  }
}

TEST(Gemm, MatchesNaiveFloat) { check_all_gemm_shapes<float>(); }
TEST(Gemm, MatchesNaiveDouble) { check_all_gemm_shapes<double>(); }

TEST(Gemm, LargeBlockedShapes) {
  // Several K blocks, row blocks and column blocks (the buffers' limits).
  check_gemm<float>(1600, 40, 300, Layout::Rows, Layout::Rows, true, 7);
  check_gemm<float>(9, 4200, 20, Layout::Rows, Layout::Cols, false, 8);
  check_gemm<double>(70, 50, 1100, Layout::Cols, Layout::Rows, false, 9);
  check_gemm<float>(130, 270, 520, Layout::Strided, Layout::Cols, true, 10);
  for (bool pre : {false, true}) {  // B packed once: several column blocks and K blocks
    check_gemm<float>(9, 4200, 20, Layout::Rows, Layout::Cols, false, 8, pre);
    check_gemm<double>(70, 50, 1100, Layout::Cols, Layout::Rows, true, 9, pre);
    check_gemm<float>(32, 1024, 600, Layout::Rows, Layout::Cols, false, 11, pre);
  }
}

// C = bias + A*B (the bias epilogue) gives the bits of filling C with the bias and accumulating, on every path
// (packed, dot-product, tiny, K = 0 and 1) and instruction set; padding columns stay untouched.
template <class T>
void check_gemm_bias(int64_t M, int64_t N, int64_t K, Layout la, Layout lb, uint32_t seed) {
  const Operand a = layout_strides(la, M, K), b = layout_strides(lb, K, N);
  const int64_t ldc = N + 3;
  const auto A = random_vector<T>(std::max<int64_t>(a.size, 1), seed);
  const auto B = random_vector<T>(std::max<int64_t>(b.size, 1), seed + 1);
  const auto bias = random_vector<T>(std::max<int64_t>(N, 1), seed + 2);
  std::vector<T> want(std::max<int64_t>(M * ldc, 1), T(7)), got = want;
  for (int64_t i = 0; i < M; ++i) std::copy(bias.begin(), bias.begin() + N, want.begin() + i * ldc);
  fk::gemm<T>(M, N, K, A.data(), a.rs, a.cs, B.data(), b.rs, b.cs, want.data(), ldc, true);
  for (int64_t i = 0; i < M; ++i)  // C is written without being read
    std::fill(got.begin() + i * ldc, got.begin() + i * ldc + N, std::numeric_limits<T>::quiet_NaN());
  fk::gemm<T>(M, N, K, A.data(), a.rs, a.cs, B.data(), b.rs, b.cs, got.data(), ldc, false, bias.data());
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_EQ(std::memcmp(&got[i], &want[i], sizeof(T)), 0)
        << "M=" << M << " N=" << N << " K=" << K << " element " << i << ": " << got[i] << " vs " << want[i];
}

TEST(Gemm, BiasEpilogueGivesTheBitsOfAccumulatingOntoTheBias) {
  IsaGuard guard;
  for (fk::Isa isa : supported_isas()) {
    SCOPED_TRACE(isa_name(isa));
    fk::set_kernel_isa(isa);
    uint32_t seed = 5;
    for (const GemmShape& s : kGemmShapes)
      for (Layout la : {Layout::Rows, Layout::Cols})
        for (Layout lb : {Layout::Rows, Layout::Cols}) {
          check_gemm_bias<float>(s.M, s.N, s.K, la, lb, seed += 3);
          check_gemm_bias<double>(s.M, s.N, s.K, la, lb, seed += 3);
        }
    check_gemm_bias<float>(2048, 384, 128, Layout::Rows, Layout::Cols, 1);  // a transformer's in-projection
    check_gemm_bias<float>(70, 50, 1100, Layout::Rows, Layout::Cols, 2);    // several K blocks
    check_gemm_bias<float>(3, 5, 0, Layout::Rows, Layout::Rows, 3);         // K = 0: C = bias
  }
}

// A's layout does not change the bits: A read in place (rows contiguous in k) and A packed into panels (any other
// layout) give each element the same k-ordered chain. B is row-major, so the dot-product path never runs.
template <class T>
void check_gemm_a_layouts(int64_t M, int64_t N, int64_t K) {
  const auto values = random_vector<T>(M * K, 21), B = random_vector<T>(K * N, 22);
  const Operand b = layout_strides(Layout::Rows, K, N);
  std::vector<T> want;
  for (Layout la : {Layout::Rows, Layout::Cols, Layout::Strided}) {
    const Operand a = layout_strides(la, M, K);
    std::vector<T> A(a.size), C(M * N);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t k = 0; k < K; ++k) A[i * a.rs + k * a.cs] = values[i * K + k];
    fk::gemm<T>(M, N, K, A.data(), a.rs, a.cs, B.data(), b.rs, b.cs, C.data(), N, false);
    if (want.empty()) want = C;
    ASSERT_EQ(std::memcmp(C.data(), want.data(), C.size() * sizeof(T)), 0)
        << "M=" << M << " N=" << N << " K=" << K << " layout " << int(la);
  }
}

TEST(Gemm, ReadingAInPlaceGivesThePackedBits) {
  IsaGuard guard;
  for (fk::Isa isa : supported_isas()) {
    SCOPED_TRACE(isa_name(isa));
    fk::set_kernel_isa(isa);
    // N = 128 and 120 read row-major A in place; N = 1024 packs it; 1100 spans K blocks; 14 and 32 rows pair panels.
    for (const GemmShape& s : {GemmShape{2048, 128, 128},
                               {64, 120, 400},
                               {31, 47, 129},
                               {70, 50, 1100},
                               {14, 1024, 256},
                               {32, 256, 1024},
                               {9, 33, 17}}) {
      check_gemm_a_layouts<float>(s.M, s.N, s.K);
      check_gemm_a_layouts<double>(s.M, s.N, s.K);
    }
  }
}

TEST(Gemm, EmptyDimensions) {
  std::vector<float> A(12, 1.f), B(12, 1.f), C(12, 5.f);
  fk::gemm<float>(0, 3, 4, A.data(), 4, 1, B.data(), 3, 1, C.data(), 3, false);
  fk::gemm<float>(3, 0, 4, A.data(), 4, 1, B.data(), 3, 1, C.data(), 3, false);
  for (float c : C) EXPECT_EQ(c, 5.f);
  fk::gemm<float>(3, 3, 0, A.data(), 4, 1, B.data(), 3, 1, C.data(), 4, true);  // K = 0, accumulate: unchanged
  for (float c : C) EXPECT_EQ(c, 5.f);
  fk::gemm<float>(3, 3, 0, A.data(), 4, 1, B.data(), 3, 1, C.data(), 4, false);  // K = 0: C = 0
  for (int i = 0; i < 12; ++i) EXPECT_EQ(C[i], i % 4 == 3 ? 5.f : 0.f) << i;
}

// The same product at 1, 2 and 3 threads (and from inside a parallel region) gives the same bits.
template <class T>
void check_gemm_determinism(int64_t M, int64_t N, int64_t K, Layout la, Layout lb, bool prepacked = false) {
  const Operand a = layout_strides(la, M, K), b = layout_strides(lb, K, N);
  const auto A = random_vector<T>(a.size, 11), B = random_vector<T>(b.size, 12);
  const auto C0 = random_vector<T>(M * N, 13);
  auto run = [&](int threads, bool nested) {
    std::vector<T> C = C0;
    with_threads(threads, [&] {
      if (nested) {  // called from a chunk of a parallel loop: gemm stays on that thread
        fastnn::run_tasks(2, 2, [&](int64_t i) {
          if (i == 1) run_gemm<T>(prepacked, M, N, K, A.data(), a, B.data(), b, C.data(), N, true);
        });
        return;
      }
      run_gemm<T>(prepacked, M, N, K, A.data(), a, B.data(), b, C.data(), N, true);
    });
    return C;
  };
  const std::vector<T> ref = run(1, false);
  for (int threads : {2, 3}) {
    const std::vector<T> got = run(threads, false);
    EXPECT_EQ(std::memcmp(ref.data(), got.data(), ref.size() * sizeof(T)), 0)
        << M << "x" << N << "x" << K << " differs at " << threads << " threads";
  }
  const std::vector<T> nested = run(2, true);
  EXPECT_EQ(std::memcmp(ref.data(), nested.data(), ref.size() * sizeof(T)), 0) << "differs when nested";
}

TEST(Gemm, BitwiseIdenticalAcrossThreadCounts) {
  IsaGuard guard;
  for (fk::Isa isa : supported_isas()) {
    SCOPED_TRACE(isa_name(isa));
    fk::set_kernel_isa(isa);
    check_gemm_determinism<float>(300, 500, 700, Layout::Rows, Layout::Rows);
    check_gemm_determinism<float>(64, 120, 400, Layout::Rows, Layout::Cols);
    check_gemm_determinism<float>(120, 400, 64, Layout::Cols, Layout::Rows);
    check_gemm_determinism<double>(200, 150, 600, Layout::Strided, Layout::Cols);
    check_gemm_determinism<float>(1600, 40, 300, Layout::Rows, Layout::Rows);
    check_gemm_determinism<float>(32, 1024, 256, Layout::Rows, Layout::Cols, true);  // an LSTM step
    check_gemm_determinism<double>(40, 300, 700, Layout::Cols, Layout::Rows, true);
  }
}

// ---------------------------------------------------------------- im2col / col2im

struct ConvGeom {
  int64_t C, H, W, kH, kW, pH, pW, sH, sW, dH, dW;
  int64_t outH() const { return (H + 2 * pH - dH * (kH - 1) - 1) / sH + 1; }
  int64_t outW() const { return (W + 2 * pW - dW * (kW - 1) - 1) / sW + 1; }
  int64_t rows() const { return C * kH * kW; }
  int64_t cols() const { return outH() * outW(); }
};

std::vector<ConvGeom> conv_geometries() {
  std::vector<ConvGeom> out = {
      {1, 28, 28, 5, 5, 0, 0, 1, 1, 1, 1},   // LeNet conv1
      {6, 14, 14, 5, 5, 0, 0, 1, 1, 1, 1},   // LeNet conv2
      {3, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1},     // 1x1 image
      {2, 2, 3, 3, 3, 2, 2, 1, 1, 1, 1},     // kernel larger than the image: mostly padding
      {64, 40, 36, 3, 3, 1, 1, 1, 1, 1, 1},  // large enough to run on several threads
      {3, 70, 9, 3, 2, 2, 1, 2, 1, 2, 1},    // several blocks of rows in col2im, strided and dilated
      {2, 9, 8, 3, 3, 2, 1, 1, 1, 2, 2},     // stride 1, dilated, padded: in-image and padded rows mixed
      {2, 34, 35, 3, 4, 0, 0, 1, 1, 1, 1},   // output rows of 32: whole AVX-512 vectors, no masked tail
  };
  for (int64_t k : {1, 2, 3})
    for (int64_t p : {0, 1, 2})
      for (int64_t s : {1, 2, 3})
        for (int64_t d : {1, 2}) {
          ConvGeom g{2, 7, 9, k, k + 1, p, p / 2, s, (s % 3) + 1, d, 3 - d};
          if (g.outH() > 0 && g.outW() > 0) out.push_back(g);
        }
  return out;
}

// col[(c, ki, kj), (oh, ow)] straight from the definition.
template <class T>
std::vector<T> naive_im2col(const std::vector<T>& im, const ConvGeom& g) {
  std::vector<T> col(g.rows() * g.cols());
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t ki = 0; ki < g.kH; ++ki)
      for (int64_t kj = 0; kj < g.kW; ++kj)
        for (int64_t oh = 0; oh < g.outH(); ++oh)
          for (int64_t ow = 0; ow < g.outW(); ++ow) {
            const int64_t ih = oh * g.sH - g.pH + ki * g.dH, iw = ow * g.sW - g.pW + kj * g.dW;
            const bool inside = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
            col[((c * g.kH + ki) * g.kW + kj) * g.cols() + oh * g.outW() + ow] =
                inside ? im[(c * g.H + ih) * g.W + iw] : T(0);
          }
  return col;
}

// The kernels run on col rows kColPad elements longer than a row, so the row stride is exercised;
// these helpers convert to and from the tight (rows x cols) layout.
constexpr int64_t kColPad = 3;

template <class T>
std::vector<T> run_im2col(const std::vector<T>& im, const ConvGeom& g) {
  const int64_t ld = g.cols() + kColPad;
  std::vector<T> wide(g.rows() * ld, T(-7)), col(g.rows() * g.cols());
  fk::im2col<T>(im.data(), g.C, g.H, g.W, g.kH, g.kW, g.pH, g.pW, g.sH, g.sW, g.dH, g.dW, g.outH(), g.outW(),
                wide.data(), ld);
  for (int64_t r = 0; r < g.rows(); ++r) {
    std::copy(wide.begin() + r * ld, wide.begin() + r * ld + g.cols(), col.begin() + r * g.cols());
    for (int64_t j = g.cols(); j < ld; ++j) EXPECT_EQ(wide[r * ld + j], T(-7)) << "im2col wrote past a row";
  }
  return col;
}

template <class T>
std::vector<T> run_col2im(const std::vector<T>& col, const ConvGeom& g) {
  const int64_t ld = g.cols() + kColPad;
  std::vector<T> wide(g.rows() * ld, std::numeric_limits<T>::quiet_NaN());  // padding must never be read
  for (int64_t r = 0; r < g.rows(); ++r)
    std::copy(col.begin() + r * g.cols(), col.begin() + (r + 1) * g.cols(), wide.begin() + r * ld);
  std::vector<T> im(g.C * g.H * g.W, T(-7));
  fk::col2im<T>(wide.data(), ld, g.C, g.H, g.W, g.kH, g.kW, g.pH, g.pW, g.sH, g.sW, g.dH, g.dW, g.outH(), g.outW(),
                im.data());
  return im;
}

std::string describe(const ConvGeom& g) {
  return "C=" + std::to_string(g.C) + " H=" + std::to_string(g.H) + " W=" + std::to_string(g.W) +
         " k=" + std::to_string(g.kH) + "x" + std::to_string(g.kW) + " p=" + std::to_string(g.pH) + "," +
         std::to_string(g.pW) + " s=" + std::to_string(g.sH) + "," + std::to_string(g.sW) +
         " d=" + std::to_string(g.dH) + "," + std::to_string(g.dW);
}

TEST(Im2col, MatchesNaive) {
  IsaGuard guard;
  for (fk::Isa isa : supported_isas()) {
    fk::set_kernel_isa(isa);
    for (const ConvGeom& g : conv_geometries()) {
      SCOPED_TRACE(std::string(isa_name(isa)) + " " + describe(g));
      const auto im = random_vector<float>(g.C * g.H * g.W, 3);
      EXPECT_EQ(run_im2col(im, g), naive_im2col(im, g));
      const auto imd = random_vector<double>(g.C * g.H * g.W, 4);
      EXPECT_EQ(run_im2col(imd, g), naive_im2col(imd, g));
    }
  }
}

TEST(Col2im, MatchesNaiveScatter) {
  for (const ConvGeom& g : conv_geometries()) {
    SCOPED_TRACE(describe(g));
    const auto col = random_ints<double>(g.rows() * g.cols(), 5, -9, 9);
    std::vector<double> ref(g.C * g.H * g.W, 0.0);
    for (int64_t c = 0; c < g.C; ++c)
      for (int64_t ki = 0; ki < g.kH; ++ki)
        for (int64_t kj = 0; kj < g.kW; ++kj)
          for (int64_t oh = 0; oh < g.outH(); ++oh)
            for (int64_t ow = 0; ow < g.outW(); ++ow) {
              const int64_t ih = oh * g.sH - g.pH + ki * g.dH, iw = ow * g.sW - g.pW + kj * g.dW;
              if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W)
                ref[(c * g.H + ih) * g.W + iw] += col[((c * g.kH + ki) * g.kW + kj) * g.cols() + oh * g.outW() + ow];
            }
    EXPECT_EQ(run_col2im(col, g), ref);
  }
}

// Every instruction set's col2im adds each pixel's taps in (ki, kj) order onto 0, or onto the image's value when
// accumulating (the AVX2 form sums a run of pixels in a register, reading each tap's segment by a masked load): the
// same float bits as that order in plain code, and the col rows' padding (NaN) is never read.
TEST(Col2im, SumsEachPixelsTapsInOrderOnEveryIsa) {
  IsaGuard guard;
  std::vector<ConvGeom> geoms = conv_geometries();
  geoms.push_back({2, 5, 37, 3, 4, 1, 2, 1, 1, 1, 1});  // rows of several 8-pixel runs and a tail
  geoms.push_back({3, 6, 21, 2, 7, 0, 3, 1, 1, 2, 3});  // dilated columns, padding wider than a run's edge
  for (fk::Isa isa : supported_isas()) {
    fk::set_kernel_isa(isa);
    for (const ConvGeom& g : geoms) {
      SCOPED_TRACE(std::string(isa_name(isa)) + " " + describe(g));
      const auto col = random_vector<float>(g.rows() * g.cols(), 11);
      auto base = random_vector<float>(g.C * g.H * g.W, 12);
      base[0] = -0.0f;
      for (bool accumulate : {false, true}) {
        std::vector<float> ref = accumulate ? base : std::vector<float>(base.size(), 0.0f);
        for (int64_t c = 0; c < g.C; ++c)
          for (int64_t ih = 0; ih < g.H; ++ih)
            for (int64_t iw = 0; iw < g.W; ++iw)
              for (int64_t ki = 0; ki < g.kH; ++ki)
                for (int64_t kj = 0; kj < g.kW; ++kj) {
                  const int64_t fh = ih + g.pH - ki * g.dH, fw = iw + g.pW - kj * g.dW;  // oh * sH, ow * sW
                  if (fh < 0 || fw < 0 || fh % g.sH || fw % g.sW || fh / g.sH >= g.outH() || fw / g.sW >= g.outW())
                    continue;
                  ref[(c * g.H + ih) * g.W + iw] +=
                      col[((c * g.kH + ki) * g.kW + kj) * g.cols() + fh / g.sH * g.outW() + fw / g.sW];
                }
        const int64_t ld = g.cols() + kColPad;
        std::vector<float> wide(g.rows() * ld, std::numeric_limits<float>::quiet_NaN()), im = base;
        for (int64_t r = 0; r < g.rows(); ++r)
          std::copy(col.begin() + r * g.cols(), col.begin() + (r + 1) * g.cols(), wide.begin() + r * ld);
        fk::col2im<float>(wide.data(), ld, g.C, g.H, g.W, g.kH, g.kW, g.pH, g.pW, g.sH, g.sW, g.dH, g.dW, g.outH(),
                          g.outW(), im.data(), accumulate);
        EXPECT_EQ(std::memcmp(im.data(), ref.data(), im.size() * sizeof(float)), 0) << "accumulate=" << accumulate;
      }
    }
  }
}

TEST(Col2im, IsTheAdjointOfIm2col) {
  // <im2col(x), y> == <x, col2im(y)>; integer data keeps both sides exact.
  for (const ConvGeom& g : conv_geometries()) {
    SCOPED_TRACE(describe(g));
    const auto x = random_ints<double>(g.C * g.H * g.W, 6, -50, 50);
    const auto y = random_ints<double>(g.rows() * g.cols(), 7, -50, 50);
    const auto ax = run_im2col(x, g), aty = run_col2im(y, g);
    double lhs = 0, rhs = 0;
    for (size_t i = 0; i < y.size(); ++i) lhs += ax[i] * y[i];
    for (size_t i = 0; i < x.size(); ++i) rhs += x[i] * aty[i];
    EXPECT_EQ(lhs, rhs);
  }
}

TEST(Im2col, GemmGivesTheDirectConvolution) {
  // weight (F, C*kH*kW) x col = out (F, outH*outW), compared with the textbook convolution loop.
  for (const ConvGeom& g : conv_geometries()) {
    SCOPED_TRACE(describe(g));
    const int64_t F = 4;
    const auto x = random_vector<double>(g.C * g.H * g.W, 8), w = random_vector<double>(F * g.rows(), 9);
    const auto col = run_im2col(x, g);
    std::vector<double> out(F * g.cols());
    fk::gemm<double>(F, g.cols(), g.rows(), w.data(), g.rows(), 1, col.data(), g.cols(), 1, out.data(), g.cols(),
                     false);
    for (int64_t f = 0; f < F; ++f)
      for (int64_t oh = 0; oh < g.outH(); ++oh)
        for (int64_t ow = 0; ow < g.outW(); ++ow) {
          double ref = 0;
          for (int64_t c = 0; c < g.C; ++c)
            for (int64_t ki = 0; ki < g.kH; ++ki)
              for (int64_t kj = 0; kj < g.kW; ++kj) {
                const int64_t ih = oh * g.sH - g.pH + ki * g.dH, iw = ow * g.sW - g.pW + kj * g.dW;
                if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W)
                  ref += w[f * g.rows() + (c * g.kH + ki) * g.kW + kj] * x[(c * g.H + ih) * g.W + iw];
              }
          ASSERT_NEAR(out[f * g.cols() + oh * g.outW() + ow], ref, 1e-12 * (1 + g.rows()));
        }
  }
}

TEST(Col2im, BitwiseIdenticalAcrossThreadCounts) {
  const ConvGeom g{64, 40, 36, 3, 3, 1, 1, 1, 1, 1, 1};
  const auto col = random_vector<float>(g.rows() * g.cols(), 10);
  std::vector<float> one, two;
  with_threads(1, [&] { one = run_col2im(col, g); });
  with_threads(2, [&] { two = run_col2im(col, g); });
  EXPECT_EQ(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)), 0);
}

// ---------------------------------------------------------------- pooling

struct PoolGeom {
  int64_t planes, H, W, kH, kW, sH, sW, pH, pW, dH, dW;
  bool ceil_mode;
  // PyTorch's output size, including its ceil_mode rule (the last window must start inside the
  // input or the left padding).
  int64_t out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) const {
    const int64_t span = in + 2 * p - d * (k - 1) - 1;
    int64_t o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && (o - 1) * s >= in + p) --o;
    return o;
  }
  int64_t outH() const { return out(H, kH, sH, pH, dH); }
  int64_t outW() const { return out(W, kW, sW, pW, dW); }
};

std::vector<PoolGeom> pool_geometries(bool dilation) {
  std::vector<PoolGeom> out = {
      {384, 28, 28, 2, 2, 2, 2, 0, 0, 1, 1, false},  // LeNet pool1 at batch 64
      {3, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, false},
  };
  for (int64_t k : {1, 2, 3})
    for (int64_t s : {1, 2, 3})
      for (int64_t p = 0; p <= k / 2; ++p)
        for (int64_t d : {int64_t(1), dilation ? int64_t(2) : int64_t(1)})
          for (bool ceil_mode : {false, true}) {
            PoolGeom g{3, 7, 8, k, k + 1, s, 4 - s, p, (k + 1) / 2 >= p + 1 ? p + 1 : p, d, 3 - d, ceil_mode};
            if (!dilation) g.dW = 1;
            if (g.outH() > 0 && g.outW() > 0) out.push_back(g);
          }
  return out;
}

std::string describe(const PoolGeom& g) {
  return "planes=" + std::to_string(g.planes) + " H=" + std::to_string(g.H) + " W=" + std::to_string(g.W) +
         " k=" + std::to_string(g.kH) + "x" + std::to_string(g.kW) + " s=" + std::to_string(g.sH) + "," +
         std::to_string(g.sW) + " p=" + std::to_string(g.pH) + "," + std::to_string(g.pW) +
         " d=" + std::to_string(g.dH) + "," + std::to_string(g.dW) + (g.ceil_mode ? " ceil" : "");
}

// PyTorch's max_pool2d: scan the in-range taps row by row; a larger value or any NaN takes over.
template <class T>
void naive_max_pool(const std::vector<T>& in, const PoolGeom& g, std::vector<T>& out, std::vector<int64_t>& idx) {
  out.assign(g.planes * g.outH() * g.outW(), T(0));
  idx.assign(out.size(), -1);
  for (int64_t p = 0; p < g.planes; ++p)
    for (int64_t oh = 0; oh < g.outH(); ++oh)
      for (int64_t ow = 0; ow < g.outW(); ++ow) {
        // Without a larger value the index is the first tap at or after (0, 0): an all -inf
        // window reports its first input, a window with no input at all an out-of-range index.
        int64_t h0 = oh * g.sH - g.pH, w0 = ow * g.sW - g.pW;
        while (h0 < 0) h0 += g.dH;
        while (w0 < 0) w0 += g.dW;
        T best = -std::numeric_limits<T>::infinity();
        int64_t arg = h0 * g.W + w0;
        for (int64_t i = 0; i < g.kH; ++i)
          for (int64_t j = 0; j < g.kW; ++j) {
            const int64_t h = oh * g.sH - g.pH + i * g.dH, w = ow * g.sW - g.pW + j * g.dW;
            if (h < 0 || h >= g.H || w < 0 || w >= g.W) continue;
            const T v = in[(p * g.H + h) * g.W + w];
            if (v > best || std::isnan(v)) {
              best = v;
              arg = h * g.W + w;
            }
          }
        const int64_t o = (p * g.outH() + oh) * g.outW() + ow;
        out[o] = best;
        idx[o] = arg;
      }
}

template <class T>
void run_max_pool(const std::vector<T>& in, const PoolGeom& g, std::vector<T>& out, std::vector<int64_t>& idx) {
  out.assign(g.planes * g.outH() * g.outW(), T(-5));
  idx.assign(out.size(), -5);
  fk::max_pool2d_forward<T>(in.data(), g.planes, g.H, g.W, g.outH(), g.outW(), g.kH, g.kW, g.sH, g.sW, g.pH, g.pW, g.dH,
                            g.dW, out.data(), idx.data());
}

template <class T>
bool same_values(const std::vector<T>& a, const std::vector<T>& b) {  // NaN equals NaN
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

TEST(MaxPool2d, MatchesNaiveWithTies) {
  for (const PoolGeom& g : pool_geometries(true)) {
    SCOPED_TRACE(describe(g));
    // Values from {0, 1, 2}: windows are full of ties, and the first maximum must win.
    const auto in = random_ints<float>(g.planes * g.H * g.W, 12, 0, 2);
    std::vector<float> out, ref;
    std::vector<int64_t> idx, ref_idx;
    run_max_pool(in, g, out, idx);
    naive_max_pool(in, g, ref, ref_idx);
    EXPECT_EQ(out, ref);
    EXPECT_EQ(idx, ref_idx);
  }
}

TEST(MaxPool2d, NanAndInfinity) {
  const PoolGeom g{1, 2, 4, 2, 2, 2, 2, 1, 1, 1, 1, false};  // windows cover padding
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  // Row-major 2x4 plane; windows (padded by 1): {x0}, {x1, x2}, {x3}, {x4}, {x5, x6}, {x7}.
  const std::vector<float> in = {-inf, nan, 1.f, -inf, -inf, 3.f, nan, 2.f};
  std::vector<float> out, ref;
  std::vector<int64_t> idx, ref_idx;
  run_max_pool(in, g, out, idx);
  naive_max_pool(in, g, ref, ref_idx);
  EXPECT_TRUE(same_values(out, ref));
  EXPECT_EQ(idx, ref_idx);
  // The all -inf window reports its only real tap (never padding); NaN wins over larger numbers.
  EXPECT_EQ(out[0], -inf);
  EXPECT_EQ(idx[0], 0);
  EXPECT_TRUE(std::isnan(out[1]));
  EXPECT_EQ(idx[1], 1);
  EXPECT_EQ(idx[4], 6);
  // As in PyTorch, a later NaN takes over from an earlier one.
  const PoolGeom g2{1, 1, 4, 1, 4, 1, 1, 0, 0, 1, 1, false};
  run_max_pool(std::vector<float>{1.f, nan, 3.f, nan}, g2, out, idx);
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(idx[0], 3);
}

// The vectorised 2x2/stride-2 path, per instruction set: every row length from 1 to 20 outputs
// (full vector steps, an overlapping last step, half-width and scalar rows), odd widths, and
// windows full of ties, NaNs and infinities.
template <class T>
void check_max_pool_2x2() {
  const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
  const T specials[] = {nan, -inf, inf, T(-0.0)};
  for (int64_t W = 2; W <= 41; ++W) {
    const PoolGeom g{2, 5, W, 2, 2, 2, 2, 0, 0, 1, 1, false};
    auto in = random_ints<T>(g.planes * g.H * g.W, uint32_t(W), 0, 2);
    for (size_t i = 0; i < in.size(); i += 5) in[i] = specials[i / 5 % 4];
    std::vector<T> out, ref;
    std::vector<int64_t> idx, ref_idx;
    naive_max_pool(in, g, ref, ref_idx);
    for (fk::Isa isa : supported_isas()) {
      SCOPED_TRACE(std::string(isa_name(isa)) + " " + describe(g));
      IsaGuard guard;
      fk::set_kernel_isa(isa);
      run_max_pool(in, g, out, idx);
      EXPECT_TRUE(same_values(out, ref));
      EXPECT_EQ(idx, ref_idx);
    }
  }
}

TEST(MaxPool2d, TwoByTwoFastPathFloat) { check_max_pool_2x2<float>(); }
TEST(MaxPool2d, TwoByTwoFastPathDouble) { check_max_pool_2x2<double>(); }

TEST(MaxPool2d, WindowsWithoutInputs) {
  // Height 1, padding 1, dilation 2: each window's two rows (-1 and 1) both miss the input. Like
  // PyTorch, the output is -inf with an out-of-range index; the backward must not write there.
  const PoolGeom g{2, 1, 12, 2, 2, 2, 1, 1, 0, 2, 1, false};
  ASSERT_EQ(g.outH(), 1);
  const auto in = random_vector<float>(g.planes * g.H * g.W, 21);
  std::vector<float> out, ref;
  std::vector<int64_t> idx, ref_idx;
  run_max_pool(in, g, out, idx);
  naive_max_pool(in, g, ref, ref_idx);
  EXPECT_EQ(out, ref);
  EXPECT_EQ(idx, ref_idx);
  for (size_t o = 0; o < out.size(); ++o) {
    EXPECT_EQ(out[o], -std::numeric_limits<float>::infinity());
    EXPECT_EQ(idx[o], g.W + int64_t(o) % g.outW());  // PyTorch's index: row 1, the first tap's column
  }
  std::vector<float> gin(in.size() + 16, -3.f);  // guard elements past the planes must survive
  const std::vector<float> gout(out.size(), 1.f);
  fk::max_pool2d_backward<float>(gout.data(), idx.data(), g.planes, g.H, g.W, g.outH(), g.outW(), gin.data());
  for (size_t i = 0; i < gin.size(); ++i) EXPECT_EQ(gin[i], i < in.size() ? 0.f : -3.f) << i;
}

TEST(MaxPool2d, BackwardScattersThroughIndices) {
  for (const PoolGeom& g : pool_geometries(true)) {
    SCOPED_TRACE(describe(g));
    const auto in = random_vector<double>(g.planes * g.H * g.W, 13);
    std::vector<double> out;
    std::vector<int64_t> idx;
    run_max_pool(in, g, out, idx);
    const auto gout = random_ints<double>(out.size(), 14, -9, 9);
    std::vector<double> gin(in.size(), -3.0), ref(in.size(), 0.0);
    fk::max_pool2d_backward<double>(gout.data(), idx.data(), g.planes, g.H, g.W, g.outH(), g.outW(), gin.data());
    const int64_t oplane = g.outH() * g.outW();
    for (size_t o = 0; o < gout.size(); ++o) ref[o / oplane * g.H * g.W + idx[o]] += gout[o];
    EXPECT_EQ(gin, ref);
  }
}

// PyTorch's avg_pool2d: padded window size taken before clipping; sum in scan order, then divide.
template <class T>
std::vector<T> naive_avg_pool(const std::vector<T>& in, const PoolGeom& g, bool include_pad, int64_t override_) {
  std::vector<T> out(g.planes * g.outH() * g.outW());
  for (int64_t p = 0; p < g.planes; ++p)
    for (int64_t oh = 0; oh < g.outH(); ++oh)
      for (int64_t ow = 0; ow < g.outW(); ++ow) {
        const int64_t hs = oh * g.sH - g.pH, ws = ow * g.sW - g.pW;
        const int64_t he = std::min(hs + g.kH, g.H + g.pH), we = std::min(ws + g.kW, g.W + g.pW);
        int64_t count = 0;
        T sum = 0;
        for (int64_t h = std::max<int64_t>(hs, 0); h < std::min(he, g.H); ++h)
          for (int64_t w = std::max<int64_t>(ws, 0); w < std::min(we, g.W); ++w) {
            sum += in[(p * g.H + h) * g.W + w];
            ++count;
          }
        const int64_t div = override_ > 0 ? override_ : include_pad ? (he - hs) * (we - ws) : count;
        out[(p * g.outH() + oh) * g.outW() + ow] = count ? sum / T(div) : T(0);
      }
  return out;
}

TEST(AvgPool2d, MatchesNaive) {
  for (const PoolGeom& g : pool_geometries(false))
    for (bool include_pad : {true, false})
      for (int64_t override_ : {0, 3}) {
        SCOPED_TRACE(describe(g) + " include_pad=" + std::to_string(include_pad) +
                     " divisor_override=" + std::to_string(override_));
        const auto in = random_vector<float>(g.planes * g.H * g.W, 15);
        std::vector<float> out(g.planes * g.outH() * g.outW(), -5.f);
        fk::avg_pool2d_forward<float>(in.data(), g.planes, g.H, g.W, g.outH(), g.outW(), g.kH, g.kW, g.sH, g.sW, g.pH,
                                      g.pW, include_pad, override_, out.data());
        EXPECT_EQ(out, naive_avg_pool(in, g, include_pad, override_));  // same operations, same bits
      }
}

TEST(AvgPool2d, BackwardIsTheAdjoint) {
  // <avg_pool(x), y> == <x, avg_pool_backward(y)>, with power-of-two divisors so everything is exact.
  for (const PoolGeom& g : pool_geometries(false))
    for (bool include_pad : {true, false}) {
      SCOPED_TRACE(describe(g) + " include_pad=" + std::to_string(include_pad));
      const auto x = random_ints<double>(g.planes * g.H * g.W, 16, -20, 20);
      const auto y = random_ints<double>(g.planes * g.outH() * g.outW(), 17, -20, 20);
      std::vector<double> ax(y.size()), aty(x.size(), -3.0);
      fk::avg_pool2d_forward<double>(x.data(), g.planes, g.H, g.W, g.outH(), g.outW(), g.kH, g.kW, g.sH, g.sW, g.pH,
                                     g.pW, include_pad, 4, ax.data());
      fk::avg_pool2d_backward<double>(y.data(), g.planes, g.H, g.W, g.outH(), g.outW(), g.kH, g.kW, g.sH, g.sW, g.pH,
                                      g.pW, include_pad, 4, aty.data());
      double lhs = 0, rhs = 0;
      for (size_t i = 0; i < y.size(); ++i) lhs += ax[i] * y[i];
      for (size_t i = 0; i < x.size(); ++i) rhs += x[i] * aty[i];
      EXPECT_EQ(lhs, rhs);
    }
}

TEST(AvgPool2d, BackwardMatchesNaiveScatter) {
  for (const PoolGeom& g : pool_geometries(false))
    for (bool include_pad : {true, false}) {
      SCOPED_TRACE(describe(g) + " include_pad=" + std::to_string(include_pad));
      const auto gout = random_vector<float>(g.planes * g.outH() * g.outW(), 18);
      std::vector<float> gin(g.planes * g.H * g.W, -3.f), ref(gin.size(), 0.f);
      fk::avg_pool2d_backward<float>(gout.data(), g.planes, g.H, g.W, g.outH(), g.outW(), g.kH, g.kW, g.sH, g.sW, g.pH,
                                     g.pW, include_pad, 0, gin.data());
      // PyTorch's loop: each output's share, added to its window in output order.
      for (int64_t p = 0; p < g.planes; ++p)
        for (int64_t oh = 0; oh < g.outH(); ++oh)
          for (int64_t ow = 0; ow < g.outW(); ++ow) {
            const int64_t hs = oh * g.sH - g.pH, ws = ow * g.sW - g.pW;
            const int64_t he = std::min(hs + g.kH, g.H + g.pH), we = std::min(ws + g.kW, g.W + g.pW);
            const int64_t h0 = std::max<int64_t>(hs, 0), h1 = std::min(he, g.H);
            const int64_t w0 = std::max<int64_t>(ws, 0), w1 = std::min(we, g.W);
            if (h0 >= h1 || w0 >= w1) continue;
            const int64_t div = include_pad ? (he - hs) * (we - ws) : (h1 - h0) * (w1 - w0);
            const float delta = gout[(p * g.outH() + oh) * g.outW() + ow] / float(div);
            for (int64_t h = h0; h < h1; ++h)
              for (int64_t w = w0; w < w1; ++w) ref[(p * g.H + h) * g.W + w] += delta;
          }
      EXPECT_EQ(gin, ref);
    }
}

TEST(Pool2d, BitwiseIdenticalAcrossThreadCounts) {
  const PoolGeom g{384, 28, 28, 3, 3, 2, 2, 1, 1, 1, 1, true};
  const auto in = random_vector<float>(g.planes * g.H * g.W, 19);
  const auto gout = random_vector<float>(g.planes * g.outH() * g.outW(), 20);
  auto run = [&](int threads) {
    std::vector<float> out(gout.size()), gin(in.size());
    std::vector<int64_t> idx(gout.size());
    with_threads(threads, [&] {
      fk::avg_pool2d_forward<float>(in.data(), g.planes, g.H, g.W, g.outH(), g.outW(), g.kH, g.kW, g.sH, g.sW, g.pH,
                                    g.pW, false, 0, out.data());
      fk::avg_pool2d_backward<float>(gout.data(), g.planes, g.H, g.W, g.outH(), g.outW(), g.kH, g.kW, g.sH, g.sW, g.pH,
                                     g.pW, false, 0, gin.data());
    });
    out.insert(out.end(), gin.begin(), gin.end());
    return out;
  };
  const auto one = run(1), two = run(2);
  EXPECT_EQ(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)), 0);
}

// ---------------------------------------------------------------- vector math (the gate functions)

// Distance in floats between a and the float nearest to the exact value ref (0 when both are NaN).
double ulps(float a, double ref) {
  if (std::isnan(a) || std::isnan(ref)) return std::isnan(a) && std::isnan(ref) ? 0 : 1e30;
  const float r = float(ref);
  if (a == r) return 0;
  return std::abs(double(a) - ref) / (std::nextafter(std::abs(r), INFINITY) - std::abs(r));
}

// tanh_of and sigmoid_of on 4-lane vectors and on 1-lane tails agree with libm's double results within a
// few ulp (tanh) and absolutely within 1e-7 (sigmoid, whose tiny outputs are relative to 1), NaN stays NaN.
TEST(VecMath, TanhAndSigmoidMatchLibm) {
  std::vector<float> xs = {0.f,
                           -0.f,
                           1e-30f,
                           -1e-8f,
                           0.4999f,
                           0.5f,
                           0.5001f,
                           9.f,
                           9.01f,
                           44.f,
                           90.f,
                           -90.f,
                           std::numeric_limits<float>::infinity(),
                           -std::numeric_limits<float>::infinity(),
                           std::numeric_limits<float>::quiet_NaN()};
  for (float x = -20.f; x < 20.f; x += 0.00137f) xs.push_back(x);
  while (xs.size() % 4) xs.push_back(1.f);
  double worst_tanh = 0, worst_sigmoid = 0;
  for (size_t i = 0; i < xs.size(); i += 4) {
    fk::Vec<float, 4> v;
    std::memcpy(&v, &xs[i], sizeof v);
    const fk::Vec<float, 4> t = fk::tanh_of(v), s = fk::sigmoid_of(v);
    for (int l = 0; l < 4; ++l) {
      const double x = xs[i + l], tref = std::tanh(x), sref = 1 / (1 + std::exp(-x));
      const fk::Vec<float, 1> one = {xs[i + l]};
      const float tail = fk::tanh_of(one)[0], lane = t[l];
      EXPECT_EQ(std::memcmp(&tail, &lane, sizeof tail), 0) << "the 1-lane tail differs at " << x;
      worst_tanh = std::max(worst_tanh, ulps(t[l], tref));
      EXPECT_LE(ulps(t[l], tref), 3) << "tanh(" << x << ") = " << t[l];
      if (std::isnan(x)) EXPECT_TRUE(std::isnan(s[l]));
      else EXPECT_NEAR(s[l], sref, 1e-7) << "sigmoid(" << x << ")";
      if (!std::isnan(x) && sref > 1e-3) worst_sigmoid = std::max(worst_sigmoid, ulps(s[l], sref));
    }
  }
  EXPECT_LE(worst_sigmoid, 4);
  std::printf("worst error: tanh %.2f ulp, sigmoid %.2f ulp\n", worst_tanh, worst_sigmoid);
}

// exp over the whole float range: within 2 ulp of the exact value where the result is normal, through the
// subnormals (within one subnormal step) to 0, and to inf past the largest float, as expf.
// GELU's kernels on every instruction set against double references: the exact form from erfc (a few ulps for
// |x| <= 2, then relative error growing as x^2 in the negative tail, which torch's 1 + erf loses entirely), torch's
// tanh form to its float cancellation;
// gradients likewise; lanes and the scalar tail agree.
TEST(VecMath, GeluMatchesDoubleReferences) {
  std::vector<float> xs = {0.f, -0.f, 1e-30f, -1e-6f, 30.f, -30.f, std::numeric_limits<float>::quiet_NaN()};
  for (float x = -14.f; x < 14.f; x += 0.00731f) xs.push_back(x);
  const int64_t n = int64_t(xs.size());
  std::vector<float> g(n, 1.5f), y(n), dx(n);
  IsaGuard guard;
  for (fk::Isa isa : supported_isas()) {
    SCOPED_TRACE(isa_name(isa));
    fk::set_kernel_isa(isa);
    for (bool tanh : {false, true}) {
      const fk::VecActivation op = tanh ? fk::VecActivation::GeluTanh : fk::VecActivation::GeluErf;
      fk::activation_forward(op, {}, n, xs.data(), y.data());
      fk::activation_backward(op, {}, n, g.data(), xs.data(), dx.data());
      for (int64_t i = 0; i < n; ++i) {
        const double x = xs[i], k = std::sqrt(2 / M_PI), c = 0.044715, u = k * (x + c * x * x * x);
        const double phi = std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI);
        const double want = tanh ? 0.5 * x * (1 + std::tanh(u)) : 0.5 * x * std::erfc(-x / std::sqrt(2.0));
        const double dwant = 1.5 * (tanh ? 0.5 * (1 + std::tanh(u)) +
                                               0.5 * x * (1 - std::tanh(u) * std::tanh(u)) * k * (1 + 3 * c * x * x)
                                         : 0.5 * std::erfc(-x / std::sqrt(2.0)) + x * phi);
        if (std::isnan(x)) {
          EXPECT_TRUE(std::isnan(y[i]) && std::isnan(dx[i]));
          continue;
        }
        if (tanh || std::abs(want) < std::numeric_limits<float>::min())  // tanh form: 1 + tanh cancels, as torch's
          EXPECT_NEAR(y[i], want, 4e-7 * std::max(1.0, std::abs(x))) << "gelu(" << x << ") tanh=" << tanh;
        else if (std::abs(x) <= 2) EXPECT_LE(ulps(y[i], want), 8) << "gelu(" << x << ") = " << y[i] << " want " << want;
        else  // exp(-x^2 / 2 + ...) carries x^2's rounding: relative error grows as x^2
          EXPECT_NEAR(y[i], want, (1e-6 + 2e-7 * x * x) * std::abs(want)) << "gelu(" << x << ") = " << y[i];
        EXPECT_NEAR(dx[i], dwant, 2e-6 * std::max(1.0, std::abs(dwant))) << "gelu'(" << x << ") tanh=" << tanh;
      }
      float one;
      for (int64_t i : {int64_t(5), n / 2, n - 2}) {
        fk::activation_forward(op, {}, 1, &xs[i], &one);
        EXPECT_EQ(std::memcmp(&one, &y[i], sizeof one), 0) << "the 1-lane tail differs at " << xs[i];
      }
    }
  }
}

// softplus(-x) (binary cross entropy with logits) on every instruction set within a few ulps of the double value,
// NaN and the infinities included; lanes and the scalar tail agree.
TEST(VecMath, SoftplusNegMatchesLibm) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> xs = {0.f, -0.f, 1e-30f, -1e-30f, 1e-6f, 88.f, 104.f, 120.f, -88.f, -120.f, inf, -inf, NAN};
  for (float x = -30.f; x < 30.f; x += 0.00917f) xs.push_back(x);
  const int64_t n = int64_t(xs.size());
  std::vector<float> y(n);
  IsaGuard guard;
  for (fk::Isa isa : supported_isas()) {
    SCOPED_TRACE(isa_name(isa));
    fk::set_kernel_isa(isa);
    fk::softplus_neg(n, xs.data(), y.data());
    for (int64_t i = 0; i < n; ++i) {
      const double x = xs[i], want = std::log1p(std::exp(-std::abs(x))) + std::max(-x, 0.0);
      if (std::isnan(x)) EXPECT_TRUE(std::isnan(y[i]));
      else if (std::isinf(want)) EXPECT_EQ(double(y[i]), want);
      else if (want < std::numeric_limits<float>::min()) EXPECT_NEAR(y[i], want, 1e-44) << "x = " << x;
      else EXPECT_LE(ulps(y[i], want), 4) << "softplus(-" << x << ") = " << y[i] << " want " << want;
    }
    float one;
    for (int64_t i : {int64_t(3), n / 2, n - 2}) {
      fk::softplus_neg(1, &xs[i], &one);
      EXPECT_EQ(std::memcmp(&one, &y[i], sizeof one), 0) << "the 1-lane tail differs at " << xs[i];
    }
  }
}

// The vectorised activations (silu, log_sigmoid, mish and the gradients that read the input; softplus and the elu
// family with their parameters) on every instruction set against double references: values within a few ulps, the
// gradients within a few ulps of the sum of their terms' magnitudes (silu' and mish' cross zero, where the float
// terms cancel); NaN where the reference is NaN (silu(-inf), mish' at +-inf); lanes and the scalar tail agree.
TEST(VecMath, ActivationsMatchDoubleReferences) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> xs = {0.f,      -0.f,  1e-30f, -1e-30f, 0.6999f, -0.6999f, 0.7f, -0.7f, 0.7001f,
                           -0.7001f, 5.f,   5.01f,  19.99f,  20.f,    20.01f,   88.f, -88.f, -104.f,
                           120.f,    1e10f, 1e30f,  -1e30f,  inf,     -inf,     NAN};
  for (float x = -30.f; x < 30.f; x += 0.00917f) xs.push_back(x);
  const int64_t n = int64_t(xs.size());
  struct Ref {
    double value, grad, terms;  // f(x), f'(x), the magnitude of f'(x)'s terms
  };
  const auto sig = [](double x) { return 1 / (1 + std::exp(-x)); };
  // with the coefficients the kernel takes (float, as torch's): neg = alpha scale, pos = scale, is = input_scale, and
  // x is rounded to float (its rounding moves exp(x is) by up to |x is| 2^-24)
  const auto elu = [](double x, fk::VecActivationArgs a) {
    const double neg = a.neg_coef, pos = a.pos_coef, is = a.input_scale, u = float(x) * a.input_scale;  // in float
    return x <= 0 ? Ref{std::expm1(u) * neg, is * neg * std::exp(u), 0} : Ref{x * pos, pos, 0};
  };
  const auto softplus = [&](double x, double beta, double threshold) {
    return x * beta > threshold ? Ref{x, 1, 0} : Ref{std::log1p(std::exp(x * beta)) / beta, sig(x * beta), 0};
  };
  struct Case {
    const char* name;
    std::function<void(int64_t, const float*, const float*, float*, float*)> run;  // n, g, x -> y, dx
    std::function<Ref(double)> ref;
  };
  const auto unary = [](fk::VecUnary op) {
    return [op](int64_t n, const float* g, const float* x, float* y, float* dx) {
      fk::vec_unary(op, n, x, y);
      fk::vec_unary_backward(op, n, g, x, dx);
    };
  };
  const auto activation = [](fk::VecActivation op, fk::VecActivationArgs args) {
    return [op, args](int64_t n, const float* g, const float* x, float* y, float* dx) {
      fk::activation_forward(op, args, n, x, y);
      fk::activation_backward(op, args, n, g, x, dx);
    };
  };
  const float selu_alpha = 1.6732632423543772848170429916717f, selu_scale = 1.0507009873554804934193349852946f;
  const fk::VecActivationArgs elu_args{1, 20, 1, 1, 1}, selu_args{1, 20, selu_alpha * selu_scale, selu_scale, 1},
      celu_args{1, 20, 1.5f, 1, float(1 / 1.5)};
  const std::vector<Case> cases = {
      {"silu", unary(fk::VecUnary::Silu),
       [&](double x) {
         const double s = sig(x);
         return Ref{x / (1 + std::exp(-x)), s * (1 + x * (1 - s)), s * (1 + std::abs(x))};  // 1 - s rounds at 1
       }},
      {"log_sigmoid", unary(fk::VecUnary::LogSigmoid),
       [](double x) { return Ref{std::min(x, 0.0) - std::log1p(std::exp(-std::abs(x))), 1 / (1 + std::exp(x)), 0}; }},
      {"mish", unary(fk::VecUnary::Mish),
       [&](double x) {
         const double t = std::tanh(std::log1p(std::exp(x))), d = x * sig(x) * (1 - t * t);
         return Ref{x * t, t + d, t + std::abs(d)};
       }},
      {"softplus", activation(fk::VecActivation::Softplus, {1, 20}), [&](double x) { return softplus(x, 1, 20); }},
      {"softplus(beta 2, threshold 5)", activation(fk::VecActivation::Softplus, {2, 5}),
       [&](double x) { return softplus(x, 2, 5); }},
      {"elu", activation(fk::VecActivation::Elu, elu_args), [&](double x) { return elu(x, elu_args); }},
      {"selu", activation(fk::VecActivation::Elu, selu_args), [&](double x) { return elu(x, selu_args); }},
      {"celu(1.5)", activation(fk::VecActivation::Elu, celu_args), [&](double x) { return elu(x, celu_args); }},
  };
  std::vector<float> g(n, -1.5f), y(n), dx(n);
  IsaGuard guard;
  for (fk::Isa isa : supported_isas()) {
    fk::set_kernel_isa(isa);
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(isa_name(isa)) + " " + c.name);
      c.run(n, g.data(), xs.data(), y.data(), dx.data());
      for (int64_t i = 0; i < n; ++i) {
        const double x = xs[i];
        const Ref want = c.ref(x);
        const double grad = -1.5 * want.grad;
        EXPECT_EQ(std::isnan(y[i]), std::isnan(want.value)) << "f(" << x << ") = " << y[i];
        EXPECT_EQ(std::isnan(dx[i]), std::isnan(grad)) << "f'(" << x << ") = " << dx[i];
        if (std::isnan(want.value) || std::isnan(grad)) continue;
        if (std::isinf(want.value)) EXPECT_EQ(double(y[i]), want.value) << "f(" << x << ")";
        else if (std::abs(want.value) <
                 std::numeric_limits<float>::min())  // subnormal: exp(-x) overflowed, as in torch
          EXPECT_NEAR(y[i], want.value, 1e-42);
        else EXPECT_LE(ulps(y[i], want.value), 6) << "f(" << x << ") = " << y[i] << " want " << want.value;
        const double slack = 4 * 6e-8 * 1.5 * want.terms;
        if (std::abs(grad) < std::numeric_limits<float>::min()) EXPECT_NEAR(dx[i], grad, 1e-42 + slack);
        else if (std::abs(dx[i] - grad) > slack)
          EXPECT_LE(ulps(dx[i], grad), 6) << "f'(" << x << ") = " << dx[i] << " want " << grad;
      }
      float one, done;
      for (int64_t i : {int64_t(3), n / 2, n - 2}) {
        c.run(1, &g[i], &xs[i], &one, &done);
        EXPECT_EQ(std::memcmp(&one, &y[i], sizeof one), 0) << "the 1-lane tail differs at " << xs[i];
        EXPECT_EQ(std::memcmp(&done, &dx[i], sizeof done), 0) << "the 1-lane tail's gradient differs at " << xs[i];
      }
    }
  }
}

TEST(VecMath, ExpCoversTheFloatRange) {
  std::vector<float> xs = {-200.f,
                           -104.5f,
                           -103.9f,
                           -100.f,
                           -95.f,
                           -87.4f,
                           -87.3f,
                           88.7f,
                           88.72f,
                           88.7229f,
                           88.73f,
                           100.f,
                           std::numeric_limits<float>::infinity(),
                           -std::numeric_limits<float>::infinity()};
  for (float x = -110.f; x < 90.f; x += 0.0123f) xs.push_back(x);
  for (float x : xs) {
    const float got = fk::exp_of(fk::Vec<float, 1>{x})[0];
    const double ref = std::exp(double(x));
    if (ref > std::numeric_limits<float>::max())
      EXPECT_TRUE(std::isinf(got) && got > 0) << "exp(" << x << ") = " << got;
    else if (ref < std::numeric_limits<float>::min())
      EXPECT_NEAR(got, ref, std::numeric_limits<float>::denorm_min()) << "exp(" << x << ")";
    else EXPECT_LE(ulps(got, ref), 2) << "exp(" << x << ") = " << got;
  }
  EXPECT_TRUE(std::isnan(fk::exp_of(fk::Vec<float, 1>{std::numeric_limits<float>::quiet_NaN()})[0]));
}

// The vectorised unary kernels give the same bits in every lane as in the scalar tail, under every
// instruction set this CPU runs, for any length and alignment.
// log and log1p on every instruction set against libm's double values: log within 1 ulp (subnormals included),
// log1p within 3; 0 / -1 give -inf, negative inputs (below -1) NaN, inf inf, NaN NaN; lanes and the tail agree.
TEST(VecMath, LogAndLog1pMatchLibm) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> xs = {0.f,  -0.f, 1.f,     -1.f,         1e-45f, 1e-40f, 1.17549435e-38f, 3e38f,       inf,
                           -inf, NAN,  -1e-30f, -0.99999994f, 1e-8f,  -1e-8f, 0.70710677f,     0.70710683f, 16777216.f};
  for (float x = 1e-38f; x < 1e38f; x *= 1.0137f) xs.push_back(x), xs.push_back(-x);
  for (float x = 1e-45f; x < 1e-38f; x *= 2.f) xs.push_back(x);  // subnormals
  for (float x = -1.f; x < 4.f; x += 0.000731f) xs.push_back(x);
  const int64_t n = int64_t(xs.size());
  IsaGuard guard;
  for (fk::Isa isa : supported_isas()) {
    fk::set_kernel_isa(isa);
    for (bool p1 : {false, true}) {
      SCOPED_TRACE(std::string(isa_name(isa)) + (p1 ? " log1p" : " log"));
      std::vector<float> y(n);
      fk::vec_unary(p1 ? fk::VecUnary::Log1p : fk::VecUnary::Log, n, xs.data(), y.data());
      for (int64_t i = 0; i < n; ++i) {
        const double x = xs[i], want = p1 ? std::log1p(x) : std::log(x);
        if (std::isnan(want)) EXPECT_TRUE(std::isnan(y[i])) << "x = " << x << " gave " << y[i];
        else if (std::isinf(want)) EXPECT_EQ(double(y[i]), want) << "x = " << x;
        else EXPECT_LE(ulps(y[i], want), p1 ? 3 : 1) << "x = " << x << " gave " << y[i] << ", want " << want;
      }
      float one;
      for (int64_t i : {int64_t(3), n / 2, n - 2}) {
        fk::vec_unary(p1 ? fk::VecUnary::Log1p : fk::VecUnary::Log, 1, &xs[i], &one);
        EXPECT_EQ(std::memcmp(&one, &y[i], sizeof one), 0) << "the 1-lane tail differs at " << xs[i];
      }
    }
  }
}

// erf on every instruction set against libm's double values within 3 ulp (its series below 0.5, 1 - erfc above), the
// signed zeros, +-1 at the infinities and NaN; its gradient 2/sqrt(pi) exp(-x^2) g within x^2's rounding (as torch's).
TEST(VecMath, ErfMatchesLibm) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> xs = {0.f, -0.f, 1e-40f, -1e-30f, 0.49999997f, 0.5f, -0.5f, 6.f, -10.f, inf, -inf, NAN};
  for (float x = -8.f; x < 8.f; x += 0.000913f) xs.push_back(x);
  const int64_t n = int64_t(xs.size());
  std::vector<float> g(n, 0.75f);
  IsaGuard guard;
  for (fk::Isa isa : supported_isas()) {
    SCOPED_TRACE(isa_name(isa));
    fk::set_kernel_isa(isa);
    std::vector<float> y(n), dx(n);
    fk::vec_unary(fk::VecUnary::Erf, n, xs.data(), y.data());
    fk::vec_unary_backward(fk::VecUnary::Erf, n, g.data(), xs.data(), dx.data());
    for (int64_t i = 0; i < n; ++i) {
      const double x = xs[i], want = std::erf(x), dwant = 0.75 * M_2_SQRTPI * std::exp(-x * x);
      if (std::isnan(x)) {
        EXPECT_TRUE(std::isnan(y[i]) && std::isnan(dx[i]));
        continue;
      }
      if (x == 0) EXPECT_EQ(std::signbit(y[i]), std::signbit(x)) << "erf(" << x << ")";
      if (std::abs(want) < std::numeric_limits<float>::min()) EXPECT_NEAR(y[i], want, 1e-44) << "erf(" << x << ")";
      else EXPECT_LE(ulps(y[i], want), 3) << "erf(" << x << ") = " << y[i] << ", want " << want;
      if (std::isinf(x)) EXPECT_EQ(dx[i], 0.0f) << "erf'(" << x << ")";
      else EXPECT_NEAR(dx[i], dwant, (2e-7 + 1.2e-7 * x * x) * dwant + 1e-44) << "erf'(" << x << ")";
    }
  }
}

// sin and cos on every instruction set against libm's double values: within 1e-7 absolutely and 2 ulp where
// |value| > 1e-3 for |x| <= 8192; beyond (and inf, NaN) libm's float result itself; sin(-0) = -0; gradients
// g cos x and -g sin x likewise.
TEST(VecMath, SinCosMatchLibm) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> xs = {0.f, -0.f, 1e-30f, -1e-30f, 8192.f, -8192.f, 8192.001f, 1e5f, -3e7f, 3e38f, inf, -inf, NAN};
  for (float x = -8200.f; x < 8200.f; x += 0.0917f) xs.push_back(x);
  for (float x = -7.f; x < 7.f; x += 0.00091f) xs.push_back(x);
  const int64_t n = int64_t(xs.size());
  std::vector<float> g(n, 1.0f);
  IsaGuard guard;
  for (fk::Isa isa : supported_isas()) {
    fk::set_kernel_isa(isa);
    for (bool cos : {false, true}) {
      SCOPED_TRACE(std::string(isa_name(isa)) + (cos ? " cos" : " sin"));
      const fk::VecUnary op = cos ? fk::VecUnary::Cos : fk::VecUnary::Sin;
      std::vector<float> y(n), dx(n);
      fk::vec_unary(op, n, xs.data(), y.data());
      fk::vec_unary_backward(op, n, g.data(), xs.data(), dx.data());
      for (int64_t i = 0; i < n; ++i) {
        const float x = xs[i];
        if (!(std::abs(x) <= 8192.f)) {  // libm's own float result
          const float want = cos ? std::cos(x) : std::sin(x), dwant = cos ? -std::sin(x) : std::cos(x);
          if (std::isnan(want)) EXPECT_TRUE(std::isnan(y[i]) && std::isnan(dx[i])) << "x = " << x;
          else EXPECT_TRUE(y[i] == want && dx[i] == dwant) << "x = " << x;
          continue;
        }
        const double want = cos ? std::cos(double(x)) : std::sin(double(x));
        const double dwant = cos ? -std::sin(double(x)) : std::cos(double(x));
        EXPECT_NEAR(y[i], want, 1e-7) << "x = " << x;
        EXPECT_NEAR(dx[i], dwant, 1e-7) << "x = " << x;
        if (std::abs(want) > 1e-3) EXPECT_LE(ulps(y[i], want), 2) << "x = " << x << " gave " << y[i];
      }
      if (!cos) EXPECT_TRUE(std::signbit(y[1]) && y[1] == 0) << "sin(-0)";
      float one;
      for (int64_t i : {int64_t(3), n / 2, n - 2}) {
        fk::vec_unary(op, 1, &xs[i], &one);
        EXPECT_EQ(std::memcmp(&one, &y[i], sizeof one), 0) << "the 1-lane tail differs at " << xs[i];
      }
    }
  }
}

// Each op of `ops` over xs on every instruction set gives its reference's float bits (any NaN where the reference is
// NaN, when nan_bits is false).
void expect_reference_bits(const std::vector<float>& xs,
                           const std::vector<std::pair<fk::VecUnary, std::function<float(float)>>>& ops,
                           bool nan_bits) {
  const int64_t n = int64_t(xs.size());
  IsaGuard guard;
  for (fk::Isa isa : supported_isas()) {
    fk::set_kernel_isa(isa);
    for (const auto& [op, ref] : ops) {
      std::vector<float> y(n);
      fk::vec_unary(op, n, xs.data(), y.data());
      for (int64_t i = 0; i < n; ++i) {
        const float want = ref(xs[i]);
        if (!nan_bits && std::isnan(want))
          EXPECT_TRUE(std::isnan(y[i])) << isa_name(isa) << " op " << int(op) << " x " << xs[i];
        else
          EXPECT_EQ(std::memcmp(&y[i], &want, sizeof want), 0)
              << isa_name(isa) << " op " << int(op) << " of " << xs[i] << " = " << y[i] << ", want " << want;
      }
    }
  }
}

// sqrt, rsqrt, reciprocal, hardswish and hardsigmoid on every instruction set: the unary table's float arithmetic,
// bit for bit (std::max / std::min's NaN rule included).
TEST(VecMath, TableArithmeticOpsKeepTheirBits) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> xs = {0.f, -0.f, 1e-40f, -3.f, 3.f, -2.9999998f, 3.0000002f, 1e30f, -1e30f, inf, -inf, NAN};
  for (float x = -9.f; x < 9.f; x += 0.0137f) xs.push_back(x);
  const auto relu6_shifted = [](float x) { return std::min(std::max(x + 3.f, 0.f), 6.f); };
  expect_reference_bits(xs,
                        {{fk::VecUnary::Sqrt, [](float x) { return std::sqrt(x); }},
                         {fk::VecUnary::Rsqrt, [](float x) { return 1 / std::sqrt(x); }},
                         {fk::VecUnary::Reciprocal, [](float x) { return 1 / x; }},
                         {fk::VecUnary::Hardswish, [&](float x) { return x * relu6_shifted(x) / 6.f; }},
                         {fk::VecUnary::Hardsigmoid, [&](float x) { return relu6_shifted(x) / 6.f; }}},
                        false);
}

// relu and its gradient (from the output) on every instruction set: the unary table's selects, bit for bit (-0 stays
// -0, NaN stays NaN; the gradient at v NaN is g, at v = +-0 it is 0).
TEST(VecMath, ReluKeepsTheTablesBits) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> xs = {0.f, -0.f, 1e-40f, -1e-40f, 3.f, -3.f, inf, -inf, NAN};
  for (float x = -9.f; x < 9.f; x += 0.0137f) xs.push_back(x);
  expect_reference_bits(xs, {{fk::VecUnary::Relu, [](float x) { return x < 0 ? 0.f : x; }}}, true);
  const int64_t n = int64_t(xs.size());
  std::vector<float> g(xs.size()), dx(xs.size());
  for (int64_t i = 0; i < n; ++i) g[i] = float(i % 7) - 3.5f;
  IsaGuard guard;
  for (fk::Isa isa : supported_isas()) {
    fk::set_kernel_isa(isa);
    fk::vec_unary_backward(fk::VecUnary::Relu, n, g.data(), xs.data(), dx.data());
    for (int64_t i = 0; i < n; ++i) {
      const float want = xs[i] <= 0 ? 0.f : g[i];
      EXPECT_EQ(std::memcmp(&dx[i], &want, sizeof want), 0) << isa_name(isa) << " at v = " << xs[i];
    }
  }
}

// floor, ceil, trunc and round (halves to even) on every instruction set: the bits of libm's, -0, halves, NaN, the
// infinities, subnormals and floats past 2^23 (already whole) included.
TEST(VecMath, RoundingsAreExactOnEveryIsa) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> xs = {0.f,        -0.f,        0.5f,         1.5f,   2.5f,    -0.5f,      -1.5f,
                           -2.5f,      0.49999997f, -0.49999997f, 1e-40f, -1e-40f, 8388607.5f, -8388607.5f,
                           16777217.f, 3e38f,       -3e38f,       inf,    -inf,    NAN};
  for (float x = -40.f; x < 40.f; x += 0.173f) xs.push_back(x);
  expect_reference_bits(xs,
                        {{fk::VecUnary::Floor, [](float v) { return std::floor(v); }},
                         {fk::VecUnary::Ceil, [](float v) { return std::ceil(v); }},
                         {fk::VecUnary::Trunc, [](float v) { return std::trunc(v); }},
                         {fk::VecUnary::Round, [](float v) { return std::nearbyint(v); }}},
                        true);
}

TEST(VecMath, UnaryKernelsLanesMatchTheTail) {
  IsaGuard guard;
  const auto x = random_vector<float>(203, 5, -12, 12);
  for (fk::Isa isa : supported_isas()) {
    fk::set_kernel_isa(isa);
    for (fk::VecUnary op : {fk::VecUnary::Exp, fk::VecUnary::Sigmoid, fk::VecUnary::Tanh, fk::VecUnary::Silu,
                            fk::VecUnary::LogSigmoid, fk::VecUnary::Mish, fk::VecUnary::Floor, fk::VecUnary::Round,
                            fk::VecUnary::Erf, fk::VecUnary::Log, fk::VecUnary::Log1p}) {
      std::vector<float> whole(x.size()), one(x.size());
      fk::vec_unary(op, int64_t(x.size()) - 1, x.data() + 1, whole.data() + 1);
      for (size_t i = 1; i < x.size(); ++i) fk::vec_unary(op, 1, &x[i], &one[i]);
      EXPECT_EQ(std::memcmp(whole.data(), one.data(), x.size() * sizeof(float)), 0) << int(op) << " isa " << int(isa);
    }
  }
}

}  // namespace
