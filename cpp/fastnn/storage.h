// Storage: a refcounted, 64-byte-aligned buffer on a device, drawn from that device's arena of the
// caching allocator.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>

#include "fastnn/device.h"

namespace fastnn {

class Storage {
 public:
  // A new buffer of `nbytes` on `device` (contents uninitialised); throws OutOfMemory naming `op`.
  static std::shared_ptr<Storage> allocate(size_t nbytes, const char* op = "empty", Device device = {});
  // Wraps host memory owned elsewhere (a NumPy array); `release` runs when the storage dies.
  static std::shared_ptr<Storage> wrap(void* data, size_t nbytes, std::function<void()> release);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  const Device& device() const { return device_; }

 private:
  Storage() = default;
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  std::function<void()> release_;  // empty: memory came from the caching allocator
};

// Bytes a device's arena holds for reuse, and a way to give them back to the system (the driver).
size_t allocator_cached_bytes(Device device = {});
// Bytes (rounded to 64) held by live storages from a device's arena (leak tests, cuda.memory_allocated),
// and the most it held since the start or the last reset (cuda.max_memory_allocated).
size_t allocator_in_use_bytes(Device device = {});
size_t allocator_peak_bytes(Device device = {});
void allocator_reset_peak(Device device = {});
void allocator_empty_cache(Device device = {});

}  // namespace fastnn
