// Level generator: every floor cell reachable, loops, themes and objects, determinism.
#include <set>

#include "check.h"
#include "world/level.h"
#include "world/texture.h"
#include "world/world.h"

using namespace wl::world;

static const ThemePalette kPalette{TextureBank::kWalls, TextureBank::kFloors, TextureBank::kCeilings};

TEST(every_floor_cell_is_reachable) {
  for (int size : {16, 32, 48, 64, 128})
    for (uint64_t seed = 0; seed < 40; ++seed) {
      const Level lv = generate_level(seed * 7919 + size, size, kPalette);
      CHECK_MSG(count_unreachable(lv) == 0, "seed %llu size %d: %d unreachable", (unsigned long long)seed, size, count_unreachable(lv));
      CHECK(!lv.wall(int(lv.start_x), int(lv.start_y)));
      // The border is solid: nothing can walk off the map.
      for (int i = 0; i < size; ++i) {
        CHECK(lv.wall(i, 0) && lv.wall(i, size - 1) && lv.wall(0, i) && lv.wall(size - 1, i));
      }
    }
}

TEST(levels_have_rooms_loops_and_objects) {
  std::set<int> kinds;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    const Level lv = generate_level(seed, 48, kPalette);
    CHECK_MSG(lv.rooms.size() >= 8, "seed %llu: only %zu rooms", (unsigned long long)seed, lv.rooms.size());
    CHECK_MSG(lv.connections > int(lv.rooms.size()) - 1, "seed %llu: no loops (%d connections, %zu rooms)",
              (unsigned long long)seed, lv.connections, lv.rooms.size());
    CHECK(lv.floor_cells() > 48 * 48 / 5);
    CHECK(!lv.objects.empty());
    for (const Object& o : lv.objects) {
      kinds.insert(o.kind);
      CHECK(!lv.wall(int(o.x), int(o.y)));
    }
    std::set<int> room_themes;
    for (const Room& r : lv.rooms) room_themes.insert(r.theme);
    CHECK(room_themes.size() >= 3);
  }
  CHECK(kinds.size() == WL_OBJECT_KIND_COUNT);
}

TEST(some_rooms_are_open_courtyards) {
  int sky = 0, themes = 0;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    const Level lv = generate_level(seed, 48, kPalette);
    for (const Theme& t : lv.themes) sky += t.sky, ++themes;
  }
  CHECK_MSG(sky > themes / 20 && sky < themes / 2, "%d of %d themes are courtyards", sky, themes);
}

TEST(same_seed_same_level_other_seed_other_level) {
  const Level a = generate_level(42, 48, kPalette), b = generate_level(42, 48, kPalette);
  const Level c = generate_level(43, 48, kPalette);
  CHECK(a.solid == b.solid && a.area == b.area && a.objects.size() == b.objects.size());
  CHECK(a.solid != c.solid);
  const TextureBank ta = generate_textures(42), tb = generate_textures(42), tc = generate_textures(43);
  CHECK(ta.walls == tb.walls && ta.floors == tb.floors && ta.sprites == tb.sprites);
  CHECK(ta.walls != tc.walls);
}

TEST(paths_connect_rooms) {
  const Level lv = generate_level(5, 48, kPalette);
  std::vector<int> path, scratch;
  const Room& r = lv.rooms.back();
  int gx = r.x, gy = r.y;
  find_path(lv, int(lv.start_x), int(lv.start_y), gx, gy, path, scratch);
  CHECK(!path.empty());
  CHECK(!path.empty() && path.back() == gy * lv.size + gx);
  for (size_t i = 0; i < path.size(); ++i) {
    CHECK(!lv.wall(path[i] % lv.size, path[i] / lv.size));
    const int prev = i == 0 ? int(lv.start_y) * lv.size + int(lv.start_x) : path[i - 1];
    const int d = std::abs(path[i] - prev);
    CHECK(d == 1 || d == lv.size);  // 4-connected steps
  }
}

TEST_MAIN()
