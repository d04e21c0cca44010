// C ABI for the ground-truth world (wl_world_*, wl_explorer_*, wl_world_batch_*): argument
// checks, then the C++ classes; every body runs inside wl::guard.
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "capi/error.h"
#include "world/batch.h"
#include "world/explore.h"
#include "world/world.h"
#include "worldloop/wl_world.h"

struct wl_world {
  std::unique_ptr<wl::world::World> impl;
  std::string info;  // backing store for wl_world_info_json
};
struct wl_explorer {
  std::unique_ptr<wl::world::Explorer> impl;
};
struct wl_world_batch {
  std::unique_ptr<wl::world::WorldBatch> impl;
};

namespace {
using wl::Error;

[[noreturn]] void invalid(const std::string& msg) { throw Error(WL_ERR_INVALID_ARGUMENT, msg); }

wl::world::World& get(wl_world* w, const char* fn) {
  if (!w || !w->impl) invalid(std::string(fn) + ": world is null");
  return *w->impl;
}
const wl::world::World& get(const wl_world* w, const char* fn) {
  if (!w || !w->impl) invalid(std::string(fn) + ": world is null");
  return *w->impl;
}

std::string build_layout_json() {
  wl_world_config d;
  wl_world_default_config(&d);
  std::ostringstream s;
  // world_version changes whenever the same seed and actions would render differently, so
  // recordings and datasets can tell which world they came from.
  s << "{\"world_version\":" << WL_WORLD_VERSION << ",\"channels\":["
    << "{\"name\":\"move\",\"min\":-1,\"max\":1,\"kind\":\"axis\"},"
    << "{\"name\":\"strafe\",\"min\":-1,\"max\":1,\"kind\":\"axis\"},"
    << "{\"name\":\"turn\",\"min\":-1,\"max\":1,\"kind\":\"axis\"},"
    << "{\"name\":\"light\",\"min\":0,\"max\":1,\"kind\":\"event\"},"
    << "{\"name\":\"spawn\",\"min\":0,\"max\":1,\"kind\":\"event\"}],"
    << "\"objects\":[";
  for (int k = 0; k < WL_OBJECT_KIND_COUNT; ++k) s << (k ? "," : "") << "\"" << wl::world::kObjectShapes[k].name << "\"";
  s << "],\"light_presets\":[";
  for (int i = 0; i < wl::world::kLightPresetCount; ++i) {
    const auto& p = wl::world::kLightPresets[i];
    s << (i ? "," : "") << "{\"name\":\"" << p.name << "\",\"level\":" << p.level << ",\"tint\":[" << p.tint[0]
      << "," << p.tint[1] << "," << p.tint[2] << "]}";
  }
  s << "],\"defaults\":{\"move_speed\":" << d.move_speed << ",\"strafe_speed\":" << d.strafe_speed
    << ",\"turn_speed_deg\":" << d.turn_speed_deg << ",\"width\":" << d.width << ",\"height\":" << d.height
    << ",\"map_size\":" << d.map_size << "}}";
  return s.str();
}
}  // namespace

extern "C" {

void wl_world_default_config(wl_world_config* out) {
  if (!out) return;
  out->width = 128;
  out->height = 128;
  out->map_size = 48;
  out->fov_deg = 66.f;
  out->move_speed = 0.12f;
  out->strafe_speed = 0.09f;
  out->turn_speed_deg = 5.f;
  out->player_radius = 0.2f;
  out->fog_distance = 7.f;
  out->max_spawned = 64;
}

wl_status wl_world_create(uint64_t seed, const wl_world_config* cfg, wl_world** out) {
  return wl::guard([&] {
    if (!out) invalid("wl_world_create: out is null");
    *out = nullptr;
    wl_world_config c;
    if (cfg) c = *cfg;
    else wl_world_default_config(&c);
    auto w = std::make_unique<wl_world>();
    w->impl = std::make_unique<wl::world::World>(seed, c);
    *out = w.release();
  });
}

void wl_world_free(wl_world* world) { delete world; }

wl_status wl_world_reset(wl_world* world, uint64_t seed) {
  return wl::guard([&] { get(world, "wl_world_reset").reset(seed); });
}

wl_status wl_world_step(wl_world* world, const float* action, size_t n) {
  return wl::guard([&] { get(world, "wl_world_step").step(action, n); });
}

const uint8_t* wl_world_frame(const wl_world* world) {
  return world && world->impl ? world->impl->frame() : nullptr;
}

const float* wl_world_depth(const wl_world* world) {
  return world && world->impl ? world->impl->depth() : nullptr;
}

wl_status wl_world_camera(const wl_world* world, wl_camera* out) {
  return wl::guard([&] {
    const auto& w = get(world, "wl_world_camera");
    if (!out) invalid("wl_world_camera: out is null");
    *out = w.camera();
  });
}

wl_status wl_world_size(const wl_world* world, int32_t* width, int32_t* height) {
  return wl::guard([&] {
    const auto& w = get(world, "wl_world_size");
    if (width) *width = w.width();
    if (height) *height = w.height();
  });
}

uint64_t wl_world_frame_index(const wl_world* world) {
  return world && world->impl ? world->impl->frame_index() : 0;
}
uint64_t wl_world_seed(const wl_world* world) { return world && world->impl ? world->impl->seed() : 0; }

wl_status wl_world_pose(const wl_world* world, float out[3]) {
  return wl::guard([&] {
    const auto& w = get(world, "wl_world_pose");
    if (!out) invalid("wl_world_pose: out is null");
    out[0] = w.pose().x;
    out[1] = w.pose().y;
    out[2] = w.pose().yaw;
  });
}

wl_status wl_world_set_pose(wl_world* world, float x, float y, float yaw) {
  return wl::guard([&] { get(world, "wl_world_set_pose").set_pose(x, y, yaw); });
}

wl_status wl_world_set_light(wl_world* world, float level, float r, float g, float b) {
  return wl::guard([&] { get(world, "wl_world_set_light").set_light(level, r, g, b); });
}

wl_status wl_world_spawn(wl_world* world, int32_t kind, int32_t* placed_out) {
  return wl::guard([&] {
    const bool placed = get(world, "wl_world_spawn").spawn(kind);
    if (placed_out) *placed_out = placed ? 1 : 0;
  });
}

wl_status wl_world_draw_object(const wl_world* world, int32_t kind, float depth, float lateral,
                               float local_light, uint8_t* rgb, size_t rgb_size, uint8_t* mask_out,
                               size_t mask_size) {
  return wl::guard([&] {
    const auto& w = get(world, "wl_world_draw_object");
    const size_t pixels = size_t(w.width()) * w.height();
    if (rgb_size != pixels * 3) {
      invalid("wl_world_draw_object: rgb has " + std::to_string(rgb_size) + " bytes; the world's frames have " +
              std::to_string(pixels * 3));
    }
    if (mask_out && mask_size != pixels) {
      invalid("wl_world_draw_object: mask has " + std::to_string(mask_size) + " bytes; expected " + std::to_string(pixels));
    }
    w.draw_object(kind, depth, lateral, local_light, rgb, mask_out);
  });
}

const char* wl_world_action_layout_json(void) {
  static const std::string json = build_layout_json();
  return json.c_str();
}

const char* wl_world_info_json(wl_world* world) {
  if (!world || !world->impl) return "{}";
  world->info = world->impl->info_json();
  return world->info.c_str();
}

wl_status wl_world_map(const wl_world* world, uint8_t* cells, size_t capacity, size_t* size_out) {
  return wl::guard([&] {
    const auto& lv = get(world, "wl_world_map").level();
    const size_t n = lv.solid.size();
    if (size_out) *size_out = n;
    if (!cells) return;
    if (capacity < n) invalid("wl_world_map: capacity " + std::to_string(capacity) + " < " + std::to_string(n) + " cells");
    std::memcpy(cells, lv.solid.data(), n);
  });
}

wl_status wl_world_snapshot(const wl_world* world, uint8_t* buf, size_t capacity, size_t* size_out) {
  return wl::guard([&] {
    const std::vector<uint8_t> snap = get(world, "wl_world_snapshot").snapshot();
    if (size_out) *size_out = snap.size();
    if (!buf) return;
    if (capacity < snap.size()) invalid("wl_world_snapshot: capacity " + std::to_string(capacity) + " < " + std::to_string(snap.size()) + " bytes needed");
    std::memcpy(buf, snap.data(), snap.size());
  });
}

wl_status wl_world_restore(wl_world* world, const uint8_t* buf, size_t size) {
  return wl::guard([&] { get(world, "wl_world_restore").restore(buf, size); });
}

void wl_explore_default_config(wl_explore_config* out) {
  if (!out) return;
  out->p_stop = 0.003f;
  out->p_look = 0.004f;
  out->p_bump = 0.003f;
  out->p_revisit = 0.3f;
  out->p_light = 0.004f;
  out->p_spawn = 0.006f;
  out->p_backstep = 0.003f;
  out->speed_min = 0.6f;
  out->speed_max = 1.0f;
  out->jitter = 0.15f;
  out->stop_min = 8;
  out->stop_max = 40;
  out->look_min = 10;
  out->look_max = 45;
  out->bump_min = 15;
  out->bump_max = 50;
  out->p_random = 0.f;
  out->random_min = 2;
  out->random_max = 10;
  out->p_idle = 0.f;
  out->idle_min = 6;
  out->idle_max = 40;
}

wl_status wl_explorer_create(uint64_t seed, const wl_explore_config* cfg, wl_explorer** out) {
  return wl::guard([&] {
    if (!out) invalid("wl_explorer_create: out is null");
    *out = nullptr;
    wl_explore_config c;
    if (cfg) c = *cfg;
    else wl_explore_default_config(&c);
    auto e = std::make_unique<wl_explorer>();
    e->impl = std::make_unique<wl::world::Explorer>(seed, c);
    *out = e.release();
  });
}

void wl_explorer_free(wl_explorer* ex) { delete ex; }

wl_status wl_explorer_next(wl_explorer* ex, const wl_world* world, float* action, size_t n) {
  return wl::guard([&] {
    if (!ex || !ex->impl) invalid("wl_explorer_next: explorer is null");
    const auto& w = get(world, "wl_explorer_next");
    if (!action) invalid("wl_explorer_next: action is null");
    if (n != WL_ACTION_COUNT) invalid("wl_explorer_next: action has room for " + std::to_string(n) + " values, expected " + std::to_string(int(WL_ACTION_COUNT)));
    ex->impl->next(w, action);
  });
}

wl_status wl_world_batch_create(const uint64_t* seeds, int32_t count, const wl_world_config* cfg,
                                const wl_explore_config* ecfg, int32_t threads,
                                wl_world_batch** out) {
  return wl::guard([&] {
    if (!out) invalid("wl_world_batch_create: out is null");
    *out = nullptr;
    if (!seeds) invalid("wl_world_batch_create: seeds is null");
    if (count < 1 || count > 4096) invalid("wl_world_batch_create: count = " + std::to_string(count) + " is outside [1, 4096]");
    if (threads > 256) invalid("wl_world_batch_create: threads = " + std::to_string(threads) + " is above 256");
    wl_world_config c;
    if (cfg) c = *cfg;
    else wl_world_default_config(&c);
    wl_explore_config e;
    if (ecfg) e = *ecfg;
    else wl_explore_default_config(&e);
    auto b = std::make_unique<wl_world_batch>();
    b->impl = std::make_unique<wl::world::WorldBatch>(std::vector<uint64_t>(seeds, seeds + count), c, e, threads);
    *out = b.release();
  });
}

void wl_world_batch_free(wl_world_batch* batch) { delete batch; }

wl_status wl_world_batch_generate(wl_world_batch* batch, int32_t steps, uint8_t* frames,
                                  float* actions, float* poses) {
  return wl::guard([&] {
    if (!batch || !batch->impl) invalid("wl_world_batch_generate: batch is null");
    batch->impl->generate(steps, frames, actions, poses, nullptr);
  });
}

wl_status wl_world_batch_generate_depth(wl_world_batch* batch, int32_t steps, uint8_t* frames,
                                        float* actions, float* poses, float* depths) {
  return wl::guard([&] {
    if (!batch || !batch->impl) invalid("wl_world_batch_generate_depth: batch is null");
    batch->impl->generate(steps, frames, actions, poses, depths);
  });
}

wl_status wl_world_batch_reset(wl_world_batch* batch, int32_t index, uint64_t seed) {
  return wl::guard([&] {
    if (!batch || !batch->impl) invalid("wl_world_batch_reset: batch is null");
    batch->impl->reset(index, seed);
  });
}

int32_t wl_world_batch_count(const wl_world_batch* batch) {
  return batch && batch->impl ? batch->impl->count() : 0;
}
int32_t wl_world_batch_threads(const wl_world_batch* batch) {
  return batch && batch->impl ? batch->impl->threads() : 0;
}

}  // extern "C"
