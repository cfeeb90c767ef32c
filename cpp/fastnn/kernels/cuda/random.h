// Random masks on a GPU from the counter-based generator (kernels/cuda/random.cu; in a CPU-only build device.cpp
// defines it to throw).
#pragma once
#include <cstdint>

namespace fastnn::cuda {

// out[i] = uniform_double(random_bits(seed, counter + i)) < p ? 0 : scale, for i < n (float32 or float64): the CPU's
// dropout mask for the same draw, element for element.
void dropout_mask(uint64_t seed, uint64_t counter, double p, double scale, bool is_double, int64_t n, void* out,
                  int index);

}  // namespace fastnn::cuda
