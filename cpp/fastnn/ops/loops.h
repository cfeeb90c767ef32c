// Strided, broadcasting elementwise loops over N operands (operand 0 is usually the output).
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>

#include "fastnn/parallel.h"
#include "fastnn/shape.h"
#include "fastnn/tensor.h"

namespace fastnn {

// An iteration space: sizes and per-operand strides (elements), with dimensions merged where
// every operand is contiguous across them, so most loops collapse to one long inner run.
template <int N>
struct Loop {
  Shape sizes;
  std::array<Shape, N> strides;
  int64_t numel = 1;
};

template <int N>
Loop<N> make_loop(const Shape& shape, const std::array<Shape, N>& strides) {
  Loop<N> L;
  for (int64_t s : shape) L.numel *= s;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;  // size-1 dims never move the pointers
    bool merge = !L.sizes.empty();
    for (int k = 0; k < N && merge; ++k) merge = L.strides[k].back() == strides[k][d] * shape[d];
    if (merge) {
      L.sizes.back() *= shape[d];
      for (int k = 0; k < N; ++k) L.strides[k].back() = strides[k][d];
    } else {
      L.sizes.push_back(shape[d]);
      for (int k = 0; k < N; ++k) L.strides[k].push_back(strides[k][d]);
    }
  }
  if (L.sizes.empty()) {  // 0-d or all ones: a single element
    L.sizes.push_back(1);
    for (int k = 0; k < N; ++k) L.strides[k].push_back(0);
  }
  return L;
}

// Calls run(offsets, inner_strides, len) for every innermost run; offsets are element offsets of
// each operand at the run's start. Parallel over chunks of the outer index when large.
template <int N, class F>
void for_each_run(const Loop<N>& L, const F& run) {
  if (L.numel == 0) return;
  const int64_t nd = int64_t(L.sizes.size());
  const int64_t inner = L.sizes[nd - 1];
  std::array<int64_t, N> inner_strides;
  for (int k = 0; k < N; ++k) inner_strides[k] = L.strides[k][nd - 1];
  const int64_t outer = L.numel / inner;
  int64_t grain = std::max<int64_t>(1, kGrainSize / std::max<int64_t>(inner, 1));
  parallel_for(outer, grain, [&](int64_t begin, int64_t end) {
    // Odometer over the outer dims, started at `begin`.
    Shape idx(nd > 1 ? nd - 1 : 0);
    std::array<int64_t, N> off{};
    int64_t rem = begin;
    for (int64_t d = nd - 2; d >= 0; --d) {
      idx[d] = rem % L.sizes[d];
      rem /= L.sizes[d];
      for (int k = 0; k < N; ++k) off[k] += idx[d] * L.strides[k][d];
    }
    for (int64_t o = begin; o < end; ++o) {
      run(off, inner_strides, inner);
      for (int64_t d = nd - 2; d >= 0; --d) {
        for (int k = 0; k < N; ++k) off[k] += L.strides[k][d];
        if (++idx[d] < L.sizes[d]) break;
        for (int k = 0; k < N; ++k) off[k] -= idx[d] * L.strides[k][d];
        idx[d] = 0;
      }
    }
  });
}

// True when `out` and every input are contiguous with out's shape (the common case): a loop is
// then one flat run, with no iteration space to build (which matters for tiny tensors).
inline bool dense_like(const Tensor& out, std::initializer_list<const Tensor*> inputs) {
  if (!out.is_contiguous()) return false;
  for (const Tensor* t : inputs)
    if (t->shape() != out.shape() || !t->is_contiguous()) return false;
  return true;
}

// out = f(a) elementwise; out has a's shape. T: input type, U: output type.
template <class T, class U, class F>
void map_unary(Tensor& out, const Tensor& a, const F& f) {
  U* po = out.mutable_data<U>();
  const T* pa = a.data<T>();
  if (dense_like(out, {&a}))
    return parallel_for(out.numel(), kGrainSize, [&](int64_t b, int64_t e) {
      const F fn = f;  // a local copy: its captures stay in registers and the loop can vectorise
      for (int64_t i = b; i < e; ++i) po[i] = fn(pa[i]);
    });
  auto L = make_loop<2>(out.shape(), {out.strides(), broadcast_strides(a.shape(), a.strides(), out.shape())});
  for_each_run<2>(L, [&](const std::array<int64_t, 2>& off, const std::array<int64_t, 2>& st, int64_t n) {
    const F fn = f;
    U* o = po + off[0];
    const T* x = pa + off[1];
    if (st[0] == 1 && st[1] == 1)
      for (int64_t i = 0; i < n; ++i) o[i] = fn(x[i]);
    else
      for (int64_t i = 0; i < n; ++i) o[i * st[0]] = fn(x[i * st[1]]);
  });
}

// out = f(a, b) elementwise with broadcasting of a and b to out's shape.
template <class T, class U, class F>
void map_binary(Tensor& out, const Tensor& a, const Tensor& b, const F& f) {
  U* po = out.mutable_data<U>();
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  if (dense_like(out, {&a, &b}))
    return parallel_for(out.numel(), kGrainSize, [&](int64_t begin, int64_t end) {
      const F fn = f;  // as in map_unary
      for (int64_t i = begin; i < end; ++i) po[i] = fn(pa[i], pb[i]);
    });
  auto L = make_loop<3>(out.shape(), {out.strides(), broadcast_strides(a.shape(), a.strides(), out.shape()),
                                      broadcast_strides(b.shape(), b.strides(), out.shape())});
  for_each_run<3>(L, [&](const std::array<int64_t, 3>& off, const std::array<int64_t, 3>& st, int64_t n) {
    const F fn = f;
    U* o = po + off[0];
    const T* x = pa + off[1];
    const T* y = pb + off[2];
    if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
      for (int64_t i = 0; i < n; ++i) o[i] = fn(x[i], y[i]);
    } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {
      const T yv = *y;
      for (int64_t i = 0; i < n; ++i) o[i] = fn(x[i], yv);
    } else if (st[0] == 1 && st[1] == 0 && st[2] == 1) {
      const T xv = *x;
      for (int64_t i = 0; i < n; ++i) o[i] = fn(xv, y[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) o[i * st[0]] = fn(x[i * st[1]], y[i * st[2]]);
    }
  });
}

// out = f(a, b, c) elementwise, all of out's shape (used by backward kernels).
template <class T, class F>
void map_ternary(Tensor& out, const Tensor& a, const Tensor& b, const Tensor& c, const F& f) {
  T* po = out.mutable_data<T>();
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  const T* pc = c.data<T>();
  if (dense_like(out, {&a, &b, &c}))
    return parallel_for(out.numel(), kGrainSize, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) po[i] = f(pa[i], pb[i], pc[i]);
    });
  auto L = make_loop<4>(out.shape(), {out.strides(), broadcast_strides(a.shape(), a.strides(), out.shape()),
                                      broadcast_strides(b.shape(), b.strides(), out.shape()),
                                      broadcast_strides(c.shape(), c.strides(), out.shape())});
  for_each_run<4>(L, [&](const std::array<int64_t, 4>& off, const std::array<int64_t, 4>& st, int64_t n) {
    T* o = po + off[0];
    const T *x = pa + off[1], *y = pb + off[2], *z = pc + off[3];
    if (st[0] == 1 && st[1] == 1 && st[2] == 1 && st[3] == 1)
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i], z[i]);
    else
      for (int64_t i = 0; i < n; ++i) o[i * st[0]] = f(x[i * st[1]], y[i * st[2]], z[i * st[3]]);
  });
}

}  // namespace fastnn
