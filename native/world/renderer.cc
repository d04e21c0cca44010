#include "world/renderer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "world/rng.h"
#include "worldloop/wl_world.h"

namespace wl::world {

const ObjectShape kObjectShapes[WL_OBJECT_KIND_COUNT] = {
    {"pillar", 0.5f, 1.0f, 0.0f}, {"barrel", 0.42f, 0.55f, 0.0f}, {"plant", 0.55f, 0.75f, 0.0f},
    {"lamp", 0.38f, 0.95f, 0.0f}, {"crate", 0.6f, 0.6f, 0.0f},    {"orb", 0.3f, 0.3f, 0.4f},
};

namespace {
// Haze the fog fades to, before the global level and tint.
constexpr float kHaze[3] = {0.56f, 0.6f, 0.68f};
constexpr float kCameraHeight = Renderer::kEyeHeight;  // walls are 1 cell tall

inline void put(uint8_t* px, uint32_t texel, int light, const int32_t* mul, const int32_t* add) {
  const int32_t r = int32_t(texel & 255), g = int32_t((texel >> 8) & 255), b = int32_t((texel >> 16) & 255);
  const int32_t vr = ((r * light * mul[0]) >> 15) + add[0];
  const int32_t vg = ((g * light * mul[1]) >> 15) + add[1];
  const int32_t vb = ((b * light * mul[2]) >> 15) + add[2];
  px[0] = uint8_t(vr > 255 ? 255 : vr);
  px[1] = uint8_t(vg > 255 ? 255 : vg);
  px[2] = uint8_t(vb > 255 ? 255 : vb);
}
}  // namespace

void Renderer::configure(int width, int height, float fov_deg, float fog_distance) {
  w_ = width;
  h_ = height;
  plane_ = std::tan(fov_deg * 3.14159265f / 360.f);
  focal_ = (w_ * 0.5f) / plane_;
  fog_distance_ = fog_distance;
  zbuf_.assign(w_, 0.f);
  row_dist_.assign(h_, 0.f);
  row_shade_.assign(h_, Shade{});
  const float horizon = h_ * 0.5f;
  sky_row_.assign(h_, 0);
  for (int y = 0; y < h_; ++y) {
    const float p = std::fabs(y + 0.5f - horizon);
    row_dist_[y] = p < 0.25f ? 1e6f : kCameraHeight * focal_ / p;
    // Sky rows: elevation angle of the row, from the horizon (last sky row) to straight up.
    const float elevation = std::atan2(horizon - (y + 0.5f), focal_);  // 0 .. ~pi/2
    const int v = int((1.f - elevation / 1.5707964f) * (TextureBank::kSkyH - 1) + 0.5f);
    sky_row_[y] = v < 0 ? 0 : v >= TextureBank::kSkyH ? TextureBank::kSkyH - 1 : v;
  }
  set_lighting(light_);
}

Renderer::Shade Renderer::shade_at(float d) const {
  const float vis = std::exp(-d / fog_distance_);  // 1 = clear, 0 = all fog
  Shade s;
  for (int c = 0; c < 3; ++c) {
    const float lit = light_.level * light_.tint[c];
    s.mul[c] = int32_t(lit * vis * 256.f + 0.5f);
    s.emit[c] = int32_t(vis * 256.f + 0.5f);
    s.add[c] = int32_t(fog_rgb_[c] * (1.f - vis) * 255.f + 0.5f);
  }
  return s;
}

void Renderer::set_lighting(const Lighting& light) {
  light_ = light;
  for (int c = 0; c < 3; ++c) fog_rgb_[c] = kHaze[c] * light.level * light.tint[c];
  for (int y = 0; y < h_; ++y) row_shade_[y] = shade_at(row_dist_[y]);
  for (int c = 0; c < 3; ++c) {
    sky_shade_.mul[c] = int32_t(light.level * light.tint[c] * 256.f + 0.5f);
    sky_shade_.emit[c] = 256;
    sky_shade_.add[c] = 0;
  }
}

void Renderer::render(const Level& lv, const TextureBank& tex, const LightMap& lights,
                      const std::vector<Object>& objects, const Camera& cam, uint8_t* rgb,
                      float* depth) {
  const float dir_x = std::cos(cam.yaw), dir_y = std::sin(cam.yaw);
  const float pl_x = -dir_y * plane_, pl_y = dir_x * plane_;
  const float horizon = h_ * 0.5f;
  const int size = lv.size;
  const size_t stride = size_t(w_) * 3;

  for (int x = 0; x < w_; ++x) {
    const float cam_x = 2.f * (x + 0.5f) / w_ - 1.f;
    const float rdx = dir_x + pl_x * cam_x, rdy = dir_y + pl_y * cam_x;
    // Sky column: the ray's compass angle, once around the panorama per turn.
    const float angle = std::atan2(rdy, rdx) * (1.f / 6.2831853f);
    const int sky_u = int((angle - std::floor(angle)) * TextureBank::kSkyW) & (TextureBank::kSkyW - 1);
    // DDA through the grid until a wall cell.
    int mx = int(cam.x), my = int(cam.y);
    const float ddx = rdx == 0 ? 1e30f : std::fabs(1.f / rdx);
    const float ddy = rdy == 0 ? 1e30f : std::fabs(1.f / rdy);
    int sx, sy;
    float side_x, side_y;
    if (rdx < 0) sx = -1, side_x = (cam.x - mx) * ddx;
    else sx = 1, side_x = (mx + 1.f - cam.x) * ddx;
    if (rdy < 0) sy = -1, side_y = (cam.y - my) * ddy;
    else sy = 1, side_y = (my + 1.f - cam.y) * ddy;
    int side = 0, px = mx, py = my;
    for (int guard = 0; guard < 4 * size; ++guard) {
      px = mx, py = my;
      if (side_x < side_y) side_x += ddx, mx += sx, side = 0;
      else side_y += ddy, my += sy, side = 1;
      if (lv.wall(mx, my)) break;
    }
    float perp = side == 0 ? side_x - ddx : side_y - ddy;
    if (perp < 1e-3f) perp = 1e-3f;
    zbuf_[x] = perp;

    // Wall slice. Texture column from where the ray hit along the face; flipped on two faces
    // so textures read the same way round from every side.
    float hit = side == 0 ? cam.y + perp * rdy : cam.x + perp * rdx;
    hit -= std::floor(hit);
    int tex_x = int(hit * kTex);
    if ((side == 0 && rdx < 0) || (side == 1 && rdy > 0)) tex_x = kTex - 1 - tex_x;
    tex_x &= kTex - 1;
    const Theme& wall_theme = lv.themes[lv.area[size_t(py) * size + px]];
    const bool accent = hash3(uint64_t(size), uint32_t(mx * 2 + side), uint32_t(my)) % 100 < 12;
    const uint32_t* col = tex.wall(accent ? wall_theme.wall_accent : wall_theme.wall) + tex_x * kTex;
    // Light of the floor just in front of the face; faces along y are a bit darker.
    const float lx = side == 0 ? (sx > 0 ? mx - 0.1f : mx + 1.1f) : cam.x + perp * rdx;
    const float ly = side == 1 ? (sy > 0 ? my - 0.1f : my + 1.1f) : cam.y + perp * rdy;
    int wall_light = lights.at(lx, ly);
    if (side == 1) wall_light = wall_light * 3 / 4;
    const Shade ws = shade_at(perp);
    const float half = kCameraHeight * focal_ / perp;
    int y0 = int(std::ceil(horizon - half - 0.5f)), y1 = int(std::floor(horizon + half - 0.5f));
    y0 = h_ - 1 - y1;  // the slice is symmetric about the horizon; keep it exact
    const float step = kTex / (2.f * half);
    const int32_t step_fp = int32_t(step * 65536.f);
    const int ys = std::max(0, y0), ye = std::min(h_ - 1, y1);
    int32_t v_fp = int32_t(((ys + 0.5f) - (horizon - half)) * step * 65536.f);
    uint8_t* out = rgb + size_t(ys) * stride + size_t(x) * 3;
    for (int y = ys; y <= ye; ++y, out += stride, v_fp += step_fp)
      put(out, col[(v_fp >> 16) & (kTex - 1)], wall_light, ws.mul, ws.add);
    // Depth is the distance along the view direction (what a pinhole camera's z is): the whole
    // slice lies in the wall face at `perp`, whatever the row.
    for (int y = ys; y <= ye; ++y) depth[size_t(y) * w_ + x] = perp;

    // Floor below the slice and, mirrored, ceiling above it (same distance per row pair).
    auto floor_ceiling = [&](int y) {
      const float d = row_dist_[y];
      const float fx = cam.x + d * rdx, fy = cam.y + d * rdy;
      int cx = int(fx), cy = int(fy);
      cx = cx < 0 ? 0 : cx >= size ? size - 1 : cx;
      cy = cy < 0 ? 0 : cy >= size ? size - 1 : cy;
      const Theme& t = lv.themes[lv.area[size_t(cy) * size + cx]];
      const int tx = int(fx * kTex) & (kTex - 1), ty = int(fy * kTex) & (kTex - 1);
      const int l = lights.at(fx, fy);
      const Shade& s = row_shade_[y];
      put(rgb + size_t(y) * stride + size_t(x) * 3, tex.floor(t.floor)[ty * kTex + tx], l, s.mul, s.add);
      const int yc = h_ - 1 - y;
      // Floor and ceiling rows: the row's distance is already the z of the point it shows (the
      // ray is scaled so its forward component is 1). The sky has no surface: +infinity.
      depth[size_t(y) * w_ + x] = d;
      depth[size_t(yc) * w_ + x] = t.sky ? std::numeric_limits<float>::infinity() : d;
      if (t.sky) put(rgb + size_t(yc) * stride + size_t(x) * 3, tex.sky[size_t(sky_row_[yc]) * TextureBank::kSkyW + sky_u], 128, sky_shade_.mul, sky_shade_.add);
      else put(rgb + size_t(yc) * stride + size_t(x) * 3, tex.ceiling(t.ceiling)[ty * kTex + tx], l, s.mul, s.add);
    };
    for (int y = std::max(ye + 1, (h_ + 1) / 2); y < h_; ++y) floor_ceiling(y);
  }
  draw_sprites(tex, lights, objects, cam, rgb, depth);
}

void Renderer::draw_sprites(const TextureBank& tex, const LightMap& lights,
                            const std::vector<Object>& objects, const Camera& cam, uint8_t* rgb,
                            float* depth) {
  const float dir_x = std::cos(cam.yaw), dir_y = std::sin(cam.yaw);
  const float right_x = -dir_y, right_y = dir_x;
  const float max_depth = fog_distance_ * 6.f;  // beyond this fog hides everything
  order_.clear();
  depth_.resize(objects.size());
  for (size_t i = 0; i < objects.size(); ++i) {
    const float dx = objects[i].x - cam.x, dy = objects[i].y - cam.y;
    depth_[i] = dx * dir_x + dy * dir_y;
    // Objects do not block movement (a lamp in a one-cell corridor would cut the level), so
    // the player can walk through one; within this depth it is not drawn rather than filling
    // the screen with a few magnified texels.
    if (depth_[i] > 0.3f && depth_[i] < max_depth) order_.push_back(int(i));
  }
  // Far to near so nearer sprites cover farther ones; ties broken by index (deterministic).
  std::sort(order_.begin(), order_.end(), [&](int a, int b) {
    return depth_[a] != depth_[b] ? depth_[a] > depth_[b] : a < b;
  });
  for (int i : order_) {
    const Object& o = objects[i];
    const float lateral = (o.x - cam.x) * right_x + (o.y - cam.y) * right_y;
    draw_billboard(tex.sprite(o.kind), kObjectShapes[o.kind], depth_[i], lateral, lights.at(o.x, o.y), true, rgb, nullptr, depth);
  }
}

void Renderer::draw_billboard(const uint32_t* sprite, const ObjectShape& shape, float depth, float lateral,
                              int light, bool wall_test, uint8_t* rgb, uint8_t* mask,
                              float* zbuf_out) const {
  const float horizon = h_ * 0.5f;
  const size_t stride = size_t(w_) * 3;
  const float scale = focal_ / depth;
  const float cx = w_ * 0.5f + lateral * scale;
  const float half_w = shape.width * 0.5f * scale;
  const float bottom = horizon + (kCameraHeight - shape.z) * scale;
  const float top = bottom - shape.height * scale;
  const int x0 = std::max(0, int(std::ceil(cx - half_w - 0.5f)));
  const int x1 = std::min(w_ - 1, int(std::floor(cx + half_w - 0.5f)));
  const int y0 = std::max(0, int(std::ceil(top - 0.5f)));
  const int y1 = std::min(h_ - 1, int(std::floor(bottom - 0.5f)));
  if (x0 > x1 || y0 > y1) return;
  const Shade s = shade_at(depth);
  const float tu = kTex / (2.f * half_w), tv = kTex / (bottom - top);
  for (int x = x0; x <= x1; ++x) {
    if (wall_test && depth >= zbuf_[x]) continue;
    const int tx = std::min(kTex - 1, int((x + 0.5f - (cx - half_w)) * tu));
    const uint32_t* column = sprite + tx * kTex;
    uint8_t* out = rgb + size_t(y0) * stride + size_t(x) * 3;
    for (int y = y0; y <= y1; ++y, out += stride) {
      const int ty = std::min(kTex - 1, int((y + 0.5f - top) * tv));
      const uint32_t t = column[ty];
      const uint32_t flags = t >> 24;
      if (flags == 0) continue;
      if (flags == 2) put(out, t, 128, s.emit, s.add);
      else put(out, t, light, s.mul, s.add);
      if (mask) mask[size_t(y) * w_ + x] = 255;
      // A billboard is a plane facing the camera, so every texel of it is at z = depth. Sprites
      // go far to near, so the last one drawn is the nearest, as the colour is.
      if (zbuf_out) zbuf_out[size_t(y) * w_ + x] = depth;
    }
  }
}

void Renderer::draw_object(const TextureBank& tex, int kind, float depth, float lateral, int light,
                           uint8_t* rgb, uint8_t* mask) const {
  draw_billboard(tex.sprite(kind), kObjectShapes[kind], depth, lateral, light, false, rgb, mask,
                 nullptr);
}

}  // namespace wl::world
