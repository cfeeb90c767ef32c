// The CUDA emulator (cuda_runtime.h here): one "GPU" whose memory is host memory and whose kernels run on the calling
// host thread. A grid runs block by block. The first block's threads run as fibers, each until it reaches
// __syncthreads or returns, round after round, which is what a barrier means; if none of them synchronised, the
// kernel has no barrier and the other blocks' threads run as plain calls, one after another (fast).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <map>
#include <vector>

#include "cuda_runtime.h"

#if !defined(__x86_64__)
#error "the CUDA emulator's fiber switch is written for x86-64"
#endif

// switch_fiber(&from, to): pushes the callee-saved registers, stores the stack pointer in *from, loads `to` and pops
// the registers saved there (a fiber switch without the system calls of swapcontext: a block's threads switch often).
extern "C" void fastnn_emu_switch_fiber(void** from, void* to);
asm(R"(
  .pushsection .text
  .globl fastnn_emu_switch_fiber
  .type fastnn_emu_switch_fiber, @function
fastnn_emu_switch_fiber:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size fastnn_emu_switch_fiber, .-fastnn_emu_switch_fiber
  .popsection
)");

namespace fastnn::cuda::emu {
namespace {

constexpr size_t kStackBytes = size_t(256) << 10;
constexpr unsigned kMaxThreads = 1024;  // CUDA's limit per block

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fastnn CUDA emulator: %s\n", what);
  std::abort();
}

// A block being run as fibers on this host thread.
struct Block {
  void* scheduler = nullptr;   // the scheduler's saved stack pointer while a fiber runs
  std::vector<void*> threads;  // each unfinished fiber's saved stack pointer
  std::vector<char> done;
  std::vector<std::unique_ptr<char[]>> stacks;
  void (*body)(void*) = nullptr;
  void* ctx = nullptr;
  unsigned current = 0;
  bool in_fiber = false, synced = false;
};
thread_local Block block_run;

dim3 coordinates(unsigned linear, dim3 extent) {
  return dim3(linear % extent.x, linear / extent.x % extent.y, linear / (extent.x * extent.y));
}

[[noreturn]] void fiber_main() {
  Block& b = block_run;
  b.body(b.ctx);
  b.done[b.current] = 1;
  void* finished;
  fastnn_emu_switch_fiber(&finished, b.scheduler);  // never resumed
  fail("a finished fiber was resumed");
}

// A fresh fiber's stack pointer: switch_fiber pops six zero registers, then returns into fiber_main with the stack
// aligned as after a call.
void* fresh_fiber(char* stack) {
  auto top = reinterpret_cast<uintptr_t>(stack + kStackBytes) & ~uintptr_t(15);
  auto* sp = reinterpret_cast<void**>(top);
  *--sp = nullptr;  // fiber_main's return address: it never returns
  *--sp = reinterpret_cast<void*>(&fiber_main);
  for (int r = 0; r < 6; ++r) *--sp = nullptr;
  return sp;
}

// Runs the current block's n threads as fibers; returns whether any of them called __syncthreads.
bool run_block_as_fibers(unsigned n) {
  Block& b = block_run;
  b.threads.resize(n);
  b.done.assign(n, 0);
  while (b.stacks.size() < n) b.stacks.emplace_back(new char[kStackBytes]);
  for (unsigned t = 0; t < n; ++t) b.threads[t] = fresh_fiber(b.stacks[t].get());
  b.synced = false;
  for (bool live = true; live;) {  // one round: every live thread runs to its next barrier or its end
    live = false;
    for (unsigned t = 0; t < n; ++t) {
      if (b.done[t]) continue;
      live = true;
      threadIdx = coordinates(t, blockDim);
      b.current = t;
      b.in_fiber = true;
      fastnn_emu_switch_fiber(&b.scheduler, b.threads[t]);
      b.in_fiber = false;
    }
  }
  return b.synced;
}

// Device memory: each allocation ends at a page boundary followed by an inaccessible page, so an access past the end
// faults where it happens. Sizes come rounded to 64 bytes by the allocator (storage.cpp).
std::mutex memory_mu;
std::map<uintptr_t, std::pair<void*, size_t>> mappings;  // a block's first byte -> (its mapping, the mapping's length)

// Whether [p, p + bytes) lies in one device block: a copy's device side must, its host side must not (a copy in the
// wrong direction is what faults on a real GPU).
bool on_device(const void* p, size_t bytes) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> lock(memory_mu);
  auto it = mappings.upper_bound(a);
  if (it == mappings.begin()) return false;
  --it;
  const uintptr_t end =
      reinterpret_cast<uintptr_t>(it->second.first) + it->second.second - size_t(sysconf(_SC_PAGESIZE));
  return a >= it->first && a + bytes <= end;
}

void check_side(const void* p, size_t bytes, bool device, const char* what) {
  if (bytes > 0 && on_device(p, bytes) != device) {
    std::fprintf(stderr, "fastnn CUDA emulator: cudaMemcpy's %s %p is %s memory\n", what, p,
                 device ? "host" : "device");
    std::abort();
  }
}

}  // namespace

void run_grid(dim3 grid, dim3 block, void (*body)(void*), void* ctx) {
  const unsigned threads = block.x * block.y * block.z, blocks = grid.x * grid.y * grid.z;
  if (threads == 0 || threads > kMaxThreads) fail("a launch with 0 or more than 1024 threads per block");
  Block& b = block_run;
  if (b.in_fiber) fail("a kernel launch from inside a kernel");
  const dim3 saved_grid = gridDim, saved_block = blockDim;
  gridDim = grid;
  blockDim = block;
  b.body = body;
  b.ctx = ctx;
  bool barriers = false;
  for (unsigned i = 0; i < blocks; ++i) {
    blockIdx = coordinates(i, grid);
    if (i == 0 || barriers) {
      barriers = run_block_as_fibers(threads) || barriers;
      continue;
    }
    for (unsigned t = 0; t < threads; ++t) {
      threadIdx = coordinates(t, block);
      body(ctx);
    }
  }
  gridDim = saved_grid;
  blockDim = saved_block;
}

void sync_threads() {
  Block& b = block_run;
  if (!b.in_fiber) fail("__syncthreads in a block whose kernel's first block never reached one");
  b.synced = true;
  fastnn_emu_switch_fiber(&b.threads[b.current], b.scheduler);
}

}  // namespace fastnn::cuda::emu

using fastnn::cuda::emu::mappings;
using fastnn::cuda::emu::memory_mu;

const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
  }
  return "unknown error";
}

cudaError_t cudaGetLastError() { return cudaSuccess; }

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int index) { return index == 0 ? cudaSuccess : cudaErrorInvalidDevice; }

cudaError_t cudaMalloc(void** p, size_t bytes) {
  const size_t page = size_t(sysconf(_SC_PAGESIZE)), data_pages = (bytes + page - 1) / page * page;
  const size_t length = data_pages + page;
  void* m = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return cudaErrorMemoryAllocation;
  char* guard = static_cast<char*>(m) + data_pages;
  if (mprotect(guard, page, PROT_NONE) != 0) {
    munmap(m, length);
    return cudaErrorMemoryAllocation;
  }
  *p = guard - (bytes + 63) / 64 * 64;  // the block's end (64-byte aligned) touches the guard page
  std::lock_guard<std::mutex> lock(memory_mu);
  mappings[reinterpret_cast<uintptr_t>(*p)] = {m, length};
  return cudaSuccess;
}

cudaError_t cudaFree(void* p) {
  std::lock_guard<std::mutex> lock(memory_mu);
  const auto it = mappings.find(reinterpret_cast<uintptr_t>(p));
  if (it == mappings.end()) return p ? cudaErrorMemoryAllocation : cudaSuccess;
  munmap(it->second.first, it->second.second);
  mappings.erase(it);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  using fastnn::cuda::emu::check_side;
  check_side(dst, bytes, kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice, "destination");
  check_side(src, bytes, kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice, "source");
  std::memcpy(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpyPeer(void* dst, int, const void* src, int, size_t bytes) {
  using fastnn::cuda::emu::check_side;
  check_side(dst, bytes, true, "destination");
  check_side(src, bytes, true, "source");
  std::memcpy(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
