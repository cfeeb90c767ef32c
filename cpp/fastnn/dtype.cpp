#include "fastnn/dtype.h"

#include <atomic>

#include "fastnn/error.h"

namespace fastnn {

size_t itemsize(DType t) {
  switch (t) {
    case DType::Bool:
    case DType::UInt8:
    case DType::Int8: return 1;
    case DType::Int16:
    case DType::Float16:
    case DType::BFloat16: return 2;
    case DType::Float32:
    case DType::Int32: return 4;
    case DType::Int64:
    case DType::Float64: return 8;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::Bool: return "bool";
    case DType::Int64: return "int64";
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::UInt8: return "uint8";
    case DType::Int8: return "int8";
    case DType::Int16: return "int16";
    case DType::Int32: return "int32";
    case DType::Float16: return "float16";
    case DType::BFloat16: return "bfloat16";
  }
  return "?";
}

namespace {
std::atomic<DType> g_default_float{DType::Float32};
}  // namespace

DType default_float_dtype() { return g_default_float.load(std::memory_order_relaxed); }

void set_default_float_dtype(DType t) {
  if (!is_floating(t))
    throw TypeError("[set_default_dtype] only floating-point types are supported as the default type");
  g_default_float.store(t, std::memory_order_relaxed);
}

namespace {
// Rank within a category: a wider type of the same category wins.
int rank(DType t) {
  switch (t) {
    case DType::Bool: return 0;
    case DType::UInt8:
    case DType::Int8: return 1;
    case DType::Int16: return 2;
    case DType::Int32: return 3;
    case DType::Int64: return 4;
    case DType::Float16:
    case DType::BFloat16: return 5;
    case DType::Float32: return 6;
    case DType::Float64: return 7;
  }
  return 0;
}
}  // namespace

DType promote(DType a, DType b) {
  if (a == b) return a;
  int ra = rank(a), rb = rank(b);
  if (ra == rb) return ra == 1 ? DType::Int16 : DType::Float32;  // uint8 & int8; float16 & bfloat16
  return ra > rb ? a : b;
}

Half::Half(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint32_t sign = (u >> 16) & 0x8000u;
  u &= 0x7fffffffu;
  if (u > 0x7f800000u) {  // nan
    bits = uint16_t(sign | 0x7e00u);
    return;
  }
  if (u >= 0x477ff000u) {  // rounds to inf (>= 65520)
    bits = uint16_t(sign | 0x7c00u);
    return;
  }
  if (u < 0x38800000u) {  // below 2^-14: a subnormal half, rounded to nearest even in units of 2^-24
    float a;
    std::memcpy(&a, &u, 4);
    // Adding 0.5 puts the value's units of 2^-24 in the low mantissa bits, rounded by the FPU.
    float r = a + 0.5f;
    uint32_t ru;
    std::memcpy(&ru, &r, 4);
    bits = uint16_t(sign | (ru - 0x3f000000u));
    return;
  }
  // Normal: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits to nearest even.
  uint32_t h = ((u - 0x38000000u) + 0xfffu + ((u >> 13) & 1u)) >> 13;
  bits = uint16_t(sign | h);
}

Half::operator float() const {
  const uint32_t sign = uint32_t(bits & 0x8000u) << 16;
  uint32_t exp = (bits >> 10) & 0x1fu, man = bits & 0x3ffu, u;
  if (exp == 0x1f) u = sign | 0x7f800000u | (man << 13);  // inf, nan
  else if (exp) u = sign | ((exp + 112u) << 23) | (man << 13);
  else if (!man) u = sign;
  else {  // subnormal: man * 2^-24
    float f = float(man) * 5.9604644775390625e-8f;
    std::memcpy(&u, &f, 4);
    u |= sign;
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace fastnn
