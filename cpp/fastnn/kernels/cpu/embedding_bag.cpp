#include "fastnn/kernels/cpu/embedding_bag.h"

#include <algorithm>
#include <vector>

#include "fastnn/kernels/cpu/group_by_key.h"
#include "fastnn/parallel.h"

namespace fastnn::kernels {
namespace {

int64_t grain_for(int64_t per_item) { return std::max<int64_t>(1, kGrainSize / std::max<int64_t>(per_item, 1)); }

template <class T>
void forward(const T* w, int64_t dim, const int64_t* index, const int64_t* start, const int64_t* end, int64_t bags,
             int64_t pad, BagMode mode, const T* psw, T* out, int64_t* bag_size, int64_t* argmax) {
  parallel_for(bags, grain_for(dim * 4), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      T* o = out + b * dim;
      std::fill(o, o + dim, T(0));
      int64_t* am = mode == BagMode::Max ? argmax + b * dim : nullptr;
      if (am) std::fill(am, am + dim, int64_t(-1));
      int64_t count = 0;
      for (int64_t i = start[b]; i < end[b]; ++i) {
        int64_t r = index[i];
        if (r == pad) continue;
        const T* row = w + r * dim;
        if (mode == BagMode::Max) {
          for (int64_t d = 0; d < dim; ++d)
            if (count == 0 || row[d] > o[d]) o[d] = row[d], am[d] = r;
        } else {
          T s = psw ? psw[i] : T(1);
          for (int64_t d = 0; d < dim; ++d) o[d] += psw ? row[d] * s : row[d];
        }
        ++count;
      }
      if (mode == BagMode::Mean && count > 0)
        for (int64_t d = 0; d < dim; ++d) o[d] /= T(count);
      bag_size[b] = count;
    }
  });
}

template <class T>
void backward_sum(const T* g, int64_t dim, const int64_t* index, const int64_t* bag_of, int64_t n, int64_t rows,
                  BagMode mode, const T* psw, const int64_t* bag_size, bool scale_by_freq, T* gw) {
  // positions grouped by row, in position order within a row
  const KeyGroups groups =
      group_by_key(n, rows, [&](int64_t i) { return index[i]; }, [&](int64_t i) { return bag_of[i] >= 0; });
  const std::vector<int64_t>&first = groups.first, &order = groups.order;
  parallel_for(rows, grain_for(dim * 4), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      T* out = gw + r * dim;
      for (int64_t k = first[r]; k < first[r + 1]; ++k) {
        int64_t i = order[k], b = bag_of[i];
        T s = mode == BagMode::Mean ? T(1) / T(bag_size[b]) : psw ? psw[i] : T(1);
        const T* gb = g + b * dim;
        for (int64_t d = 0; d < dim; ++d) out[d] += gb[d] * s;
      }
      if (scale_by_freq && first[r + 1] > first[r]) {
        T c = T(first[r + 1] - first[r]);
        for (int64_t d = 0; d < dim; ++d) out[d] /= c;
      }
    }
  });
}

template <class T>
void backward_max(const T* g, int64_t dim, int64_t bags, const int64_t* argmax, T* gw) {
  parallel_for(dim, grain_for(bags), [&](int64_t d0, int64_t d1) {
    for (int64_t d = d0; d < d1; ++d)
      for (int64_t b = 0; b < bags; ++b) {
        int64_t r = argmax[b * dim + d];
        if (r >= 0) gw[r * dim + d] += g[b * dim + d];
      }
  });
}

template <class T>
void backward_psw(const T* g, const T* w, int64_t dim, const int64_t* index, const int64_t* bag_of, int64_t n, T* gp) {
  parallel_for(n, grain_for(dim), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      T s = 0;
      if (bag_of[i] >= 0)
        for (int64_t d = 0; d < dim; ++d) s += g[bag_of[i] * dim + d] * w[index[i] * dim + d];
      gp[i] = s;
    }
  });
}

}  // namespace

#define FASTNN_BAG_DISPATCH(DT, CALL) \
  if ((DT) == DType::Float64) {       \
    using T = double;                 \
    CALL;                             \
  } else {                            \
    using T = float;                  \
    CALL;                             \
  }

void embedding_bag_forward(DType dtype, const void* weight, int64_t dim, const int64_t* index, const int64_t* start,
                           const int64_t* end, int64_t bags, int64_t padding_idx, BagMode mode, const void* psw,
                           void* out, int64_t* bag_size, int64_t* argmax) {
  FASTNN_BAG_DISPATCH(dtype, forward<T>(static_cast<const T*>(weight), dim, index, start, end, bags, padding_idx, mode,
                                        static_cast<const T*>(psw), static_cast<T*>(out), bag_size, argmax));
}

void embedding_bag_backward_sum(DType dtype, const void* grad, int64_t dim, const int64_t* index, const int64_t* bag_of,
                                int64_t n, int64_t num_rows, BagMode mode, const void* psw, const int64_t* bag_size,
                                bool scale_by_freq, void* grad_weight) {
  FASTNN_BAG_DISPATCH(
      dtype, backward_sum<T>(static_cast<const T*>(grad), dim, index, bag_of, n, num_rows, mode,
                             static_cast<const T*>(psw), bag_size, scale_by_freq, static_cast<T*>(grad_weight)));
}

void embedding_bag_backward_max(DType dtype, const void* grad, int64_t dim, int64_t bags, const int64_t* argmax,
                                void* grad_weight) {
  FASTNN_BAG_DISPATCH(dtype,
                      backward_max<T>(static_cast<const T*>(grad), dim, bags, argmax, static_cast<T*>(grad_weight)));
}

void embedding_bag_backward_psw(DType dtype, const void* grad, const void* weight, int64_t dim, const int64_t* index,
                                const int64_t* bag_of, int64_t n, void* grad_psw) {
  FASTNN_BAG_DISPATCH(dtype, backward_psw<T>(static_cast<const T*>(grad), static_cast<const T*>(weight), dim, index,
                                             bag_of, n, static_cast<T*>(grad_psw)));
}

#undef FASTNN_BAG_DISPATCH

}  // namespace fastnn::kernels
