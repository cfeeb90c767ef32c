// Storage: a refcounted, 64-byte-aligned buffer, drawn from a caching allocator.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>

namespace fastnn {

class Storage {
 public:
  // A new buffer of `nbytes` (contents uninitialised); throws OutOfMemory naming `op`.
  static std::shared_ptr<Storage> allocate(size_t nbytes, const char* op = "empty");
  // Wraps memory owned elsewhere (a NumPy array); `release` runs when the storage dies.
  static std::shared_ptr<Storage> wrap(void* data, size_t nbytes, std::function<void()> release);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }

 private:
  Storage() = default;
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  std::function<void()> release_;  // empty: memory came from the caching allocator
};

// Bytes the caching allocator holds for reuse, and a way to give them back to the system.
size_t allocator_cached_bytes();
// Bytes (rounded to 64) held by live storages from the caching allocator; for leak tests.
size_t allocator_in_use_bytes();
void allocator_empty_cache();

}  // namespace fastnn
