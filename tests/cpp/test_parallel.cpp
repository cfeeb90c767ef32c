// fastnn's thread pool (parallel.h): every task runs once, on a thread numbered below the count asked
// for; exceptions reach the caller; nested and concurrent callers run serially and correctly; a
// forked child gets a working pool of its own.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "fastnn/parallel.h"

namespace {

// Runs tasks 0..n-1 at `threads` and checks that each ran once, on a thread index below `threads`
// (a loop that runs serially -- one thread or task, or the pool backing off after a stalled worker on a
// busy machine -- does not count as a parallel one: its own loops may still share out).
void check_each_task_once(int64_t n, int threads) {
  const bool shared = threads > 1 && n > 1;
  std::vector<std::atomic<int>> runs(static_cast<size_t>(n));
  std::atomic<int> bad_index{0};
  fastnn::run_tasks(n, threads, [&](int64_t i) {
    runs[size_t(i)].fetch_add(1);
    const int t = fastnn::thread_index();
    if (t < 0 || t >= threads || (fastnn::in_parallel() && !shared)) bad_index.fetch_add(1);
  });
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(runs[size_t(i)].load(), 1) << "task " << i << " of " << n;
  EXPECT_EQ(bad_index.load(), 0);
}

TEST(Parallel, EveryTaskRunsOnceOnAValidThread) {
  for (int threads : {1, 2, 3, 8})
    for (int64_t n : {0, 1, 2, 7, 1000}) check_each_task_once(n, threads);
  for (int rep = 0; rep < 2000; ++rep) check_each_task_once(3, 2);  // many short jobs: wake-ups and reuse
  EXPECT_FALSE(fastnn::in_parallel());
  EXPECT_EQ(fastnn::thread_index(), 0);
}

// Jobs of alternating sizes back to back: a worker still on the last job must never take a task index of the
// next, larger one (a stress test: the race it guards against, a worker reading the next job's task count
// while still holding the last job's state word, crashed an optimizer step once and is too narrow to hit on
// demand).
TEST(Parallel, NoTaskPastTheEndAcrossJobsOfDifferentSizes) {
  std::atomic<int> bad{0};
  for (int rep = 0; rep < 20000; ++rep) {
    const int64_t n = rep % 2 ? 64 : 2;
    std::atomic<int64_t> ran{0};
    fastnn::run_tasks(n, 2, [&](int64_t i) {
      if (i < 0 || i >= n) bad.fetch_add(1);
      ran.fetch_add(1);
    });
    if (ran.load() != n) bad.fetch_add(1);
  }
  EXPECT_EQ(bad.load(), 0);
}

TEST(Parallel, ParallelForCoversTheRangeInGrainChunks) {
  std::vector<std::atomic<int>> hits(1001);
  fastnn::parallel_for(
      1001, 100,
      [&](int64_t b, int64_t e) {
        EXPECT_EQ(b % 100, 0);
        EXPECT_EQ(e, std::min<int64_t>(b + 100, 1001));
        for (int64_t i = b; i < e; ++i) hits[size_t(i)].fetch_add(1);
      },
      4);
  for (auto& h : hits) ASSERT_EQ(h.load(), 1);
}

TEST(Parallel, AnExceptionReachesTheCallerAndStopsTheLoop) {
  for (int rep = 0; rep < 5; ++rep) {
    std::atomic<int> ran{0};
    EXPECT_THROW(fastnn::run_tasks(64, 2,
                                   [&](int64_t i) {
                                     ran.fetch_add(1);
                                     if (i == 5) throw std::runtime_error("task 5");
                                     std::this_thread::sleep_for(std::chrono::milliseconds(1));
                                   }),
                 std::runtime_error);
    EXPECT_GE(ran.load(), 1);
    EXPECT_LT(ran.load(), 64);  // the tasks not started when task 5 threw are skipped
  }
  check_each_task_once(100, 2);  // the pool is usable afterwards
}

TEST(Parallel, NestedLoopsRunSeriallyAsThreadZero) {
  std::atomic<int> bad{0}, inner{0};
  fastnn::run_tasks(8, 2, [&](int64_t) {
    const int outer = fastnn::thread_index();
    fastnn::run_tasks(4, 2, [&](int64_t) {
      inner.fetch_add(1);
      if (fastnn::thread_index() != 0) bad.fetch_add(1);
    });
    if (fastnn::thread_index() != outer) bad.fetch_add(1);  // the outer index comes back
  });
  EXPECT_EQ(inner.load(), 32);
  EXPECT_EQ(bad.load(), 0);
}

TEST(Parallel, ConcurrentCallersEachGetAllTheirTasks) {
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&] {
      for (int rep = 0; rep < 200; ++rep) {
        std::vector<std::atomic<int>> runs(50);
        fastnn::run_tasks(50, 2, [&](int64_t i) { runs[size_t(i)].fetch_add(1); });
        for (auto& r : runs)
          if (r.load() != 1) failures.fetch_add(1);
      }
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(Parallel, AForkedChildHasAWorkingPool) {
  check_each_task_once(100, 2);  // the parent's workers exist
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // the child: no workers were inherited; the loop must still finish, on fresh ones
    std::atomic<int64_t> sum{0};
    fastnn::run_tasks(1000, 2, [&](int64_t i) { sum.fetch_add(i); });
    _exit(sum.load() == 999 * 1000 / 2 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
