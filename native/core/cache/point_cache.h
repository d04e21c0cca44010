// A bounded cache of world points seen in frames with depth (docs/memory-model.md, "The point
// cache"): every frame inserted is unprojected (ops/reproject.h) and its points merged into a
// voxel grid, one point per voxel, so revisiting a place does not grow the cache; render() splats
// every point kept into any camera with a z-buffer, giving an image, its depth and a validity
// mask. Memory is bounded by max_points (31 bytes of point data each, plus a hash-index entry):
// when an insert goes above it, the points observed least recently are evicted until 7/8 of the cap
// is left (in batches, so the index is rebuilt rarely).
//
// When a new observation falls in a voxel that already has a point, the policy decides:
//   newest:  the new observation replaces the point (the world as last seen; follows changes);
//   closest: the observation made from nearer (smaller depth, more detail) is kept; a tie goes to
//            the new one;
//   first:   the first observation is kept (nothing seen later changes it: a model's own frames
//            cannot overwrite the true ones they follow; placed objects and light changes do not
//            show either). Every policy counts the voxel as seen now for eviction.
//
// Deterministic: the same inserts give the same points in the same order, whatever the thread
// count (the fast ops are bit-identical to ref; the merge runs in pixel order on one thread).
#pragma once
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "ops/reproject.h"
#include "runtime/thread_pool.h"

namespace wl {

enum class CachePolicy { Newest = 0, Closest = 1, First = 2 };

struct PointCacheConfig {
  int64_t max_points = 2'000'000;  // the memory cap, in points
  float voxel = 1.f / 64.f;        // voxel side, world units (cells for the truth world)
  CachePolicy policy = CachePolicy::Newest;
  float max_depth = 16.f;  // pixels further than this are not inserted (fog hides them anyway)
  SplatParams splat;
};

class PointCache {
 public:
  // threads: the pool size for the fast ops (1 = no pool).
  PointCache(const PointCacheConfig& cfg, int threads);

  // Adds a frame: rgb [H*W*3], depth [H*W] (z along the camera's forward axis, +inf or NaN =
  // nothing there), seen by `cam`.
  void insert(const PinholeCamera& cam, const uint8_t* rgb, const float* depth);
  // Renders every point into `cam`: rgb [H*W*3] (0 where nothing landed), depth [H*W] (+inf
  // there), mask [H*W] (255 where a point landed, else 0). Any of depth/mask may be null.
  void render(const PinholeCamera& cam, uint8_t* rgb, float* depth, uint8_t* mask);
  void clear();

  int64_t size() const { return int64_t(size_.size()); }
  int64_t evicted() const { return evicted_; }
  const PointCacheConfig& config() const { return cfg_; }

  // The points, for saving (positions [n*3], sizes [n], colours [n*3], observation depths [n],
  // stamps [n]) and restoring them bit for bit (restore validates what it is given).
  const std::vector<float>& xyz() const { return xyz_; }
  const std::vector<float>& sizes() const { return size_; }
  const std::vector<uint8_t>& rgb() const { return rgb_; }
  const std::vector<float>& seen_depth() const { return seen_depth_; }
  const std::vector<uint64_t>& stamps() const { return stamp_; }
  uint64_t clock() const { return clock_; }
  void restore(int64_t n, const float* xyz, const float* sizes, const uint8_t* rgb,
               const float* seen_depth, const uint64_t* stamps, uint64_t clock);

  // The whole cache as bytes (docs/memory-model.md, "Saving the cache"): magic, version, the
  // settings, the clock and every point, then an FNV-1a 64 checksum of all that. Little-endian.
  std::vector<uint8_t> snapshot() const;
  // Replaces this cache (settings included; the thread count stays) by a snapshot. The bytes are
  // untrusted: magic, version, checksum, every setting and size, every point are checked, and a
  // rejected snapshot (WL_ERR_FORMAT naming the problem) leaves the cache as it was.
  void restore_snapshot(const uint8_t* data, size_t size);

 private:
  bool voxel_key(const float* p, uint64_t* key) const;
  void evict();
  void rebuild_index();
  OpCtx ctx(size_t scratch_floats);

  PointCacheConfig cfg_;
  std::unique_ptr<ThreadPool> pool_;
  std::vector<float> xyz_, size_, seen_depth_;
  std::vector<uint8_t> rgb_;
  std::vector<uint64_t> stamp_;
  std::unordered_map<uint64_t, uint32_t> index_;  // voxel -> point
  uint64_t clock_ = 0;  // frames inserted so far: the stamp of the newest observation
  int64_t evicted_ = 0;
  // Scratch reused between calls (sized to the largest frame seen).
  std::vector<float> frame_xyz_, frame_size_, scratch_;
  std::vector<uint8_t> render_mask_;
  std::vector<float> render_depth_;
};

}  // namespace wl
