// The counter-based generator's bits: value i of a draw is a pure function of (seed, counter + i). Compiled for the
// CPU and for CUDA kernels alike (host_device.h), so a GPU draw with the same seed gives the CPU's numbers.
#pragma once
#include <cstdint>

#include "fastnn/host_device.h"

namespace fastnn {

FASTNN_HOST_DEVICE inline uint64_t splitmix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
// 64 well-mixed bits for (seed, counter).
FASTNN_HOST_DEVICE inline uint64_t random_bits(uint64_t seed, uint64_t counter) {
  return splitmix(splitmix(seed) ^ splitmix(~counter));
}
// Uniform in [0, 1) with 24 (float) or 53 (double) random bits.
FASTNN_HOST_DEVICE inline float uniform_float(uint64_t bits) { return float(bits >> 40) * (1.0f / 16777216.0f); }
FASTNN_HOST_DEVICE inline double uniform_double(uint64_t bits) {
  return double(bits >> 11) * (1.0 / 9007199254740992.0);
}

}  // namespace fastnn
