// One ground-truth world: level, textures, light map, player pose, lighting, spawned objects
// and the frame buffer. Everything is derived from (seed, config, actions), so runs replay
// bit-exactly. Errors are thrown as wl::Error naming the argument and the problem.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "world/level.h"
#include "world/lighting.h"
#include "world/renderer.h"
#include "world/texture.h"
#include "worldloop/wl_world.h"

namespace wl::world {

// Throws WL_ERR_INVALID_ARGUMENT naming the first field out of range.
void validate_config(const wl_world_config& cfg);

// True when the square of half-extent r centred on (x, y) overlaps no wall cell.
bool box_free(const Level& level, float r, float x, float y);

class World {
 public:
  World(uint64_t seed, const wl_world_config& cfg);

  void reset(uint64_t seed);
  // Validates and applies one action vector (events, then turn and movement), renders.
  void step(const float* action, size_t n);
  void set_light(float level, float r, float g, float b);
  bool spawn(int kind);
  // Draws an object as this world would show it (its sprites, its global light) over a frame
  // of this world's size; see wl_world_draw_object.
  void draw_object(int kind, float depth, float lateral, float local_light, uint8_t* rgb,
                   uint8_t* mask) const;
  void set_pose(float x, float y, float yaw);

  std::vector<uint8_t> snapshot() const;
  void restore(const uint8_t* data, size_t size);

  // True when a player-sized box at (x, y) overlaps no wall.
  bool position_free(float x, float y) const;

  const uint8_t* frame() const { return frame_.data(); }
  // Per-pixel z of the current frame (cells; +infinity where the sky shows).
  const float* depth() const { return depth_.data(); }
  // Intrinsics and pose of the current frame's camera (wl_world_camera).
  wl_camera camera() const;
  int width() const { return cfg_.width; }
  int height() const { return cfg_.height; }
  uint64_t seed() const { return seed_; }
  uint64_t frame_index() const { return frame_index_; }
  const wl_world_config& config() const { return cfg_; }
  const Level& level() const { return level_; }
  const Camera& pose() const { return pose_; }
  const Lighting& lighting() const { return light_; }
  const std::vector<Object>& spawned() const { return spawned_; }
  // Bumped into a wall on the last step (movement was cut short).
  bool blocked() const { return blocked_; }
  std::string info_json() const;

 private:
  void regenerate(uint64_t seed);
  void move(float forward, float sideways);
  bool place_spawn(int kind);
  void rebuild_objects(bool lights_changed);
  void render();

  wl_world_config cfg_;
  uint64_t seed_ = 0;
  uint64_t frame_index_ = 0;
  Level level_;
  TextureBank textures_;
  LightMap lightmap_;
  Renderer renderer_;
  Camera pose_{0, 0, 0};
  Lighting light_;
  int next_spawn_kind_ = 0;
  bool blocked_ = false;
  std::vector<Object> spawned_;  // oldest first
  std::vector<Object> objects_;  // placed + spawned: what the renderer draws
  std::vector<uint8_t> frame_;
  std::vector<float> depth_;
};

// World -> camera transform [R | t] (3x4, row-major) of the world's camera at pose (x, y, yaw):
// camera axes right, down, forward; the eye at height Renderer::kEyeHeight.
void camera_extrinsics(float x, float y, float yaw, float out[12]);

}  // namespace wl::world
