#include "fastnn/storage.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <unistd.h>
#include <unordered_map>
#include <vector>

#include "fastnn/asan.h"
#include "fastnn/error.h"

namespace fastnn {
namespace {

constexpr size_t kAlign = 64;
constexpr size_t kMaxCachedBytes = size_t(1) << 30;  // beyond this, freed blocks go back to libc

// Freed blocks by exact (rounded) size: a training loop reuses the same sizes every step.
struct Cache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  size_t cached = 0;
};
Cache& cache() {
  static Cache* c = new Cache();  // leaked on purpose: storages may die during static teardown
  return *c;
}

// Bytes held by live storages that came from this allocator (not counting wrapped NumPy memory).
std::atomic<size_t> in_use{0};

size_t round_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

void* take_block(size_t rounded, const char* op) {
  {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_blocks.find(rounded);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.cached -= rounded;
      return p;
    }
  }
  void* p = std::aligned_alloc(kAlign, rounded);
  if (!p) {
    allocator_empty_cache();
    p = std::aligned_alloc(kAlign, rounded);
  }
  if (!p) throw OutOfMemory(str("[", op, "] cannot allocate ", rounded, " bytes"));
  return p;
}

void give_block(void* p, size_t rounded) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  if (c.cached + rounded > kMaxCachedBytes) {
    FASTNN_UNPOISON(p, rounded);
    std::free(p);
    return;
  }
  FASTNN_POISON(p, rounded);
  c.free_blocks[rounded].push_back(p);
  c.cached += rounded;
}

}  // namespace

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, const char* op) {
  // Refuse more than the machine's memory before asking libc: with overcommit it may say yes
  // and the process dies later, when the pages are touched.
  // PTRDIFF_MAX bounds it on any machine: byte offsets into a storage must fit in ptrdiff_t.
  static const size_t max_bytes =
      std::min(size_t(sysconf(_SC_PHYS_PAGES)) * size_t(sysconf(_SC_PAGESIZE)), size_t(PTRDIFF_MAX));
  if (nbytes > max_bytes)
    throw OutOfMemory(str("[", op, "] cannot allocate ", nbytes, " bytes (this machine has ", max_bytes, ")"));
  std::shared_ptr<Storage> s(new Storage());
  s->nbytes_ = nbytes;
  s->data_ = take_block(round_up(nbytes ? nbytes : 1), op);
  FASTNN_UNPOISON(s->data_, nbytes);
  FASTNN_POISON(static_cast<char*>(s->data_) + nbytes, round_up(nbytes ? nbytes : 1) - nbytes);
  in_use.fetch_add(round_up(nbytes ? nbytes : 1), std::memory_order_relaxed);
  return s;
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, std::function<void()> release) {
  std::shared_ptr<Storage> s(new Storage());
  s->data_ = data;
  s->nbytes_ = nbytes;
  s->release_ = std::move(release);
  return s;
}

Storage::~Storage() {
  if (release_) release_();
  else if (data_) {
    in_use.fetch_sub(round_up(nbytes_ ? nbytes_ : 1), std::memory_order_relaxed);
    give_block(data_, round_up(nbytes_ ? nbytes_ : 1));
  }
}

size_t allocator_in_use_bytes() { return in_use.load(std::memory_order_relaxed); }

size_t allocator_cached_bytes() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.cached;
}

void allocator_empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& kv : c.free_blocks)
    for (void* p : kv.second) {
      FASTNN_UNPOISON(p, kv.first);
      std::free(p);
    }
  c.free_blocks.clear();
  c.cached = 0;
}

}  // namespace fastnn
