// Threading: fastnn's own pool (parallel.cpp). Work is always split by problem shape (fixed-size
// chunks), never by thread count, so results are bitwise identical at any number of threads.
//
// The calling thread takes part: it and the pool's workers claim chunks one at a time, so a thread
// the OS has descheduled (a busy machine) delays nothing but the chunk it holds, and idle workers
// spin only briefly before they sleep. When the caller still had to wait long for a held chunk, loops
// run on the calling thread alone for a while (100 ms), then try the workers again. (OpenMP's fixed
// teams and spinning barriers made two threads up to 15x slower than one when another process used a
// core.)
#pragma once
#include <cstdint>

namespace fastnn {

// The number of threads fastnn's parallel loops use, for every calling thread (as torch's
// set_num_threads). Default: OMP_NUM_THREADS if set (as torch reads it), else the CPUs this
// process may run on.
void set_num_threads(int n);
int get_num_threads();

// Elements per chunk for elementwise loops; below this much work a loop stays on one thread.
constexpr int64_t kGrainSize = 32768;

// The calling thread's number inside a parallel loop, in [0, threads) (0 outside one): picks one
// of the per-thread scratch buffers allocated before the loop. Which buffer a chunk uses never
// changes its result.
int thread_index();

// Whether the calling thread is running a chunk of a parallel loop (a nested loop runs serially).
bool in_parallel();

// A non-owning reference to a callable taking a task number.
class TaskRef {
 public:
  template <class F>
  TaskRef(const F& f) : obj_(&f), call_([](const void* o, int64_t i) { (*static_cast<const F*>(o))(i); }) {}
  void operator()(int64_t i) const { call_(obj_, i); }

 private:
  const void* obj_;
  void (*call_)(const void*, int64_t);
};

// Runs task(i) for every i in [0, n), shared among at most `threads` threads (the caller included),
// and returns when all are done; an exception from a task is rethrown here (the first one, once the
// tasks already running finished; tasks not yet started are skipped, as a serial loop would). Serial when threads <= 1,
// n <= 1, inside a parallel loop, while another thread is using the pool, or while the pool backs off after a stalled
// worker.
void run_tasks(int64_t n, int threads, TaskRef task);

// Calls f(begin, end) over [0, n) in chunks of `grain`, on at most `threads` threads. A caller
// that keeps per-thread state sizes it by the same `threads` it passes here: reading
// get_num_threads() twice would race with another thread's set_num_threads.
template <class F>
void parallel_for(int64_t n, int64_t grain, const F& f, int threads) {
  if (n <= 0) return;
  const int64_t chunks = (n + grain - 1) / grain;
  run_tasks(chunks, threads, [&](int64_t c) { f(c * grain, c + 1 == chunks ? n : (c + 1) * grain); });
}

// The same with the current thread count.
template <class F>
void parallel_for(int64_t n, int64_t grain, const F& f) {
  parallel_for(n, grain, f, get_num_threads());
}

}  // namespace fastnn
