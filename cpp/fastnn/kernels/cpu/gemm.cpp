// Packed, cache-blocked GEMM (the BLIS loop structure):
//   for each K block (fixed boundaries, in order): pack A into MR-row panels, B into NR-column panels;
//   for each tile of C (shared among threads):     MR x NR micro-kernels over the packed panels.
// A with rows contiguous in k and a narrow B is read in place instead of packed (the micro-kernel takes A's strides).
// A * B^T-shaped products with a long K skip packing and use dot-product tiles instead.
// Every C element is owned by one tile, and its k-sum runs in the same order whichever thread owns
// it, so results do not depend on the thread count. Kernels are compiled for AVX-512, AVX2+FMA and
// portable C++; the best set the CPU supports is picked at run time.
#include "fastnn/kernels/cpu/gemm.h"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>

#include "fastnn/arith.h"
#include "fastnn/asan.h"
#include "fastnn/error.h"
#include "fastnn/kernels/cpu/simd.h"
#include "fastnn/parallel.h"

namespace fastnn::kernels {
namespace {

// Blocking (in elements, measured on Zen 4): a tile's packed A (kTileRows x KC) stays in L2 while
// its B micro-panels stream past it. kMaxRowsBlock/kMaxColsBlock bound the packing buffers.
constexpr int64_t kKC = 512;
constexpr int64_t kTileRows = 144;
constexpr int64_t kTileCols = 512;
constexpr int64_t kMaxRowsBlock = 1024;
constexpr int64_t kMaxColsBlock = 2048;
// Tiles are halved until a block has this many (a rule on the shape only, not on threads).
constexpr int64_t kMinTiles = 8;
// B is read in place (not packed) when it is row-major and A has at most this many MR-row panels.
constexpr int64_t kDirectBPanels = 4;
// A is read in place (not packed) when its rows are contiguous in k and B has at most this many NR-column panels
// (transformer GEMMs with N = 128: 86-90 -> 92-96 GFLOP/s; at N = 512 and more, packed A read as fast or faster).
constexpr int64_t kDirectAPanels = 16;
// A * B^T-style products use dot-product tiles (no packing) when K is long relative to M and N:
// packing would cost about K * (M + N) element moves against M * N final sums across lanes.
// Only for small outputs: each dot tile streams its rows of A and B whole, so a larger C re-reads them from memory
// (a ResNet's 64x576 weight gradient over K = 65,536 ran at 30 GFLOP/s that way, 70 packed).
constexpr int64_t kDotMinK = 32;
constexpr int64_t kDotRatio = 8;
constexpr int64_t kDotMaxOutputs = 4096;
constexpr int64_t kDotTaskCols = 64;
// Below this many flops a GEMM runs on one thread (at 1e6, LeNet's 64x120x84 ran slower on two threads
// than on one: waking the second costs more than it saves); below kNaiveMacs multiply-adds, a plain loop.
constexpr double kParallelFlops = 4e6;
constexpr int64_t kNaiveMacs = 256;

// ---------------------------------------------------------------- SIMD building blocks
// The kernels are written once with GCC vector extensions and compiled per instruction set by the
// thin target-attributed wrappers further down (always_inline bodies take the caller's target).

// One butterfly stage of an S x S transpose: swaps bit H of the row index with bit H of the
// column index for the row pair (x, y = x + H).
template <int H, class V, size_t... C>
FASTNN_INLINE void swap_index_bit(V& x, V& y, std::index_sequence<C...>) {
  constexpr int S = sizeof...(C);
  const V lo = __builtin_shufflevector(x, y, ((C & H) ? S + C - H : C)...);
  const V hi = __builtin_shufflevector(x, y, ((C & H) ? S + C : C + H)...);
  x = lo;
  y = hi;
}

// Transposes the S x S block held in r[0..S) in place (S a power of two).
template <int S, int H = S / 2, class V>
FASTNN_INLINE void transpose(V* r) {
#pragma GCC unroll 16
  for (int i = 0; i < S; ++i)
    if (!(i & H)) swap_index_bit<H>(r[i], r[i + H], std::make_index_sequence<S>());
  if constexpr (H > 1) transpose<S, H / 2>(r);
}

// Rows [R0, W) of a panel whose source is contiguous in k, transposed in S x S blocks: S is the largest power
// of two that fits both the L lanes and the rows left, so a 6-row panel goes as 4 rows then 2.
template <class T, int W, int L, int R0 = 0>
FASTNN_INLINE void pack_k_contiguous(const T* src, int64_t rs, int64_t n, int64_t kc, T* dst) {
  if constexpr (R0 < W) {
    constexpr int S = std::min(L, 1 << (31 - __builtin_clz(W - R0)));
    using V = Vec<T, S>;
    const int64_t m = std::clamp<int64_t>(n - R0, 0, S);
    const T* s = src + R0 * rs;
    T* d = dst + R0;
    int64_t k = 0;
    for (; k + S <= kc; k += S) {
      V blk[S];
#pragma GCC unroll 16
      for (int i = 0; i < S; ++i) {
        if (i < m) std::memcpy(&blk[i], s + i * rs + k, sizeof(V));
        else blk[i] = V{};
      }
      transpose<S>(blk);
#pragma GCC unroll 16
      for (int i = 0; i < S; ++i) std::memcpy(d + (k + i) * W, &blk[i], sizeof(V));
    }
    for (; k < kc; ++k)
      for (int i = 0; i < S; ++i) d[k * W + i] = i < m ? s[i * rs + k] : T(0);
    pack_k_contiguous<T, W, L, R0 + S>(src, rs, n, kc, dst);
  }
}

// Packs a panel: dst[k * W + r] = src[r * rs + k * ks] for r < n, zero for n <= r < W.
// Used for A (r = row) and B (r = column); a source contiguous in k is transposed in blocks of at most L.
template <class T, int W, int L>
FASTNN_INLINE void pack_body(const T* src, int64_t rs, int64_t ks, int64_t n, int64_t kc, T* dst) {
  if (rs == 1) {
    for (int64_t k = 0; k < kc; ++k, dst += W) {
      if (n == W) {
        std::memcpy(dst, src + k * ks, W * sizeof(T));
      } else {
        for (int64_t r = 0; r < W; ++r) dst[r] = r < n ? src[k * ks + r] : T(0);
      }
    }
  } else if (ks == 1) {
    pack_k_contiguous<T, W, L>(src, rs, n, kc, dst);
  } else {
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t r = 0; r < W; ++r) dst[k * W + r] = r < n ? src[r * rs + k * ks] : T(0);
  }
}

// Micro-kernel: C[R x nr] (+)= A (R x kc: row i at a + i * ars, k stride aks; a packed panel has ars = 1,
// aks = MR, A read in place ars = its row stride, aks = 1) * B panel (kc x V*L, row stride ldb: packed, or B
// itself). Each element's k-sum is one multiply-add chain in k order, then one add to C when beta, else to
// bias[j] when there is a bias (the same in every row).
template <class T, int L, int R, int V>
FASTNN_INLINE void micro_body(int64_t kc, const T* a, int64_t ars, int64_t aks, const T* b, int64_t ldb, T* c,
                              int64_t ldc, int64_t nr, bool beta, const T* bias) {
  using Vt = Vec<T, L>;
  Vt acc[R][V];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) acc[i][v] = Vt{};
  for (int64_t k = 0; k < kc; ++k, a += aks, b += ldb) {
    Vt bv[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) std::memcpy(&bv[v], b + v * L, sizeof(Vt));
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const T ai = a[i * ars];
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[i][v] += ai * bv[v];  // contracted to an FMA where the target has one
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i, c += ldc) {
    if (nr == V * L) {
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) {
        Vt x = acc[i][v];
        if (beta || bias) {
          Vt old;
          std::memcpy(&old, (beta ? c : bias) + v * L, sizeof(Vt));
          x = old + x;
        }
        std::memcpy(c + v * L, &x, sizeof(Vt));
      }
    } else {  // a partial tile goes through a buffer
      T row[V * L];
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) std::memcpy(row + v * L, &acc[i][v], sizeof(Vt));
      for (int64_t j = 0; j < nr; ++j) c[j] = beta ? c[j] + row[j] : bias ? bias[j] + row[j] : row[j];
    }
  }
}

// Adds lanes [W, 2W) of v onto lanes [0, W).
template <int W, class V, size_t... I>
FASTNN_INLINE void fold_lanes(V& v, std::index_sequence<I...>) {
  v += __builtin_shufflevector(v, v, (I < W ? I + W : I)...);
}

// Sums the lanes of v into lane 0 by halving (a fixed tree).
template <int L, int W = L / 2, class V>
FASTNN_INLINE void sum_lanes(V& v) {
  fold_lanes<W>(v, std::make_index_sequence<L>());
  if constexpr (W > 1) sum_lanes<L, W / 2>(v);
}

// Dot-product micro-kernel for A rows and B columns both contiguous in k (the "A * B^T" layout,
// e.g. a weight gradient): C[R x Q] (+)= A[R x K] * B[K x Q] with no packing; needs K >= L. Each
// element sums lane-wise partial products over k (the last K % L values come from the vectors
// ending at K, their other lanes zeroed), adds its lanes in a fixed tree, then adds to C when beta.
template <class T, int L, int R, int Q>
FASTNN_INLINE void dot_body(int64_t K, const T* a, int64_t lda, const T* b, int64_t ldb, T* c, int64_t ldc, bool beta) {
  using V = Vec<T, L>;
  using Lane = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  using Lanes = Vec<Lane, L>;
  V acc[R][Q], av[R], bv[Q];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < Q; ++j) acc[i][j] = V{};
  const int64_t tail = K % L;
  for (int64_t k = 0; k < K; k += L) {
    const bool last = k + L > K;
    const int64_t k0 = last ? K - L : k;
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) std::memcpy(&av[i], a + i * lda + k0, sizeof(V));
#pragma GCC unroll 8
    for (int j = 0; j < Q; ++j) std::memcpy(&bv[j], b + j * ldb + k0, sizeof(V));
    if (last) {  // lanes before K - tail were summed already
      Lanes lane;
#pragma GCC unroll 16
      for (int l = 0; l < L; ++l) lane[l] = l;
#pragma GCC unroll 8
      for (int j = 0; j < Q; ++j) bv[j] = lane < Lane(L - tail) ? V{} : bv[j];
    }
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
      for (int j = 0; j < Q; ++j) acc[i][j] += av[i] * bv[j];
  }
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < Q; ++j) {
      sum_lanes<L>(acc[i][j]);
      c[i * ldc + j] = beta ? c[i * ldc + j] + acc[i][j][0] : acc[i][j][0];
    }
}

// ---------------------------------------------------------------- kernel sets, one per ISA
// L lanes per vector, MR x (NV * L) micro-tiles; micro<R, V> handles R rows and V vectors;
// dot<R, Q> an R x Q tile of dot products (at most DR x DQ).
#define FASTNN_KERNEL_SET(Name, TARGET, VEC_BYTES, MR_, DR_)                                                  \
  template <class T>                                                                                          \
  struct Name {                                                                                               \
    static constexpr int L = VEC_BYTES / sizeof(T), MR = MR_, NV = 2, NR = NV * L, DR = DR_, DQ = 4;          \
    template <int R, int V>                                                                                   \
    TARGET static void micro(int64_t kc, const T* a, int64_t ars, int64_t aks, const T* b, int64_t ldb, T* c, \
                             int64_t ldc, int64_t nr, bool beta, const T* bias) {                             \
      micro_body<T, L, R, V>(kc, a, ars, aks, b, ldb, c, ldc, nr, beta, bias);                                \
    }                                                                                                         \
    template <int W>                                                                                          \
    TARGET static void pack(const T* src, int64_t rs, int64_t ks, int64_t n, int64_t kc, T* dst) {            \
      pack_body<T, W, L>(src, rs, ks, n, kc, dst);                                                            \
    }                                                                                                         \
    template <int R, int Q>                                                                                   \
    TARGET static void dot(int64_t K, const T* a, int64_t lda, const T* b, int64_t ldb, T* c, int64_t ldc,    \
                           bool beta) {                                                                       \
      dot_body<T, L, R, Q>(K, a, lda, b, ldb, c, ldc, beta);                                                  \
    }                                                                                                         \
  };

FASTNN_KERNEL_SET(GenericKernel, , 16, 4, 2)
#ifdef FASTNN_X86
FASTNN_KERNEL_SET(Avx2Kernel, FASTNN_TARGET_AVX2, 32, 6, 2)
FASTNN_KERNEL_SET(Avx512Kernel, FASTNN_TARGET_AVX512, 64, 8, 4)
#endif

template <class T>
using MicroFn = void (*)(int64_t kc, const T* a, int64_t ars, int64_t aks, const T* b, int64_t ldb, T* c, int64_t ldc,
                         int64_t nr, bool beta, const T* bias);
template <class T>
using DotFn = void (*)(int64_t K, const T* a, int64_t lda, const T* b, int64_t ldb, T* c, int64_t ldc, bool beta);

// ---------------------------------------------------------------- driver
// micro-kernels of a kernel set by [rows - 1][vectors - 1].
template <class Kern, class T>
struct MicroTable {
  MicroFn<T> fn[Kern::MR][Kern::NV];
  MicroTable() { fill(std::make_integer_sequence<int, Kern::MR>()); }
  template <int... R>
  void fill(std::integer_sequence<int, R...>) {
    ((fn[R][0] = &Kern::template micro<R + 1, 1>, fn[R][1] = &Kern::template micro<R + 1, 2>), ...);
  }
};

// dot-product kernels of a kernel set by [rows - 1][columns - 1].
template <class Kern, class T>
struct DotTable {
  DotFn<T> fn[Kern::DR][Kern::DQ];
  DotTable() { fill(std::make_integer_sequence<int, Kern::DR>()); }
  template <int... R>
  void fill(std::integer_sequence<int, R...>) {
    ((fn[R][0] = &Kern::template dot<R + 1, 1>, fn[R][1] = &Kern::template dot<R + 1, 2>,
      fn[R][2] = &Kern::template dot<R + 1, 3>, fn[R][3] = &Kern::template dot<R + 1, 4>),
     ...);
  }
};

// Packing space reused across calls by the calling thread (64-byte aligned, grows on demand).
template <class T>
T* scratch(size_t n) {
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  thread_local std::unique_ptr<void, Free> buf;
  thread_local size_t cap = 0;
  if (n > cap) {
    const size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, bytes);
    if (!p) throw OutOfMemory(str("[gemm] cannot allocate ", bytes, " bytes of packing space"));
    buf.reset(p);
    cap = bytes / sizeof(T);
  }
  // Only the first n elements are this call's; the rest of a larger buffer is poisoned under ASan.
  FASTNN_UNPOISON(buf.get(), n * sizeof(T));
  FASTNN_POISON(static_cast<T*>(buf.get()) + n, (cap - n) * sizeof(T));
  return static_cast<T*>(buf.get());
}

// The K-block boundaries: block kb covers [k_begin(kb), k_begin(kb + 1)); they depend on K only.
inline int64_t k_blocks(int64_t K) { return ceil_div(K, kKC); }
inline int64_t k_begin(int64_t K, int64_t kb) { return K * kb / k_blocks(K); }

// B packed whole (pack_b): K block kb starts at k0 * Npad (Npad = N rounded up to NR); in it, column panel q
// at q * NR * kc, packed as gemm_packed packs it.
template <class Kern, class T>
void pack_b_panels(int64_t K, int64_t N, const T* B, int64_t b_rs, int64_t b_cs, T* dst) {
  constexpr int NR = Kern::NR, L = Kern::L;
  const int64_t kblocks = k_blocks(K), np = ceil_div(N, NR), npad = np * NR;
  parallel_for(kblocks * np, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const int64_t kb = i / np, q = i % np, k0 = k_begin(K, kb), kc = k_begin(K, kb + 1) - k0;
      const int64_t cols = std::min<int64_t>(NR, N - q * NR);
      const T* src = B + k0 * b_rs + q * NR * b_cs;
      T* d = dst + k0 * npad + q * NR * kc;
      if (cols > L) Kern::template pack<NR>(src, b_cs, b_rs, cols, kc, d);
      else Kern::template pack<L>(src, b_cs, b_rs, cols, kc, d);
    }
  });
}

// Bpre: B already packed by pack_b_panels (B, b_rs and b_cs are then unused). bias (with !accumulate): C = bias + A*B.
template <class Kern, class T>
void gemm_packed(int64_t M, int64_t N, int64_t K, const T* A, int64_t a_rs, int64_t a_cs, const T* B, int64_t b_rs,
                 int64_t b_cs, T* C, int64_t ldc, bool accumulate, int threads, const T* Bpre = nullptr,
                 const T* bias = nullptr) {
  constexpr int MR = Kern::MR, NR = Kern::NR, L = Kern::L;
  static const MicroTable<Kern, T> table;
  // K blocks of near-equal size; their boundaries depend on K only.
  const int64_t kblocks = k_blocks(K), kc_max = ceil_div(K, kblocks), npad = ceil_div(N, NR) * NR;
  const int64_t rows_block = std::min(M, kMaxRowsBlock), cols_block = std::min(N, kMaxColsBlock);
  const int64_t a_size = ceil_div(rows_block, MR) * MR * kc_max;
  T* Ap = scratch<T>(a_size + ceil_div(cols_block, NR) * NR * kc_max);
  T* Bp = Ap + a_size;

  for (int64_t jc = 0; jc < N; jc += kMaxColsBlock) {
    const int64_t nc = std::min(kMaxColsBlock, N - jc), np = ceil_div(nc, NR);
    for (int64_t ic = 0; ic < M; ic += kMaxRowsBlock) {
      const int64_t mc = std::min(kMaxRowsBlock, M - ic), mp = ceil_div(mc, MR);
      // Row panel p: rows [row0(p), row0(p) + rows(p)) of the block, packed at slot p. A last panel of one or two
      // rows runs at half speed or less (too few accumulators to cover the FMA latency), so it and the panel
      // before it share their rows evenly: 32 rows go as 6+6+6+6+4+4, not 6+6+6+6+6+2.
      const int64_t tail = mc - (mp - 1) * MR, pair = mp >= 2 && 3 * tail <= MR ? (MR + tail + 1) / 2 : 0;
      auto row0 = [&](int64_t p) { return p * MR + (pair && p == mp - 1 ? pair - MR : 0); };
      auto rows = [&](int64_t p) {
        return p < mp - 2 || !pair ? std::min<int64_t>(MR, mc - p * MR) : p == mp - 2 ? pair : MR + tail - pair;
      };
      // Tiles of tm x tn micro-panels: halved until there are kMinTiles, preferring to keep
      // all rows (or all columns) in one tile row (column); then each panel of the split operand
      // belongs to one tile and is packed by the thread that computes the tile.
      int64_t tm = std::min<int64_t>(mp, kTileRows / MR), tn = std::min<int64_t>(np, kTileCols / NR);
      while (ceil_div(mp, tm) * ceil_div(np, tn) < kMinTiles && (tm > 1 || tn > 1)) {
        const bool split_cols = tm == mp ? tn > 1 : tn == np ? tm == 1 : tn >= tm;
        if (split_cols) tn = ceil_div(tn, 2);
        else tm = ceil_div(tm, 2);
      }
      // Tiles of (nearly) equal size, so that the threads claiming them finish together: 171 panels go as
      // 8 x 22 (the last 17), not 7 x 24 + 3.
      tm = ceil_div(mp, ceil_div(mp, tm));
      tn = ceil_div(np, ceil_div(np, tn));
      const int64_t tiles_m = ceil_div(mp, tm), tiles = tiles_m * ceil_div(np, tn);
      const bool a_in_task = tn == np, b_in_task = tm == mp;
      // With few row panels, full-width B panels are read in place (packing would cost more
      // than it saves); the last, partial one is still packed (zero-padded).
      const int64_t b_packed0 = !Bpre && b_cs == 1 && mp <= kDirectBPanels ? nc / NR : 0;
      // A whose rows are contiguous in k is read in place when few B panels meet each of its panels (a transposing
      // copy that few uses amortise; with many, the packed panel's single stream reads faster than MR rows).
      const bool a_direct = a_cs == 1 && np <= kDirectAPanels;
      for (int64_t kb = 0; kb < kblocks; ++kb) {
        const int64_t k0 = k_begin(K, kb), kc = k_begin(K, kb + 1) - k0;
        const bool beta = accumulate || kb > 0;
        auto pack_a = [&](int64_t p) {
          if (a_direct) return;
          Kern::template pack<MR>(A + (ic + row0(p)) * a_rs + k0 * a_cs, a_rs, a_cs, rows(p), kc, Ap + p * MR * kc);
        };
        auto pack_b = [&](int64_t q) {
          if (Bpre || q < b_packed0) return;
          const int64_t cols = std::min<int64_t>(NR, nc - q * NR);
          const T* src = B + k0 * b_rs + (jc + q * NR) * b_cs;
          if (cols > L) Kern::template pack<NR>(src, b_cs, b_rs, cols, kc, Bp + q * NR * kc);
          else Kern::template pack<L>(src, b_cs, b_rs, cols, kc, Bp + q * NR * kc);
        };
        // Panels shared by several tiles are packed first, by all threads.
        const int64_t shared_a = a_in_task || a_direct ? 0 : mp, shared = shared_a + (b_in_task || Bpre ? 0 : np);
        if (shared > 0) run_tasks(shared, threads, [&](int64_t i) { i < shared_a ? pack_a(i) : pack_b(i - shared_a); });
        run_tasks(tiles, threads, [&](int64_t t) {
          const int64_t p0 = t % tiles_m * tm, p1 = std::min(mp, p0 + tm);
          const int64_t q0 = t / tiles_m * tn, q1 = std::min(np, q0 + tn);
          if (a_in_task)
            for (int64_t p = p0; p < p1; ++p) pack_a(p);
          for (int64_t q = q0; q < q1; ++q) {
            if (b_in_task) pack_b(q);
            const int64_t cols = std::min<int64_t>(NR, nc - q * NR);
            const int nv = ceil_div(cols, L);
            const bool direct = q < b_packed0;
            const T* bp = direct ? B + k0 * b_rs + jc + q * NR
                          : Bpre ? Bpre + k0 * npad + (jc + q * NR) * kc
                                 : Bp + q * NR * kc;
            const int64_t ldb = direct ? b_rs : nv * L;
            for (int64_t p = p0; p < p1; ++p) {
              const T* ap = a_direct ? A + (ic + row0(p)) * a_rs + k0 : Ap + p * MR * kc;
              table.fn[rows(p) - 1][nv - 1](kc, ap, a_direct ? a_rs : 1, a_direct ? 1 : MR, bp, ldb,
                                            C + (ic + row0(p)) * ldc + jc + q * NR, ldc, cols, beta,
                                            bias ? bias + jc + q * NR : nullptr);
            }
          }
        });
      }
    }
  }
}

// C = A * B^T-style products (a_cs == 1, b_rs == 1) by dot-product tiles, with no packing. Tasks
// are strips of DR rows by kDotTaskCols columns.
template <class Kern, class T>
void gemm_dot(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc,
              bool accumulate, int threads) {
  constexpr int DR = Kern::DR, DQ = Kern::DQ;
  static const DotTable<Kern, T> table;
  const int64_t strips = ceil_div(M, DR), chunks = ceil_div(N, kDotTaskCols);
  auto task = [&](int64_t t) {
    const int64_t i = t % strips * DR, rows = std::min<int64_t>(DR, M - i);
    const int64_t j1 = std::min(N, (t / strips + 1) * kDotTaskCols);
    for (int64_t j = t / strips * kDotTaskCols; j < j1; j += DQ)
      table.fn[rows - 1][std::min<int64_t>(DQ, j1 - j) - 1](K, A + i * lda, lda, B + j * ldb, ldb, C + i * ldc + j, ldc,
                                                            accumulate);
  };
  run_tasks(strips * chunks, threads, task);
}

// Tiny products: a direct loop beats packing.
template <class T>
void gemm_naive(int64_t M, int64_t N, int64_t K, const T* A, int64_t a_rs, int64_t a_cs, const T* B, int64_t b_rs,
                int64_t b_cs, T* C, int64_t ldc, bool accumulate) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      T s = 0;
      for (int64_t k = 0; k < K; ++k) s += A[i * a_rs + k * a_cs] * B[k * b_rs + j * b_cs];
      C[i * ldc + j] = accumulate ? C[i * ldc + j] + s : s;
    }
}

// K = 1 (an outer product, e.g. a linear layer's weight gradient at batch 1): row by row, no packing.
template <class T>
void gemm_rank1(int64_t M, int64_t N, const T* A, int64_t a_rs, const T* B, int64_t b_cs, T* C, int64_t ldc,
                bool accumulate) {
  for (int64_t i = 0; i < M; ++i) {
    const T a = A[i * a_rs];
    T* c = C + i * ldc;
    if (accumulate)
      for (int64_t j = 0; j < N; ++j) c[j] += a * B[j * b_cs];
    else
      for (int64_t j = 0; j < N; ++j) c[j] = a * B[j * b_cs];
  }
}

// Calls f(Kern()) with the kernel set of the instruction set chosen now.
template <class T, class F>
void with_kernel_set(const F& f) {
  switch (kernel_isa()) {
#ifdef FASTNN_X86
    case Isa::Avx512: return f(Avx512Kernel<T>());
    case Isa::Avx2: return f(Avx2Kernel<T>());
#endif
    default: return f(GenericKernel<T>());
  }
}

// An empty product: C is zeroed (K = 0, no accumulate) or left alone. True when there is nothing more to do.
template <class T>
bool empty_product(int64_t M, int64_t N, int64_t K, T* C, int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return true;
  if (K > 0) return false;
  if (!accumulate)
    for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, T(0));
  return true;
}

// How many threads share an M x N x K product (1 below kParallelFlops; inside a parallel loop the
// pool runs it serially whatever this says).
int gemm_threads(int64_t M, int64_t N, int64_t K) { return 2.0 * M * N * K >= kParallelFlops ? get_num_threads() : 1; }

}  // namespace

template <class T>
void gemm(int64_t M, int64_t N, int64_t K, const T* A, int64_t a_rs, int64_t a_cs, const T* B, int64_t b_rs,
          int64_t b_cs, T* C, int64_t ldc, bool accumulate, const T* bias) {
  FASTNN_CHECK(!(bias && accumulate), "[gemm] a bias replaces C: accumulate must be false");
  if (M <= 0 || N <= 0) return;
  const bool naive = M * N * K <= kNaiveMacs;
  const bool dot =
      a_cs == 1 && b_rs == 1 && K >= kDotMinK && K * (M + N) >= kDotRatio * M * N && M * N <= kDotMaxOutputs;
  if (bias && (K <= 1 || naive || dot)) {  // paths without a bias epilogue: C = bias, then C += A * B
    for (int64_t i = 0; i < M; ++i) std::copy(bias, bias + N, C + i * ldc);
    accumulate = true;
    bias = nullptr;
  }
  if (empty_product(M, N, K, C, ldc, accumulate)) return;
  if (naive) return gemm_naive(M, N, K, A, a_rs, a_cs, B, b_rs, b_cs, C, ldc, accumulate);
  if (K == 1) return gemm_rank1(M, N, A, a_rs, B, b_cs, C, ldc, accumulate);
  const int threads = gemm_threads(M, N, K);
  with_kernel_set<T>([&](auto kern) {
    using Kern = decltype(kern);
    if (dot) gemm_dot<Kern>(M, N, K, A, a_rs, B, b_cs, C, ldc, accumulate, threads);
    else
      gemm_packed<Kern>(M, N, K, A, a_rs, a_cs, B, b_rs, b_cs, C, ldc, accumulate, threads,
                        static_cast<const T*>(nullptr), bias);
  });
}

template <class T>
PackedB<T> pack_b(int64_t K, int64_t N, const T* B, int64_t b_rs, int64_t b_cs) {
  PackedB<T> p;
  p.K = K, p.N = N, p.isa = int(kernel_isa());
  if (K <= 0 || N <= 0) return p;
  with_kernel_set<T>([&](auto kern) {
    using Kern = decltype(kern);
    p.data.resize(size_t(K * ceil_div(N, Kern::NR) * Kern::NR));
    pack_b_panels<Kern>(K, N, B, b_rs, b_cs, p.data.data());
  });
  return p;
}

template <class T>
void gemm_packed_b(int64_t M, const T* A, int64_t a_rs, int64_t a_cs, const PackedB<T>& B, T* C, int64_t ldc,
                   bool accumulate) {
  const int64_t N = B.N, K = B.K;
  if (empty_product(M, N, K, C, ldc, accumulate)) return;
  FASTNN_CHECK(B.isa == int(kernel_isa()), "[gemm] B was packed for another instruction set");
  const int threads = gemm_threads(M, N, K);
  const T* packed = B.data.data();
  with_kernel_set<T>([&](auto kern) {
    gemm_packed<decltype(kern)>(M, N, K, A, a_rs, a_cs, packed, 0, 0, C, ldc, accumulate, threads, packed);
  });
}

template void gemm<float>(int64_t, int64_t, int64_t, const float*, int64_t, int64_t, const float*, int64_t, int64_t,
                          float*, int64_t, bool, const float*);
template void gemm<double>(int64_t, int64_t, int64_t, const double*, int64_t, int64_t, const double*, int64_t, int64_t,
                           double*, int64_t, bool, const double*);
template PackedB<float> pack_b<float>(int64_t, int64_t, const float*, int64_t, int64_t);
template PackedB<double> pack_b<double>(int64_t, int64_t, const double*, int64_t, int64_t);
template void gemm_packed_b<float>(int64_t, const float*, int64_t, int64_t, const PackedB<float>&, float*, int64_t,
                                   bool);
template void gemm_packed_b<double>(int64_t, const double*, int64_t, int64_t, const PackedB<double>&, double*, int64_t,
                                    bool);

}  // namespace fastnn::kernels
