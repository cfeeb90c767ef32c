// Counter-based random numbers: element i of a draw is a pure function of (seed, counter + i),
// so results do not depend on how many threads fill a tensor.
#pragma once
#include <cstdint>

namespace fastnn {

void set_seed(uint64_t seed);
uint64_t initial_seed();
// Reserves `n` consecutive counters of the default generator; returns the first.
uint64_t reserve_counters(uint64_t n);
// The seed and the first of `n` reserved counters, read together: a manual_seed running in another
// thread cannot pair its new seed with the old counter (or the reverse).
struct RandomDraw {
  uint64_t seed, base;
};
RandomDraw reserve_draw(uint64_t n);
// 64 well-mixed bits for (seed, counter).
uint64_t random_bits(uint64_t seed, uint64_t counter);
// Uniform in [0, 1) with 24 (float) or 53 (double) random bits.
inline float uniform_float(uint64_t bits) { return float(bits >> 40) * (1.0f / 16777216.0f); }
inline double uniform_double(uint64_t bits) { return double(bits >> 11) * (1.0 / 9007199254740992.0); }

}  // namespace fastnn
