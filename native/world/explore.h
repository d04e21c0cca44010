// Exploration policy: a seeded scripted agent that plays the world the way people do — follows
// corridors to rooms, stops, looks around, bumps into walls, walks back to earlier places (so
// data has revisits and loops), and fires light and spawn events — at configurable rates.
#pragma once
#include <cstdint>
#include <vector>

#include "world/rng.h"
#include "world/world.h"
#include "worldloop/wl_world.h"

namespace wl::world {

void validate_explore_config(const wl_explore_config& cfg);

class Explorer {
 public:
  Explorer(uint64_t seed, const wl_explore_config& cfg);
  void reset(uint64_t seed);
  // The next action for the world's current state (does not modify the world).
  void next(const World& world, float* action);

 private:
  enum Mode { kWalk, kStop, kLook, kBump, kBack, kRandom, kIdle };
  void plan(const World& world);
  int lookahead(const World& world) const;
  void start_random_burst();

  wl_explore_config cfg_;
  Rng rng_;
  Mode mode_ = kWalk;
  int timer_ = 0;
  float speed_ = 1.f;
  float look_dir_ = 1.f;
  float random_action_[3] = {0.f, 0.f, 0.f};  // move, strafe, turn of the current burst
  float strafe_noise_ = 0.f, turn_noise_ = 0.f;
  std::vector<int> path_;     // cells to walk through, in order
  size_t path_pos_ = 0;
  std::vector<int> history_;  // goals reached, oldest first (revisit candidates)
  std::vector<int> scratch_;
  float last_x_ = -1, last_y_ = -1;
  int still_ticks_ = 0;
  const Level* level_ = nullptr;  // detects a world that was reset to another level
  uint64_t level_seed_ = 0;
  uint64_t last_frame_ = 0;
};

}  // namespace wl::world
