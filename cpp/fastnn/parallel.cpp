#include "fastnn/parallel.h"

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "fastnn/error.h"

namespace fastnn {
namespace {

std::atomic<int> g_num_threads{0};  // 0: not set, default_threads() applies
thread_local int t_index = 0;
thread_local bool t_in_parallel = false;

int default_threads() {
  static const int n = [] {
    if (const char* env = std::getenv("OMP_NUM_THREADS")) {  // "4" or a nesting list "4,2": the first level
      const int v = std::atoi(env);
      if (v > 0) return v;
    }
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    return std::max(1, int(std::thread::hardware_concurrency()));
  }();
  return n;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// A worker that finds no new job spins this long before it sleeps: long enough to catch the next
// parallel loop of a running step, short enough not to take a core from another process for long
// (python -m bench --cases contended: at 0 us two threads lost to one at batch 16; at 50 us they won).
constexpr auto kWorkerSpin = std::chrono::microseconds(50);
// The caller, waiting for chunks other threads hold, yields its core after this many pauses (the
// holder may be waiting for that very core).
constexpr int kCallerSpins = 2000;
// A worker stalled: after the caller ran out of tasks it waited longer than kStallFactor times its own
// longest task (and at least kStallMin) for the tasks workers held. The OS had taken a worker's core
// (another process is busy there), so parallel loops run on the calling thread alone for kBackoff, then
// try the workers again. On an idle machine workers finish their last task about when the caller does.
constexpr int64_t kStallFactor = 4;
constexpr auto kStallMin = std::chrono::microseconds(200);
constexpr auto kBackoff = std::chrono::milliseconds(100);

using Clock = std::chrono::steady_clock;

// Scopes a thread's chunk-running state: its index and whether it is inside a parallel loop.
class ChunkScope {
 public:
  ChunkScope(int index, bool in_parallel) : index_(t_index), in_(t_in_parallel) {
    t_index = index;
    t_in_parallel = in_parallel;
  }
  ~ChunkScope() {
    t_index = index_;
    t_in_parallel = in_;
  }

 private:
  int index_;
  bool in_;
};

// A state word's task index once its job is closed (above any task count: jobs have fewer than 2^32 tasks).
constexpr uint64_t kClosed = 0xffffffffu;

// One job at a time: the caller publishes it by bumping the generation in state_ (generation << 32 |
// next unclaimed task); the caller and the workers whose index is below the job's thread count claim
// tasks with a compare-and-swap on state_, so a claim also proves that the job's fields just read
// are still the current job's (a new job's fields are written only after the last job's state word is closed).
class Pool {
 public:
  bool try_acquire() { return !busy_.test_and_set(std::memory_order_acquire); }
  void release() { busy_.clear(std::memory_order_release); }

  // Whether parallel loops run on the calling thread alone for now (a worker stalled recently).
  bool backing_off() const {
    return Clock::now().time_since_epoch().count() < backoff_until_.load(std::memory_order_relaxed);
  }

  void run(int64_t n, int threads, const TaskRef& task) {
    start_workers(threads - 1);
    // Close the last job before rewriting the fields: a worker that read the new n_ while still holding the
    // last job's state word would otherwise claim a task past that job's end. Its claim now fails (the
    // fences pair with the one in claim(): a worker that saw a new field sees the closed state).
    state_.store(uint64_t(generation_) << 32 | kClosed, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    n_.store(n, std::memory_order_relaxed);
    threads_.store(threads, std::memory_order_relaxed);
    task_.store(&task, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    error_ = nullptr;
    failed_.store(false, std::memory_order_relaxed);
    const uint32_t gen = ++generation_;
    state_.store(uint64_t(gen) << 32, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      pthread_mutex_lock(&sleep_mutex_);
      pthread_cond_broadcast(&wake_);
      pthread_mutex_unlock(&sleep_mutex_);
    }
    const Clock::duration longest = work(gen, 0);
    if (done_.load(std::memory_order_acquire) < n) {
      const Clock::time_point wait_start = Clock::now();
      for (int spins = 0; done_.load(std::memory_order_acquire) < n;)
        if (++spins < kCallerSpins) cpu_relax();
        else std::this_thread::yield();
      const Clock::time_point end = Clock::now();
      if (end - wait_start > std::max<Clock::duration>(kStallFactor * longest, kStallMin))
        backoff_until_.store((end + kBackoff).time_since_epoch().count(), std::memory_order_relaxed);
    }
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // Claims the next task of job `gen` for thread `index`; -1 when there is none for it.
  int64_t claim(uint32_t gen, int index) {
    uint64_t s = state_.load(std::memory_order_acquire);
    for (;;) {
      const int64_t i = int64_t(s & 0xffffffffu);
      if (uint32_t(s >> 32) != gen || i >= n_.load(std::memory_order_relaxed) ||
          index >= threads_.load(std::memory_order_relaxed))
        return -1;
      std::atomic_thread_fence(std::memory_order_acquire);  // the fields above were the job's if the CAS holds
      if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) return i;
    }
  }

  // Runs tasks of job `gen` until none is left for this thread; returns the longest one's duration when
  // called by the caller (index 0; workers do not time theirs).
  Clock::duration work(uint32_t gen, int index) {
    ChunkScope scope(index, true);
    Clock::duration longest{};
    for (int64_t i; (i = claim(gen, index)) >= 0;) {
      const Clock::time_point start = index == 0 ? Clock::now() : Clock::time_point{};
      try {
        if (!failed_.load(std::memory_order_relaxed)) (*task_.load(std::memory_order_relaxed))(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
        failed_.store(true, std::memory_order_relaxed);  // the tasks not yet started are skipped, as serially
      }
      done_.fetch_add(1, std::memory_order_release);
      if (index == 0) longest = std::max(longest, Clock::now() - start);
    }
    return longest;
  }

  uint32_t current_generation() const { return uint32_t(state_.load(std::memory_order_seq_cst) >> 32); }

  // Waits for a job newer than `seen`: spins a while, then sleeps until run() wakes it.
  uint32_t wait_for_job(uint32_t seen) {
    const auto until = Clock::now() + kWorkerSpin;
    for (int spins = 0;; ++spins) {
      if (const uint32_t g = current_generation(); g != seen) return g;
      cpu_relax();
      if (spins % 64 == 63 && Clock::now() > until) break;
    }
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    pthread_mutex_lock(&sleep_mutex_);
    while (current_generation() == seen) pthread_cond_wait(&wake_, &sleep_mutex_);
    pthread_mutex_unlock(&sleep_mutex_);
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    return current_generation();
  }

  // Workers 1..count exist afterwards (as many as the system would start).
  void start_workers(int count) {
    while (started_ < count) {
      const int index = started_ + 1;
      try {
        std::thread([this, index] {
          for (uint32_t seen = 0;;) {
            seen = wait_for_job(seen);
            work(seen, index);
          }
        }).detach();
      } catch (const std::system_error&) {
        return;  // no more threads: the caller and the workers it has do all the chunks
      }
      ++started_;
    }
  }

  std::atomic_flag busy_ = ATOMIC_FLAG_INIT;
  uint32_t generation_ = 0;  // written by the pool's holder only
  int started_ = 0;          // idem
  std::atomic<uint64_t> state_{0};
  std::atomic<int64_t> n_{0}, done_{0};
  std::atomic<int> threads_{0};
  std::atomic<const TaskRef*> task_{nullptr};
  std::mutex error_mutex_;
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
  std::atomic<int> sleepers_{0};
  std::atomic<Clock::rep> backoff_until_{0};  // steady_clock ticks
  // POSIX's own: std::condition_variable::wait needs GLIBCXX_3.4.30 with GCC 12, which moved the wheel
  // from manylinux_2_34 (RHEL 9) to 2_35.
  pthread_mutex_t sleep_mutex_ = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t wake_ = PTHREAD_COND_INITIALIZER;
};

// The process's pool, created on first use and never destroyed (its detached workers sleep through
// exit). A child process after fork() has none of the parent's threads: it starts a pool of its own.
std::atomic<Pool*> g_pool{nullptr};

Pool& pool() {
  Pool* p = g_pool.load(std::memory_order_acquire);
  if (p) return *p;
  static std::mutex create;
  std::lock_guard<std::mutex> lock(create);
  static const bool registered = pthread_atfork(nullptr, nullptr, [] { g_pool.store(nullptr); }) == 0;
  (void)registered;
  if (!(p = g_pool.load(std::memory_order_acquire))) g_pool.store(p = new Pool, std::memory_order_release);
  return *p;
}

}  // namespace

void set_num_threads(int n) {
  FASTNN_CHECK(n > 0, "[set_num_threads] expected a positive number of threads, got ", n);
  g_num_threads.store(n, std::memory_order_relaxed);
}

int get_num_threads() {
  const int n = g_num_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : default_threads();
}

int thread_index() { return t_index; }

bool in_parallel() { return t_in_parallel; }

void run_tasks(int64_t n, int threads, TaskRef task) {
  if (n <= 0) return;
  if (threads > 1 && n > 1 && n < (int64_t(1) << 32) && !t_in_parallel) {
    Pool& p = pool();
    if (!p.backing_off() && p.try_acquire()) {
      struct Release {
        Pool& p;
        ~Release() { p.release(); }
      } release{p};
      p.run(n, threads, task);
      return;
    }
  }
  ChunkScope scope(0, t_in_parallel);  // serial: the one thread is thread 0 (its own loops may still share out)
  for (int64_t i = 0; i < n; ++i) task(i);
}

}  // namespace fastnn
