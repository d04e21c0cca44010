// Ground-truth world through its C ABI: determinism (frame hashes across runs and thread
// counts), snapshot/restore equivalence, never inside a wall, events, and bad inputs.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "worldloop/wl_world.h"

namespace {

uint64_t fnv(uint64_t h, const void* data, size_t n) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001B3ull;
  return h;
}

// A fixed action script with segments of walking, turning, strafing and events.
void scripted_action(int t, float* a) {
  const int seg = (t / 25) % 6;
  const float move[6] = {1, 0.5f, 0, -0.6f, 1, 0.3f};
  const float strafe[6] = {0, 0.4f, 0, 0, -1, 0};
  const float turn[6] = {0, 0.3f, 1, 0, -0.2f, -1};
  a[WL_ACTION_MOVE] = move[seg];
  a[WL_ACTION_STRAFE] = strafe[seg];
  a[WL_ACTION_TURN] = turn[seg];
  a[WL_ACTION_LIGHT] = t % 90 == 45 ? 1.f : 0.f;
  a[WL_ACTION_SPAWN] = t % 40 == 10 ? 1.f : 0.f;
}

uint64_t run_script(uint64_t seed, int frames, std::vector<uint64_t>* per_frame = nullptr) {
  wl_world* w = nullptr;
  if (wl_world_create(seed, nullptr, &w) != WL_OK) return 0;
  uint64_t h = 0xcbf29ce484222325ull;
  float a[WL_ACTION_COUNT], pose[3];
  for (int t = 0; t < frames; ++t) {
    scripted_action(t, a);
    wl_world_step(w, a, WL_ACTION_COUNT);
    wl_world_pose(w, pose);
    h = fnv(h, wl_world_frame(w), 128 * 128 * 3);
    h = fnv(h, pose, sizeof(pose));
    if (per_frame) per_frame->push_back(h);
  }
  wl_world_free(w);
  return h;
}

struct World {
  wl_world* w = nullptr;
  explicit World(uint64_t seed, const wl_world_config* cfg = nullptr) { wl_world_create(seed, cfg, &w); }
  ~World() { wl_world_free(w); }
};

bool error_mentions(const char* word) { return std::string(wl_last_error()).find(word) != std::string::npos; }

}  // namespace

TEST(same_seed_and_script_give_identical_frames) {
  const uint64_t a = run_script(11, 300), b = run_script(11, 300), c = run_script(12, 300);
  std::printf("  frame hash seed 11, 300 frames: %016llx\n", (unsigned long long)a);
  CHECK(a != 0);
  CHECK(a == b);
  CHECK(a != c);
}

TEST(frames_change_when_moving_and_stay_when_still) {
  World w(3);
  std::vector<uint8_t> f0(wl_world_frame(w.w), wl_world_frame(w.w) + 128 * 128 * 3);
  const float still[WL_ACTION_COUNT] = {0, 0, 0, 0, 0};
  wl_world_step(w.w, still, WL_ACTION_COUNT);
  CHECK(std::memcmp(f0.data(), wl_world_frame(w.w), f0.size()) == 0);
  CHECK(wl_world_frame_index(w.w) == 1);
  const float turn[WL_ACTION_COUNT] = {0, 0, 1, 0, 0};
  wl_world_step(w.w, turn, WL_ACTION_COUNT);
  CHECK(std::memcmp(f0.data(), wl_world_frame(w.w), f0.size()) != 0);
  float pose[3];
  wl_world_pose(w.w, pose);
  World ref(3);
  float start[3];
  wl_world_pose(ref.w, start);
  // Turn speed is 5 degrees per tick at turn = 1.
  float d = pose[2] - start[2];
  if (d > 3.14159f) d -= 6.2831853f;
  if (d < -3.14159f) d += 6.2831853f;
  CHECK(std::fabs(d - 5.f * 3.14159265f / 180.f) < 1e-4f);
}

TEST(batch_output_is_identical_for_any_thread_count) {
  const uint64_t seeds[5] = {1, 2, 3, 4, 5};
  const int steps = 40, n = 5, fb = 128 * 128 * 3;
  std::vector<uint8_t> f1(size_t(n) * steps * fb), f2(f1.size());
  std::vector<float> a1(size_t(n) * steps * WL_ACTION_COUNT), a2(a1.size()), p1(size_t(n) * steps * 3), p2(p1.size());
  wl_world_batch *b1 = nullptr, *b2 = nullptr;
  CHECK(wl_world_batch_create(seeds, n, nullptr, nullptr, 1, &b1) == WL_OK);
  CHECK(wl_world_batch_create(seeds, n, nullptr, nullptr, 2, &b2) == WL_OK);
  CHECK(wl_world_batch_threads(b2) == 2);
  for (int round = 0; round < 2; ++round) {  // the second call continues the stream
    CHECK(wl_world_batch_generate(b1, steps, f1.data(), a1.data(), p1.data()) == WL_OK);
    CHECK(wl_world_batch_generate(b2, steps, f2.data(), a2.data(), p2.data()) == WL_OK);
    CHECK(f1 == f2);
    CHECK(a1 == a2);
    CHECK(p1 == p2);
  }
  // The same stream stepped by hand with a world and an explorer: world 3, both rounds.
  World w(4);
  wl_explorer* ex = nullptr;
  wl_explorer_create(4, nullptr, &ex);
  float act[WL_ACTION_COUNT];
  bool same = true;
  for (int t = 0; t < 2 * steps; ++t) {
    if (t >= steps) same = same && std::memcmp(wl_world_frame(w.w), &f1[(size_t(3) * steps + (t - steps)) * fb], fb) == 0;
    wl_explorer_next(ex, w.w, act, WL_ACTION_COUNT);
    if (t >= steps) same = same && std::memcmp(act, &a1[(size_t(3) * steps + (t - steps)) * WL_ACTION_COUNT], sizeof(act)) == 0;
    wl_world_step(w.w, act, WL_ACTION_COUNT);
  }
  CHECK(same);
  wl_explorer_free(ex);
  wl_world_batch_free(b1);
  wl_world_batch_free(b2);
}

TEST(snapshot_restore_replays_identically) {
  World a(21);
  float act[WL_ACTION_COUNT];
  for (int t = 0; t < 150; ++t) scripted_action(t, act), wl_world_step(a.w, act, WL_ACTION_COUNT);
  wl_world_set_light(a.w, 0.4f, 0.9f, 0.5f, 0.2f);
  int32_t placed = 0;
  wl_world_spawn(a.w, WL_OBJECT_LAMP, &placed);
  size_t size = 0;
  CHECK(wl_world_snapshot(a.w, nullptr, 0, &size) == WL_OK);
  std::vector<uint8_t> snap(size);
  CHECK(wl_world_snapshot(a.w, snap.data(), snap.size(), &size) == WL_OK);
  std::vector<uint8_t> frame_at_snap(wl_world_frame(a.w), wl_world_frame(a.w) + 128 * 128 * 3);

  World b(99);  // another seed: restore regenerates the level
  CHECK(wl_world_restore(b.w, snap.data(), snap.size()) == WL_OK);
  CHECK(wl_world_seed(b.w) == 21);
  CHECK(wl_world_frame_index(b.w) == wl_world_frame_index(a.w));
  CHECK(std::memcmp(frame_at_snap.data(), wl_world_frame(b.w), frame_at_snap.size()) == 0);
  bool same = true;
  for (int t = 150; t < 400; ++t) {
    scripted_action(t, act);
    wl_world_step(a.w, act, WL_ACTION_COUNT);
    wl_world_step(b.w, act, WL_ACTION_COUNT);
    same = same && std::memcmp(wl_world_frame(a.w), wl_world_frame(b.w), 128 * 128 * 3) == 0;
    float pa[3], pb[3];
    wl_world_pose(a.w, pa);
    wl_world_pose(b.w, pb);
    same = same && std::memcmp(pa, pb, sizeof(pa)) == 0;
  }
  CHECK(same);
  // And the state after the same actions snapshots to the same bytes.
  size_t sa = 0, sb = 0;
  wl_world_snapshot(a.w, nullptr, 0, &sa);
  wl_world_snapshot(b.w, nullptr, 0, &sb);
  std::vector<uint8_t> A(sa), B(sb);
  wl_world_snapshot(a.w, A.data(), sa, &sa);
  wl_world_snapshot(b.w, B.data(), sb, &sb);
  CHECK(A == B);
}

TEST(never_inside_a_wall_after_long_random_runs) {
  wl_world_config cfg;
  wl_world_default_config(&cfg);
  cfg.width = cfg.height = 16;  // rendering is not under test here
  cfg.move_speed = 0.3f;
  cfg.strafe_speed = 0.25f;
  cfg.player_radius = 0.2f;
  uint64_t rng = 12345;
  auto uni = [&] {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return float(rng >> 40) / 16777216.f * 2.f - 1.f;
  };
  int violations = 0;
  for (uint64_t seed = 0; seed < 6; ++seed) {
    World w(seed, &cfg);
    size_t cells = 0;
    wl_world_map(w.w, nullptr, 0, &cells);
    std::vector<uint8_t> map(cells);
    wl_world_map(w.w, map.data(), map.size(), &cells);
    const int size = int(std::lround(std::sqrt(double(cells))));
    float a[WL_ACTION_COUNT] = {0, 0, 0, 0, 0};
    for (int t = 0; t < 20000; ++t) {
      if (t % 7 == 0) a[0] = uni() > -0.3f ? 1.f : uni(), a[1] = uni(), a[2] = uni() * 0.5f;  // mostly forward
      wl_world_step(w.w, a, WL_ACTION_COUNT);
      float p[3];
      wl_world_pose(w.w, p);
      const float r = cfg.player_radius;
      for (float ox : {-r, r})
        for (float oy : {-r, r}) {
          const int cx = int(std::floor(p[0] + ox)), cy = int(std::floor(p[1] + oy));
          if (cx < 0 || cy < 0 || cx >= size || cy >= size || map[size_t(cy) * size + cx]) ++violations;
        }
    }
  }
  CHECK_MSG(violations == 0, "%d corner samples inside walls", violations);
}

TEST(explorer_moves_around_and_fires_events) {
  World w(8);
  wl_explorer* ex = nullptr;
  wl_explore_config ec;
  wl_explore_default_config(&ec);
  ec.p_light = 0.02f;
  ec.p_spawn = 0.02f;
  CHECK(wl_explorer_create(8, &ec, &ex) == WL_OK);
  float a[WL_ACTION_COUNT], p[3];
  int lights = 0, spawns = 0, still = 0;
  float min_x = 1e9f, max_x = -1e9f, min_y = 1e9f, max_y = -1e9f;
  for (int t = 0; t < 3000; ++t) {
    CHECK(wl_explorer_next(ex, w.w, a, WL_ACTION_COUNT) == WL_OK);
    lights += a[WL_ACTION_LIGHT] > 0.5f;
    spawns += a[WL_ACTION_SPAWN] > 0.5f;
    still += a[0] == 0.f && a[1] == 0.f;
    CHECK(wl_world_step(w.w, a, WL_ACTION_COUNT) == WL_OK);
    wl_world_pose(w.w, p);
    min_x = std::min(min_x, p[0]), max_x = std::max(max_x, p[0]);
    min_y = std::min(min_y, p[1]), max_y = std::max(max_y, p[1]);
  }
  CHECK(lights > 10 && spawns > 10);
  CHECK(still > 0);  // it stops sometimes
  CHECK_MSG(max_x - min_x > 12 || max_y - min_y > 12, "explored only %.1f x %.1f cells", max_x - min_x, max_y - min_y);
  wl_explorer_free(ex);
}

// Training data turns on random-action bursts so the next action is not predictable from the
// recent motion; they must add abrupt action changes (and strafing, which path-following
// almost never does) while the policy still explores.
TEST(explorer_random_bursts_decorrelate_actions) {
  auto run = [](float p_random, int& changes, int& strafes, float& extent) {
    World w(8);
    wl_explore_config ec;
    wl_explore_default_config(&ec);
    ec.p_random = p_random;
    wl_explorer* ex = nullptr;
    CHECK(wl_explorer_create(8, &ec, &ex) == WL_OK);
    float a[WL_ACTION_COUNT], prev[WL_ACTION_COUNT] = {}, p[3];
    float min_x = 1e9f, max_x = -1e9f, min_y = 1e9f, max_y = -1e9f;
    changes = strafes = 0;
    for (int t = 0; t < 3000; ++t) {
      CHECK(wl_explorer_next(ex, w.w, a, WL_ACTION_COUNT) == WL_OK);
      for (int c = 0; c < 3; ++c) CHECK(a[c] >= -1.f && a[c] <= 1.f);
      changes += std::fabs(a[WL_ACTION_TURN] - prev[WL_ACTION_TURN]) > 0.5f ||
                 std::fabs(a[WL_ACTION_MOVE] - prev[WL_ACTION_MOVE]) > 0.5f;
      strafes += std::fabs(a[WL_ACTION_STRAFE]) > 0.5f;
      std::copy(a, a + WL_ACTION_COUNT, prev);
      CHECK(wl_world_step(w.w, a, WL_ACTION_COUNT) == WL_OK);
      wl_world_pose(w.w, p);
      min_x = std::min(min_x, p[0]), max_x = std::max(max_x, p[0]);
      min_y = std::min(min_y, p[1]), max_y = std::max(max_y, p[1]);
    }
    extent = std::max(max_x - min_x, max_y - min_y);
    wl_explorer_free(ex);
  };
  int c0, s0, c1, s1;
  float e0, e1;
  run(0.f, c0, s0, e0);
  run(0.06f, c1, s1, e1);
  CHECK_MSG(c1 > 3 * c0 / 2 + 50, "abrupt action changes: %d with bursts, %d without", c1, c0);
  CHECK_MSG(s1 > s0 + 100, "strafing ticks: %d with bursts, %d without", s1, s0);
  CHECK_MSG(e1 > 12, "explored only %.1f cells with bursts", e1);

  wl_explore_config bad;
  wl_explore_default_config(&bad);
  bad.random_min = 5;
  bad.random_max = 2;
  wl_explorer* ex = nullptr;
  CHECK(wl_explorer_create(1, &bad, &ex) == WL_ERR_INVALID_ARGUMENT && error_mentions("random_min"));
}

// Training data turns on idling: runs of ticks with no key held, over which the frame does not
// change (a stop still turns a little). Without it almost no clip shows a scene standing still.
TEST(explorer_idling_holds_no_key_and_the_frame_stays) {
  auto run = [](float p_idle, int& zero_ticks, int& still_runs) {
    World w(5);
    wl_explore_config ec;
    wl_explore_default_config(&ec);
    ec.p_idle = p_idle;
    ec.p_light = ec.p_spawn = 0.f;  // events change the frame; this counts motion only
    wl_explorer* ex = nullptr;
    CHECK(wl_explorer_create(5, &ec, &ex) == WL_OK);
    float a[WL_ACTION_COUNT];
    std::vector<uint8_t> prev(wl_world_frame(w.w), wl_world_frame(w.w) + 128 * 128 * 3);
    zero_ticks = still_runs = 0;
    int run_len = 0;
    for (int t = 0; t < 3000; ++t) {
      CHECK(wl_explorer_next(ex, w.w, a, WL_ACTION_COUNT) == WL_OK);
      const bool zero = a[WL_ACTION_MOVE] == 0.f && a[WL_ACTION_STRAFE] == 0.f && a[WL_ACTION_TURN] == 0.f;
      CHECK(wl_world_step(w.w, a, WL_ACTION_COUNT) == WL_OK);
      const uint8_t* f = wl_world_frame(w.w);
      if (zero) {
        ++zero_ticks;
        CHECK_MSG(std::equal(prev.begin(), prev.end(), f), "tick %d: no key held, yet the frame changed", t);
      }
      run_len = zero ? run_len + 1 : 0;
      still_runs += run_len == 6;  // idle_min: a run this long is an idle, not a chance zero
      std::copy(f, f + prev.size(), prev.begin());
    }
    wl_explorer_free(ex);
  };
  int z0, r0, z1, r1;
  run(0.f, z0, r0);
  run(0.005f, z1, r1);
  CHECK_MSG(z1 > 100 + 3 * z0, "ticks with no key held: %d idling, %d without", z1, z0);
  CHECK_MSG(r1 >= 5 && r1 > 3 * r0, "idle runs of 6+ ticks: %d idling, %d without", r1, r0);

  wl_explore_config bad;
  wl_explore_default_config(&bad);
  bad.idle_min = 0;
  wl_explorer* ex = nullptr;
  CHECK(wl_explorer_create(1, &bad, &ex) == WL_ERR_INVALID_ARGUMENT && error_mentions("idle_min"));
  wl_explore_default_config(&bad);
  bad.p_idle = 1.5f;
  CHECK(wl_explorer_create(1, &bad, &ex) == WL_ERR_INVALID_ARGUMENT && error_mentions("p_idle"));
}

TEST(events_change_the_frame_and_state) {
  World w(2);
  std::vector<uint8_t> f0(wl_world_frame(w.w), wl_world_frame(w.w) + 128 * 128 * 3);
  const float light[WL_ACTION_COUNT] = {0, 0, 0, 1, 0};
  CHECK(wl_world_step(w.w, light, WL_ACTION_COUNT) == WL_OK);
  CHECK(std::memcmp(f0.data(), wl_world_frame(w.w), f0.size()) != 0);
  CHECK(std::string(wl_world_info_json(w.w)).find("\"warm\"") != std::string::npos);
  // Darkness darkens: mean brightness drops with the light level.
  auto mean = [&] {
    const uint8_t* f = wl_world_frame(w.w);
    double s = 0;
    for (int i = 0; i < 128 * 128 * 3; ++i) s += f[i];
    return s / (128 * 128 * 3);
  };
  CHECK(wl_world_set_light(w.w, 1.f, 1.f, 1.f, 1.f) == WL_OK);
  const double bright = mean();
  CHECK(wl_world_set_light(w.w, 0.2f, 1.f, 1.f, 1.f) == WL_OK);
  CHECK(mean() < bright * 0.6);
  int32_t placed = -1;
  CHECK(wl_world_spawn(w.w, WL_OBJECT_CRATE, &placed) == WL_OK);
  CHECK(placed == 0 || placed == 1);
  CHECK(std::string(wl_world_info_json(w.w)).find("\"spawned_objects\":" + std::to_string(placed)) != std::string::npos);
}

// draw_object is what a spawn adds to the frame: drawn over the frame before a spawn, at the
// spawn's place (1 cell ahead) and the right local light, it gives the frame after it exactly,
// and its mask covers exactly the pixels that changed.
TEST(draw_object_matches_a_spawned_object) {
  const int n = 128 * 128;
  for (int kind : {int(WL_OBJECT_PILLAR), int(WL_OBJECT_BARREL), int(WL_OBJECT_CRATE)}) {
    World w(5);
    wl_world_set_light(w.w, 0.7f, 1.f, 0.8f, 0.6f);
    const std::vector<uint8_t> before(wl_world_frame(w.w), wl_world_frame(w.w) + n * 3);
    int32_t placed = 0;
    CHECK(wl_world_spawn(w.w, kind, &placed) == WL_OK);
    CHECK(placed == 1);
    const uint8_t* after = wl_world_frame(w.w);
    int best = n * 3, changed = 0;
    for (int i = 0; i < n * 3; ++i) changed += before[i] != after[i];
    CHECK(changed > 200);
    std::vector<uint8_t> rgb, mask(n);
    int mask_px = 0, changed_px = 0;
    for (int v = 0; v <= 255 && best > 0; ++v) {  // the light map is not public: find its value
      rgb = before;
      CHECK(wl_world_draw_object(w.w, kind, 1.f, 0.f, v / 128.f, rgb.data(), rgb.size(), mask.data(), mask.size()) == WL_OK);
      int diff = 0;
      for (int i = 0; i < n * 3; ++i) diff += rgb[i] != after[i];
      if (diff < best) {
        best = diff;
        mask_px = changed_px = 0;
        for (int p = 0; p < n; ++p) {
          mask_px += mask[p] == 255;
          // A covered pixel may keep its colour by chance, so the mask holds every changed one.
          const bool ch = before[p * 3] != after[p * 3] || before[p * 3 + 1] != after[p * 3 + 1] || before[p * 3 + 2] != after[p * 3 + 2];
          changed_px += ch;
          if (ch) CHECK(mask[p] == 255);
        }
      }
    }
    CHECK(best == 0);
    CHECK(mask_px >= changed_px && mask_px <= changed_px + changed_px / 10);
  }
  // Out of the drawn range: nothing changes and the mask is cleared.
  World w(5);
  std::vector<uint8_t> rgb(wl_world_frame(w.w), wl_world_frame(w.w) + n * 3), mask(n, 7);
  const std::vector<uint8_t> keep = rgb;
  CHECK(wl_world_draw_object(w.w, WL_OBJECT_ORB, 0.2f, 0.f, 1.f, rgb.data(), rgb.size(), mask.data(), mask.size()) == WL_OK);
  CHECK(rgb == keep);
  CHECK(std::all_of(mask.begin(), mask.end(), [](uint8_t m) { return m == 0; }));
  // Bad arguments name what is wrong.
  CHECK(wl_world_draw_object(w.w, 6, 1.f, 0.f, 1.f, rgb.data(), rgb.size(), nullptr, 0) == WL_ERR_INVALID_ARGUMENT && error_mentions("kind 6"));
  CHECK(wl_world_draw_object(w.w, 0, NAN, 0.f, 1.f, rgb.data(), rgb.size(), nullptr, 0) == WL_ERR_INVALID_ARGUMENT && error_mentions("finite"));
  CHECK(wl_world_draw_object(w.w, 0, 1.f, 0.f, 3.f, rgb.data(), rgb.size(), nullptr, 0) == WL_ERR_INVALID_ARGUMENT && error_mentions("local_light"));
  CHECK(wl_world_draw_object(w.w, 0, 1.f, 0.f, 1.f, rgb.data(), 17, nullptr, 0) == WL_ERR_INVALID_ARGUMENT && error_mentions("17 bytes"));
  CHECK(wl_world_draw_object(w.w, 0, 1.f, 0.f, 1.f, rgb.data(), rgb.size(), mask.data(), 3) == WL_ERR_INVALID_ARGUMENT && error_mentions("mask"));
  CHECK(wl_world_draw_object(nullptr, 0, 1.f, 0.f, 1.f, rgb.data(), rgb.size(), nullptr, 0) == WL_ERR_INVALID_ARGUMENT);
}

TEST(bad_inputs_give_clear_errors) {
  wl_world_config cfg;
  wl_world_default_config(&cfg);
  wl_world* w = nullptr;
  cfg.width = 0;
  CHECK(wl_world_create(1, &cfg, &w) == WL_ERR_INVALID_ARGUMENT && w == nullptr && error_mentions("width"));
  wl_world_default_config(&cfg);
  cfg.height = 1 << 20;
  CHECK(wl_world_create(1, &cfg, &w) == WL_ERR_INVALID_ARGUMENT && error_mentions("height"));
  wl_world_default_config(&cfg);
  cfg.fov_deg = NAN;
  CHECK(wl_world_create(1, &cfg, &w) == WL_ERR_INVALID_ARGUMENT && error_mentions("fov_deg"));
  wl_world_default_config(&cfg);
  cfg.map_size = 3;
  CHECK(wl_world_create(1, &cfg, &w) == WL_ERR_INVALID_ARGUMENT && error_mentions("map_size"));
  CHECK(wl_world_create(1, nullptr, nullptr) == WL_ERR_INVALID_ARGUMENT);

  World ok(1);
  float a[WL_ACTION_COUNT] = {0, 0, 0, 0, 0};
  a[2] = NAN;
  CHECK(wl_world_step(ok.w, a, WL_ACTION_COUNT) == WL_ERR_INVALID_ARGUMENT && error_mentions("turn"));
  a[2] = 0;
  a[0] = 1.5f;
  CHECK(wl_world_step(ok.w, a, WL_ACTION_COUNT) == WL_ERR_INVALID_ARGUMENT && error_mentions("move"));
  a[0] = 0;
  a[4] = -1;
  CHECK(wl_world_step(ok.w, a, WL_ACTION_COUNT) == WL_ERR_INVALID_ARGUMENT && error_mentions("spawn"));
  a[4] = 0;
  a[1] = INFINITY;
  CHECK(wl_world_step(ok.w, a, WL_ACTION_COUNT) == WL_ERR_INVALID_ARGUMENT && error_mentions("strafe"));
  a[1] = 0;
  CHECK(wl_world_step(ok.w, a, 3) == WL_ERR_INVALID_ARGUMENT && error_mentions("expected 5"));
  CHECK(wl_world_step(ok.w, nullptr, 5) == WL_ERR_INVALID_ARGUMENT);
  CHECK(wl_world_step(nullptr, a, 5) == WL_ERR_INVALID_ARGUMENT && error_mentions("null"));
  CHECK(wl_world_frame_index(ok.w) == 0);  // rejected actions did not advance the world

  CHECK(wl_world_spawn(ok.w, 6, nullptr) == WL_ERR_INVALID_ARGUMENT && error_mentions("unknown object kind 6"));
  CHECK(wl_world_spawn(ok.w, -1, nullptr) == WL_ERR_INVALID_ARGUMENT);
  CHECK(wl_world_set_light(ok.w, NAN, 1, 1, 1) == WL_ERR_INVALID_ARGUMENT && error_mentions("level"));
  CHECK(wl_world_set_light(ok.w, 0.5f, 1, 2, 1) == WL_ERR_INVALID_ARGUMENT && error_mentions("tint g"));
  CHECK(wl_world_set_pose(ok.w, 0.5f, 0.5f, 0) == WL_ERR_INVALID_ARGUMENT && error_mentions("wall"));
  CHECK(wl_world_set_pose(ok.w, 1e30f, 3, 0) == WL_ERR_INVALID_ARGUMENT);
  CHECK(wl_world_set_pose(ok.w, NAN, 3, 0) == WL_ERR_INVALID_ARGUMENT);
  // Huge finite yaws are wrapped in a bounded number of steps (the loop used to spin for ever).
  float at[3];
  CHECK(wl_world_pose(ok.w, at) == WL_OK);
  for (float yaw : {1e30f, -3.4e38f, 9007199254740993.f, 1e8f}) {
    CHECK(wl_world_set_pose(ok.w, at[0], at[1], yaw) == WL_OK);
    float now[3];
    CHECK(wl_world_pose(ok.w, now) == WL_OK && now[2] >= -3.1416f && now[2] < 3.1416f);
  }
  CHECK(wl_world_set_pose(ok.w, at[0], at[1], at[2]) == WL_OK);

  // Snapshots are untrusted: garbage, truncation, bad fields, trailing bytes.
  size_t n = 0;
  wl_world_snapshot(ok.w, nullptr, 0, &n);
  std::vector<uint8_t> snap(n);
  wl_world_snapshot(ok.w, snap.data(), n, &n);
  CHECK(wl_world_snapshot(ok.w, snap.data(), n - 1, &n) == WL_ERR_INVALID_ARGUMENT);
  std::vector<uint8_t> bad = snap;
  bad[0] ^= 0xff;
  CHECK(wl_world_restore(ok.w, bad.data(), bad.size()) == WL_ERR_FORMAT && error_mentions("magic"));
  for (size_t cut = 0; cut < snap.size(); cut += 7)
    CHECK(wl_world_restore(ok.w, snap.data(), cut) == WL_ERR_FORMAT);
  bad = snap;
  bad.push_back(0);
  CHECK(wl_world_restore(ok.w, bad.data(), bad.size()) == WL_ERR_FORMAT && error_mentions("trailing"));
  bad = snap;
  bad[4] = 9;  // version
  CHECK(wl_world_restore(ok.w, bad.data(), bad.size()) == WL_ERR_FORMAT && error_mentions("version"));
  bad = snap;
  const float nan = NAN;
  std::memcpy(&bad[4 + 4 + 8 + sizeof(wl_world_config) + 8], &nan, 4);  // pose.x
  CHECK(wl_world_restore(ok.w, bad.data(), bad.size()) == WL_ERR_FORMAT && error_mentions("pose"));
  // A huge finite yaw (the old wrap loop never ended on it) is refused by its field.
  bad = snap;
  const float huge = 1e30f;
  std::memcpy(&bad[4 + 4 + 8 + sizeof(wl_world_config) + 8 + 8], &huge, 4);  // pose.yaw
  CHECK(wl_world_restore(ok.w, bad.data(), bad.size()) == WL_ERR_FORMAT && error_mentions("pose.yaw"));
  bad = snap;
  const int32_t zero_width = 0;
  std::memcpy(&bad[16], &zero_width, 4);  // config.width
  CHECK(wl_world_restore(ok.w, bad.data(), bad.size()) == WL_ERR_FORMAT && error_mentions("width"));
  CHECK(wl_world_restore(ok.w, nullptr, 10) == WL_ERR_INVALID_ARGUMENT);
  CHECK(wl_world_restore(ok.w, snap.data(), snap.size()) == WL_OK);  // the real one still works

  uint64_t seeds[2] = {1, 2};
  wl_world_batch* b = nullptr;
  CHECK(wl_world_batch_create(seeds, 0, nullptr, nullptr, 1, &b) == WL_ERR_INVALID_ARGUMENT && error_mentions("count"));
  CHECK(wl_world_batch_create(nullptr, 2, nullptr, nullptr, 1, &b) == WL_ERR_INVALID_ARGUMENT);
  wl_explore_config ec;
  wl_explore_default_config(&ec);
  ec.p_spawn = 2.f;
  CHECK(wl_world_batch_create(seeds, 2, nullptr, &ec, 1, &b) == WL_ERR_INVALID_ARGUMENT && error_mentions("p_spawn"));
  CHECK(wl_world_batch_create(seeds, 2, nullptr, nullptr, 1, &b) == WL_OK);
  CHECK(wl_world_batch_generate(b, -1, nullptr, nullptr, nullptr) == WL_ERR_INVALID_ARGUMENT);
  CHECK(wl_world_batch_reset(b, 2, 5) == WL_ERR_INVALID_ARGUMENT && error_mentions("index 2"));
  wl_world_batch_free(b);
  wl_world_free(nullptr);
  wl_world_batch_free(nullptr);
  wl_explorer_free(nullptr);
}

TEST(action_layout_is_published) {
  const std::string j = wl_world_action_layout_json();
  for (const char* s : {"\"move\"", "\"strafe\"", "\"turn\"", "\"light\"", "\"spawn\"", "\"event\"", "\"axis\"", "\"lamp\"", "\"night\"", "\"move_speed\":0.12"})
    CHECK_MSG(j.find(s) != std::string::npos, "layout lacks %s", s);
}

TEST(sizes_from_small_to_wide_render) {
  const int sizes[][2] = {{64, 64}, {128, 128}, {640, 360}, {17, 31}, {16, 16}};
  for (auto& s : sizes) {
    wl_world_config cfg;
    wl_world_default_config(&cfg);
    cfg.width = s[0];
    cfg.height = s[1];
    World w(4, &cfg);
    CHECK(w.w != nullptr);
    if (!w.w) continue;
    int32_t W = 0, H = 0;
    wl_world_size(w.w, &W, &H);
    CHECK(W == s[0] && H == s[1]);
    const float a[WL_ACTION_COUNT] = {1, 0, 0.5f, 0, 1};
    for (int t = 0; t < 30; ++t) CHECK(wl_world_step(w.w, a, WL_ACTION_COUNT) == WL_OK);
    // Not a blank frame: many distinct colours.
    const uint8_t* f = wl_world_frame(w.w);
    std::vector<char> seen(1 << 15, 0);
    int distinct = 0;
    for (int i = 0; i < W * H; ++i) {
      const int k = (f[i * 3] >> 3) << 10 | (f[i * 3 + 1] >> 3) << 5 | (f[i * 3 + 2] >> 3);
      distinct += !seen[k];
      seen[k] = 1;
    }
    CHECK_MSG(distinct > 20, "%dx%d: only %d colours", W, H, distinct);
  }
}

TEST_MAIN()
