// Seeded level generator: rooms joined by corridors on a square grid, with extra connections so
// paths loop back, per-area themes (which textures a room or corridor uses) and placed objects.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace wl::world {

struct Room {
  int x, y, w, h;  // floor rectangle [x, x+w) x [y, y+h)
  int theme;
};

// Which textures and base light an area uses. Indices point into the TextureBank.
struct Theme {
  uint8_t wall, wall_accent, floor, ceiling;
  uint8_t ambient;  // base light of the area, 128 = 1.0
  uint8_t sky;      // 1 = open courtyard: the sky instead of a ceiling
};

struct Object {
  float x, y;
  uint8_t kind;  // wl_object_kind
};

struct Level {
  int size = 0;
  std::vector<uint8_t> solid;  // size*size, row-major (y major); 1 = wall
  std::vector<uint8_t> area;   // theme index per cell (meaningful for floor cells)
  std::vector<Room> rooms;
  std::vector<Theme> themes;
  std::vector<Object> objects;  // placed at generation
  int connections = 0;          // corridors joining rooms; > rooms - 1 means the level has loops
  float start_x = 0, start_y = 0, start_yaw = 0;

  // Out-of-map counts as wall, so callers never index past the grid.
  bool wall(int x, int y) const {
    return x < 0 || y < 0 || x >= size || y >= size || solid[size_t(y) * size + x] != 0;
  }
  int floor_cells() const;
};

// Texture counts the generator may refer to (TextureBank sizes).
struct ThemePalette {
  int wall_textures, floor_textures, ceiling_textures;
};

Level generate_level(uint64_t seed, int size, const ThemePalette& palette);

// Floor cells not reachable (4-connected) from the start cell; 0 for a valid level.
int count_unreachable(const Level& level);

// Shortest 4-connected path of floor cells from (sx,sy) to (gx,gy), excluding the start;
// empty if unreachable or start == goal. `scratch` avoids re-allocation between calls.
void find_path(const Level& level, int sx, int sy, int gx, int gy, std::vector<int>& path,
               std::vector<int>& scratch);

}  // namespace wl::world
