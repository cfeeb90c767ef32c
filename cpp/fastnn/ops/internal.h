// Helpers shared by the op files (not part of the public op API).
#pragma once
#include <cmath>
#include <cstdint>
#include <algorithm>
#include <functional>
#include <type_traits>

#include "fastnn/arith.h"
#include "fastnn/error.h"
#include "fastnn/int_cast.h"
#include "fastnn/kernels/cuda/binary.h"
#include "fastnn/ops/ops.h"
#include "fastnn/parallel.h"
#include "fastnn/tensor.h"

namespace fastnn {

// A null TensorPtr means "no tensor" (an absent bias or weight; the bindings pass None only where an
// argument is optional): ops check the tensors they require (TypeError naming the op) before touching them.
inline void check_defined(const TensorPtr& t, const char* op, const char* what = "input") {
  FASTNN_CHECK_TYPE(t != nullptr, "[", op, "] expected a Tensor for '", what, "', got None");
}

// ---- devices ----
// The device all the given tensors are on (null pointers and null tensors skipped); tensors on two devices are torch's
// error, naming `op`.
inline Device common_device(std::initializer_list<const TensorPtr*> ts, const char* op) {
  Device first;
  bool seen = false;
  for (const TensorPtr* t : ts) {
    if (!t || !*t) continue;
    const Device d = (*t)->device();
    if (!seen) first = d, seen = true;
    FASTNN_CHECK_STATE(d == first, "[", op, "] Expected all tensors to be on the same device, but found at least two ",
                       "devices, ", first.str(), " and ", d.str(), "!");
  }
  return first;
}
// An operand for an op running on `device`, in `dtype`: a CPU 0-d tensor (a Python number) joins it there, as torch
// lets it; any other tensor must be there already (torch's error otherwise). Defined in binary.cpp.
TensorPtr on_device(const TensorPtr& t, Device device, DType dtype, const char* op);
// Refuses a GPU op in a dtype its kernels lack (float32 and float64 have them).
inline void check_cuda_float(DType dt, const char* op) {
  FASTNN_CHECK_TYPE(dt == DType::Float32 || dt == DType::Float64, "[", op, "] CUDA tensors of dtype ", dtype_name(dt),
                    " are not supported yet (float32 and float64 are)");
}
// The same for the kernels that also take int64 (sums, extrema, scans).
inline void check_cuda_number(DType dt, const char* op) {
  FASTNN_CHECK_TYPE(dt == DType::Float32 || dt == DType::Float64 || dt == DType::Int64, "[", op,
                    "] CUDA tensors of dtype ", dtype_name(dt),
                    " are not supported yet (float32, float64 and int64 are)");
}
// a op b (kernels/cuda/binary.h's kind) with an operand on a GPU, in dtype `dt`: the other operand on that GPU or a
// CPU 0-d tensor; broadcasting (binary.cpp).
TensorPtr arith_cuda(const TensorPtr& a, const TensorPtr& b, const char* op, DType dt, cuda::BinaryOp kind,
                     double alpha);
// dst (on a GPU, contiguous or not) at offsets pre[p] + mid[m] + post[q] <- src[(p*M + m)*Q + q] (src contiguous on
// dst's device): the last write, or dst plus each in order when `accumulate` (advanced_index.cpp; index_add too).
void index_scatter_cuda(Tensor& dst, const TensorPtr& src, const std::vector<int64_t>& pre,
                        const std::vector<int64_t>& mid, const std::vector<int64_t>& post, bool accumulate);

// A bound or threshold in x's precision, as torch compares: a float32 x at 1.2f meets lambd=1.2 exactly.
inline double in_precision(double v, const TensorPtr& x) {
  return x && x->dtype() == DType::Float32 ? double(float(v)) : v;
}

// |x|, wrapping around for the most negative integer (arith.h's wrapping ops).
template <class T> T wrapping_abs(T x) {
  if constexpr (std::is_integral_v<T>) return x < 0 ? wrapping_neg(x) : x;
  else return std::abs(x);  // (-0.0 and a negative nan lose their sign)
}

// v as T: a floating value becomes an integer as float_to_int (int_cast.h) makes it; the 16-bit floats go through
// float32, rounding to nearest even.
template <class T, class S> T convert(S v) {
  constexpr bool half_s = std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>;
  constexpr bool half_t = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;
  if constexpr (half_s && !std::is_same_v<S, T>) return convert<T>(float(v));
  else if constexpr (half_t) return T(float(v));
  else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool> && std::is_floating_point_v<S>)
    return float_to_int<T>(v);
  else return static_cast<T>(v);
}

// `t`'s values converted to `dtype` with no autograd record (t itself when already that dtype).
TensorPtr cast(const TensorPtr& t, DType dtype);
// The value of a one-element tensor on any device, as int64 (one copy from a GPU).
int64_t host_int64(const TensorPtr& t);
// n elements of `dtype` from host memory as a 1-D tensor on `device` (copy.cpp).
TensorPtr tensor_from_host(const void* data, int64_t n, DType dtype, Device device);
inline TensorPtr int64_tensor(const std::vector<int64_t>& v, Device device) {
  return tensor_from_host(v.data(), int64_t(v.size()), DType::Int64, device);
}

// A resampling as tap tables on the host, per dim (D, H, W): output coordinate o of out[k] reads input coordinates
// idx[k][o * taps + t] of in[k], weighted by wt[k] (empty: weight 1). kernels/cuda/resample.h runs it.
struct HostTaps {
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1};
  std::vector<int64_t> idx[3] = {{0}, {0}, {0}};
  std::vector<double> wt[3];
};
// On x's GPU: `input` (planes, in...) resampled to out_shape, recording `node` when input requires grad (a gather
// over the inverse tables; upsample.cpp). F.pad's index modes and F.interpolate.
TensorPtr resample_cuda(const TensorPtr& input, const HostTaps& taps, int64_t planes, const Shape& out_shape,
                        const std::string& node);

// ---- storage dtypes (uint8, int8, int16, int32, float16, bfloat16): kernels exist only for the
// compute dtypes, so an op computes on inputs converted to compute_dtype() and rounds back ----
inline bool any_storage_dtype(std::initializer_list<const TensorPtr*> ts) {
  for (const TensorPtr* t : ts)
    if (*t && is_storage_dtype((*t)->dtype())) return true;
  return false;
}
// `t` in its compute dtype through a recorded conversion (gradients flow back in t's dtype).
inline TensorPtr widened(const TensorPtr& t) {
  return t && is_storage_dtype(t->dtype()) ? to_dtype(t, compute_dtype(t->dtype())) : t;
}
// A result `r` computed in compute_dtype(target) rounded to the storage dtype `target` (recorded);
// any other result (bool, int64 indices, a true division's float) is returned as it is.
inline TensorPtr narrowed(const TensorPtr& r, DType target) {
  return is_storage_dtype(target) && r->dtype() == compute_dtype(target) ? to_dtype(r, target) : r;
}
// The 0-d tensor `value` as a `dtype` scalar; a floating value with no int64 value is an error naming `op`.
TensorPtr scalar_as(const TensorPtr& value, DType dtype, const char* op);
// An in-place op computed out of place: `compute` returns the result, which is written into self.
// With `track` (autograd records the op), compute gets a private copy of self that carries self's
// history, so whatever it saves for backward stays valid, and self takes over the result's history.
void inplace_with_history(TensorPtr& self, const char* op, bool track,
                          const std::function<TensorPtr(const TensorPtr&)>& compute);
// Throws unless `shape` equals self's shape (in-place ops cannot grow their destination).
void check_inplace_shape(const TensorPtr& self, const Shape& shape, const char* op);

// ---- reduction plans (reduce.cpp): x viewed as contiguous rows (outputs, reduced) ----
struct ReducePlan {
  Shape out_shape;   // keepdim=false shape
  Shape keep_shape;  // keepdim=true shape
  IntList perm;      // x's dims, kept ones first: rows is permute(x, perm) made contiguous
  TensorPtr rows;    // contiguous, [outputs * reduced], detached from x's history
  int64_t outputs = 1, reduced = 1;
};
// The plan for reducing x over `dims` (all dims when empty); dims are checked and wrapped for `op`.
ReducePlan plan_reduction(const TensorPtr& x, IntList dims, const char* op);
// rows laid out as a plan's (permute(x, perm) made contiguous, with size `size` at `dim`) back in x's
// dim order, contiguous; `shape` is x's shape. A 0-d x (empty perm) gives a 0-d result.
TensorPtr from_rows(const TensorPtr& rows, const Shape& shape, const IntList& perm, int64_t dim, int64_t size);

// f(row) for each of `rows` rows of length n, split over threads by shape only.
template <class F>
void for_each_row(int64_t rows, int64_t n, const F& f) {
  parallel_for(rows, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) f(r);
  });
}
// ---- sort.cpp ----
// A zero tensor of `shape` plus g added at `indices` along dim (g and indices share a shape that differs
// from `shape` at most at dim): the gradient of picking elements along a dim (sort, topk, cummax, ...).
TensorPtr scatter_add_along(const TensorPtr& g, const TensorPtr& indices, const Shape& shape, int64_t dim);

}  // namespace fastnn
