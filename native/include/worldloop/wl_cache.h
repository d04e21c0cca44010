/* worldloop C ABI — the point cache: a bounded store of world points seen in frames with depth,
 * which renders any camera with a z-buffer (docs/memory-model.md, "The point cache").
 *
 * Frames go in with their depth and camera (the ground-truth world publishes both:
 * wl_world_depth, wl_world_camera); render() splats every point kept into a camera and returns
 * the image, its depth and a validity mask. Deterministic: the same inserts give bit-identical
 * renders whatever the thread count. A handle may be used from one thread at a time. */
#ifndef WORLDLOOP_WL_CACHE_H
#define WORLDLOOP_WL_CACHE_H

#include "wl_common.h"
#include "wl_world.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wl_point_cache wl_point_cache;

typedef enum wl_cache_policy {
  WL_CACHE_NEWEST = 0,  /* a new observation of a voxel replaces the point there */
  WL_CACHE_CLOSEST = 1, /* the observation made from nearer (more detail) is kept */
  WL_CACHE_FIRST = 2    /* the first observation is kept (a world that never changes; a model's
                           own frames cannot overwrite what was seen before them) */
} wl_cache_policy;

typedef struct wl_point_cache_config {
  int64_t max_points;  /* memory cap, 1..2^31-1 points (default 2,000,000); least recently seen
                          evicted first, down to 7/8 of the cap */
  float voxel;         /* voxel side in world units, 1e-4..16 (default 1/64 cell) */
  int32_t policy;      /* wl_cache_policy (default WL_CACHE_NEWEST) */
  float max_depth;     /* pixels further than this are not inserted, > 0 (default 16) */
  float near_z;        /* points nearer than this to a camera are not drawn, > 0 (default 1e-3) */
  float max_footprint; /* a point covers at most this many pixels a side, 1..64 (default 8) */
  int32_t threads;     /* 1..256 (default 1) */
} wl_point_cache_config;

WL_API void wl_point_cache_default_config(wl_point_cache_config* out);
/* cfg may be NULL (defaults). Errors name the field. */
WL_API wl_status wl_point_cache_create(const wl_point_cache_config* cfg, wl_point_cache** out);
WL_API void wl_point_cache_free(wl_point_cache* cache);

/* Adds a frame: rgb (width*height*3 bytes, rgb_size), depth (width*height floats, depth_count;
 * z along the view direction, +INFINITY = nothing there) seen by `camera`. */
WL_API wl_status wl_point_cache_insert(wl_point_cache* cache, const wl_camera* camera,
                                       const uint8_t* rgb, size_t rgb_size, const float* depth,
                                       size_t depth_count);
/* Renders the points into `camera`: rgb (width*height*3) gets 0 where nothing landed, depth
 * (width*height floats, may be NULL) +INFINITY there, mask (width*height bytes, may be NULL)
 * 255 where a point landed, else 0. Sizes are checked against the camera. */
WL_API wl_status wl_point_cache_render(wl_point_cache* cache, const wl_camera* camera, uint8_t* rgb,
                                       size_t rgb_size, float* depth, size_t depth_count,
                                       uint8_t* mask, size_t mask_size);
/* Points held now; points evicted so far (-1 for a NULL cache). */
WL_API int64_t wl_point_cache_count(const wl_point_cache* cache);
WL_API int64_t wl_point_cache_evicted(const wl_point_cache* cache);
WL_API wl_status wl_point_cache_clear(wl_point_cache* cache);

/* The whole cache (settings, clock, every point) as bytes: "WLPCACHE", version 1, then the
 * fields, then an FNV-1a 64 checksum (docs/memory-model.md, "Saving the cache"). Two-call
 * pattern: buf may be NULL to query the size. restore validates the bytes (untrusted: magic,
 * version, checksum, settings, sizes, every point; WL_ERR_FORMAT names the problem), takes the
 * snapshot's settings (the thread count stays) and renders bit-identically to the cache saved;
 * a rejected snapshot leaves the cache untouched. */
WL_API wl_status wl_point_cache_snapshot(const wl_point_cache* cache, uint8_t* buf, size_t capacity,
                                         size_t* size_out);
WL_API wl_status wl_point_cache_restore(wl_point_cache* cache, const uint8_t* buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
