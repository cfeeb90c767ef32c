// Element types and torch's type-promotion rules.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace fastnn {

// Compute dtypes (bool, int64, float32, float64) have kernels. Storage dtypes (the narrower ints,
// float16, bfloat16) hold values and convert exactly as torch's; an op given one computes in its
// compute dtype (int64 or float32) and rounds the result back (see ops/storage_dtype.cpp).
enum class DType : int8_t {
  Bool = 0,
  Int64 = 1,
  Float32 = 2,
  Float64 = 3,
  UInt8 = 4,
  Int8 = 5,
  Int16 = 6,
  Int32 = 7,
  Float16 = 8,
  BFloat16 = 9,
};
constexpr int kNumDTypes = 10;

// Bytes per element.
size_t itemsize(DType t);
// "float32", "float64", "int64", "bool", "float16", ...
const char* dtype_name(DType t);
inline bool is_floating(DType t) {
  return t == DType::Float32 || t == DType::Float64 || t == DType::Float16 || t == DType::BFloat16;
}
// 0 bool, 1 integer, 2 floating: what decides promotion across tensor ranks.
inline int category(DType t) { return t == DType::Bool ? 0 : is_floating(t) ? 2 : 1; }
// The smallest type both a and b convert to (torch's table: uint8 with int8 gives int16, float16
// with bfloat16 gives float32).
DType promote(DType a, DType b);
// The dtype of floating-point values made without one (Python floats, int / int, factories):
// float32 unless set_default_float_dtype changed it.
DType default_float_dtype();
// Throws TypeError unless t is floating.
void set_default_float_dtype(DType t);
// A dtype with no kernels of its own.
inline bool is_storage_dtype(DType t) { return int(t) >= int(DType::UInt8); }
// The dtype ops on `t` compute in: int64 for the narrower ints, float32 for the 16-bit floats.
inline DType compute_dtype(DType t) {
  return !is_storage_dtype(t) ? t : is_floating(t) ? DType::Float32 : DType::Int64;
}

// IEEE binary16 and bfloat16 as bits; conversions from float round to nearest even, as torch's.
struct Half {
  uint16_t bits;
  Half() = default;
  explicit Half(float f);
  operator float() const;
};
struct BFloat16 {
  uint16_t bits;
  BFloat16() = default;
  explicit BFloat16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) bits = 0xffff;  // nan: all ones, as torch's vectorised cast
    else bits = uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
  }
  operator float() const {
    uint32_t u = uint32_t(bits) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
};

template <class T> struct dtype_of;
template <> struct dtype_of<bool> {
  static constexpr DType value = DType::Bool;
};
template <> struct dtype_of<int64_t> {
  static constexpr DType value = DType::Int64;
};
template <> struct dtype_of<float> {
  static constexpr DType value = DType::Float32;
};
template <> struct dtype_of<double> {
  static constexpr DType value = DType::Float64;
};
template <> struct dtype_of<uint8_t> {
  static constexpr DType value = DType::UInt8;
};
template <> struct dtype_of<int8_t> {
  static constexpr DType value = DType::Int8;
};
template <> struct dtype_of<int16_t> {
  static constexpr DType value = DType::Int16;
};
template <> struct dtype_of<int32_t> {
  static constexpr DType value = DType::Int32;
};
template <> struct dtype_of<Half> {
  static constexpr DType value = DType::Float16;
};
template <> struct dtype_of<BFloat16> {
  static constexpr DType value = DType::BFloat16;
};

}  // namespace fastnn

// Runs the trailing lambda body with scalar_t bound to the C++ type of DT.
#define FASTNN_DTYPE_CASE(ENUM, TYPE, ...) \
  case ::fastnn::DType::ENUM: {            \
    using scalar_t = TYPE;                 \
    __VA_ARGS__();                         \
    break;                                 \
  }
// The error for a dtype a dispatch does not cover.
#define FASTNN_DISPATCH_FAIL(DT, OP, WANT) \
  throw ::fastnn::TypeError(::fastnn::str("[", OP, "] ", WANT, "got ", ::fastnn::dtype_name(DT)))
#define FASTNN_DISPATCH_FLOAT(DT, OP, ...)                                                          \
  switch (DT) {                                                                                     \
    FASTNN_DTYPE_CASE(Float32, float, __VA_ARGS__)                                                  \
    FASTNN_DTYPE_CASE(Float64, double, __VA_ARGS__)                                                 \
    default:                                                                                        \
      FASTNN_DISPATCH_FAIL(DT, OP,                                                                  \
                           ::fastnn::is_storage_dtype(DT)                                           \
                               ? "not implemented for storage dtypes yet (convert with .float()), " \
                               : "expected a floating-point tensor, ");                             \
  }
#define FASTNN_DISPATCH_NUMERIC(DT, OP, ...)                                 \
  switch (DT) {                                                              \
    FASTNN_DTYPE_CASE(Float32, float, __VA_ARGS__)                           \
    FASTNN_DTYPE_CASE(Float64, double, __VA_ARGS__)                          \
    FASTNN_DTYPE_CASE(Int64, int64_t, __VA_ARGS__)                           \
    default: FASTNN_DISPATCH_FAIL(DT, OP, "not supported for this dtype, "); \
  }
#define FASTNN_DISPATCH_ALL(DT, OP, ...)                                     \
  switch (DT) {                                                              \
    FASTNN_DTYPE_CASE(Float32, float, __VA_ARGS__)                           \
    FASTNN_DTYPE_CASE(Float64, double, __VA_ARGS__)                          \
    FASTNN_DTYPE_CASE(Int64, int64_t, __VA_ARGS__)                           \
    FASTNN_DTYPE_CASE(Bool, bool, __VA_ARGS__)                               \
    default: FASTNN_DISPATCH_FAIL(DT, OP, "not supported for this dtype, "); \
  }
// Every dtype, storage ones included: for conversions.
#define FASTNN_DISPATCH_EVERY(DT, OP, ...)                       \
  switch (DT) {                                                  \
    FASTNN_DTYPE_CASE(Float32, float, __VA_ARGS__)               \
    FASTNN_DTYPE_CASE(Float64, double, __VA_ARGS__)              \
    FASTNN_DTYPE_CASE(Int64, int64_t, __VA_ARGS__)               \
    FASTNN_DTYPE_CASE(Bool, bool, __VA_ARGS__)                   \
    FASTNN_DTYPE_CASE(UInt8, uint8_t, __VA_ARGS__)               \
    FASTNN_DTYPE_CASE(Int8, int8_t, __VA_ARGS__)                 \
    FASTNN_DTYPE_CASE(Int16, int16_t, __VA_ARGS__)               \
    FASTNN_DTYPE_CASE(Int32, int32_t, __VA_ARGS__)               \
    FASTNN_DTYPE_CASE(Float16, ::fastnn::Half, __VA_ARGS__)      \
    FASTNN_DTYPE_CASE(BFloat16, ::fastnn::BFloat16, __VA_ARGS__) \
  }
// Element moves that need no arithmetic (gathers, scatters without accumulation, selects): an
// unsigned integer of the element's width stands for every dtype of that width.
#define FASTNN_DISPATCH_BY_SIZE(DT, ...) \
  switch (::fastnn::itemsize(DT)) {      \
    case 1: {                            \
      using scalar_t = uint8_t;          \
      __VA_ARGS__();                     \
      break;                             \
    }                                    \
    case 2: {                            \
      using scalar_t = uint16_t;         \
      __VA_ARGS__();                     \
      break;                             \
    }                                    \
    case 4: {                            \
      using scalar_t = uint32_t;         \
      __VA_ARGS__();                     \
      break;                             \
    }                                    \
    default: {                           \
      using scalar_t = uint64_t;         \
      __VA_ARGS__();                     \
      break;                             \
    }                                    \
  }
