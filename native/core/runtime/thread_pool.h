// Persistent worker pool: threads are created once (model load) and parked between jobs, so a
// frame neither spawns threads nor allocates.
#pragma once
#include <cstdint>

namespace wl {

// Non-owning reference to a callable `void(int64_t begin, int64_t end, int worker)`; avoids the
// heap allocation std::function may make for large captures.
class RangeFn {
 public:
  template <class F>
  RangeFn(const F& f)  // NOLINT: implicit by design
      : obj_(&f), call_([](const void* o, int64_t b, int64_t e, int w) {
          (*static_cast<const F*>(o))(b, e, w);
        }) {}
  void operator()(int64_t b, int64_t e, int w) const { call_(obj_, b, e, w); }

 private:
  const void* obj_;
  void (*call_)(const void*, int64_t, int64_t, int);
};

class ThreadPool {
 public:
  // threads <= 0: std::thread::hardware_concurrency().
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_; }

  // Splits [0, n) into contiguous chunks of at least `grain` items and runs fn on them, the
  // calling thread included; returns when all chunks are done. Nested calls run serially.
  // If chunks throw, the other chunks still run and the first exception is rethrown here.
  void parallel_for(int64_t n, int64_t grain, RangeFn fn);

 private:
  struct Impl;
  Impl* impl_;
  int n_;
};

}  // namespace wl
