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
constexpr size_t kMaxCachedBytes = size_t(1) << 30;  // beyond this, freed blocks go back to the system
constexpr int kMaxGpus = 64;

// One arena per device: freed blocks by exact (rounded) size (a training loop reuses the same sizes every step),
// and the bytes live storages hold. GPU blocks are reused in the order the default stream runs work, so a block
// freed after a kernel was queued is only overwritten by work queued after it.
struct Arena {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  size_t cached = 0;
  std::atomic<size_t> in_use{0}, peak{0};
};
Arena& arena(const Device& d) {
  static Arena* cpu = new Arena();  // leaked on purpose: storages may die during static teardown
  static Arena* gpus = new Arena[kMaxGpus];
  if (d.is_cpu()) return *cpu;
  FASTNN_CHECK_STATE(d.index >= 0 && d.index < kMaxGpus, "[allocator] no arena for device ", d.str());
  return gpus[d.index];
}

size_t round_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// Memory from the system (libc, or the CUDA driver); null when it has none.
void* system_alloc(const Device& d, size_t bytes, const char* op) {
  return d.is_cpu() ? std::aligned_alloc(kAlign, bytes) : cuda::malloc(bytes, d.index, op);
}
void system_free(const Device& d, void* p) {
  if (d.is_cpu()) std::free(p);
  else cuda::free(p, d.index);
}

void* take_block(const Device& d, size_t rounded, const char* op) {
  Arena& a = arena(d);
  {
    std::lock_guard<std::mutex> lock(a.mu);
    auto it = a.free_blocks.find(rounded);
    if (it != a.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      a.cached -= rounded;
      return p;
    }
  }
  void* p = system_alloc(d, rounded, op);
  if (!p) {
    allocator_empty_cache(d);
    p = system_alloc(d, rounded, op);
  }
  if (!p) throw OutOfMemory(str("[", op, "] cannot allocate ", rounded, " bytes on ", d.str()));
  return p;
}

void give_block(const Device& d, void* p, size_t rounded) {
  Arena& a = arena(d);
  std::lock_guard<std::mutex> lock(a.mu);
  if (a.cached + rounded > kMaxCachedBytes) {
    if (d.is_cpu()) FASTNN_UNPOISON(p, rounded);
    system_free(d, p);
    return;
  }
  if (d.is_cpu()) FASTNN_POISON(p, rounded);
  a.free_blocks[rounded].push_back(p);
  a.cached += rounded;
}

void count_in_use(const Device& d, size_t rounded) {
  Arena& a = arena(d);
  const size_t now = a.in_use.fetch_add(rounded, std::memory_order_relaxed) + rounded;
  for (size_t peak = a.peak.load(std::memory_order_relaxed);
       now > peak && !a.peak.compare_exchange_weak(peak, now, std::memory_order_relaxed);) {
  }
}

}  // namespace

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, const char* op, Device device) {
  if (device.is_cpu()) {
    // Refuse more than the machine's memory before asking libc: with overcommit it may say yes
    // and the process dies later, when the pages are touched.
    // PTRDIFF_MAX bounds it on any machine: byte offsets into a storage must fit in ptrdiff_t.
    static const size_t max_bytes =
        std::min(size_t(sysconf(_SC_PHYS_PAGES)) * size_t(sysconf(_SC_PAGESIZE)), size_t(PTRDIFF_MAX));
    if (nbytes > max_bytes)
      throw OutOfMemory(str("[", op, "] cannot allocate ", nbytes, " bytes (this machine has ", max_bytes, ")"));
  } else {
    cuda::check_device(device.index, op);
    if (nbytes > size_t(PTRDIFF_MAX)) throw OutOfMemory(str("[", op, "] cannot allocate ", nbytes, " bytes"));
  }
  std::shared_ptr<Storage> s(new Storage());
  const size_t rounded = round_up(nbytes ? nbytes : 1);
  s->nbytes_ = nbytes;
  s->device_ = device;
  s->data_ = take_block(device, rounded, op);
  if (device.is_cpu()) {
    FASTNN_UNPOISON(s->data_, nbytes);
    FASTNN_POISON(static_cast<char*>(s->data_) + nbytes, rounded - nbytes);
  }
  count_in_use(device, rounded);
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
  if (release_) {
    release_();
  } else if (data_) {
    const size_t rounded = round_up(nbytes_ ? nbytes_ : 1);
    arena(device_).in_use.fetch_sub(rounded, std::memory_order_relaxed);
    give_block(device_, data_, rounded);
  }
}

size_t allocator_in_use_bytes(Device device) { return arena(device).in_use.load(std::memory_order_relaxed); }
size_t allocator_peak_bytes(Device device) { return arena(device).peak.load(std::memory_order_relaxed); }
void allocator_reset_peak(Device device) {
  Arena& a = arena(device);
  a.peak.store(a.in_use.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

size_t allocator_cached_bytes(Device device) {
  Arena& a = arena(device);
  std::lock_guard<std::mutex> lock(a.mu);
  return a.cached;
}

void allocator_empty_cache(Device device) {
  Arena& a = arena(device);
  std::lock_guard<std::mutex> lock(a.mu);
  for (auto& kv : a.free_blocks)
    for (void* p : kv.second) {
      if (device.is_cpu()) FASTNN_UNPOISON(p, kv.first);
      system_free(device, p);
    }
  a.free_blocks.clear();
  a.cached = 0;
}

}  // namespace fastnn
