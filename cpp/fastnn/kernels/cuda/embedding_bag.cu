// embedding_bag on a GPU (embedding_bag.h): forward and the sum/mean gradient gather one output element per thread,
// the max gradient walks the bags of one column per thread, all in the CPU kernels' order.
#include <cuda_runtime.h>

#include <cstdint>

#include "fastnn/kernels/cuda/embedding_bag.h"
#include "fastnn/kernels/cuda/layout.cuh"

namespace fastnn::cuda {
namespace {

constexpr int kMean = 1, kMax = 2;  // kernels::BagMode's values

template <class T>
__global__ void forward_kernel(const T* w, int64_t dim, const int64_t* index, const int64_t* start, const int64_t* end,
                               int64_t bags, int64_t pad, int mode, const T* psw, T* out, int64_t* argmax) {
  FASTNN_GRID_LOOP(e, bags * dim) {
    const int64_t b = e / dim, d = e % dim;
    T o = T(0);
    int64_t best = -1, count = 0;
    for (int64_t i = start[b]; i < end[b]; ++i) {
      const int64_t r = index[i];
      if (r == pad) continue;
      const T v = w[r * dim + d];
      if (mode == kMax) {
        if (count == 0 || v > o) o = v, best = r;
      } else {
        o += psw ? v * psw[i] : v;
      }
      ++count;
    }
    if (mode == kMean && count > 0) o /= T(count);
    out[e] = o;
    if (mode == kMax) argmax[e] = best;
  }
}

template <class T>
__global__ void backward_sum_kernel(const T* g, int64_t dim, int64_t rows, const int64_t* first, const int64_t* order,
                                    const int64_t* bag_of, int mode, const T* psw, const int64_t* bag_size,
                                    bool scale_by_freq, T* gw) {
  FASTNN_GRID_LOOP(e, rows * dim) {
    const int64_t r = e / dim, d = e % dim;
    T acc = T(0);
    for (int64_t k = first[r]; k < first[r + 1]; ++k) {
      const int64_t i = order[k], b = bag_of[i];
      const T s = mode == kMean ? T(1) / T(bag_size[b]) : psw ? psw[i] : T(1);
      acc += g[b * dim + d] * s;
    }
    if (scale_by_freq && first[r + 1] > first[r]) acc /= T(first[r + 1] - first[r]);
    gw[e] = acc;
  }
}

template <class T>
__global__ void backward_max_kernel(const T* g, int64_t dim, int64_t bags, const int64_t* argmax, T* gw) {
  FASTNN_GRID_LOOP(d, dim) {
    for (int64_t b = 0; b < bags; ++b) {
      const int64_t r = argmax[b * dim + d];
      if (r >= 0) gw[r * dim + d] += g[b * dim + d];
    }
  }
}

template <class T>
__global__ void backward_psw_kernel(const T* g, const T* w, int64_t dim, const int64_t* index, const int64_t* bag_of,
                                    int64_t n, T* gp) {
  FASTNN_GRID_LOOP(i, n) {
    T s = T(0);
    if (bag_of[i] >= 0)
      for (int64_t d = 0; d < dim; ++d) s += g[bag_of[i] * dim + d] * w[index[i] * dim + d];
    gp[i] = s;
  }
}

// Calls f(T{}) with float or double.
template <class F>
void with_float(bool is_double, const F& f) {
  if (is_double) f(double{});
  else f(float{});
}

}  // namespace

void embedding_bag_forward(bool is_double, const void* weight, int64_t dim, const int64_t* index, const int64_t* start,
                           const int64_t* end, int64_t bags, int64_t padding_idx, int mode, const void* psw, void* out,
                           int64_t* argmax, int device) {
  if (bags * dim == 0) return;
  use_device(device, "embedding_bag");
  with_float(is_double, [&](auto zero) {
    using T = decltype(zero);
    FASTNN_LAUNCH(blocks_for(bags * dim), kThreads, forward_kernel<T>)
    (static_cast<const T*>(weight), dim, index, start, end, bags, padding_idx, mode, static_cast<const T*>(psw),
     static_cast<T*>(out), argmax);
  });
  check_launch("embedding_bag");
}

void embedding_bag_backward_sum(bool is_double, const void* grad, int64_t dim, int64_t rows, const int64_t* first,
                                const int64_t* order, const int64_t* bag_of, int mode, const void* psw,
                                const int64_t* bag_size, bool scale_by_freq, void* grad_weight, int device) {
  if (rows * dim == 0) return;
  use_device(device, "embedding_bag backward");
  with_float(is_double, [&](auto zero) {
    using T = decltype(zero);
    FASTNN_LAUNCH(blocks_for(rows * dim), kThreads, backward_sum_kernel<T>)
    (static_cast<const T*>(grad), dim, rows, first, order, bag_of, mode, static_cast<const T*>(psw), bag_size,
     scale_by_freq, static_cast<T*>(grad_weight));
  });
  check_launch("embedding_bag backward");
}

void embedding_bag_backward_max(bool is_double, const void* grad, int64_t dim, int64_t bags, const int64_t* argmax,
                                void* grad_weight, int device) {
  if (bags * dim == 0) return;
  use_device(device, "embedding_bag backward");
  with_float(is_double, [&](auto zero) {
    using T = decltype(zero);
    FASTNN_LAUNCH(blocks_for(dim), kThreads, backward_max_kernel<T>)
    (static_cast<const T*>(grad), dim, bags, argmax, static_cast<T*>(grad_weight));
  });
  check_launch("embedding_bag backward");
}

void embedding_bag_backward_psw(bool is_double, const void* grad, const void* weight, int64_t dim, const int64_t* index,
                                const int64_t* bag_of, int64_t n, void* grad_psw, int device) {
  if (n == 0) return;
  use_device(device, "embedding_bag backward");
  with_float(is_double, [&](auto zero) {
    using T = decltype(zero);
    FASTNN_LAUNCH(blocks_for(n), kThreads, backward_psw_kernel<T>)
    (static_cast<const T*>(grad), static_cast<const T*>(weight), dim, index, bag_of, n, static_cast<T*>(grad_psw));
  });
  check_launch("embedding_bag backward");
}

}  // namespace fastnn::cuda
