// ThreadPool: coverage of [0, n) exactly once, grain respected, nesting, worker indices in range,
// many back-to-back jobs (the per-frame pattern) and concurrent submitters.
#include <atomic>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "runtime/thread_pool.h"
// Counts every heap allocation of the binary, so a test can assert that a region allocates nothing.
#define WL_TEST_COUNT_ALLOCATIONS 1
#include "test_util.h"

using wl::ThreadPool;

static bool covers_once(ThreadPool& pool, int64_t n, int64_t grain) {
  std::vector<std::atomic<int>> hits(size_t(n > 0 ? n : 1));
  for (auto& h : hits) h = 0;
  std::atomic<bool> bad{false};
  pool.parallel_for(n, grain, [&](int64_t b, int64_t e, int worker) {
    if (b < 0 || e > n || b >= e) bad = true;
    if (worker < 0 || worker >= pool.size()) bad = true;
    // Every chunk but the only one must hold at least `grain` items.
    if (e - b < grain && !(b == 0 && e == n)) bad = true;
    for (int64_t i = b; i < e; ++i) hits[size_t(i)]++;
  });
  if (bad) return false;
  for (int64_t i = 0; i < n; ++i)
    if (hits[size_t(i)] != 1) return false;
  return true;
}

TEST(covers_every_index_once) {
  for (int threads : {1, 2, 3, 4}) {
    ThreadPool pool(threads);
    CHECK(pool.size() == threads);
    for (int64_t n : {0, 1, 2, 3, 7, 64, 1000, 4097}) {
      for (int64_t grain : {1, 3, 16, 5000}) CHECK_MSG(covers_once(pool, n, grain),
                                                       "threads %d n %lld grain %lld", threads,
                                                       (long long)n, (long long)grain);
    }
  }
}

TEST(default_size_is_hardware_concurrency) {
  ThreadPool pool(0);
  CHECK(pool.size() >= 1);
}

TEST(work_is_shared_between_threads) {
  // With chunks that block until a second worker has started one, a pool that never used its
  // workers would deadlock; bounded by a spin count so a failure is a failed CHECK, not a hang.
  ThreadPool pool(2);
  std::atomic<int> started{0};
  std::atomic<bool> saw_other{false};
  pool.parallel_for(2, 1, [&](int64_t, int64_t, int) {
    started++;
    for (long i = 0; i < 2000000000L && started.load() < 2; ++i) std::this_thread::yield();
    if (started.load() >= 2) saw_other = true;
  });
  CHECK(saw_other.load());
}

TEST(distinct_workers_get_distinct_indices) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> in_use(3);
  for (auto& u : in_use) u = 0;
  std::atomic<bool> clash{false};
  for (int rep = 0; rep < 200; ++rep) {
    pool.parallel_for(64, 1, [&](int64_t, int64_t, int w) {
      if (in_use[size_t(w)].fetch_add(1) != 0) clash = true;
      volatile double s = 0;
      for (int i = 0; i < 200; ++i) s = s + i;
      in_use[size_t(w)].fetch_sub(1);
    });
  }
  CHECK(!clash.load());
}

TEST(nested_parallel_for_runs_serially_on_same_worker) {
  ThreadPool pool(2);
  std::atomic<int> total{0};
  std::atomic<bool> bad{false};
  pool.parallel_for(8, 1, [&](int64_t b, int64_t e, int outer_worker) {
    for (int64_t i = b; i < e; ++i) {
      int calls = 0;
      pool.parallel_for(100, 1, [&](int64_t ib, int64_t ie, int inner_worker) {
        calls++;
        if (ib != 0 || ie != 100 || inner_worker != outer_worker) bad = true;
        total += int(ie - ib);
      });
      if (calls != 1) bad = true;
    }
  });
  CHECK(!bad.load());
  CHECK(total.load() == 800);
}

TEST(many_small_jobs_back_to_back) {
  ThreadPool pool(2);
  std::atomic<long> sum{0};
  for (int rep = 0; rep < 20000; ++rep) {
    pool.parallel_for(4, 1, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) sum += i + 1;
    });
  }
  CHECK(sum.load() == 20000L * 10);
}

TEST(jobs_after_workers_parked) {
  ThreadPool pool(2);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let the workers park
  CHECK(covers_once(pool, 333, 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(covers_once(pool, 333, 1));
}

TEST(concurrent_submitters_are_serialised) {
  ThreadPool pool(2);
  std::atomic<bool> ok{true};
  auto submit = [&] {
    for (int rep = 0; rep < 2000; ++rep)
      if (!covers_once(pool, 97, 2)) ok = false;
  };
  std::thread a(submit), b(submit);
  a.join();
  b.join();
  CHECK(ok.load());
}

TEST(exceptions_reach_the_caller) {
  ThreadPool pool(2);
  for (int rep = 0; rep < 50; ++rep) {
    std::atomic<int> ran{0};
    bool caught = false;
    try {
      pool.parallel_for(16, 1, [&](int64_t b, int64_t, int) {
        ran++;
        if (b % 3 == 0) throw std::runtime_error("chunk failed");
      });
    } catch (const std::runtime_error& e) {
      caught = std::string(e.what()) == "chunk failed";
    }
    CHECK(caught);
    CHECK(ran.load() == 8);  // every chunk still ran (4 chunks per thread)
  }
  CHECK(covers_once(pool, 100, 1));  // and the pool still works
}

static void* volatile g_keep;

TEST(parallel_for_does_not_allocate) {
  {  // the counter itself works
    const long b = wl_test::g_allocs.load();
    g_keep = new int[4];
    delete[] static_cast<int*>(g_keep);
    CHECK(wl_test::g_allocs.load() > b);
  }
  ThreadPool pool(2);
  std::atomic<long> sum{0};
  auto job = [&](int64_t b, int64_t e, int) { sum += e - b; };
  pool.parallel_for(100, 1, job);  // warm-up: thread-locals, first wake-ups
  const long before = wl_test::g_allocs.load();
  for (int rep = 0; rep < 1000; ++rep) pool.parallel_for(100, 1, job);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // workers park in between
  for (int rep = 0; rep < 10; ++rep) pool.parallel_for(100, 1, job);
  CHECK_MSG(wl_test::g_allocs.load() == before, "%ld allocations", wl_test::g_allocs.load() - before);
  CHECK(sum.load() == 1011L * 100);
}

TEST_MAIN()
