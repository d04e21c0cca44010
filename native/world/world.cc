#include "world/world.h"

#include <cmath>
#include <cstring>
#include <sstream>

#include "capi/error.h"

namespace wl::world {

namespace {
constexpr float kPi = 3.14159265358979f;
constexpr uint32_t kSnapshotMagic = 0x53574C57;  // "WLWS" little-endian
constexpr uint32_t kSnapshotVersion = 1;
const char* const kChannelNames[WL_ACTION_COUNT] = {"move", "strafe", "turn", "light", "spawn"};

[[noreturn]] void invalid(const std::string& msg) { throw Error(WL_ERR_INVALID_ARGUMENT, msg); }

float wrap_angle(float a) {
  // A step turns by less than a lap, so one subtraction is the usual case; a value many laps
  // out (a corrupt input) is brought in with fmod first so the loops stay short. Values within
  // 64 laps keep the exact float results the loops always gave.
  if (!(std::fabs(a) < 128 * kPi)) a = std::isfinite(a) ? std::fmod(a, 2 * kPi) : 0.f;
  while (a >= kPi) a -= 2 * kPi;
  while (a < -kPi) a += 2 * kPi;
  return a;
}

// Little-endian byte writer/reader for snapshots; the reader bounds-checks every field.
struct Writer {
  std::vector<uint8_t> out;
  template <class T>
  void put(T v) {
    uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out.insert(out.end(), b, b + sizeof(T));
  }
};
struct Reader {
  const uint8_t* p;
  size_t n, pos = 0;
  template <class T>
  T get(const char* field) {
    if (n - pos < sizeof(T)) {
      throw Error(WL_ERR_FORMAT, std::string("world snapshot: truncated at byte ") + std::to_string(pos) +
                                     " reading '" + field + "'");
    }
    T v;
    std::memcpy(&v, p + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
};
[[noreturn]] void bad_snapshot(const std::string& msg) { throw Error(WL_ERR_FORMAT, "world snapshot: " + msg); }
}  // namespace

void validate_config(const wl_world_config& c) {
  auto irange = [](const char* name, int32_t v, int32_t lo, int32_t hi) {
    if (v < lo || v > hi) invalid(std::string("world config: ") + name + " = " + std::to_string(v) + " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  };
  auto frange = [](const char* name, float v, float lo, float hi) {
    if (!std::isfinite(v) || v < lo || v > hi) {
      std::ostringstream s;
      s << "world config: " << name << " = " << v << " is " << (std::isfinite(v) ? "outside" : "not a finite number in") << " [" << lo << ", " << hi << "]";
      invalid(s.str());
    }
  };
  irange("width", c.width, 16, 1024);
  irange("height", c.height, 16, 1024);
  irange("map_size", c.map_size, 16, 128);
  frange("fov_deg", c.fov_deg, 30.f, 120.f);
  frange("move_speed", c.move_speed, 0.f, 0.5f);
  frange("strafe_speed", c.strafe_speed, 0.f, 0.5f);
  frange("turn_speed_deg", c.turn_speed_deg, 0.f, 45.f);
  frange("player_radius", c.player_radius, 0.05f, 0.45f);
  frange("fog_distance", c.fog_distance, 1.f, 100.f);
  irange("max_spawned", c.max_spawned, 0, 1024);
  // Sliding collision checks only the leading edge, which holds while one tick moves less than
  // the free gap a player box leaves in a cell.
  if (c.move_speed + c.strafe_speed >= 1.f - 2.f * c.player_radius) {
    invalid("world config: move_speed + strafe_speed must stay below 1 - 2 * player_radius (one tick may not skip a cell)");
  }
}

World::World(uint64_t seed, const wl_world_config& cfg) : cfg_(cfg) {
  validate_config(cfg_);
  frame_.assign(size_t(cfg_.width) * cfg_.height * 3, 0);
  depth_.assign(size_t(cfg_.width) * cfg_.height, 0.f);
  renderer_.configure(cfg_.width, cfg_.height, cfg_.fov_deg, cfg_.fog_distance);
  reset(seed);
}

void World::regenerate(uint64_t seed) {
  seed_ = seed;
  const ThemePalette palette{TextureBank::kWalls, TextureBank::kFloors, TextureBank::kCeilings};
  level_ = generate_level(seed, cfg_.map_size, palette);
  textures_ = generate_textures(seed);
}

void World::reset(uint64_t seed) {
  regenerate(seed);
  pose_ = {level_.start_x, level_.start_y, level_.start_yaw};
  light_ = Lighting{};
  next_spawn_kind_ = 0;
  blocked_ = false;
  frame_index_ = 0;
  spawned_.clear();
  renderer_.set_lighting(light_);
  rebuild_objects(true);
  render();
}

bool World::position_free(float x, float y) const { return box_free(level_, cfg_.player_radius, x, y); }

bool box_free(const Level& level, float r, float x, float y) {
  if (!(x >= 0.f && y >= 0.f && x < float(level.size) && y < float(level.size))) return false;  // NaN too
  const int x0 = int(std::floor(x - r)), x1 = int(std::floor(x + r));
  const int y0 = int(std::floor(y - r)), y1 = int(std::floor(y + r));
  for (int cy = y0; cy <= y1; ++cy)
    for (int cx = x0; cx <= x1; ++cx)
      if (level.wall(cx, cy)) return false;
  return true;
}

// Moves along x, then y; a blocked axis stops at the wall face so the other axis still slides.
void World::move(float forward, float sideways) {
  const float c = std::cos(pose_.yaw), s = std::sin(pose_.yaw);
  const float dx = c * forward - s * sideways, dy = s * forward + c * sideways;
  const float r = cfg_.player_radius, eps = 1e-3f;
  blocked_ = false;
  float x = pose_.x + dx;
  if (dx != 0) {
    const int lead = int(std::floor(dx > 0 ? x + r : x - r));
    bool hit = false;
    for (int cy = int(std::floor(pose_.y - r)); cy <= int(std::floor(pose_.y + r)); ++cy) hit = hit || level_.wall(lead, cy);
    if (hit) {
      x = dx > 0 ? lead - r - eps : lead + 1 + r + eps;
      blocked_ = true;
    }
  }
  float y = pose_.y + dy;
  if (dy != 0) {
    const int lead = int(std::floor(dy > 0 ? y + r : y - r));
    bool hit = false;
    for (int cx = int(std::floor(x - r)); cx <= int(std::floor(x + r)); ++cx) hit = hit || level_.wall(cx, lead);
    if (hit) {
      y = dy > 0 ? lead - r - eps : lead + 1 + r + eps;
      blocked_ = true;
    }
  }
  pose_.x = x;
  pose_.y = y;
}

void World::step(const float* a, size_t n) {
  if (!a) invalid("wl_world_step: action is null");
  if (n != WL_ACTION_COUNT) invalid("wl_world_step: action has " + std::to_string(n) + " values, expected " + std::to_string(int(WL_ACTION_COUNT)) + " (move, strafe, turn, light, spawn)");
  for (size_t i = 0; i < n; ++i) {
    const bool event = i >= WL_ACTION_LIGHT;
    const float lo = event ? 0.f : -1.f;
    if (!std::isfinite(a[i]) || a[i] < lo || a[i] > 1.f) {
      std::ostringstream s;
      s << "wl_world_step: action[" << i << "] (" << kChannelNames[i] << ") = " << a[i] << " is "
        << (std::isfinite(a[i]) ? "outside" : "not a finite number in") << " [" << lo << ", 1]";
      invalid(s.str());
    }
  }
  // Events first, at the pose the player saw, then turn, then move.
  if (a[WL_ACTION_LIGHT] >= 0.5f) {
    const int next = (light_.preset < 0 ? 0 : light_.preset + 1) % kLightPresetCount;
    const LightPreset& p = kLightPresets[next];
    light_.level = p.level;
    for (int c = 0; c < 3; ++c) light_.tint[c] = p.tint[c];
    light_.preset = next;
    renderer_.set_lighting(light_);
  }
  if (a[WL_ACTION_SPAWN] >= 0.5f) {
    place_spawn(next_spawn_kind_);
    next_spawn_kind_ = (next_spawn_kind_ + 1) % WL_OBJECT_KIND_COUNT;
  }
  pose_.yaw = wrap_angle(pose_.yaw + a[WL_ACTION_TURN] * cfg_.turn_speed_deg * (kPi / 180.f));
  move(a[WL_ACTION_MOVE] * cfg_.move_speed, a[WL_ACTION_STRAFE] * cfg_.strafe_speed);
  ++frame_index_;
  render();
}

void World::set_light(float level, float r, float g, float b) {
  const float v[4] = {level, r, g, b};
  const char* names[4] = {"level", "tint r", "tint g", "tint b"};
  for (int i = 0; i < 4; ++i)
    if (!std::isfinite(v[i]) || v[i] < 0.f || v[i] > 1.f) {
      std::ostringstream s;
      s << "wl_world_set_light: " << names[i] << " = " << v[i] << " must be a number in [0, 1]";
      invalid(s.str());
    }
  light_.level = level;
  light_.tint[0] = r;
  light_.tint[1] = g;
  light_.tint[2] = b;
  light_.preset = -1;
  renderer_.set_lighting(light_);
  render();
}

void World::draw_object(int kind, float depth, float lateral, float local_light, uint8_t* rgb,
                        uint8_t* mask) const {
  if (kind < 0 || kind >= WL_OBJECT_KIND_COUNT) {
    invalid("wl_world_draw_object: kind " + std::to_string(kind) + " is not an object kind (0.." +
            std::to_string(WL_OBJECT_KIND_COUNT - 1) + ")");
  }
  if (!std::isfinite(depth) || !std::isfinite(lateral) || std::fabs(lateral) > 1e4f) {
    invalid("wl_world_draw_object: depth and lateral must be finite numbers of cells");
  }
  if (!std::isfinite(local_light) || local_light < 0.f || local_light > 2.f) {
    invalid("wl_world_draw_object: local_light must be in [0, 2] (1 = light-map value 128)");
  }
  if (!rgb) invalid("wl_world_draw_object: rgb is NULL");
  if (mask) std::fill(mask, mask + size_t(cfg_.width) * cfg_.height, uint8_t(0));
  // The renderer's own limits: nearer than this or beyond the fog the world draws nothing.
  if (depth <= 0.3f || depth >= cfg_.fog_distance * 6.f) return;
  renderer_.draw_object(textures_, kind, depth, lateral, int(local_light * 128.f + 0.5f), rgb, mask);
}

bool World::place_spawn(int kind) {
  if (cfg_.max_spawned == 0) return false;
  const float c = std::cos(pose_.yaw), s = std::sin(pose_.yaw);
  // Prefer a metre ahead; closer if a wall is in the way. The object must sit clear of walls.
  for (float d : {1.0f, 0.75f, 0.5f}) {
    const float x = pose_.x + c * d, y = pose_.y + s * d;
    bool clear = true;
    for (float ox : {-0.15f, 0.15f})
      for (float oy : {-0.15f, 0.15f}) clear = clear && !level_.wall(int(std::floor(x + ox)), int(std::floor(y + oy)));
    if (!clear) continue;
    // Adding a light is incremental; removing the oldest light needs a rebuild (rare).
    bool removed_light = false;
    if (int(spawned_.size()) >= cfg_.max_spawned) {
      removed_light = emits_light(spawned_.front().kind);
      spawned_.erase(spawned_.begin());
    }
    const Object o{x, y, uint8_t(kind)};
    spawned_.push_back(o);
    rebuild_objects(removed_light);
    if (!removed_light) add_light(level_, o, lightmap_);
    return true;
  }
  return false;
}

bool World::spawn(int kind) {
  if (kind < 0 || kind >= WL_OBJECT_KIND_COUNT) {
    invalid("wl_world_spawn: unknown object kind " + std::to_string(kind) + " (valid: 0.." + std::to_string(WL_OBJECT_KIND_COUNT - 1) + ": pillar, barrel, plant, lamp, crate, orb)");
  }
  const bool placed = place_spawn(kind);
  if (placed) render();
  return placed;
}

void World::set_pose(float x, float y, float yaw) {
  if (!std::isfinite(x) || !std::isfinite(y) || !std::isfinite(yaw)) invalid("wl_world_set_pose: x, y and yaw must be finite numbers");
  if (!position_free(x, y)) {
    std::ostringstream s;
    s << "wl_world_set_pose: (" << x << ", " << y << ") is inside or touching a wall (player radius " << cfg_.player_radius << ")";
    invalid(s.str());
  }
  pose_ = {x, y, wrap_angle(yaw)};
  render();
}

void World::rebuild_objects(bool lights_changed) {
  objects_ = level_.objects;
  objects_.insert(objects_.end(), spawned_.begin(), spawned_.end());
  if (lights_changed) build_lightmap(level_, objects_, lightmap_);
}

void World::render() {
  renderer_.render(level_, textures_, lightmap_, objects_, pose_, frame_.data(), depth_.data());
}

wl_camera World::camera() const {
  wl_camera c{};
  c.width = cfg_.width;
  c.height = cfg_.height;
  c.fx = c.fy = renderer_.focal();
  c.cx = cfg_.width * 0.5f;
  c.cy = cfg_.height * 0.5f;
  c.eye_height = Renderer::kEyeHeight;
  c.x = pose_.x;
  c.y = pose_.y;
  c.yaw = pose_.yaw;
  camera_extrinsics(pose_.x, pose_.y, pose_.yaw, c.world_to_camera);
  return c;
}

void camera_extrinsics(float x, float y, float yaw, float out[12]) {
  // Rows: right, down, forward (the renderer's column rays are forward + plane * right, and
  // its rows grow downward); translation -R * eye. In double so that composing two cameras of the
  // same pose gives the identity to the last float bit.
  const double c = std::cos(double(yaw)), s = std::sin(double(yaw));
  const double r[9] = {-s, c, 0, 0, 0, -1, c, s, 0};
  const double eye[3] = {x, y, Renderer::kEyeHeight};
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) out[i * 4 + j] = float(r[i * 3 + j]);
    out[i * 4 + 3] = float(-(r[i * 3] * eye[0] + r[i * 3 + 1] * eye[1] + r[i * 3 + 2] * eye[2]));
  }
}

std::vector<uint8_t> World::snapshot() const {
  Writer w;
  w.put(kSnapshotMagic);
  w.put(kSnapshotVersion);
  w.put(seed_);
  w.put(cfg_);
  w.put(frame_index_);
  w.put(pose_.x);
  w.put(pose_.y);
  w.put(pose_.yaw);
  w.put(light_.level);
  for (float t : light_.tint) w.put(t);
  w.put(int32_t(light_.preset));
  w.put(int32_t(next_spawn_kind_));
  w.put(uint8_t(blocked_));
  w.put(uint32_t(spawned_.size()));
  for (const Object& o : spawned_) {
    w.put(o.x);
    w.put(o.y);
    w.put(o.kind);
  }
  return w.out;
}

void World::restore(const uint8_t* data, size_t size) {
  if (!data) invalid("wl_world_restore: snapshot is null");
  Reader r{data, size};
  if (r.get<uint32_t>("magic") != kSnapshotMagic) bad_snapshot("not a world snapshot (bad magic)");
  const uint32_t version = r.get<uint32_t>("version");
  if (version != kSnapshotVersion) bad_snapshot("version " + std::to_string(version) + " is not supported (expected " + std::to_string(kSnapshotVersion) + ")");
  const uint64_t seed = r.get<uint64_t>("seed");
  const wl_world_config cfg = r.get<wl_world_config>("config");
  try {
    validate_config(cfg);
  } catch (const Error& e) {
    bad_snapshot(e.what());
  }
  if (cfg.width != cfg_.width || cfg.height != cfg_.height) {
    bad_snapshot("frame size " + std::to_string(cfg.width) + "x" + std::to_string(cfg.height) + " differs from this world's " + std::to_string(cfg_.width) + "x" + std::to_string(cfg_.height));
  }
  const uint64_t frame_index = r.get<uint64_t>("frame_index");
  Camera pose;
  pose.x = r.get<float>("pose.x");
  pose.y = r.get<float>("pose.y");
  pose.yaw = r.get<float>("pose.yaw");
  Lighting light;
  light.level = r.get<float>("light.level");
  for (float& t : light.tint) t = r.get<float>("light.tint");
  light.preset = r.get<int32_t>("light.preset");
  const int32_t next_kind = r.get<int32_t>("next_spawn_kind");
  const bool blocked = r.get<uint8_t>("blocked") != 0;
  const uint32_t count = r.get<uint32_t>("spawned.count");
  if (!(light.level >= 0.f && light.level <= 1.f)) bad_snapshot("light level out of [0, 1]");
  for (float t : light.tint)
    if (!(t >= 0.f && t <= 1.f)) bad_snapshot("light tint out of [0, 1]");
  if (light.preset < -1 || light.preset >= kLightPresetCount) bad_snapshot("light preset " + std::to_string(light.preset) + " out of range");
  if (next_kind < 0 || next_kind >= WL_OBJECT_KIND_COUNT) bad_snapshot("next spawn kind " + std::to_string(next_kind) + " out of range");
  if (count > uint32_t(cfg.max_spawned)) bad_snapshot("holds " + std::to_string(count) + " spawned objects, more than max_spawned " + std::to_string(cfg.max_spawned));
  std::vector<Object> spawned;
  for (uint32_t i = 0; i < count; ++i) {
    Object o;
    o.x = r.get<float>("spawned.x");
    o.y = r.get<float>("spawned.y");
    o.kind = r.get<uint8_t>("spawned.kind");
    if (o.kind >= WL_OBJECT_KIND_COUNT) bad_snapshot("spawned object " + std::to_string(i) + " has unknown kind " + std::to_string(o.kind));
    if (!std::isfinite(o.x) || !std::isfinite(o.y) || o.x < 0 || o.y < 0 || o.x >= cfg.map_size || o.y >= cfg.map_size) {
      bad_snapshot("spawned object " + std::to_string(i) + " lies outside the map");
    }
    spawned.push_back(o);
  }
  if (r.pos != size) bad_snapshot(std::to_string(size - r.pos) + " unexpected trailing bytes");
  // Everything parsed and checked against the level it belongs to; only now change state, so a
  // bad snapshot leaves the world untouched.
  const bool new_level = seed != seed_ || cfg.map_size != cfg_.map_size;
  Level level;
  if (new_level) {
    const ThemePalette palette{TextureBank::kWalls, TextureBank::kFloors, TextureBank::kCeilings};
    level = generate_level(seed, cfg.map_size, palette);
  }
  // Snapshots are written with the yaw wrapped into [-pi, pi); anything far outside is corrupt.
  if (!(std::fabs(pose.yaw) <= 2 * kPi)) bad_snapshot("pose.yaw " + std::to_string(pose.yaw) + " is outside [-2pi, 2pi]");
  if (!std::isfinite(pose.yaw) || !box_free(new_level ? level : level_, cfg.player_radius, pose.x, pose.y)) {
    bad_snapshot("pose lies inside a wall or is not finite");
  }
  const wl_world_config old_cfg = cfg_;
  cfg_ = cfg;
  if (new_level) {
    if (seed != seed_) textures_ = generate_textures(seed);
    level_ = std::move(level);
    seed_ = seed;
  }
  if (cfg.fov_deg != old_cfg.fov_deg || cfg.fog_distance != old_cfg.fog_distance) {
    renderer_.configure(cfg_.width, cfg_.height, cfg_.fov_deg, cfg_.fog_distance);
  }
  frame_index_ = frame_index;
  pose_ = pose;
  pose_.yaw = wrap_angle(pose_.yaw);
  light_ = light;
  next_spawn_kind_ = next_kind;
  blocked_ = blocked;
  spawned_ = spawned;
  renderer_.set_lighting(light_);
  rebuild_objects(true);
  render();
}

std::string World::info_json() const {
  std::ostringstream s;
  s << "{\"seed\":" << seed_ << ",\"frame_index\":" << frame_index_ << ",\"width\":" << cfg_.width
    << ",\"height\":" << cfg_.height << ",\"map_size\":" << cfg_.map_size << ",\"fov_deg\":" << cfg_.fov_deg
    << ",\"move_speed\":" << cfg_.move_speed << ",\"strafe_speed\":" << cfg_.strafe_speed
    << ",\"turn_speed_deg\":" << cfg_.turn_speed_deg << ",\"player_radius\":" << cfg_.player_radius
    << ",\"fog_distance\":" << cfg_.fog_distance << ",\"max_spawned\":" << cfg_.max_spawned
    << ",\"pose\":[" << pose_.x << "," << pose_.y << "," << pose_.yaw << "]"
    << ",\"light\":{\"level\":" << light_.level << ",\"tint\":[" << light_.tint[0] << "," << light_.tint[1] << ","
    << light_.tint[2] << "],\"preset\":" << (light_.preset >= 0 ? "\"" + std::string(kLightPresets[light_.preset].name) + "\"" : "null")
    << "},\"rooms\":" << level_.rooms.size() << ",\"floor_cells\":" << level_.floor_cells()
    << ",\"placed_objects\":" << level_.objects.size() << ",\"spawned_objects\":" << spawned_.size() << "}";
  return s.str();
}

}  // namespace wl::world
