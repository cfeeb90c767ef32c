// Integer helpers shared by the kernels and ops.
#pragma once
#include <cstdint>

namespace fastnn {

// The smallest integer >= a / b, for b > 0 and any sign of a.
constexpr int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -(-a / b); }

}  // namespace fastnn
