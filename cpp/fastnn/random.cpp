#include "fastnn/random.h"

#include <atomic>
#include <mutex>

namespace fastnn {
namespace {
constexpr uint64_t kDefaultSeed = 67280421310721ull;  // torch's default initial seed
std::atomic<uint64_t> g_seed{kDefaultSeed};
std::atomic<uint64_t> g_counter{0};
std::mutex g_mu;  // makes (seed, counter) change together; the atomics keep lone reads race-free

uint64_t splitmix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
}  // namespace

void set_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_seed = seed;
  g_counter = 0;
}
uint64_t initial_seed() { return g_seed; }
uint64_t reserve_counters(uint64_t n) {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_counter.fetch_add(n);
}
RandomDraw reserve_draw(uint64_t n) {
  std::lock_guard<std::mutex> lock(g_mu);
  return {g_seed.load(), g_counter.fetch_add(n)};
}
uint64_t random_bits(uint64_t seed, uint64_t counter) { return splitmix(splitmix(seed) ^ splitmix(~counter)); }

}  // namespace fastnn
