// Procedural textures generated from the seed (no image assets): wall, floor and ceiling
// families with seeded palettes, decorated wall variants, and the billboard sprites.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace wl::world {

constexpr int kTexShift = 6;
constexpr int kTex = 1 << kTexShift;  // textures are kTex x kTex texels
constexpr int kTexels = kTex * kTex;

// Texel packing: r | g << 8 | b << 16 | flags << 24. Sprite flags: 0 transparent, 1 lit,
// 2 emissive (ignores the light level; fog still applies).
inline uint32_t pack_rgb(int r, int g, int b, int flags = 1) {
  auto c = [](int v) { return uint32_t(v < 0 ? 0 : v > 255 ? 255 : v); };
  return c(r) | c(g) << 8 | c(b) << 16 | uint32_t(flags) << 24;
}

struct TextureBank {
  static constexpr int kWalls = 12;  // plain walls; decorated variants at kWalls..2*kWalls-1
  static constexpr int kFloors = 8;
  static constexpr int kCeilings = 6;
  // Walls and sprites are drawn column by column, so they are stored column-major
  // ([x][y]); floors and ceilings row-major ([y][x]).
  std::vector<uint32_t> walls;     // 2*kWalls textures
  std::vector<uint32_t> floors;    // kFloors
  std::vector<uint32_t> ceilings;  // kCeilings
  std::vector<uint32_t> sprites;   // WL_OBJECT_KIND_COUNT
  // Sky panorama over courtyards, row-major [kSkyH][kSkyW]: u wraps once around the horizon
  // (by view angle), v = 0 at the zenith row of the screen, kSkyH - 1 at the horizon.
  static constexpr int kSkyW = 256, kSkyH = 64;
  std::vector<uint32_t> sky;

  const uint32_t* wall(int i) const { return &walls[size_t(i) * kTexels]; }
  const uint32_t* floor(int i) const { return &floors[size_t(i) * kTexels]; }
  const uint32_t* ceiling(int i) const { return &ceilings[size_t(i) * kTexels]; }
  const uint32_t* sprite(int i) const { return &sprites[size_t(i) * kTexels]; }
};

TextureBank generate_textures(uint64_t seed);

}  // namespace wl::world
