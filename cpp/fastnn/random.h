// Counter-based random numbers: value i of a draw is a pure function of (seed, counter + i), so
// results do not depend on how many threads fill a tensor. fastnn.default_generator and every
// fastnn.Generator are a Generator: a seed and a counter that each draw advances.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>

#include "fastnn/random_bits.h"

namespace fastnn {

// A generator's whole state; `counter` is the first counter of the next draw.
struct RandomState {
  uint64_t seed, counter;
};

class Generator {
 public:
  static constexpr uint64_t kDefaultSeed = 67280421310721ull;  // torch's default initial seed
  explicit Generator(uint64_t seed = kDefaultSeed) : state_{seed, 0} {}
  // Sets the seed and rewinds the counter.
  void manual_seed(uint64_t seed) { set_state({seed, 0}); }
  uint64_t initial_seed() const { return state().seed; }
  RandomState state() const {
    std::lock_guard<std::mutex> lock(mu_);
    return state_;
  }
  void set_state(RandomState s) {
    std::lock_guard<std::mutex> lock(mu_);
    state_ = s;
  }
  // Reserves `n` consecutive counters: returns the seed with the first of them, read together, so a
  // manual_seed running in another thread cannot pair its new seed with the old counter.
  RandomState reserve(uint64_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    RandomState draw = state_;
    state_.counter += n;
    return draw;
  }

 private:
  mutable std::mutex mu_;
  RandomState state_;
};
using GeneratorPtr = std::shared_ptr<Generator>;

// The generator behind fastnn.manual_seed (randn, init, dropout, data order without a generator).
const GeneratorPtr& default_generator();
// `gen`, or the default generator when null.
inline Generator& generator_or_default(Generator* gen) { return gen ? *gen : *default_generator(); }

// Uniform integer in [0, range) (range > 0): the high word of range * bits, bias below range / 2^64.
inline uint64_t bounded(uint64_t bits, uint64_t range) {
  return uint64_t((static_cast<unsigned __int128>(range) * bits) >> 64);
}

}  // namespace fastnn
