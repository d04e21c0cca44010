#include "world/batch.h"

#include <cstring>
#include <exception>
#include <string>

#include "capi/error.h"

namespace wl::world {

namespace {
// Runs fn(i) for i in [0, n) on the pool; an exception in any item is rethrown on the caller's
// thread (a throw must never escape a pool worker).
template <class F>
void for_each_world(ThreadPool& pool, int64_t n, F&& fn) {
  std::vector<std::exception_ptr> errors(static_cast<size_t>(n));
  pool.parallel_for(n, 1, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      try {
        fn(i);
      } catch (...) {
        errors[size_t(i)] = std::current_exception();
      }
    }
  });
  for (auto& err : errors)
    if (err) std::rethrow_exception(err);
}
}  // namespace

WorldBatch::WorldBatch(const std::vector<uint64_t>& seeds, const wl_world_config& cfg,
                       const wl_explore_config& ecfg, int threads)
    : pool_(threads) {
  validate_config(cfg);
  validate_explore_config(ecfg);
  worlds_.resize(seeds.size());
  explorers_.resize(seeds.size());
  // Level and texture generation is the slow part of creation: do it in parallel too.
  for_each_world(pool_, int64_t(seeds.size()), [&](int64_t i) {
    worlds_[i] = std::make_unique<World>(seeds[i], cfg);
    explorers_[i] = std::make_unique<Explorer>(seeds[i], ecfg);
  });
}

void WorldBatch::generate(int steps, uint8_t* frames, float* actions, float* poses,
                          float* depths) {
  if (steps < 0) throw Error(WL_ERR_INVALID_ARGUMENT, "wl_world_batch_generate: steps = " + std::to_string(steps) + " must be >= 0");
  const World& first = *worlds_[0];
  const size_t frame_bytes = size_t(first.width()) * first.height() * 3;
  for_each_world(pool_, int64_t(worlds_.size()), [&](int64_t i) {
    float action[WL_ACTION_COUNT];
    World& w = *worlds_[i];
    Explorer& ex = *explorers_[i];
    for (int t = 0; t < steps; ++t) {
      const size_t slot = size_t(i) * steps + t;
      if (frames) std::memcpy(frames + slot * frame_bytes, w.frame(), frame_bytes);
      if (depths) std::memcpy(depths + slot * (frame_bytes / 3), w.depth(), frame_bytes / 3 * sizeof(float));
      if (poses) {
        poses[slot * 3 + 0] = w.pose().x;
        poses[slot * 3 + 1] = w.pose().y;
        poses[slot * 3 + 2] = w.pose().yaw;
      }
      ex.next(w, action);
      if (actions) std::memcpy(actions + slot * WL_ACTION_COUNT, action, sizeof(action));
      w.step(action, WL_ACTION_COUNT);
    }
  });
}

void WorldBatch::reset(int index, uint64_t seed) {
  if (index < 0 || index >= count()) {
    throw Error(WL_ERR_INVALID_ARGUMENT, "wl_world_batch_reset: index " + std::to_string(index) + " is outside [0, " + std::to_string(count() - 1) + "]");
  }
  worlds_[index]->reset(seed);
  explorers_[index]->reset(seed);
}

}  // namespace wl::world
