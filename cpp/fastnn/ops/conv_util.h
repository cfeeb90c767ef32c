// Argument normalisation shared by convolution and pooling.
#pragma once
#include "fastnn/error.h"
#include "fastnn/ops/ops.h"

namespace fastnn {

// Expands an int-or-pair argument to (h, w); checks each entry with `min_value`.
inline std::pair<int64_t, int64_t> pair_arg(const IntList& v, const char* op, const char* what, int64_t min_value) {
  FASTNN_CHECK(v.size() == 1 || v.size() == 2, "[", op, "] ", what, " must be an int or a pair of ints, got ", v.size(),
               " values");
  int64_t h = v[0], w = v.size() == 2 ? v[1] : v[0];
  FASTNN_CHECK(h >= min_value && w >= min_value, "[", op, "] ", what, " must be >= ", min_value, ", got (", h, ", ", w,
               ")");
  return {h, w};
}

// Output length of a sliding window (floor or ceil), torch's rule for pooling's ceil_mode included.
inline int64_t window_out(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dil, bool ceil_mode) {
  // torch's pooling_output_shape: floor division (a kernel larger than the padded input still gives one
  // window in ceil mode when stride > 1, e.g. 1x1 input, kernel 2, stride 2)
  int64_t num = in + 2 * pad - dil * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  int64_t out = (num >= 0 ? num / stride : -((-(num + 1)) / stride) - 1) + 1;  // no overflow for huge strides
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;  // the last window must start inside the input or left pad
  return out < 0 ? 0 : out;
}

}  // namespace fastnn
