#include "world/texture.h"

#include <algorithm>
#include <cmath>

#include "world/rng.h"
#include "worldloop/wl_world.h"

namespace wl::world {
namespace {

struct Rgb {
  float r, g, b;
};
Rgb operator*(Rgb c, float k) { return {c.r * k, c.g * k, c.b * k}; }
Rgb operator+(Rgb a, Rgb b) { return {a.r + b.r, a.g + b.g, a.b + b.b}; }
Rgb mix(Rgb a, Rgb b, float t) { return a * (1 - t) + b * t; }
uint32_t pack(Rgb c, int flags = 1) {
  return pack_rgb(int(c.r * 255.f + 0.5f), int(c.g * 255.f + 0.5f), int(c.b * 255.f + 0.5f), flags);
}

Rgb hsv(float h, float s, float v) {
  h = h - std::floor(h);
  const float i = std::floor(h * 6), f = h * 6 - i;
  const float p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  switch (int(i) % 6) {
    case 0: return {v, t, p};
    case 1: return {q, v, p};
    case 2: return {p, v, t};
    case 3: return {p, q, v};
    case 4: return {t, p, v};
    default: return {v, p, q};
  }
}

float unit(uint32_t h) { return float(h >> 8) * (1.0f / 16777216.0f); }
float smooth(float t) { return t * t * (3 - 2 * t); }

// Value noise that tiles every kTex texels: lattice of `period` cells across the texture.
float noise(uint64_t seed, float x, float y, int period) {
  const float fx = x * period / kTex, fy = y * period / kTex;
  const int ix = int(std::floor(fx)), iy = int(std::floor(fy));
  const float tx = smooth(fx - ix), ty = smooth(fy - iy);
  auto at = [&](int i, int j) {
    return unit(hash3(seed, uint32_t(((i % period) + period) % period), uint32_t(((j % period) + period) % period)));
  };
  const float a = at(ix, iy), b = at(ix + 1, iy), c = at(ix, iy + 1), d = at(ix + 1, iy + 1);
  return (a + (b - a) * tx) + ((c + (d - c) * tx) - (a + (b - a) * tx)) * ty;
}
float fbm(uint64_t seed, float x, float y, int period, int octaves) {
  float sum = 0, amp = 0.5f, norm = 0;
  for (int o = 0; o < octaves; ++o) {
    sum += amp * noise(seed + o * 7919, x, y, period << o);
    norm += amp;
    amp *= 0.5f;
  }
  return sum / norm;
}

// A palette for one texture: a base hue with a darker/lighter partner.
struct Palette {
  Rgb base, dark, light, accent;
};
Palette make_palette(Rng& rng, float hue, float sat_lo, float sat_hi, float val_lo, float val_hi) {
  const float h = hue + rng.uniform(-0.04f, 0.04f);
  const float s = rng.uniform(sat_lo, sat_hi), v = rng.uniform(val_lo, val_hi);
  Palette p;
  p.base = hsv(h, s, v);
  p.dark = hsv(h + 0.02f, std::min(1.f, s * 1.2f), v * 0.45f);
  p.light = hsv(h - 0.02f, s * 0.6f, std::min(1.f, v * 1.35f));
  p.accent = hsv(rng.uniform(0, 1), rng.uniform(0.5f, 0.9f), rng.uniform(0.5f, 0.9f));
  return p;
}

using Canvas = std::vector<uint32_t>;  // row-major kTex x kTex while drawing

// ---- walls --------------------------------------------------------------------------------
enum WallFamily { kBrick, kStone, kPlanks, kMetal, kTiles, kPlaster, kWallFamilies };

void draw_wall(Canvas& c, int family, uint64_t seed, Rng& rng) {
  static const float hues[kWallFamilies][2] = {{0.0f, 0.05f}, {0.08f, 0.6f}, {0.06f, 0.1f},
                                               {0.55f, 0.62f}, {0.45f, 0.95f}, {0.1f, 0.3f}};
  const float hue = rng.chance(0.5f) ? hues[family][0] : hues[family][1];
  const Palette p = family == kMetal ? make_palette(rng, hue, 0.05f, 0.25f, 0.45f, 0.7f)
                  : family == kPlaster ? make_palette(rng, hue, 0.1f, 0.35f, 0.55f, 0.85f)
                  : make_palette(rng, hue, 0.3f, 0.7f, 0.45f, 0.8f);
  for (int y = 0; y < kTex; ++y)
    for (int x = 0; x < kTex; ++x) {
      const float n = fbm(seed, float(x), float(y), 8, 3);
      Rgb col = p.base;
      switch (family) {
        case kBrick: {
          const int row = y / 8, off = (row & 1) * 8, bx = (x + off) % 16, by = y % 8;
          const int id = row * 8 + (x + off) / 16;
          if (bx == 0 || by == 0) col = mix(p.light, p.dark, 0.3f) * (0.8f + 0.2f * n);
          else col = mix(p.base, p.dark, 0.45f * unit(hash3(seed, id, 1))) * (0.8f + 0.35f * n);
          if (by == 1 && bx != 0) col = col * 1.1f;
          break;
        }
        case kStone: {
          const int row = y / 16, by = y % 16;
          // Block boundaries of each row at hashed positions, so rows do not line up.
          const int cut1 = 8 + int(hash3(seed, row, 2) % 20), cut2 = cut1 + 14 + int(hash3(seed, row, 3) % 16);
          const int bx = x < cut1 ? x : x < cut2 ? x - cut1 : x - cut2;
          const int bw = x < cut1 ? cut1 : x < cut2 ? cut2 - cut1 : kTex - cut2;
          const int id = row * 3 + (x < cut1 ? 0 : x < cut2 ? 1 : 2);
          col = mix(p.base, p.light, 0.3f * unit(hash3(seed, id, 4))) * (0.7f + 0.45f * n);
          if (bx == 0 || by == 0) col = p.dark * 0.7f;
          else if (bx == 1 || by == 1) col = col * 1.2f;
          else if (bx == bw - 1 || by == 15) col = col * 0.7f;
          break;
        }
        case kPlanks: {
          const int plank = x / 8, px = x % 8;
          const float grain = 0.5f + 0.5f * std::sin((x * 0.9f + 6.f * fbm(seed + 1, float(x), float(y), 4, 2)) * 2.1f);
          col = mix(p.base, p.dark, 0.25f + 0.35f * unit(hash3(seed, plank, 5))) * (0.8f + 0.25f * grain);
          if (px == 0) col = p.dark * 0.6f;
          if (px == 7) col = col * 0.8f;
          const int nail_y = 6 + int(hash3(seed, plank, 6) % 4);
          if ((px == 3 || px == 4) && (y == nail_y || y == nail_y + 32)) col = {0.25f, 0.25f, 0.28f};
          break;
        }
        case kMetal: {
          const int px = x % 32, py = y % 32;
          const float brush = unit(hash3(seed, uint32_t(y), 7)) * 0.15f;
          col = p.base * (0.85f + brush + 0.15f * n);
          if (px == 0 || py == 0) col = p.dark * 0.6f;
          else if (px == 1 || py == 1) col = p.light;
          const int rx = px < 16 ? px - 4 : px - 27, ry = py < 16 ? py - 4 : py - 27;
          if (rx * rx + ry * ry <= 2) col = rx + ry < 0 ? p.light * 1.2f : p.dark;
          if (py >= 12 && py <= 19 && (x / 32 + y / 32) % 2 == 0 && px > 6 && px < 26)
            col = mix(col, p.accent, 0.5f);  // painted warning strip on alternate panels
          break;
        }
        case kTiles: {
          const int tx = x % 8, ty = y % 8, id = (y / 8) * 8 + x / 8;
          col = mix(p.base, p.light, 0.3f * unit(hash3(seed, id, 8))) * (0.92f + 0.1f * n);
          if (tx == 0 || ty == 0) col = mix(p.dark, p.light, 0.5f) * 0.9f;
          else if (tx == 1 && ty == 1) col = col * 1.25f;
          if (y >= 40 && y < 48) col = mix(col, p.accent, 0.6f);  // a band of accent tiles
          break;
        }
        default: {  // plaster with stains above a wooden wainscot
          const float stain = fbm(seed + 3, float(x), float(y), 2, 2);
          col = p.base * (0.85f + 0.2f * n) * (stain > 0.6f ? 0.8f : 1.f);
          if (y >= 42) col = mix(p.dark, p.base, 0.3f) * (0.8f + 0.25f * n);
          if (y == 41 || y == 42) col = p.light;
          if (y == 43) col = p.dark * 0.5f;
          break;
        }
      }
      c[y * kTex + x] = pack(col);
    }
}

// Decorated variant: the plain texture with a door, banner, window or vent on it.
void decorate_wall(Canvas& c, uint64_t seed, Rng& rng) {
  const int kind = rng.range(0, 3);
  const Rgb accent = hsv(rng.uniform(0, 1), rng.uniform(0.5f, 0.9f), rng.uniform(0.45f, 0.85f));
  for (int y = 0; y < kTex; ++y)
    for (int x = 0; x < kTex; ++x) {
      uint32_t& t = c[y * kTex + x];
      const float n = fbm(seed + 11, float(x), float(y), 8, 2);
      if (kind == 0 && x >= 16 && x < 48 && y >= 12) {  // door
        Rgb wood = Rgb{0.38f, 0.24f, 0.13f} * (0.75f + 0.4f * n);
        if (x < 18 || x >= 46 || y < 14) wood = {0.2f, 0.13f, 0.07f};
        else if ((x - 18) % 14 == 0 || y == 36) wood = wood * 0.7f;
        if (x >= 40 && x <= 42 && y >= 38 && y <= 40) wood = {0.85f, 0.75f, 0.3f};
        t = pack(wood);
      } else if (kind == 1 && x >= 22 && x < 42 && y >= 4 && y < 46 - std::abs(x - 32) / 2) {  // banner
        Rgb cloth = accent * (0.8f + 0.3f * n);
        const int dx = std::abs(x - 32), dy = std::abs(y - 22);
        if (dx + dy < 7) cloth = Rgb{0.95f, 0.85f, 0.35f};
        if (x == 22 || x == 41) cloth = cloth * 0.6f;
        t = pack(cloth);
      } else if (kind == 2 && x >= 14 && x < 50 && y >= 10 && y < 38) {  // window
        Rgb pane = mix(Rgb{0.1f, 0.14f, 0.3f}, Rgb{0.45f, 0.6f, 0.85f}, float(38 - y) / 40.f);
        if (x < 16 || x >= 48 || y < 12 || y >= 36 || x == 31 || x == 32 || y == 23) pane = Rgb{0.8f, 0.78f, 0.7f};
        t = pack(pane);
      } else if (kind == 3 && x >= 20 && x < 44 && y >= 24 && y < 40) {  // vent
        Rgb vent = (y - 24) % 4 < 2 ? Rgb{0.08f, 0.08f, 0.09f} : Rgb{0.5f, 0.5f, 0.52f};
        if (x == 20 || x == 43 || y == 24 || y == 39) vent = Rgb{0.62f, 0.62f, 0.65f};
        t = pack(vent);
      }
    }
}

// ---- floors and ceilings ------------------------------------------------------------------
void draw_floor(Canvas& c, int family, uint64_t seed, Rng& rng) {
  const Palette p = make_palette(rng, rng.uniform(0, 1), 0.2f, 0.6f, 0.35f, 0.75f);
  const Palette q = make_palette(rng, rng.uniform(0, 1), 0.1f, 0.5f, 0.5f, 0.9f);
  for (int y = 0; y < kTex; ++y)
    for (int x = 0; x < kTex; ++x) {
      const float n = fbm(seed, float(x), float(y), 8, 3);
      Rgb col;
      switch (family % 6) {
        case 0: {  // checkerboard tiles
          const bool odd = ((x / 16) + (y / 16)) & 1;
          col = (odd ? p.base : q.light) * (0.85f + 0.2f * n);
          if (x % 16 == 0 || y % 16 == 0) col = p.dark;
          break;
        }
        case 1: {  // floorboards
          const int row = y / 8, off = int(hash3(seed, row, 9) % 64), bx = (x + off) % 64;
          const float grain = 0.5f + 0.5f * std::sin((y * 1.3f + 5.f * fbm(seed + 2, float(x), float(y), 4, 2)) * 1.7f);
          col = mix(Rgb{0.45f, 0.3f, 0.17f}, p.base, 0.25f) * (0.75f + 0.25f * grain) * (0.85f + 0.3f * unit(hash3(seed, row, 10)));
          if (y % 8 == 0 || bx == 0 || bx == 40) col = Rgb{0.15f, 0.1f, 0.06f};
          break;
        }
        case 2: {  // stone slabs
          const int row = y / 32, off = (row & 1) * 16, bx = (x + off) % 32, by = y % 32;
          col = mix(p.base, q.base, 0.2f) * (0.65f + 0.5f * n);
          if (bx == 0 || by == 0) col = p.dark * 0.6f;
          else if (fbm(seed + 4, float(x), float(y), 16, 1) > 0.82f) col = col * 0.7f;  // cracks
          break;
        }
        case 3: {  // carpet with a diamond pattern
          const int d = (std::abs(x % 32 - 16) + std::abs(y % 32 - 16));
          col = (d < 6 ? p.accent : d < 8 ? q.light : d > 14 ? p.dark : p.base) * (0.85f + 0.2f * unit(hash3(seed, x, y)));
          break;
        }
        case 4: {  // grass and dirt
          const float g = fbm(seed + 5, float(x), float(y), 4, 3);
          col = mix(Rgb{0.35f, 0.26f, 0.15f}, Rgb{0.25f, 0.5f, 0.18f}, smooth(std::clamp((g - 0.35f) * 3.f, 0.f, 1.f)));
          col = col * (0.75f + 0.45f * unit(hash3(seed, x, y)));
          break;
        }
        default: {  // mosaic of small tiles in three colours
          const int id = (y / 4) * 16 + x / 4;
          const uint32_t h = hash3(seed, id, 11) % 3;
          col = (h == 0 ? p.base : h == 1 ? q.base : p.light) * (0.9f + 0.15f * n);
          if (x % 4 == 0 || y % 4 == 0) col = p.dark * 0.8f;
          break;
        }
      }
      c[y * kTex + x] = pack(col);
    }
}

void draw_ceiling(Canvas& c, int family, uint64_t seed, Rng& rng) {
  const Palette p = make_palette(rng, rng.uniform(0, 1), 0.05f, 0.3f, 0.4f, 0.8f);
  for (int y = 0; y < kTex; ++y)
    for (int x = 0; x < kTex; ++x) {
      const float n = fbm(seed, float(x), float(y), 4, 3);
      Rgb col;
      switch (family % 4) {
        case 0: col = p.base * (0.8f + 0.3f * n); break;  // plaster
        case 1: {  // wooden beams over boards
          const bool beam = (x % 32) < 8;
          col = beam ? Rgb{0.3f, 0.19f, 0.1f} * (0.8f + 0.3f * n) : mix(p.base, Rgb{0.5f, 0.38f, 0.25f}, 0.6f) * (0.8f + 0.2f * n);
          if (!beam && y % 8 == 0) col = col * 0.75f;
          if ((x % 32) == 8) col = col * 0.6f;
          break;
        }
        case 2: {  // panels with light fixtures
          const int px = x % 32, py = y % 32;
          col = p.base * (0.85f + 0.15f * n);
          if (px == 0 || py == 0) col = p.dark;
          if (px > 10 && px < 22 && py > 10 && py < 22) col = Rgb{1.f, 0.97f, 0.85f};
          break;
        }
        default: col = p.dark * (0.6f + 0.9f * n); break;  // rock
      }
      c[y * kTex + x] = pack(col);
    }
}

// ---- sprites ------------------------------------------------------------------------------
// Texel (x, y) of a sprite: y = 0 is the top of the object's bounding box.
void draw_sprite(Canvas& c, int kind, uint64_t seed, Rng& rng) {
  std::fill(c.begin(), c.end(), 0u);
  const Rgb tone = hsv(rng.uniform(0, 1), rng.uniform(0.4f, 0.8f), rng.uniform(0.6f, 0.9f));
  for (int y = 0; y < kTex; ++y)
    for (int x = 0; x < kTex; ++x) {
      const float n = fbm(seed, float(x), float(y), 8, 2);
      const float u = (x + 0.5f) / kTex * 2 - 1;  // -1..1 across
      uint32_t out = 0;
      switch (kind) {
        case WL_OBJECT_PILLAR: {
          const bool cap = y < 6 || y >= 58;
          const float half = cap ? 0.8f : 0.55f;
          if (std::abs(u) < half) {
            const float shade = 0.55f + 0.5f * std::sqrt(std::max(0.f, 1 - (u / half + 0.3f) * (u / half + 0.3f)));
            Rgb stone = Rgb{0.75f, 0.72f, 0.66f} * (0.75f + 0.35f * n) * shade;
            if (!cap && int((u / half + 1) * 4) % 2 == 0) stone = stone * 0.92f;  // fluting
            out = pack(stone);
          }
          break;
        }
        case WL_OBJECT_BARREL: {
          const float t = (y + 0.5f) / kTex * 2 - 1;
          const float half = 0.82f + 0.12f * (1 - t * t);  // bulging staves
          if (std::abs(u) < half) {
            const float shade = 0.45f + 0.6f * std::sqrt(std::max(0.f, 1 - (u / half + 0.25f) * (u / half + 0.25f)));
            Rgb wood = mix(Rgb{0.45f, 0.28f, 0.14f}, tone, 0.2f) * (0.8f + 0.3f * n);
            if (int((u / half + 1) * 6) != int((u / half + 1) * 6 + 0.08f)) wood = wood * 0.6f;
            if ((y >= 8 && y < 12) || (y >= 52 && y < 56)) wood = Rgb{0.35f, 0.35f, 0.38f} * (0.8f + 0.4f * n);
            out = pack(wood * shade);
          }
          break;
        }
        case WL_OBJECT_PLANT: {
          if (y >= 42) {  // pot
            const float half = 0.42f - (y - 42) * 0.006f;
            if (std::abs(u) < half) out = pack(Rgb{0.7f, 0.35f, 0.2f} * (0.75f + 0.3f * n) * (1.f - 0.4f * std::abs(u)));
          } else {
            const float dx = u, dy = (y - 22) / 22.f;
            const float blob = dx * dx + dy * dy + 0.55f * (fbm(seed + 1, float(x), float(y), 8, 2) - 0.5f);
            if (blob < 0.75f || (y > 34 && std::abs(u) < 0.06f)) {
              const Rgb leaf = mix(Rgb{0.12f, 0.35f, 0.1f}, Rgb{0.4f, 0.75f, 0.25f}, n);
              out = pack(mix(leaf, tone, 0.15f) * (1.1f - 0.4f * blob));
            }
          }
          break;
        }
        case WL_OBJECT_LAMP: {
          if (y < 18) {  // glowing shade (emissive)
            const float half = 0.3f + 0.35f * y / 18.f;
            if (std::abs(u) < half) out = pack(mix(Rgb{1.f, 0.93f, 0.6f}, tone, 0.25f) * (0.85f + 0.15f * (1 - std::abs(u / half))), 2);
          } else if (y >= 58) {
            if (std::abs(u) < 0.35f) out = pack(Rgb{0.25f, 0.25f, 0.27f});
          } else if (std::abs(u) < 0.07f) {
            out = pack(Rgb{0.35f, 0.33f, 0.3f});
          }
          break;
        }
        case WL_OBJECT_CRATE: {
          Rgb wood = Rgb{0.62f, 0.46f, 0.26f} * (0.75f + 0.35f * n);
          const bool frame = x < 6 || x >= 58 || y < 6 || y >= 58;
          const bool brace = std::abs(x - y) < 5 || std::abs(x + y - 63) < 5;
          if (frame || brace) wood = wood * 0.72f;
          if (!frame && !brace && y % 11 == 0) wood = wood * 0.6f;
          if (x == 0 || x == 63 || y == 0 || y == 63) wood = wood * 0.5f;
          out = pack(wood);
          break;
        }
        default: {  // orb: glowing sphere with a ring
          const float dx = u, dy = (y + 0.5f) / kTex * 2 - 1;
          const float r2 = dx * dx + dy * dy;
          if (r2 < 0.72f) out = pack(mix(Rgb{1.f, 1.f, 1.f}, tone, std::sqrt(r2 / 0.72f)) * (1.05f - 0.3f * r2), 2);
          else if (std::abs(dy + dx * 0.3f) < 0.07f && std::abs(dx) < 1.f) out = pack(tone * 0.6f);
          break;
        }
      }
      c[y * kTex + x] = out;
    }
}

// Sky: a zenith-to-horizon gradient with soft clouds, tiling around the horizon.
void draw_sky(std::vector<uint32_t>& out, uint64_t seed, Rng& rng) {
  const float hue = rng.chance(0.7f) ? rng.uniform(0.53f, 0.62f) : rng.uniform(0.02f, 0.1f);  // blue, or dusk
  const Rgb zenith = hsv(hue, rng.uniform(0.45f, 0.75f), rng.uniform(0.55f, 0.8f));
  const Rgb horizon = hsv(hue + 0.03f, rng.uniform(0.1f, 0.3f), rng.uniform(0.85f, 1.f));
  const float cover = rng.uniform(0.35f, 0.65f);
  out.resize(size_t(TextureBank::kSkyW) * TextureBank::kSkyH);
  for (int v = 0; v < TextureBank::kSkyH; ++v)
    for (int u = 0; u < TextureBank::kSkyW; ++u) {
      const float t = float(v) / (TextureBank::kSkyH - 1);
      // noise() tiles every kTex texels: a quarter-speed x makes clouds tile around 256.
      const float c = fbm(seed, u * 0.25f, v * 0.5f, 4, 3);
      const float cloud = std::clamp((c - cover) * 3.f, 0.f, 1.f) * (0.4f + 0.6f * (1 - t));
      const Rgb sky = mix(zenith, horizon, t * t);
      out[size_t(v) * TextureBank::kSkyW + u] = pack(mix(sky, Rgb{0.96f, 0.96f, 0.98f}, cloud));
    }
}

void store(std::vector<uint32_t>& dst, const Canvas& c, bool column_major) {
  for (int y = 0; y < kTex; ++y)
    for (int x = 0; x < kTex; ++x) dst.push_back(column_major ? c[x * kTex + y] : c[y * kTex + x]);
}

}  // namespace

TextureBank generate_textures(uint64_t seed) {
  TextureBank bank;
  Rng rng(derive(seed, 2));
  Canvas c(kTexels);
  std::vector<Canvas> plain;
  bank.walls.reserve(size_t(2 * TextureBank::kWalls) * kTexels);
  for (int i = 0; i < TextureBank::kWalls; ++i) {
    draw_wall(c, i % kWallFamilies, rng.next(), rng);
    plain.push_back(c);
    store(bank.walls, c, true);
  }
  for (int i = 0; i < TextureBank::kWalls; ++i) {
    decorate_wall(plain[i], rng.next(), rng);
    store(bank.walls, plain[i], true);
  }
  for (int i = 0; i < TextureBank::kFloors; ++i) {
    draw_floor(c, i, rng.next(), rng);
    store(bank.floors, c, false);
  }
  for (int i = 0; i < TextureBank::kCeilings; ++i) {
    draw_ceiling(c, i, rng.next(), rng);
    store(bank.ceilings, c, false);
  }
  for (int k = 0; k < WL_OBJECT_KIND_COUNT; ++k) {
    draw_sprite(c, k, rng.next(), rng);
    store(bank.sprites, c, true);
  }
  draw_sky(bank.sky, rng.next(), rng);
  return bank;
}

}  // namespace wl::world
