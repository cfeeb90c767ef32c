#include "fastnn/random.h"

namespace fastnn {
namespace {
uint64_t splitmix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
}  // namespace

const GeneratorPtr& default_generator() {
  static const auto* gen = new GeneratorPtr(std::make_shared<Generator>());  // leaked: outlives every user
  return *gen;
}

uint64_t random_bits(uint64_t seed, uint64_t counter) { return splitmix(splitmix(seed) ^ splitmix(~counter)); }

}  // namespace fastnn
