/* worldloop C ABI — the ground-truth world: a seeded procedural 2.5D world rendered by a C++
 * raycaster, an exploration policy that drives it like a player, and a batch generator that
 * streams training data from many worlds in parallel.
 *
 * Frame convention: after create/reset the world holds frame 0 (rendered from the start pose).
 * wl_world_step(action_t) advances one fixed tick and renders frame t+1. So a training sample is
 * (frame_t, action_t) -> frame_{t+1}, and pose_t is the pose frame_t was rendered from.
 *
 * Determinism: same seed + config + action sequence -> bit-identical frames and poses, whatever
 * the thread count (each world is independent; worlds never share mutable state).
 *
 * A world handle may be used from one thread at a time. Different handles are independent. */
#ifndef WORLDLOOP_WL_WORLD_H
#define WORLDLOOP_WL_WORLD_H

#include "wl_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever the same seed + actions would give different frames (generator, textures,
 * renderer, physics or explorer changes); also in wl_world_action_layout_json. */
#define WL_WORLD_VERSION 1

typedef struct wl_world wl_world;
typedef struct wl_explorer wl_explorer;
typedef struct wl_world_batch wl_world_batch;

/* Channels of the action vector, in order (also published as JSON by
 * wl_world_action_layout_json). Axes are held controls in [-1, 1]; events are one-tick triggers
 * in [0, 1] that fire when >= 0.5. */
enum {
  WL_ACTION_MOVE = 0,   /* forward (+) / back (-) */
  WL_ACTION_STRAFE = 1, /* right (+) / left (-) */
  WL_ACTION_TURN = 2,   /* turn right (+, clockwise seen from above) / left (-) */
  WL_ACTION_LIGHT = 3,  /* event: cycle to the next light preset */
  WL_ACTION_SPAWN = 4,  /* event: spawn the next object kind in front of the player */
  WL_ACTION_COUNT = 5
};

/* Placed / spawnable billboard objects. */
typedef enum wl_object_kind {
  WL_OBJECT_PILLAR = 0,
  WL_OBJECT_BARREL = 1,
  WL_OBJECT_PLANT = 2,
  WL_OBJECT_LAMP = 3,
  WL_OBJECT_CRATE = 4,
  WL_OBJECT_ORB = 5,
  WL_OBJECT_KIND_COUNT = 6
} wl_object_kind;

/* World configuration. Fill with wl_world_default_config, then change fields. */
typedef struct wl_world_config {
  int32_t width, height;  /* frame size in pixels; 16..1024 x 16..1024 (default 128x128) */
  int32_t map_size;       /* grid cells per side, 16..128 (default 48) */
  float fov_deg;          /* horizontal field of view, 30..120 (default 66) */
  float move_speed;       /* cells per tick at |move| = 1 (default 0.12) */
  float strafe_speed;     /* cells per tick at |strafe| = 1 (default 0.09) */
  float turn_speed_deg;   /* degrees per tick at |turn| = 1 (default 5) */
  float player_radius;    /* collision half-extent in cells, 0.05..0.45 (default 0.2) */
  float fog_distance;     /* distance (cells) at which fog reaches ~63%, 1..100 (default 7) */
  int32_t max_spawned;    /* spawned objects kept (oldest replaced), 0..1024 (default 64) */
} wl_world_config;

WL_API void wl_world_default_config(wl_world_config* out);

/* cfg may be NULL (defaults). Validates every field; errors name the field and its range. */
WL_API wl_status wl_world_create(uint64_t seed, const wl_world_config* cfg, wl_world** out);
WL_API void wl_world_free(wl_world* world);

/* Regenerates the level from `seed` (may be the same seed), puts the player at the start pose,
 * default lighting, no spawned objects, frame index 0, and renders frame 0. */
WL_API wl_status wl_world_reset(wl_world* world, uint64_t seed);

/* One fixed tick: validates the action (n must equal WL_ACTION_COUNT, every value finite and in
 * range), applies events, moves the player with wall sliding, renders the next frame. */
WL_API wl_status wl_world_step(wl_world* world, const float* action, size_t n);

/* The current frame: RGB8, row-major, width*height*3 bytes. The pointer stays valid and fixed
 * for the life of the world (reset/step overwrite it in place). */
WL_API const uint8_t* wl_world_frame(const wl_world* world);
WL_API wl_status wl_world_size(const wl_world* world, int32_t* width, int32_t* height);

/* The current frame's depth: width*height floats, row-major, each pixel's z in cells — the
 * distance from the eye to the surface the pixel shows, measured along the view direction (not
 * along the ray) — for walls, floor, ceiling and sprites; +INFINITY where the sky shows. Same
 * lifetime rules as wl_world_frame (fixed pointer, overwritten in place by every render). */
WL_API const float* wl_world_depth(const wl_world* world);

/* The camera of the current frame: an exact pinhole (docs/world.md, "Camera model").
 * Pixel (i, j) covers [i, i+1) x [j, j+1); its centre (i + 0.5, j + 0.5) shows the world point
 * P with  u = cx + fx * Xc / Zc,  v = cy + fy * Yc / Zc,  [Xc Yc Zc] = R * P + t,
 * where P = (map x, map y, height above the floor) in cells, and the camera axes are right,
 * down, forward. world_to_camera is [R | t] row-major (3x4). */
typedef struct wl_camera {
  int32_t width, height;  /* pixels */
  float fx, fy;           /* focal lengths in pixels (equal: square pixels) */
  float cx, cy;           /* principal point in pixels (the frame centre: width/2, height/2) */
  float eye_height;       /* eye above the floor, cells (0.5; walls are 1 cell tall) */
  float x, y, yaw;        /* the pose (as wl_world_pose) */
  float world_to_camera[12];
} wl_camera;
WL_API wl_status wl_world_camera(const wl_world* world, wl_camera* out);
WL_API uint64_t wl_world_frame_index(const wl_world* world);
WL_API uint64_t wl_world_seed(const wl_world* world);

/* Pose: x, y in cells (map coordinates), yaw in radians in [-pi, pi). */
WL_API wl_status wl_world_pose(const wl_world* world, float out_xyyaw[3]);
/* Teleports (e.g. for tests or tools); the position must be a free floor position. Re-renders. */
WL_API wl_status wl_world_set_pose(wl_world* world, float x, float y, float yaw);

/* Events. level in [0,1], tint components in [0,1]. Both re-render the current frame so the
 * frame always shows the current state. spawn: placed_out (may be NULL) = 1 if the object was
 * placed, 0 if a wall directly in front left no room (not an error). */
WL_API wl_status wl_world_set_light(wl_world* world, float level, float r, float g, float b);
WL_API wl_status wl_world_spawn(wl_world* world, int32_t kind, int32_t* placed_out);

/* Draws one object of `kind` over `rgb` (RGB8, this world's frame size, rgb_size bytes) as this
 * world would show it `depth` cells ahead of the camera and `lateral` cells to its right: this
 * world's sprite for the kind, fog and global light, and local light `local_light` in [0, 2]
 * (1 = light-map value 128; areas have 0.4..1, lamps add). Walls are not tested: this edits
 * frames the world did not render (a model world's context). Nothing is drawn nearer than 0.3
 * cells or beyond the fog, as in the world's own frames. The world itself does not change.
 * mask_out (may be NULL): width*height bytes, set to 255 where the object covers, else 0. */
WL_API wl_status wl_world_draw_object(const wl_world* world, int32_t kind, float depth,
                                      float lateral, float local_light, uint8_t* rgb,
                                      size_t rgb_size, uint8_t* mask_out, size_t mask_size);

/* JSON owned by the library (static storage, valid forever):
 * {"world_version":1,"channels":[{"name":"move","min":-1,"max":1,"kind":"axis"},...],
 *  "objects":["pillar",...], "light_presets":[{"name":..,"level":..,"tint":[r,g,b]},...]} */
WL_API const char* wl_world_action_layout_json(void);
/* JSON owned by the world, valid until the next call on it: seed, config, frame index, pose,
 * light, room/object counts, speeds. */
WL_API const char* wl_world_info_json(wl_world* world);

/* Map cells, row-major [map_size * map_size], y major: 0 = floor, 1 = wall. Two-call pattern:
 * cells may be NULL to query the size. */
WL_API wl_status wl_world_map(const wl_world* world, uint8_t* cells, size_t capacity,
                              size_t* size_out);

/* Snapshot of the whole state (seed, config, pose, frame index, lighting, spawned objects, event
 * counters). Two-call pattern: buf may be NULL to query the size. restore validates the bytes
 * (untrusted input: magic, version, sizes, ranges) and re-renders the frame. A snapshot restores
 * into a world of the same frame size; the level is regenerated if the seed differs. */
WL_API wl_status wl_world_snapshot(const wl_world* world, uint8_t* buf, size_t capacity,
                                   size_t* size_out);
WL_API wl_status wl_world_restore(wl_world* world, const uint8_t* buf, size_t size);

/* ---- Exploration policy: a seeded scripted agent that plays like a person would ---------- */

/* Per-tick probabilities (0..1) and durations (ticks). */
typedef struct wl_explore_config {
  float p_stop;        /* start standing still (default 0.003) */
  float p_look;        /* start turning on the spot to look around (default 0.004) */
  float p_bump;        /* start walking straight into whatever is ahead (default 0.003) */
  float p_revisit;     /* when picking a new goal, go back to an earlier place (default 0.3) */
  float p_light;       /* fire the light event (default 0.004) */
  float p_spawn;       /* fire the spawn event (default 0.006) */
  float p_backstep;    /* start a short walk backwards (default 0.003) */
  float speed_min;     /* forward speed while walking, chosen per goal (default 0.6) */
  float speed_max;     /* (default 1.0) */
  float jitter;        /* strafe/turn noise amplitude (default 0.15) */
  int32_t stop_min, stop_max; /* ticks (default 8..40) */
  int32_t look_min, look_max; /* ticks (default 10..45) */
  int32_t bump_min, bump_max; /* ticks (default 15..50) */
  /* Random-action bursts: while walking, start holding a random move/strafe/turn for
   * random_min..random_max ticks with this probability per tick, then replan. Off by default;
   * training data turns it on so the next action is not predictable from the recent motion
   * (a world model trained only on smooth path-following learns to ignore its actions). */
  float p_random;             /* (default 0) */
  int32_t random_min, random_max; /* ticks (default 2..10) */
  /* Idling: while walking, start holding no key at all (every move/strafe/turn exactly 0) for
   * idle_min..idle_max ticks with this probability per tick. Off by default; training data turns
   * it on because players idle often, and a stop (p_stop) still turns a little, so without it a
   * world model never sees a scene that stays exactly the same. */
  float p_idle;               /* (default 0) */
  int32_t idle_min, idle_max; /* ticks (default 6..40) */
} wl_explore_config;

WL_API void wl_explore_default_config(wl_explore_config* out);
WL_API wl_status wl_explorer_create(uint64_t seed, const wl_explore_config* cfg,
                                    wl_explorer** out);
WL_API void wl_explorer_free(wl_explorer* ex);
/* Writes the next action (n == WL_ACTION_COUNT floats) for the world's current state. The
 * explorer keeps its own seeded state; it does not modify the world. */
WL_API wl_status wl_explorer_next(wl_explorer* ex, const wl_world* world, float* action,
                                  size_t n);

/* ---- Batch generator: many worlds, each with its own explorer, stepped in parallel ------- */

/* seeds[i] seeds world i and its explorer. threads <= 0: hardware concurrency. cfg/ecfg may
 * be NULL (defaults). */
WL_API wl_status wl_world_batch_create(const uint64_t* seeds, int32_t count,
                                       const wl_world_config* cfg,
                                       const wl_explore_config* ecfg, int32_t threads,
                                       wl_world_batch** out);
WL_API void wl_world_batch_free(wl_world_batch* batch);
/* Generates the next `steps` ticks of every world, continuing where the previous call ended:
 *   frames  [count, steps, H, W, 3] uint8 — frames[i,t] is what world i showed before action t
 *   actions [count, steps, WL_ACTION_COUNT] float — the explorer's action at t
 *   poses   [count, steps, 3] float — pose (x, y, yaw) frames[i,t] was rendered from
 * Any of the three may be NULL to skip it. Output is identical for every thread count. */
WL_API wl_status wl_world_batch_generate(wl_world_batch* batch, int32_t steps, uint8_t* frames,
                                         float* actions, float* poses);
/* As wl_world_batch_generate, plus depths [count, steps, H, W] float (wl_world_depth of each
 * frame; may be NULL). */
WL_API wl_status wl_world_batch_generate_depth(wl_world_batch* batch, int32_t steps,
                                               uint8_t* frames, float* actions, float* poses,
                                               float* depths);
/* Re-seeds world i (and its explorer) — e.g. to start a fresh episode. */
WL_API wl_status wl_world_batch_reset(wl_world_batch* batch, int32_t index, uint64_t seed);
WL_API int32_t wl_world_batch_count(const wl_world_batch* batch);
WL_API int32_t wl_world_batch_threads(const wl_world_batch* batch);

#ifdef __cplusplus
}
#endif
#endif
