// Many worlds, each driven by its own explorer, stepped in parallel on a thread pool. Worlds
// share nothing mutable, so the output does not depend on the thread count or the schedule.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/thread_pool.h"
#include "world/explore.h"
#include "world/world.h"

namespace wl::world {

class WorldBatch {
 public:
  WorldBatch(const std::vector<uint64_t>& seeds, const wl_world_config& cfg,
             const wl_explore_config& ecfg, int threads);
  // See wl_world_batch_generate(_depth) for the layout of the outputs (each may be null).
  void generate(int steps, uint8_t* frames, float* actions, float* poses, float* depths);
  void reset(int index, uint64_t seed);
  int count() const { return int(worlds_.size()); }
  int threads() const { return pool_.size(); }

 private:
  std::vector<std::unique_ptr<World>> worlds_;
  std::vector<std::unique_ptr<Explorer>> explorers_;
  ThreadPool pool_;
};

}  // namespace wl::world
