// Offset-driven gathers and scatters (see index.h).
#include "fastnn/kernels/cpu/index.h"

#include <algorithm>
#include <type_traits>

#include "fastnn/ops/internal.h"
#include "fastnn/parallel.h"

namespace fastnn::kernels {
namespace {

// Destination elements per parallel task in the scatters: tasks never share a destination element.
constexpr int64_t kScatterBlock = 4096;

template <class T>
inline void combine(T& d, T s, ScatterMode mode) {
  if (mode == ScatterMode::Assign) d = s;
  else if constexpr (std::is_same_v<T, bool>) d = mode == ScatterMode::Add ? (d || s) : (d && s);
  else d = mode == ScatterMode::Add ? wrapping_add(d, s) : wrapping_mul(d, s);
}

}  // namespace

std::vector<int64_t> walk_offsets(const std::vector<int64_t>& shape, const std::vector<int64_t>& strides,
                                  const std::vector<int64_t>& dims) {
  std::vector<int64_t> out{0};
  for (int64_t d : dims) {  // each dim multiplies the walk, the last one varying fastest
    std::vector<int64_t> next;
    next.reserve(out.size() * size_t(shape[d]));
    for (int64_t base : out)
      for (int64_t i = 0; i < shape[d]; ++i) next.push_back(base + i * strides[d]);
    out.swap(next);
  }
  return out;
}

void index_gather(DType dtype, const void* src, void* dst, const std::vector<int64_t>& pre,
                  const std::vector<int64_t>& mid, const std::vector<int64_t>& post) {
  const int64_t M = int64_t(mid.size()), Q = int64_t(post.size()), rows = int64_t(pre.size()) * M;
  // rows whose elements are adjacent in memory copy as one run
  const bool unit_post =
      std::adjacent_find(post.begin(), post.end(), [](int64_t a, int64_t b) { return b != a + 1; }) == post.end();
  FASTNN_DISPATCH_BY_SIZE(dtype, [&] {
    const scalar_t* s = static_cast<const scalar_t*>(src);
    scalar_t* d = static_cast<scalar_t*>(dst);
    parallel_for(rows, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(Q, 1)), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const scalar_t* row = s + pre[r / M] + mid[r % M];
        scalar_t* out = d + r * Q;
        if (unit_post && Q) std::copy(row + post[0], row + post[0] + Q, out);
        else
          for (int64_t q = 0; q < Q; ++q) out[q] = row[post[q]];
      }
    });
  });
}

void index_scatter(DType dtype, void* dst, const void* src, const std::vector<int64_t>& pre,
                   const std::vector<int64_t>& mid, const std::vector<int64_t>& post, ScatterMode mode) {
  const int64_t P = int64_t(pre.size()), M = int64_t(mid.size()), Q = int64_t(post.size());
  const int64_t blocks = (Q + kScatterBlock - 1) / kScatterBlock;
  auto run = [&](auto zero) {
    using scalar_t = decltype(zero);
    scalar_t* d = static_cast<scalar_t*>(dst);
    const scalar_t* s = static_cast<const scalar_t*>(src);
    // Task (p, block of q): the positions pre[p] + post[q] + anything differ between tasks, and inside a
    // task m runs in order, so repeated indices combine in index order.
    parallel_for(P * blocks, 1, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const int64_t p = t / blocks, q0 = (t % blocks) * kScatterBlock, q1 = std::min(Q, q0 + kScatterBlock);
        for (int64_t m = 0; m < M; ++m) {
          scalar_t* row = d + pre[p] + mid[m];
          const scalar_t* from = s + (p * M + m) * Q;
          for (int64_t q = q0; q < q1; ++q) combine(row[post[q]], from[q], mode);
        }
      }
    });
  };
  if (is_storage_dtype(dtype)) {  // assignment moves bits; accumulation needs arithmetic
    FASTNN_CHECK_TYPE(mode == ScatterMode::Assign, "[index_put_] accumulating into a ", dtype_name(dtype),
                      " tensor is not implemented; convert it with .float() or .long() first");
    FASTNN_DISPATCH_BY_SIZE(dtype, [&] { run(scalar_t{}); });
  } else {
    FASTNN_DISPATCH_ALL(dtype, "index_put_", [&] { run(scalar_t{}); });
  }
}

void dim_gather(DType dtype, const void* src, void* dst, const int64_t* index, const std::vector<int64_t>& outer,
                int64_t n, int64_t stride, const std::vector<int64_t>& inner) {
  const int64_t I = int64_t(inner.size()), rows = int64_t(outer.size()) * n;
  FASTNN_DISPATCH_BY_SIZE(dtype, [&] {
    const scalar_t* s = static_cast<const scalar_t*>(src);
    scalar_t* d = static_cast<scalar_t*>(dst);
    parallel_for(rows, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(I, 1)), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const scalar_t* base = s + outer[r / n];
        const int64_t* ix = index + r * I;
        for (int64_t i = 0; i < I; ++i) d[r * I + i] = base[ix[i] * stride + inner[i]];
      }
    });
  });
}

void dim_scatter(DType dtype, void* dst, const void* src, int64_t src_step, const int64_t* index,
                 const std::vector<int64_t>& outer, int64_t n, int64_t stride, const std::vector<int64_t>& inner,
                 ScatterMode mode) {
  const int64_t O = int64_t(outer.size()), I = int64_t(inner.size());
  const int64_t blocks = (I + kScatterBlock - 1) / kScatterBlock;
  auto run = [&](auto zero) {
    using scalar_t = decltype(zero);
    scalar_t* d = static_cast<scalar_t*>(dst);
    const scalar_t* s = static_cast<const scalar_t*>(src);
    // Task (o, block of i): distinct (o, i) never reach the same destination element; n runs in order.
    parallel_for(O * blocks, 1, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const int64_t o = t / blocks, i0 = (t % blocks) * kScatterBlock, i1 = std::min(I, i0 + kScatterBlock);
        scalar_t* base = d + outer[o];
        for (int64_t k = 0; k < n; ++k) {
          const int64_t row = (o * n + k) * I;
          for (int64_t i = i0; i < i1; ++i)
            combine(base[index[row + i] * stride + inner[i]], s[(row + i) * src_step], mode);
        }
      }
    });
  };
  if (is_storage_dtype(dtype)) {  // assignment moves bits; accumulation needs arithmetic
    FASTNN_CHECK_TYPE(mode == ScatterMode::Assign, "[scatter] accumulating into a ", dtype_name(dtype),
                      " tensor is not implemented; convert it with .float() or .long() first");
    FASTNN_DISPATCH_BY_SIZE(dtype, [&] { run(scalar_t{}); });
  } else {
    FASTNN_DISPATCH_ALL(dtype, "scatter", [&] { run(scalar_t{}); });
  }
}

int64_t count_true(const bool* mask, int64_t n) {
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) count += mask[i];
  return count;
}

void nonzero_coords(const bool* mask, const std::vector<int64_t>& shape, int64_t* const* out) {
  const size_t nd = shape.size();
  const int64_t last = nd ? shape.back() : 1;
  int64_t rows = 1;
  for (size_t k = 0; k + 1 < nd; ++k) rows *= shape[k];
  if (last == 0) return;
  std::vector<int64_t> at(nd ? nd - 1 : 0, 0);  // the coordinates of the current row
  int64_t* const inner = out[nd ? nd - 1 : 0];
  for (int64_t r = 0, j = 0; r < rows; ++r, mask += last) {
    // every element writes its coordinates at j, which moves on past the true ones: no branch on the mask
    for (int64_t w = 0; w < last; ++w) {
      for (size_t k = 0; k + 1 < nd; ++k) out[k][j] = at[k];
      inner[j] = w;
      j += mask[w];
    }
    for (size_t k = at.size(); k-- > 0;) {
      if (++at[k] < shape[k]) break;
      at[k] = 0;
    }
  }
}

}  // namespace fastnn::kernels
