// Lighting: named global presets (level + tint, cycled by the "light" event) and the per-level
// light map — ambient light per area plus the glow of lamps and orbs, with wall occlusion.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "world/level.h"

namespace wl::world {

struct LightPreset {
  const char* name;
  float level;
  float tint[3];
};
constexpr int kLightPresetCount = 6;
extern const LightPreset kLightPresets[kLightPresetCount];

// Global light state: what set_light and the light event change.
struct Lighting {
  float level = 1.f;
  float tint[3] = {1.f, 1.f, 1.f};
  int preset = 0;  // last preset applied by the light event (-1 after a custom set_light)
};

// Local light, kRes samples per cell along each axis; 128 = 1.0 (so up to ~2x when lamps add).
struct LightMap {
  static constexpr int kRes = 4;
  int side = 0;  // samples per side = level size * kRes
  std::vector<uint8_t> v;
  std::vector<float> acc;  // unquantised sums, so one more light can be added in place
  uint8_t at(float x, float y) const {
    int ix = int(x * kRes), iy = int(y * kRes);
    ix = ix < 0 ? 0 : ix >= side ? side - 1 : ix;
    iy = iy < 0 ? 0 : iy >= side ? side - 1 : iy;
    return v[size_t(iy) * side + ix];
  }
};

// Rebuilds the light map from the level's areas and every light-emitting object.
void build_lightmap(const Level& level, const std::vector<Object>& objects, LightMap& out);
// Adds one object's light (no-op for objects that emit none) without a full rebuild.
void add_light(const Level& level, const Object& object, LightMap& map);
bool emits_light(int kind);

}  // namespace wl::world
