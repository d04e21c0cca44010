#include "world/lighting.h"

#include <algorithm>
#include <cmath>

#include "worldloop/wl_world.h"

namespace wl::world {

const LightPreset kLightPresets[kLightPresetCount] = {
    {"day", 1.0f, {1.0f, 1.0f, 1.0f}},     {"warm", 0.85f, {1.0f, 0.8f, 0.55f}},
    {"dusk", 0.6f, {0.85f, 0.6f, 0.8f}},   {"night", 0.35f, {0.55f, 0.65f, 1.0f}},
    {"alarm", 0.6f, {1.0f, 0.35f, 0.3f}},  {"toxic", 0.75f, {0.6f, 1.0f, 0.5f}},
};

namespace {
// True when the straight segment between two points crosses no wall cell before the end
// point's own cell (sampled every 1/8 cell), so the faces of walls around a lamp are lit.
bool clear_line(const Level& lv, float x0, float y0, float x1, float y1) {
  const float dx = x1 - x0, dy = y1 - y0;
  const int steps = int(std::sqrt(dx * dx + dy * dy) * 8) + 1;
  const int end_x = int(x1), end_y = int(y1);
  for (int i = 1; i < steps; ++i) {
    const float t = float(i) / steps;
    const int cx = int(x0 + dx * t), cy = int(y0 + dy * t);
    if (cx == end_x && cy == end_y) break;  // reached the sample's own cell
    if (lv.wall(cx, cy)) return false;
  }
  return true;
}
}  // namespace

bool emits_light(int kind) { return kind == WL_OBJECT_LAMP || kind == WL_OBJECT_ORB; }

void add_light(const Level& lv, const Object& o, LightMap& map) {
  const int R = LightMap::kRes;
  float strength, radius;
  if (o.kind == WL_OBJECT_LAMP) strength = 95.f, radius = 4.5f;
  else if (o.kind == WL_OBJECT_ORB) strength = 70.f, radius = 2.5f;
  else return;
  const int x0 = std::max(0, int((o.x - radius) * R)), x1 = std::min(map.side - 1, int((o.x + radius) * R));
  const int y0 = std::max(0, int((o.y - radius) * R)), y1 = std::min(map.side - 1, int((o.y + radius) * R));
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      const float px = (x + 0.5f) / R, py = (y + 0.5f) / R;
      const float d = std::sqrt((px - o.x) * (px - o.x) + (py - o.y) * (py - o.y));
      if (d >= radius || !clear_line(lv, o.x, o.y, px, py)) continue;
      const float k = 1.f - d / radius;
      const size_t i = size_t(y) * map.side + x;
      map.acc[i] += strength * k * k;
      map.v[i] = uint8_t(std::min(255.f, map.acc[i] + 0.5f));
    }
}

void build_lightmap(const Level& lv, const std::vector<Object>& objects, LightMap& out) {
  const int R = LightMap::kRes;
  out.side = lv.size * R;
  out.v.assign(size_t(out.side) * out.side, 0);
  out.acc.assign(out.v.size(), 0.f);
  for (int y = 0; y < out.side; ++y)
    for (int x = 0; x < out.side; ++x) {
      const int cx = x / R, cy = y / R;
      // Wall cells take the brightest neighbouring area so wall faces are lit by their room.
      float a = 0;
      if (!lv.wall(cx, cy)) {
        a = lv.themes[lv.area[size_t(cy) * lv.size + cx]].ambient;
      } else {
        for (int k = 0; k < 4; ++k) {
          const int nx = cx + (k == 0) - (k == 1), ny = cy + (k == 2) - (k == 3);
          if (!lv.wall(nx, ny)) a = std::max<float>(a, lv.themes[lv.area[size_t(ny) * lv.size + nx]].ambient);
        }
      }
      const size_t i = size_t(y) * out.side + x;
      out.acc[i] = a;
      out.v[i] = uint8_t(std::min(255.f, a + 0.5f));
    }
  for (const Object& o : objects) add_light(lv, o, out);
}

}  // namespace wl::world
