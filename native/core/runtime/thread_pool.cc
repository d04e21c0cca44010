#include "runtime/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WL_CPU_RELAX() _mm_pause()
#else
#define WL_CPU_RELAX() std::this_thread::yield()
#endif

namespace wl {

namespace {
// A frame issues ~100 ops back to back; spinning this long after a job means the next one
// usually finds its workers awake (no futex wake-up latency), while an idle model parks
// quickly and leaves the (shared) cores alone.
constexpr auto kSpin = std::chrono::microseconds(50);

// Set while a thread runs a chunk, so a parallel_for issued from inside one runs serially
// (with the caller's worker index, which keeps per-worker scratch slots unique).
thread_local bool tl_in_job = false;
thread_local int tl_worker = 0;

// Spins until pred() holds or kSpin has passed; returns pred().
template <class Pred>
bool spin_until(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0;; ++i) {
    if (pred()) return true;
    WL_CPU_RELAX();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > deadline) return pred();
  }
}
}  // namespace

struct ThreadPool::Impl {
  // The claim word packs (job generation << 32 | next chunk index) so a worker that wakes late
  // can never claim a chunk of a job it did not read: the CAS fails once the generation moved.
  // While a job is set up its word reads (new generation, kSettingUp): a worker still holding
  // the previous word fails its CAS, and one that sees the new generation waits for index 0.
  static constexpr int64_t kSettingUp = 0xffffffff;
  std::atomic<uint64_t> claim{0};
  std::atomic<int64_t> done{0};
  // Job description; written before `claim` publishes the new generation and stable until
  // every chunk of that job is done (a claimed chunk keeps the job alive).
  // Atomics only because a late worker may read them while the next job is being
  // set up; the generation check then discards what it read.
  std::atomic<const RangeFn*> fn{nullptr};
  std::atomic<int64_t> n{0};
  std::atomic<int64_t> chunks{0};

  // First exception thrown by a chunk of the current job; rethrown by the caller once every
  // chunk has finished (a worker must never let one escape: that would terminate).
  std::exception_ptr error;
  std::atomic<bool> failed{false};

  std::mutex m;
  std::condition_variable work_cv, done_cv;
  int sleepers = 0;
  bool stop = false;
  std::mutex submit;  // one parallel job at a time per pool
  std::vector<std::thread> threads;

  // Runs chunks of the current job until none are left.
  void run_chunks(uint32_t gen, int worker) {
    for (;;) {
      uint64_t c = claim.load(std::memory_order_acquire);
      for (;;) {
        if (static_cast<uint32_t>(c >> 32) != gen) return;
        const int64_t idx = static_cast<int64_t>(c & 0xffffffffu);
        if (idx == kSettingUp) {  // the caller is writing this job's description
          WL_CPU_RELAX();
          c = claim.load(std::memory_order_acquire);
          continue;
        }
        const int64_t nchunks = chunks.load(std::memory_order_acquire);
        if (idx >= nchunks) return;
        if (claim.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
          // A successful claim of an unfinished job: its description is stable now.
          const int64_t total = n.load(std::memory_order_relaxed);
          const int64_t b = total * idx / nchunks, e = total * (idx + 1) / nchunks;
          tl_in_job = true;
          try {
            (*fn.load(std::memory_order_relaxed))(b, e, worker);
          } catch (...) {
            if (!failed.exchange(true)) error = std::current_exception();
          }
          tl_in_job = false;
          if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == nchunks) {
            std::lock_guard<std::mutex> lk(m);
            done_cv.notify_all();
          }
          break;
        }
      }
    }
  }

  void worker_main(int worker) {
    tl_worker = worker;
    uint32_t seen = 0;
    for (;;) {
      auto gen_moved = [&] {
        return static_cast<uint32_t>(claim.load(std::memory_order_acquire) >> 32) != seen;
      };
      if (!spin_until(gen_moved)) {
        std::unique_lock<std::mutex> lk(m);
        ++sleepers;
        work_cv.wait(lk, [&] { return stop || gen_moved(); });
        --sleepers;
        if (stop) return;
      }
      seen = static_cast<uint32_t>(claim.load(std::memory_order_acquire) >> 32);
      run_chunks(seen, worker);
    }
  }
};

ThreadPool::ThreadPool(int threads) : impl_(new Impl), n_(threads) {
  if (n_ <= 0) n_ = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  impl_->threads.reserve(n_ - 1);
  for (int i = 1; i < n_; ++i) impl_->threads.emplace_back([this, i] { impl_->worker_main(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(impl_->m);
    impl_->stop = true;
  }
  impl_->work_cv.notify_all();
  for (auto& t : impl_->threads) t.join();
  delete impl_;
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, RangeFn fn) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  // A few chunks per thread, claimed dynamically, absorb a thread that the (shared) machine
  // descheduled; never smaller than grain.
  const int64_t chunks = std::min<int64_t>({n / grain, int64_t(n_) * 4, 0x7fffffff});
  if (tl_in_job || n_ == 1 || chunks <= 1) {
    const bool outer = !tl_in_job;
    tl_in_job = true;
    try {
      fn(0, n, tl_worker);
    } catch (...) {
      if (outer) tl_in_job = false;
      throw;
    }
    if (outer) tl_in_job = false;
    return;
  }
  Impl& s = *impl_;
  std::lock_guard<std::mutex> submit(s.submit);
  const uint32_t gen = static_cast<uint32_t>(s.claim.load(std::memory_order_relaxed) >> 32) + 1;
  s.claim.store(uint64_t(gen) << 32 | Impl::kSettingUp, std::memory_order_seq_cst);
  s.fn.store(&fn, std::memory_order_release);
  s.n.store(n, std::memory_order_release);
  s.chunks.store(chunks, std::memory_order_release);
  s.done.store(0, std::memory_order_relaxed);
  s.failed.store(false, std::memory_order_relaxed);
  s.error = nullptr;
  s.claim.store(uint64_t(gen) << 32, std::memory_order_release);
  {
    std::lock_guard<std::mutex> lk(s.m);
    if (s.sleepers > 0) s.work_cv.notify_all();
  }
  const int caller_worker = tl_worker;
  tl_worker = 0;
  s.run_chunks(gen, 0);
  tl_worker = caller_worker;
  auto all_done = [&] { return s.done.load(std::memory_order_acquire) == chunks; };
  if (!spin_until(all_done)) {
    std::unique_lock<std::mutex> lk(s.m);
    s.done_cv.wait(lk, all_done);
  }
  if (s.failed.load(std::memory_order_acquire)) {
    std::exception_ptr e = s.error;
    s.error = nullptr;
    std::rethrow_exception(e);
  }
}

}  // namespace wl
