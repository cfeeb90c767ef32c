#include "fastnn/shape.h"

#include "fastnn/error.h"

namespace fastnn {

int64_t checked_numel(const Shape& shape, const char* op) {
  int64_t n = 1;
  bool overflow = false;
  for (int64_t s : shape) {
    FASTNN_CHECK(s >= 0, "[", op, "] negative dimension ", s, " in size ", shape);
    if (__builtin_mul_overflow(n, s, &n)) overflow = true;
  }
  // A zero anywhere makes the product 0 even if an intermediate product overflowed.
  for (int64_t s : shape)
    if (s == 0) return 0;
  FASTNN_CHECK(!overflow, "[", op, "] size ", shape, " has more than 2^63 elements");
  return n;
}

Shape contiguous_strides(const Shape& shape, const char* op) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    // Only a zero-size tensor can get here with a product past 2^63 (checked_numel bounds the rest).
    if (i > 0 && __builtin_mul_overflow(s, shape[i] > 0 ? shape[i] : 1, &s))
      throw std::invalid_argument(str("[", op, "] size ", shape, ": stride calculation overflows 64 bits"));
  }
  return strides;
}

bool is_contiguous(const Shape& shape, const Shape& strides) {
  for (int64_t n : shape)
    if (n == 0) return true;  // an empty tensor is contiguous whatever its strides (as in torch)
  int64_t expected = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1 && strides[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    FASTNN_CHECK(da == db || da == 1 || db == 1, "[", op, "] shapes ", a, " and ", b, " cannot be broadcast: size ", da,
                 " vs ", db, " at dimension ", i);
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t n = ndim > 0 ? ndim : 1;  // a 0-d tensor accepts dim 0 and -1, like torch
  FASTNN_CHECK_INDEX(dim >= -n && dim < n, "[", op, "] dimension ", dim, " out of range for a ", ndim,
                     "-d tensor (expected in [", -n, ", ", n - 1, "])");
  return dim < 0 ? dim + n : dim;
}

Shape broadcast_strides(const Shape& shape, const Shape& strides, const Shape& out_shape) {
  Shape out(out_shape.size(), 0);
  size_t lead = out_shape.size() - shape.size();
  for (size_t i = 0; i < shape.size(); ++i) out[lead + i] = shape[i] == 1 ? 0 : strides[i];
  return out;
}

}  // namespace fastnn
