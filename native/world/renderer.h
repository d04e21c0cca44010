// Raycaster: per-column DDA against the grid, textured walls, floor and ceiling casting,
// depth-tested billboard sprites, distance fog and lighting (global level/tint x light map).
// All buffers are sized by configure(); render() allocates nothing.
#pragma once
#include <cstdint>
#include <vector>

#include "world/level.h"
#include "world/lighting.h"
#include "world/texture.h"

namespace wl::world {

struct Camera {
  float x, y, yaw;
};

// Billboard sizes in cells: width, height, and height of the bottom above the floor.
struct ObjectShape {
  const char* name;
  float width, height, z;
};
extern const ObjectShape kObjectShapes[];

class Renderer {
 public:
  void configure(int width, int height, float fov_deg, float fog_distance);
  // Recomputes the per-row shading tables; call when the lighting changes.
  void set_lighting(const Lighting& light);
  // rgb: w*h*3 bytes; depth: w*h floats, each pixel's z (distance along the view direction,
  // cells) of the surface it shows, +infinity for the sky (docs/world.md, "Camera model").
  void render(const Level& level, const TextureBank& tex, const LightMap& lights,
              const std::vector<Object>& objects, const Camera& cam, uint8_t* rgb, float* depth);
  // The pinhole equivalent of the column raycaster: fx = fy = focal(), principal point at the
  // frame centre, eye height kEyeHeight (docs/world.md, "Camera model").
  float focal() const { return focal_; }
  static constexpr float kEyeHeight = 0.5f;
  // One object `depth` cells ahead of the camera and `lateral` to its right, over `rgb`, with
  // no wall test: for editing frames this renderer did not draw (a model world's context).
  // `light` is the local light (light-map units, 128 = 1); `mask` (may be null) gets 255 where
  // the object covers a pixel.
  void draw_object(const TextureBank& tex, int kind, float depth, float lateral, int light,
                   uint8_t* rgb, uint8_t* mask) const;

 private:
  // Fixed-point shade for one distance: out = (texel * light * mul) >> 15 + add.
  struct Shade {
    int32_t mul[3];   // level * tint * fog visibility, 256 = 1
    int32_t emit[3];  // fog visibility only (emissive texels), 256 = 1
    int32_t add[3];   // fog colour * fog amount, 0..255
  };
  Shade shade_at(float distance) const;
  void draw_sprites(const TextureBank& tex, const LightMap& lights,
                    const std::vector<Object>& objects, const Camera& cam, uint8_t* rgb,
                    float* depth);
  void draw_billboard(const uint32_t* sprite, const ObjectShape& shape, float depth, float lateral,
                      int light, bool wall_test, uint8_t* rgb, uint8_t* mask,
                      float* zbuf_out) const;

  int w_ = 0, h_ = 0;
  float focal_ = 1, plane_ = 1, fog_distance_ = 7;
  Lighting light_;
  float fog_rgb_[3] = {0, 0, 0};
  std::vector<float> row_dist_;  // per screen row: distance of the floor/ceiling it shows
  std::vector<Shade> row_shade_;
  std::vector<int> sky_row_;     // per screen row above the horizon: sky texture row
  Shade sky_shade_;              // sky: global light only, no fog
  std::vector<float> zbuf_;      // per column: wall distance (sprite depth test)
  std::vector<int> order_;       // sprite draw order scratch
  std::vector<float> depth_;
};

}  // namespace wl::world
