// Element types and torch's type-promotion rules.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace fastnn {

// Ordered so that promotion within these four is max(): bool < int64 < float32 < float64.
enum class DType : int8_t { Bool = 0, Int64 = 1, Float32 = 2, Float64 = 3 };

// Bytes per element.
size_t itemsize(DType t);
// "float32", "float64", "int64", "bool".
const char* dtype_name(DType t);
inline bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }
// The smallest type both a and b convert to.
inline DType promote(DType a, DType b) { return a > b ? a : b; }
// 0 bool, 1 integer, 2 floating: what decides promotion across tensor ranks.
inline int category(DType t) { return t == DType::Bool ? 0 : t == DType::Int64 ? 1 : 2; }

template <class T> struct dtype_of;
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };

}  // namespace fastnn

// Runs the trailing lambda body with scalar_t bound to the C++ type of DT.
#define FASTNN_DTYPE_CASE(ENUM, TYPE, ...) \
  case ::fastnn::DType::ENUM: {            \
    using scalar_t = TYPE;                 \
    __VA_ARGS__();                         \
    break;                                 \
  }
#define FASTNN_DISPATCH_FLOAT(DT, OP, ...)                                              \
  switch (DT) {                                                                         \
    FASTNN_DTYPE_CASE(Float32, float, __VA_ARGS__)                                      \
    FASTNN_DTYPE_CASE(Float64, double, __VA_ARGS__)                                     \
    default:                                                                            \
      throw ::fastnn::TypeError(::fastnn::str("[", OP, "] expected a floating-point tensor, got ", \
                                              ::fastnn::dtype_name(DT)));               \
  }
#define FASTNN_DISPATCH_NUMERIC(DT, OP, ...)                                            \
  switch (DT) {                                                                         \
    FASTNN_DTYPE_CASE(Float32, float, __VA_ARGS__)                                      \
    FASTNN_DTYPE_CASE(Float64, double, __VA_ARGS__)                                     \
    FASTNN_DTYPE_CASE(Int64, int64_t, __VA_ARGS__)                                      \
    default:                                                                            \
      throw ::fastnn::TypeError(::fastnn::str("[", OP, "] not supported for ", ::fastnn::dtype_name(DT))); \
  }
#define FASTNN_DISPATCH_ALL(DT, OP, ...)                \
  switch (DT) {                                         \
    FASTNN_DTYPE_CASE(Float32, float, __VA_ARGS__)      \
    FASTNN_DTYPE_CASE(Float64, double, __VA_ARGS__)     \
    FASTNN_DTYPE_CASE(Int64, int64_t, __VA_ARGS__)      \
    FASTNN_DTYPE_CASE(Bool, bool, __VA_ARGS__)          \
  }
