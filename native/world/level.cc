#include "world/level.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "world/rng.h"
#include "worldloop/wl_world.h"

namespace wl::world {

int Level::floor_cells() const {
  int n = 0;
  for (uint8_t s : solid) n += s == 0;
  return n;
}

namespace {

constexpr int kRoomThemes = 8;      // themes 0..7 are for rooms
constexpr int kCorridorThemes = 2;  // themes 8..9 are for corridors

bool overlaps(const Room& a, const Room& b, int gap) {
  return a.x - gap < b.x + b.w && b.x - gap < a.x + a.w && a.y - gap < b.y + b.h &&
         b.y - gap < a.y + a.h;
}

// Carves one cell; cells already carved keep their area, so rooms keep their theme where a
// corridor passes through.
void carve(Level& lv, int x, int y, int theme) {
  if (x < 1 || y < 1 || x >= lv.size - 1 || y >= lv.size - 1) return;
  size_t i = size_t(y) * lv.size + x;
  if (lv.solid[i]) {
    lv.solid[i] = 0;
    lv.area[i] = uint8_t(theme);
  }
}

// L-shaped corridor between two points, horizontal or vertical leg first; `wide` adds a
// parallel lane so some corridors are two cells wide.
void corridor(Level& lv, Rng& rng, int ax, int ay, int bx, int by, int theme) {
  const bool wide = rng.chance(0.25f);
  const bool horizontal_first = rng.chance(0.5f);
  auto hline = [&](int x0, int x1, int y) {
    for (int x = std::min(x0, x1); x <= std::max(x0, x1); ++x) {
      carve(lv, x, y, theme);
      if (wide) carve(lv, x, y + 1, theme);
    }
  };
  auto vline = [&](int y0, int y1, int x) {
    for (int y = std::min(y0, y1); y <= std::max(y0, y1); ++y) {
      carve(lv, x, y, theme);
      if (wide) carve(lv, x + 1, y, theme);
    }
  };
  if (horizontal_first) {
    hline(ax, bx, ay);
    vline(ay, by, bx);
  } else {
    vline(ay, by, ax);
    hline(ax, bx, by);
  }
}

Theme make_theme(Rng& rng, const ThemePalette& p, bool corridor) {
  Theme t;
  t.wall = uint8_t(rng.range(0, p.wall_textures - 1));
  // Accent textures (decorated variants: doors, banners, windows, vents) follow the plain ones.
  t.wall_accent = uint8_t(p.wall_textures + rng.range(0, p.wall_textures - 1));
  t.floor = uint8_t(rng.range(0, p.floor_textures - 1));
  t.ceiling = uint8_t(rng.range(0, p.ceiling_textures - 1));
  // Corridors are dimmer than rooms on average, so lamps and doorways read as landmarks.
  t.ambient = uint8_t(corridor ? rng.range(50, 90) : rng.range(70, 125));
  t.sky = 0;
  return t;
}

}  // namespace

Level generate_level(uint64_t seed, int size, const ThemePalette& palette) {
  Level lv;
  lv.size = size;
  lv.solid.assign(size_t(size) * size, 1);
  lv.area.assign(size_t(size) * size, 0);
  Rng rng(derive(seed, 1));

  for (int i = 0; i < kRoomThemes; ++i) lv.themes.push_back(make_theme(rng, palette, false));
  for (int i = 0; i < kCorridorThemes; ++i) lv.themes.push_back(make_theme(rng, palette, true));
  // About one room theme in five is an open courtyard (sky overhead, brighter). Decided by a
  // hash rather than the level stream so it does not shift the rest of the layout.
  for (int i = 0; i < kRoomThemes; ++i) {
    Theme& t = lv.themes[i];
    t.sky = hash3(seed, uint32_t(i), 0x5C7) % 5 == 0;
    if (t.sky) t.ambient = uint8_t(std::max<int>(t.ambient, 115));
  }

  // Rooms: random rectangles with at least one wall cell between any two.
  const int target = std::max(3, size * size / 140);
  const int max_side = std::max(4, std::min(11, size / 4));
  for (int attempt = 0; attempt < 400 && int(lv.rooms.size()) < target; ++attempt) {
    Room r;
    r.w = rng.range(3, max_side);
    r.h = rng.range(3, max_side);
    r.x = rng.range(1, size - 1 - r.w);
    r.y = rng.range(1, size - 1 - r.h);
    r.theme = rng.range(0, kRoomThemes - 1);
    bool ok = true;
    for (const Room& o : lv.rooms) ok = ok && !overlaps(r, o, 2);
    if (!ok) continue;
    lv.rooms.push_back(r);
    for (int y = r.y; y < r.y + r.h; ++y)
      for (int x = r.x; x < r.x + r.w; ++x) {
        lv.solid[size_t(y) * size + x] = 0;
        lv.area[size_t(y) * size + x] = uint8_t(r.theme);
      }
  }

  // Connections: a minimum spanning tree over room centres (every room reachable), then extra
  // edges to near neighbours so that walks come back to places through loops.
  const int n = int(lv.rooms.size());
  auto cx = [&](int i) { return lv.rooms[i].x + lv.rooms[i].w / 2; };
  auto cy = [&](int i) { return lv.rooms[i].y + lv.rooms[i].h / 2; };
  auto dist2 = [&](int a, int b) {
    int dx = cx(a) - cx(b), dy = cy(a) - cy(b);
    return dx * dx + dy * dy;
  };
  std::vector<std::pair<int, int>> edges;
  std::vector<char> in_tree(n, 0);
  in_tree[0] = 1;
  for (int added = 1; added < n; ++added) {
    int best_a = -1, best_b = -1, best = 1 << 30;
    for (int a = 0; a < n; ++a)
      if (in_tree[a])
        for (int b = 0; b < n; ++b)
          if (!in_tree[b] && dist2(a, b) < best) best = dist2(a, b), best_a = a, best_b = b;
    in_tree[best_b] = 1;
    edges.push_back({best_a, best_b});
  }
  auto has_edge = [&](int a, int b) {
    for (auto& e : edges)
      if ((e.first == a && e.second == b) || (e.first == b && e.second == a)) return true;
    return false;
  };
  const int want_loops = std::max(2, n / 3);
  int loops = 0;
  for (int round = 0; round < 4 * n && loops < want_loops && n > 2; ++round) {
    int a = rng.range(0, n - 1);
    // A near neighbour: the closest room (by centre distance) among three random picks.
    int b = -1;
    for (int k = 0; k < 3; ++k) {
      int c = rng.range(0, n - 1);
      if (c != a && (b < 0 || dist2(a, c) < dist2(a, b))) b = c;
    }
    if (b < 0 || has_edge(a, b)) continue;
    edges.push_back({a, b});
    ++loops;
  }
  lv.connections = int(edges.size());
  for (auto& e : edges) {
    const Room& A = lv.rooms[e.first];
    const Room& B = lv.rooms[e.second];
    corridor(lv, rng, rng.range(A.x, A.x + A.w - 1), rng.range(A.y, A.y + A.h - 1),
             rng.range(B.x, B.x + B.w - 1), rng.range(B.y, B.y + B.h - 1),
             kRoomThemes + rng.range(0, kCorridorThemes - 1));
  }

  // Wall blocks inside large rooms (columns of masonry): only where all 8 neighbours are floor
  // of the same room, so they can never cut a path.
  for (const Room& r : lv.rooms) {
    if (r.w < 6 || r.h < 6 || !rng.chance(0.5f)) continue;
    const int blocks = rng.range(1, 3);
    for (int k = 0; k < blocks; ++k) {
      int x = rng.range(r.x + 1, r.x + r.w - 2), y = rng.range(r.y + 1, r.y + r.h - 2);
      bool clear = true;
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) clear = clear && !lv.wall(x + dx, y + dy);
      if (clear) lv.solid[size_t(y) * size + x] = 1;
    }
  }

  const Room& start = lv.rooms[0];
  lv.start_x = start.x + start.w * 0.5f;
  lv.start_y = start.y + start.h * 0.5f;
  if (lv.wall(int(lv.start_x), int(lv.start_y))) {  // a wall block at the centre: use a corner
    lv.start_x = start.x + 0.5f;
    lv.start_y = start.y + 0.5f;
  }
  lv.start_yaw = float(rng.range(0, 3)) * 1.5707964f - 3.1415927f;

  // Objects: a few per room, plus the odd lamp in corridors. Kinds are weighted so rooms read
  // differently (a storeroom of crates, a garden of plants) rather than uniformly mixed.
  auto free_cell = [&](int x, int y) {
    if (lv.wall(x, y)) return false;
    for (const Object& o : lv.objects)
      if (int(o.x) == x && int(o.y) == y) return false;
    return !(x == int(lv.start_x) && y == int(lv.start_y));
  };
  for (const Room& r : lv.rooms) {
    const int favourite = rng.range(0, WL_OBJECT_KIND_COUNT - 1);
    const int count = rng.range(1, std::max(1, r.w * r.h / 10));
    for (int k = 0; k < count; ++k) {
      int x = rng.range(r.x, r.x + r.w - 1), y = rng.range(r.y, r.y + r.h - 1);
      if (!free_cell(x, y)) continue;
      int kind = rng.chance(0.5f) ? favourite : rng.range(0, WL_OBJECT_KIND_COUNT - 1);
      lv.objects.push_back({x + rng.uniform(0.3f, 0.7f), y + rng.uniform(0.3f, 0.7f), uint8_t(kind)});
    }
    if (rng.chance(0.6f)) {  // most rooms get a lamp
      int x = rng.range(r.x, r.x + r.w - 1), y = rng.range(r.y, r.y + r.h - 1);
      if (free_cell(x, y)) lv.objects.push_back({x + 0.5f, y + 0.5f, uint8_t(WL_OBJECT_LAMP)});
    }
  }
  for (int y = 1; y < size - 1; ++y)
    for (int x = 1; x < size - 1; ++x) {
      size_t i = size_t(y) * size + x;
      if (!lv.solid[i] && lv.area[i] >= kRoomThemes && free_cell(x, y) &&
          hash3(seed, uint32_t(x), uint32_t(y)) % 97 == 0)
        lv.objects.push_back({x + 0.5f, y + 0.5f, uint8_t(WL_OBJECT_LAMP)});
    }

  // Safety net: wall off anything unreachable (the tree makes this a no-op; the test checks).
  if (count_unreachable(lv) > 0) {
    const int sx = int(lv.start_x), sy = int(lv.start_y);
    std::vector<char> seen(size_t(size) * size, 0);
    std::vector<int> stack{sy * size + sx};
    seen[stack[0]] = 1;
    while (!stack.empty()) {
      int c = stack.back();
      stack.pop_back();
      const int x = c % size, y = c / size;
      const int nb[4] = {c - 1, c + 1, c - size, c + size};
      const bool ok[4] = {!lv.wall(x - 1, y), !lv.wall(x + 1, y), !lv.wall(x, y - 1), !lv.wall(x, y + 1)};
      for (int k = 0; k < 4; ++k)
        if (ok[k] && !seen[nb[k]]) seen[nb[k]] = 1, stack.push_back(nb[k]);
    }
    for (size_t i = 0; i < seen.size(); ++i)
      if (!seen[i]) lv.solid[i] = 1;
    lv.objects.erase(std::remove_if(lv.objects.begin(), lv.objects.end(),
                                    [&](const Object& o) { return lv.wall(int(o.x), int(o.y)); }),
                     lv.objects.end());
  }
  return lv;
}

int count_unreachable(const Level& lv) {
  const int size = lv.size;
  const int sx = int(lv.start_x), sy = int(lv.start_y);
  if (lv.wall(sx, sy)) return lv.floor_cells();
  std::vector<char> seen(size_t(size) * size, 0);
  std::vector<int> stack{sy * size + sx};
  seen[stack[0]] = 1;
  int reached = 0;
  while (!stack.empty()) {
    int c = stack.back();
    stack.pop_back();
    ++reached;
    const int x = c % size, y = c / size;
    const int dx[4] = {-1, 1, 0, 0}, dy[4] = {0, 0, -1, 1};
    for (int k = 0; k < 4; ++k) {
      int nx = x + dx[k], ny = y + dy[k];
      if (lv.wall(nx, ny)) continue;
      int ni = ny * size + nx;
      if (!seen[ni]) seen[ni] = 1, stack.push_back(ni);
    }
  }
  return lv.floor_cells() - reached;
}

void find_path(const Level& lv, int sx, int sy, int gx, int gy, std::vector<int>& path,
               std::vector<int>& parent) {
  path.clear();
  const int size = lv.size;
  if (lv.wall(sx, sy) || lv.wall(gx, gy) || (sx == gx && sy == gy)) return;
  parent.assign(size_t(size) * size, -1);
  // Breadth-first search; `parent` doubles as the visited set and the queue lives in `path`.
  const int start = sy * size + sx, goal = gy * size + gx;
  parent[start] = start;
  path.push_back(start);
  for (size_t head = 0; head < path.size() && parent[goal] < 0; ++head) {
    const int c = path[head], x = c % size, y = c / size;
    const int dx[4] = {1, -1, 0, 0}, dy[4] = {0, 0, 1, -1};
    for (int k = 0; k < 4; ++k) {
      int nx = x + dx[k], ny = y + dy[k];
      if (lv.wall(nx, ny)) continue;
      int ni = ny * size + nx;
      if (parent[ni] < 0) parent[ni] = c, path.push_back(ni);
    }
  }
  path.clear();
  if (parent[goal] < 0) return;
  for (int c = goal; c != start; c = parent[c]) path.push_back(c);
  std::reverse(path.begin(), path.end());
}

}  // namespace wl::world
