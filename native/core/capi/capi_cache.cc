// C ABI of the point cache (worldloop/wl_cache.h): argument checks, then wl::PointCache.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cache/point_cache.h"
#include "capi/error.h"
#include "worldloop/wl_cache.h"

struct wl_point_cache {
  std::unique_ptr<wl::PointCache> impl;
};

namespace {
[[noreturn]] void invalid(const std::string& msg) { throw wl::Error(WL_ERR_INVALID_ARGUMENT, msg); }

wl::PointCache& get(wl_point_cache* c, const char* fn) {
  if (!c || !c->impl) invalid(std::string(fn) + ": cache is null");
  return *c->impl;
}

wl::PinholeCamera camera_of(const wl_camera* c, const char* fn) {
  if (!c) invalid(std::string(fn) + ": camera is null");
  wl::PinholeCamera p;
  p.width = c->width;
  p.height = c->height;
  p.fx = c->fx;
  p.fy = c->fy;
  p.cx = c->cx;
  p.cy = c->cy;
  for (int i = 0; i < 12; ++i) p.world_to_camera[i] = c->world_to_camera[i];
  wl::check_camera(p, fn);
  return p;
}

void check_size(const char* fn, const char* what, size_t got, size_t want) {
  if (got != want)
    invalid(std::string(fn) + ": " + what + " holds " + std::to_string(got) +
            ", the camera needs " + std::to_string(want));
}
}  // namespace

extern "C" {

void wl_point_cache_default_config(wl_point_cache_config* out) {
  if (!out) return;
  const wl::PointCacheConfig d;
  out->max_points = d.max_points;
  out->voxel = d.voxel;
  out->policy = int32_t(d.policy);
  out->max_depth = d.max_depth;
  out->near_z = d.splat.near_z;
  out->max_footprint = d.splat.max_footprint;
  out->threads = 1;
}

wl_status wl_point_cache_create(const wl_point_cache_config* cfg, wl_point_cache** out) {
  return wl::guard([&] {
    if (!out) invalid("wl_point_cache_create: out is null");
    *out = nullptr;
    wl_point_cache_config c;
    if (cfg)
      c = *cfg;
    else
      wl_point_cache_default_config(&c);
    wl::PointCacheConfig p;
    p.max_points = c.max_points;
    p.voxel = c.voxel;
    if (c.policy != WL_CACHE_NEWEST && c.policy != WL_CACHE_CLOSEST && c.policy != WL_CACHE_FIRST) {
      invalid("wl_point_cache_create: policy = " + std::to_string(c.policy) +
              " is none of WL_CACHE_NEWEST (0), WL_CACHE_CLOSEST (1), WL_CACHE_FIRST (2)");
    }
    p.policy = wl::CachePolicy(c.policy);
    p.max_depth = c.max_depth;
    p.splat.near_z = c.near_z;
    p.splat.max_footprint = c.max_footprint;
    auto h = std::make_unique<wl_point_cache>();
    h->impl = std::make_unique<wl::PointCache>(p, c.threads);
    *out = h.release();
  });
}

void wl_point_cache_free(wl_point_cache* cache) { delete cache; }

wl_status wl_point_cache_insert(wl_point_cache* cache, const wl_camera* camera, const uint8_t* rgb,
                                size_t rgb_size, const float* depth, size_t depth_count) {
  return wl::guard([&] {
    auto& c = get(cache, "wl_point_cache_insert");
    const wl::PinholeCamera cam = camera_of(camera, "wl_point_cache_insert");
    const size_t px = size_t(cam.width) * cam.height;
    if (!rgb || !depth) invalid("wl_point_cache_insert: rgb and depth must not be null");
    check_size("wl_point_cache_insert", "rgb", rgb_size, px * 3);
    check_size("wl_point_cache_insert", "depth", depth_count, px);
    c.insert(cam, rgb, depth);
  });
}

wl_status wl_point_cache_render(wl_point_cache* cache, const wl_camera* camera, uint8_t* rgb,
                                size_t rgb_size, float* depth, size_t depth_count, uint8_t* mask,
                                size_t mask_size) {
  return wl::guard([&] {
    auto& c = get(cache, "wl_point_cache_render");
    const wl::PinholeCamera cam = camera_of(camera, "wl_point_cache_render");
    const size_t px = size_t(cam.width) * cam.height;
    if (!rgb) invalid("wl_point_cache_render: rgb is null");
    check_size("wl_point_cache_render", "rgb", rgb_size, px * 3);
    if (depth) check_size("wl_point_cache_render", "depth", depth_count, px);
    if (mask) check_size("wl_point_cache_render", "mask", mask_size, px);
    c.render(cam, rgb, depth, mask);
  });
}

int64_t wl_point_cache_count(const wl_point_cache* cache) {
  return cache && cache->impl ? cache->impl->size() : -1;
}
int64_t wl_point_cache_evicted(const wl_point_cache* cache) {
  return cache && cache->impl ? cache->impl->evicted() : -1;
}

wl_status wl_point_cache_clear(wl_point_cache* cache) {
  return wl::guard([&] { get(cache, "wl_point_cache_clear").clear(); });
}

wl_status wl_point_cache_snapshot(const wl_point_cache* cache, uint8_t* buf, size_t capacity,
                                  size_t* size_out) {
  return wl::guard([&] {
    if (!cache || !cache->impl) invalid("wl_point_cache_snapshot: cache is null");
    if (!size_out) invalid("wl_point_cache_snapshot: size_out is null");
    const std::vector<uint8_t> bytes = cache->impl->snapshot();
    *size_out = bytes.size();
    if (!buf) return;
    if (capacity < bytes.size()) {
      invalid("wl_point_cache_snapshot: capacity " + std::to_string(capacity) + " is below the " +
              std::to_string(bytes.size()) + " bytes needed");
    }
    std::memcpy(buf, bytes.data(), bytes.size());
  });
}

wl_status wl_point_cache_restore(wl_point_cache* cache, const uint8_t* buf, size_t size) {
  return wl::guard([&] {
    auto& c = get(cache, "wl_point_cache_restore");
    if (!buf) invalid("wl_point_cache_restore: buf is null");
    c.restore_snapshot(buf, size);
  });
}

}  // extern "C"
