// The reprojection ops (ops/reproject.h), the world's depth and camera (wl_world_depth,
// wl_world_camera) and the point cache (cache/point_cache.h, wl_cache.h):
//  - fast unproject/splat are bit-identical to ref, for 1-3 threads, with ties (test_ops runs
//    the op table's random cases too: op_unproject, op_splat);
//  - a truth frame unprojected with its depth and splatted back into its own camera is the same
//    frame (every non-sky pixel, bit for bit) with its own depth;
//  - into a nearby pose it matches what the truth world renders there, where visible;
//  - the cache: same-pose identity, the memory cap, policies, thread independence, restore;
//  - bad input is a named error.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "cache/point_cache.h"
#include "capi/error.h"
#include "check.h"
#include "ops/reproject.h"
#include "reproject_fixtures.h"
#include "runtime/thread_pool.h"
#include "test_util.h"
#include "worldloop/wl_cache.h"
#include "worldloop/wl_world.h"

using namespace wl;
using wl_test::camera_of;
using wl_test::random_camera;
using wl_test::Rng;

namespace {

struct View {
  std::vector<uint8_t> rgb;
  std::vector<float> depth;
  wl_camera cam;
};

View grab(wl_world* w) {
  View v;
  CHECK(wl_world_camera(w, &v.cam) == WL_OK);
  const size_t px = size_t(v.cam.width) * v.cam.height;
  v.rgb.assign(wl_world_frame(w), wl_world_frame(w) + px * 3);
  v.depth.assign(wl_world_depth(w), wl_world_depth(w) + px);
  return v;
}

struct Out {
  std::vector<uint8_t> rgb, mask;
  std::vector<float> depth;
  explicit Out(size_t px) : rgb(px * 3), mask(px), depth(px) {}
};

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

}  // namespace

TEST(fast_unproject_and_splat_are_bit_identical_to_ref) {
  Rng rng(11);
  ThreadPool pool2(2), pool3(3);
  for (int trial = 0; trial < 24; ++trial) {
    const int w = rng.pick({1, 7, 16, 33, 64, 97}), h = rng.pick({1, 5, 16, 40, 64});
    const PinholeCamera src = random_camera(rng, w, h),
                        dst = random_camera(rng, rng.pick({8, 31, 64}), rng.pick({8, 17, 48}));
    const size_t px = size_t(w) * h;
    std::vector<float> depth(px);
    for (float& d : depth) d = rng.uniform(0.05f, 6.f);
    depth[0] = std::numeric_limits<float>::infinity();
    if (px > 2) depth[1] = std::numeric_limits<float>::quiet_NaN(), depth[2] = -1.f;
    std::vector<uint8_t> rgb(px * 3);
    for (auto& b : rgb) b = uint8_t(rng.next());
    std::vector<float> xyz_ref(px * 3), size_ref(px);
    ref::unproject(src, depth.data(), xyz_ref.data(), size_ref.data());
    // Duplicated points (equal z, larger footprints) exercise the tie rule.
    std::vector<float> xyz = xyz_ref, size = size_ref;
    std::vector<uint8_t> col = rgb;
    for (size_t i = 0; i < px; i += 3) {
      xyz.insert(xyz.end(), &xyz_ref[i * 3], &xyz_ref[i * 3] + 3);
      size.push_back(size_ref[i] * 2.5f);
      const uint8_t c[3] = {uint8_t(i), 7, 9};
      col.insert(col.end(), c, c + 3);
    }
    SplatParams sp;
    sp.max_footprint = float(rng.pick({1, 3, 8}));
    const size_t dpx = size_t(dst.width) * dst.height;
    Out want(dpx);
    const int64_t n = int64_t(size.size());
    ref::splat(dst, sp, n, xyz.data(), size.data(), col.data(), want.rgb.data(), want.depth.data(),
               want.mask.data());
    int landed = 0;
    for (uint8_t m : want.mask) landed += m != 0;
    for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &pool2, &pool3}) {
      std::vector<float> scratch(fast::splat_scratch_floats(dst.width, dst.height), std::nanf(""));
      OpCtx ctx;
      ctx.pool = pool;
      ctx.scratch = scratch.data();
      ctx.scratch_floats = scratch.size();
      std::vector<float> xf(px * 3), sf(px);
      fast::unproject(ctx, src, depth.data(), xf.data(), sf.data());
      CHECK_MSG(std::memcmp(xf.data(), xyz_ref.data(), xf.size() * 4) == 0,
                "unproject differs (trial %d)", trial);
      CHECK(same_bits(sf, size_ref));
      Out got(dpx);
      // Outputs start as garbage: splat writes every pixel.
      std::fill(got.rgb.begin(), got.rgb.end(), uint8_t(7));
      std::fill(got.mask.begin(), got.mask.end(), uint8_t(7));
      std::fill(got.depth.begin(), got.depth.end(), -1.f);
      fast::splat(ctx, dst, sp, n, xyz.data(), size.data(), col.data(), got.rgb.data(),
                  got.depth.data(), got.mask.data());
      CHECK_MSG(got.rgb == want.rgb && got.mask == want.mask && same_bits(got.depth, want.depth),
                "splat differs from ref (trial %d, %dx%d -> %dx%d, threads %d, %d pixels landed)",
                trial, w, h, dst.width, dst.height, pool ? pool->size() : 1, landed);
    }
  }
}

TEST(splat_resolves_ties_to_the_lower_index_and_writes_every_pixel) {
  PinholeCamera c;
  c.width = c.height = 4;
  c.fx = c.fy = 4;
  c.cx = c.cy = 2;
  const float m[12] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
  std::memcpy(c.world_to_camera, m, sizeof(m));
  // Two points at the same place and depth, then one nearer behind them in index order.
  const float xyz[9] = {0.1f, 0.1f, 2, 0.1f, 0.1f, 2, 0.1f, 0.1f, 1};
  const float size[3] = {0.1f, 0.1f, 0.1f};
  const uint8_t rgb[9] = {10, 10, 10, 20, 20, 20, 30, 30, 30};
  Out o(16);
  std::fill(o.rgb.begin(), o.rgb.end(), uint8_t(99));
  ref::splat(c, SplatParams{}, 2, xyz, size, rgb, o.rgb.data(), o.depth.data(), o.mask.data());
  const size_t p = 2 * 4 + 2;  // u = 2 + 4 * 0.05 = 2.2
  CHECK(o.rgb[p * 3] == 10 && o.depth[p] == 2.f && o.mask[p] == 255);
  ref::splat(c, SplatParams{}, 3, xyz, size, rgb, o.rgb.data(), o.depth.data(), o.mask.data());
  CHECK(o.rgb[p * 3] == 30 && o.depth[p] == 1.f);
  int landed = 0;
  for (size_t q = 0; q < 16; ++q) {
    landed += o.mask[q] != 0;
    if (q != p) CHECK(o.mask[q] == 0 && o.rgb[q * 3] == 0 && std::isinf(o.depth[q]));
  }
  CHECK(landed == 1);
}

TEST(world_depth_and_camera_are_published) {
  wl_world_config cfg;
  wl_world_default_config(&cfg);
  cfg.width = 96;
  cfg.height = 64;
  wl_world* w = nullptr;
  CHECK(wl_world_create(5, &cfg, &w) == WL_OK);
  wl_camera cam;
  CHECK(wl_world_camera(w, &cam) == WL_OK);
  CHECK(cam.width == 96 && cam.height == 64 && cam.cx == 48.f && cam.cy == 32.f &&
        cam.eye_height == 0.5f);
  CHECK(std::fabs(cam.fx - 48.f / std::tan(66.f * 3.14159265f / 360.f)) < 1e-3f &&
        cam.fx == cam.fy);
  float pose[3];
  CHECK(wl_world_pose(w, pose) == WL_OK);
  CHECK(cam.x == pose[0] && cam.y == pose[1] && cam.yaw == pose[2]);
  // The eye maps to the camera origin; the forward row is (cos yaw, sin yaw, 0).
  const float* m = cam.world_to_camera;
  const float eye[3] = {pose[0], pose[1], 0.5f};
  for (int r = 0; r < 3; ++r)
    CHECK(std::fabs(m[r * 4] * eye[0] + m[r * 4 + 1] * eye[1] + m[r * 4 + 2] * eye[2] +
                    m[r * 4 + 3]) < 1e-5f);
  CHECK(std::fabs(m[8] - std::cos(pose[2])) < 1e-6f && std::fabs(m[9] - std::sin(pose[2])) < 1e-6f);
  // Every pixel has a depth: positive, finite except the sky; it follows the frame through steps.
  const float* d = wl_world_depth(w);
  CHECK(d != nullptr && wl_world_depth(nullptr) == nullptr);
  float act[WL_ACTION_COUNT] = {1, 0, 0.5f, 0, 0};
  for (int t = 0; t < 40; ++t) {
    CHECK(wl_world_step(w, act, WL_ACTION_COUNT) == WL_OK);
    CHECK(wl_world_depth(w) == d);
    for (int p = 0; p < 96 * 64; ++p)
      CHECK_MSG(d[p] > 0.f && !std::isnan(d[p]), "pixel %d depth %g", p, double(d[p]));
  }
  // Floor rows: z = eye * fy / (row centre - cy) exactly where a floor shows (bottom row).
  const int y = 63;
  CHECK(std::fabs(d[y * 96 + 3] - 0.5f * cam.fy / (y + 0.5f - 32.f)) < 1e-4f ||
        d[y * 96 + 3] < 0.5f * cam.fy / (y + 0.5f - 32.f));
  CHECK(wl_world_camera(w, nullptr) == WL_ERR_INVALID_ARGUMENT);
  CHECK(wl_world_camera(nullptr, &cam) == WL_ERR_INVALID_ARGUMENT);
  wl_world_free(w);
}

TEST(batch_depths_equal_the_world_depth) {
  wl_world_config cfg;
  wl_world_default_config(&cfg);
  cfg.width = cfg.height = 32;
  const uint64_t seeds[2] = {3, 4};
  wl_world_batch* b = nullptr;
  CHECK(wl_world_batch_create(seeds, 2, &cfg, nullptr, 2, &b) == WL_OK);
  const int T = 12;
  std::vector<uint8_t> frames(2 * T * 32 * 32 * 3);
  std::vector<float> actions(2 * T * WL_ACTION_COUNT), poses(2 * T * 3), depths(2 * T * 32 * 32);
  CHECK(wl_world_batch_generate_depth(b, T, frames.data(), actions.data(), poses.data(),
                                      depths.data()) == WL_OK);
  wl_world* w = nullptr;
  CHECK(wl_world_create(4, &cfg, &w) == WL_OK);
  for (int t = 0; t < T; ++t) {
    const size_t slot = size_t(T + t);
    CHECK(std::memcmp(wl_world_depth(w), &depths[slot * 1024], 1024 * 4) == 0);
    CHECK(std::memcmp(wl_world_frame(w), &frames[slot * 3072], 3072) == 0);
    CHECK(wl_world_step(w, &actions[slot * WL_ACTION_COUNT], WL_ACTION_COUNT) == WL_OK);
  }
  CHECK(wl_world_batch_generate_depth(nullptr, 1, nullptr, nullptr, nullptr, nullptr) ==
        WL_ERR_INVALID_ARGUMENT);
  wl_world_free(w);
  wl_world_batch_free(b);
}

// Unproject a truth frame and splat it into the same camera: the same frame, bit for bit, on
// every pixel that has a surface; the sky stays invalid.
TEST(reprojecting_a_truth_frame_to_its_own_pose_is_the_identity) {
  const int sizes[][2] = {{128, 128}, {160, 96}, {63, 47}};
  for (const auto& sz : sizes) {
    for (uint64_t seed : {1ull, 7ull, 12ull, 21ull}) {
      wl_world_config cfg;
      wl_world_default_config(&cfg);
      cfg.width = sz[0];
      cfg.height = sz[1];
      wl_world* w = nullptr;
      CHECK(wl_world_create(seed, &cfg, &w) == WL_OK);
      wl_explorer* ex = nullptr;
      CHECK(wl_explorer_create(seed, nullptr, &ex) == WL_OK);
      float a[WL_ACTION_COUNT];
      int sky_frames = 0;
      for (int t = 0; t < 120; ++t) {
        CHECK(wl_explorer_next(ex, w, a, WL_ACTION_COUNT) == WL_OK);
        CHECK(wl_world_step(w, a, WL_ACTION_COUNT) == WL_OK);
        if (t % 30 != 29) continue;
        const View v = grab(w);
        const PinholeCamera cam = camera_of(v.cam);
        const size_t px = v.depth.size();
        Out o(px);
        ref::reproject(cam, v.rgb.data(), v.depth.data(), cam, SplatParams{}, o.rgb.data(),
                       o.depth.data(), o.mask.data());
        int bad = 0, sky = 0;
        for (size_t p = 0; p < px; ++p) {
          if (std::isinf(v.depth[p])) {
            ++sky;
            bad += o.mask[p] != 0;
            continue;
          }
          // Colours and mask exactly; depth to float precision: the points pass through world
          // coordinates (up to ~48 cells, an ulp of 4e-6), so a depth of 0.2 keeps ~5 digits.
          bad += o.mask[p] != 255 || std::memcmp(&o.rgb[p * 3], &v.rgb[p * 3], 3) != 0 ||
                 std::fabs(o.depth[p] - v.depth[p]) > 1e-5f * v.depth[p] + 2e-5f;
        }
        sky_frames += sky > 0;
        CHECK_MSG(bad == 0, "seed %llu %dx%d frame %d: %d of %zu pixels differ",
                  (unsigned long long)seed, sz[0], sz[1], t, bad, px);
      }
      (void)sky_frames;
      wl_explorer_free(ex);
      wl_world_free(w);
    }
  }
}

// Into a nearby pose: where the splat lands, its depth is the truth world's depth there (the
// camera model is exact) and its colour is close (nearest-texel sampling, fog measured along the
// view axis and billboards that turn to face the camera make colours view-dependent).
TEST(reprojecting_to_a_nearby_pose_matches_the_truth_render_where_visible) {
  struct Move {
    float move, strafe, turn;
    int ticks;
  };
  const Move moves[] = {{0, 0, 0.6f, 2}, {1, 0, 0, 2}, {-0.5f, 0.4f, -0.4f, 3}, {0.7f, 0, 0.3f, 4}};
  double sum_valid = 0, sum_depth_ok = 0, sum_mad = 0;
  int cases = 0;
  for (uint64_t seed : {2ull, 9ull, 30ull}) {
    wl_world_config cfg;
    wl_world_default_config(&cfg);
    wl_world* w = nullptr;
    CHECK(wl_world_create(seed, &cfg, &w) == WL_OK);
    wl_explorer* ex = nullptr;
    CHECK(wl_explorer_create(seed, nullptr, &ex) == WL_OK);
    float a[WL_ACTION_COUNT];
    for (int t = 0; t < 60; ++t) {
      CHECK(wl_explorer_next(ex, w, a, WL_ACTION_COUNT) == WL_OK);
      a[WL_ACTION_LIGHT] = a[WL_ACTION_SPAWN] = 0;
      CHECK(wl_world_step(w, a, WL_ACTION_COUNT) == WL_OK);
    }
    for (const Move& mv : moves) {
      const View va = grab(w);
      const float act[WL_ACTION_COUNT] = {mv.move, mv.strafe, mv.turn, 0, 0};
      for (int k = 0; k < mv.ticks; ++k) CHECK(wl_world_step(w, act, WL_ACTION_COUNT) == WL_OK);
      const View vb = grab(w);
      const size_t px = va.depth.size();
      Out o(px);
      const PinholeCamera ca = camera_of(va.cam), cb = camera_of(vb.cam);
      ref::reproject(ca, va.rgb.data(), va.depth.data(), cb, SplatParams{}, o.rgb.data(),
                     o.depth.data(), o.mask.data());
      int valid = 0, depth_ok = 0;
      double mad = 0;
      for (size_t p = 0; p < px; ++p) {
        if (!o.mask[p]) continue;
        ++valid;
        depth_ok += std::fabs(o.depth[p] - vb.depth[p]) <= 0.02f * vb.depth[p];
        for (int c = 0; c < 3; ++c) mad += std::abs(int(o.rgb[p * 3 + c]) - int(vb.rgb[p * 3 + c]));
      }
      const double vf = double(valid) / px, dok = double(depth_ok) / std::max(1, valid),
                   m = mad / (3.0 * std::max(1, valid));
      std::printf(
          "  seed %llu move %.1f strafe %.1f turn %.1f x%d: valid %.3f, depth within 2%% %.3f, "
          "mean |rgb diff| %.2f\n",
          (unsigned long long)seed, double(mv.move), double(mv.strafe), double(mv.turn), mv.ticks,
          vf, dok, m);
      CHECK(vf > 0.6);
      CHECK(dok > 0.9);
      CHECK(m < 20);
      sum_valid += vf;
      sum_depth_ok += dok;
      sum_mad += m;
      ++cases;
    }
    wl_explorer_free(ex);
    wl_world_free(w);
  }
  std::printf("  mean over %d: valid %.3f, depth within 2%% %.3f, mean |rgb diff| %.2f\n", cases,
              sum_valid / cases, sum_depth_ok / cases, sum_mad / cases);
}

TEST(reproject_ops_reject_bad_input) {
  PinholeCamera c;
  c.width = c.height = 8;
  c.fx = c.fy = 8;
  c.cx = c.cy = 4;
  std::vector<float> depth(64, 1.f), xyz(64 * 3), size(64);
  auto error_of = [&](auto fn) -> std::string {
    try {
      fn();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  PinholeCamera bad = c;
  bad.fx = 0;
  CHECK(error_of([&] {
          ref::unproject(bad, depth.data(), xyz.data(), size.data());
        }).find("fx and fy") != std::string::npos);
  bad = c;
  bad.width = 0;
  CHECK(error_of([&] {
          ref::unproject(bad, depth.data(), xyz.data(), size.data());
        }).find("outside 1..16384") != std::string::npos);
  bad = c;
  bad.world_to_camera[5] = std::nanf("");
  CHECK(error_of([&] {
          fast::unproject(OpCtx{}, bad, depth.data(), xyz.data(), size.data());
        }).find("world_to_camera[5]") != std::string::npos);
  SplatParams sp;
  sp.max_footprint = 0;
  std::vector<uint8_t> rgb(64 * 3), mask(64);
  CHECK(error_of([&] {
          ref::splat(c, sp, 1, xyz.data(), size.data(), rgb.data(), rgb.data(), depth.data(),
                     mask.data());
        }).find("max_footprint") != std::string::npos);
  CHECK(error_of([&] {
          fast::splat(OpCtx{}, c, SplatParams{}, 1, xyz.data(), size.data(), rgb.data(), rgb.data(),
                      depth.data(), mask.data());
        }).find("scratch") != std::string::npos);
}

// ---- the point cache ----

namespace {
std::vector<View> walk(uint64_t seed, int frames, int w = 64, int h = 64) {
  wl_world_config cfg;
  wl_world_default_config(&cfg);
  cfg.width = w;
  cfg.height = h;
  wl_world* world = nullptr;
  wl_world_create(seed, &cfg, &world);
  wl_explorer* ex = nullptr;
  wl_explorer_create(seed, nullptr, &ex);
  std::vector<View> out;
  float a[WL_ACTION_COUNT];
  for (int t = 0; t < frames; ++t) {
    out.push_back(grab(world));
    wl_explorer_next(ex, world, a, WL_ACTION_COUNT);
    a[WL_ACTION_LIGHT] = a[WL_ACTION_SPAWN] = 0;
    wl_world_step(world, a, WL_ACTION_COUNT);
  }
  wl_explorer_free(ex);
  wl_world_free(world);
  return out;
}
}  // namespace

TEST(cache_renders_an_inserted_frame_back_at_its_pose) {
  const std::vector<View> views = walk(3, 20);
  const View& v = views.back();
  const PinholeCamera cam = camera_of(v.cam);
  const size_t px = v.depth.size();
  // A voxel finer than any pixel's footprint keeps every pixel: the identity, as for the op.
  PointCacheConfig fine;
  fine.voxel = 1e-4f;
  PointCache c(fine, 1);
  c.insert(cam, v.rgb.data(), v.depth.data());
  Out o(px);
  c.render(cam, o.rgb.data(), o.depth.data(), o.mask.data());
  int bad = 0;
  for (size_t p = 0; p < px; ++p) {
    if (std::isinf(v.depth[p]) || v.depth[p] > fine.max_depth) continue;
    bad += o.mask[p] != 255 || std::memcmp(&o.rgb[p * 3], &v.rgb[p * 3], 3) != 0;
  }
  CHECK_MSG(bad == 0, "%d pixels differ", bad);
  // The default voxel merges near pixels; the frame is still nearly all covered and close.
  PointCache d(PointCacheConfig{}, 2);
  for (const View& x : views) d.insert(camera_of(x.cam), x.rgb.data(), x.depth.data());
  d.render(cam, o.rgb.data(), o.depth.data(), o.mask.data());
  int valid = 0;
  double se = 0;
  for (size_t p = 0; p < px; ++p) {
    if (!o.mask[p]) continue;
    ++valid;
    for (int ch = 0; ch < 3; ++ch) se += std::pow(double(o.rgb[p * 3 + ch]) - v.rgb[p * 3 + ch], 2);
  }
  const double psnr = 10 * std::log10(255.0 * 255.0 / std::max(1e-9, se / (3.0 * valid)));
  std::printf("  default voxel, 20 frames: %lld points, valid %.3f, psnr %.1f dB on valid pixels\n",
              (long long)d.size(), double(valid) / px, psnr);
  CHECK(double(valid) / px > 0.97);
  CHECK(psnr > 25);
}

TEST(cache_stays_under_its_cap_and_is_thread_independent) {
  const std::vector<View> views = walk(8, 60);
  PointCacheConfig cfg;
  cfg.max_points = 20000;
  PointCache a(cfg, 1), b(cfg, 3);
  for (const View& v : views) {
    a.insert(camera_of(v.cam), v.rgb.data(), v.depth.data());
    b.insert(camera_of(v.cam), v.rgb.data(), v.depth.data());
    CHECK(a.size() <= cfg.max_points);
  }
  CHECK(a.evicted() > 0);
  CHECK(a.xyz() == b.xyz() && a.rgb() == b.rgb() && a.stamps() == b.stamps());
  const PinholeCamera cam = camera_of(views[30].cam);
  Out oa(64 * 64), ob(64 * 64);
  a.render(cam, oa.rgb.data(), oa.depth.data(), oa.mask.data());
  b.render(cam, ob.rgb.data(), ob.depth.data(), ob.mask.data());
  CHECK(oa.rgb == ob.rgb && oa.mask == ob.mask && same_bits(oa.depth, ob.depth));
  // Restored points render bit-identically; a restore with a point outside the grid is refused
  // and changes nothing.
  PointCache r(cfg, 1);
  r.restore(a.size(), a.xyz().data(), a.sizes().data(), a.rgb().data(), a.seen_depth().data(),
            a.stamps().data(), a.clock());
  Out orr(64 * 64);
  r.render(cam, orr.rgb.data(), orr.depth.data(), orr.mask.data());
  CHECK(orr.rgb == oa.rgb && same_bits(orr.depth, oa.depth));
  std::vector<float> xyz = a.xyz();
  xyz[0] = std::nanf("");
  bool threw = false;
  try {
    r.restore(a.size(), xyz.data(), a.sizes().data(), a.rgb().data(), a.seen_depth().data(),
              a.stamps().data(), a.clock());
  } catch (const Error&) {
    threw = true;
  }
  CHECK(threw && r.size() == a.size());
}

TEST(cache_policies_newest_closest_and_first) {
  // The same wall seen from far, then from near, then from far again with another colour.
  PinholeCamera c;
  c.width = c.height = 8;
  c.fx = c.fy = 8;
  c.cx = c.cy = 4;
  const float m[12] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
  std::memcpy(c.world_to_camera, m, sizeof(m));
  std::vector<float> depth(64, 2.f);
  std::vector<uint8_t> red(64 * 3, 0), blue(64 * 3, 0);
  for (int p = 0; p < 64; ++p) red[p * 3] = 200, blue[p * 3 + 2] = 200;
  PointCacheConfig cfg;
  cfg.voxel = 1.f;  // every pixel of the wall in one of a few voxels
  for (CachePolicy pol : {CachePolicy::Newest, CachePolicy::Closest}) {
    cfg.policy = pol;
    PointCache pc(cfg, 1);
    std::vector<float> near_depth(64, 2.f);
    pc.insert(c, red.data(), near_depth.data());
    PinholeCamera back = c;
    back.world_to_camera[11] = 1.f;  // one unit further back: the same wall at z = 3
    std::vector<float> far_depth(64, 3.f);
    pc.insert(back, blue.data(), far_depth.data());
    Out o(64);
    pc.render(c, o.rgb.data(), o.depth.data(), o.mask.data());
    const bool blue_won = o.rgb[(4 * 8 + 4) * 3 + 2] == 200;
    CHECK(blue_won == (pol == CachePolicy::Newest));
  }
  // first: a second observation of the same voxels from the same camera (a model's frame after
  // the true one) does not replace the first; newest does.
  std::vector<float> same_depth(64, 2.f);
  for (CachePolicy pol : {CachePolicy::First, CachePolicy::Newest}) {
    cfg.policy = pol;
    PointCache pc(cfg, 1);
    pc.insert(c, red.data(), same_depth.data());
    pc.insert(c, blue.data(), same_depth.data());
    Out o(64);
    pc.render(c, o.rgb.data(), o.depth.data(), o.mask.data());
    int shown = 0, red_shown = 0;
    for (int p = 0; p < 64; ++p) {
      shown += o.mask[p] != 0;
      red_shown += o.mask[p] != 0 && o.rgb[p * 3] == 200 && o.rgb[p * 3 + 2] == 0;
    }
    CHECK(shown > 0);
    CHECK((red_shown == shown) == (pol == CachePolicy::First));
  }
}

TEST(cache_c_abi_checks_its_arguments) {
  wl_point_cache_config cfg;
  wl_point_cache_default_config(&cfg);
  CHECK(cfg.max_points == 2000000 && cfg.policy == WL_CACHE_NEWEST && cfg.threads == 1);
  wl_point_cache* pc = nullptr;
  cfg.policy = 7;
  CHECK(wl_point_cache_create(&cfg, &pc) == WL_ERR_INVALID_ARGUMENT && pc == nullptr);
  CHECK(std::string(wl_last_error()).find("policy") != std::string::npos);
  wl_point_cache_default_config(&cfg);
  cfg.voxel = 0;
  CHECK(wl_point_cache_create(&cfg, &pc) == WL_ERR_INVALID_ARGUMENT);
  CHECK(std::string(wl_last_error()).find("voxel") != std::string::npos);
  CHECK(wl_point_cache_create(nullptr, &pc) == WL_OK);
  const std::vector<View> v = walk(4, 1, 32, 24);
  CHECK(wl_point_cache_insert(pc, &v[0].cam, v[0].rgb.data(), v[0].rgb.size(), v[0].depth.data(),
                              v[0].depth.size()) == WL_OK);
  CHECK(wl_point_cache_count(pc) > 0 && wl_point_cache_count(nullptr) == -1);
  CHECK(wl_point_cache_insert(pc, &v[0].cam, v[0].rgb.data(), v[0].rgb.size() - 1,
                              v[0].depth.data(), v[0].depth.size()) == WL_ERR_INVALID_ARGUMENT);
  CHECK(std::string(wl_last_error()).find("rgb holds") != std::string::npos);
  std::vector<uint8_t> rgb(v[0].rgb.size()), mask(32 * 24);
  std::vector<float> depth(32 * 24);
  CHECK(wl_point_cache_render(pc, &v[0].cam, rgb.data(), rgb.size(), depth.data(), depth.size(),
                              mask.data(), mask.size()) == WL_OK);
  CHECK(rgb == v[0].rgb || std::count(mask.begin(), mask.end(), 255) > 32 * 24 * 9 / 10);
  wl_camera bad = v[0].cam;
  bad.fx = std::nanf("");
  CHECK(wl_point_cache_render(pc, &bad, rgb.data(), rgb.size(), nullptr, 0, nullptr, 0) ==
        WL_ERR_INVALID_ARGUMENT);
  CHECK(std::string(wl_last_error()).find("fx") != std::string::npos);
  CHECK(wl_point_cache_render(nullptr, &bad, rgb.data(), rgb.size(), nullptr, 0, nullptr, 0) ==
        WL_ERR_INVALID_ARGUMENT);
  CHECK(wl_point_cache_clear(pc) == WL_OK && wl_point_cache_count(pc) == 0);
  wl_point_cache_free(pc);
  wl_point_cache_free(nullptr);
}

TEST(cache_snapshot_restores_bit_identically_and_rejects_bad_bytes) {
  const std::vector<View> views = walk(6, 40);
  wl_point_cache_config cfg;
  wl_point_cache_default_config(&cfg);
  cfg.max_points = 30000;
  cfg.policy = WL_CACHE_CLOSEST;
  wl_point_cache *a = nullptr, *b = nullptr;
  CHECK(wl_point_cache_create(&cfg, &a) == WL_OK);
  CHECK(wl_point_cache_create(nullptr, &b) ==
        WL_OK);  // other settings: the snapshot brings its own
  for (const View& v : views) {
    CHECK(wl_point_cache_insert(a, &v.cam, v.rgb.data(), v.rgb.size(), v.depth.data(),
                                v.depth.size()) == WL_OK);
  }
  size_t n = 0;
  CHECK(wl_point_cache_snapshot(a, nullptr, 0, &n) == WL_OK && n > 1000);
  std::vector<uint8_t> bytes(n);
  CHECK(wl_point_cache_snapshot(a, bytes.data(), n - 1, &n) == WL_ERR_INVALID_ARGUMENT);
  CHECK(wl_point_cache_snapshot(a, bytes.data(), bytes.size(), &n) == WL_OK);
  CHECK_MSG(wl_point_cache_restore(b, bytes.data(), bytes.size()) == WL_OK, "%s", wl_last_error());
  CHECK(wl_point_cache_count(b) == wl_point_cache_count(a) &&
        wl_point_cache_evicted(b) == wl_point_cache_evicted(a));
  // The same renders, bit for bit, and the same bytes when saved again; and it goes on the same.
  for (int k : {5, 25, 39}) {
    const wl_camera& cam = views[size_t(k)].cam;
    Out oa(64 * 64), ob(64 * 64);
    CHECK(wl_point_cache_render(a, &cam, oa.rgb.data(), oa.rgb.size(), oa.depth.data(),
                                oa.depth.size(), oa.mask.data(), oa.mask.size()) == WL_OK);
    CHECK(wl_point_cache_render(b, &cam, ob.rgb.data(), ob.rgb.size(), ob.depth.data(),
                                ob.depth.size(), ob.mask.data(), ob.mask.size()) == WL_OK);
    CHECK(oa.rgb == ob.rgb && oa.mask == ob.mask && same_bits(oa.depth, ob.depth));
  }
  const View& more = views[3];
  CHECK(wl_point_cache_insert(a, &more.cam, more.rgb.data(), more.rgb.size(), more.depth.data(),
                              more.depth.size()) == WL_OK);
  CHECK(wl_point_cache_insert(b, &more.cam, more.rgb.data(), more.rgb.size(), more.depth.data(),
                              more.depth.size()) == WL_OK);
  size_t na = 0, nb = 0;
  CHECK(wl_point_cache_snapshot(a, nullptr, 0, &na) == WL_OK);
  std::vector<uint8_t> again_a(na), again_b(na);
  CHECK(wl_point_cache_snapshot(a, again_a.data(), again_a.size(), &na) == WL_OK);
  CHECK(wl_point_cache_snapshot(b, again_b.data(), again_b.size(), &nb) == WL_OK);
  CHECK(na == nb && std::memcmp(again_a.data(), again_b.data(), na) == 0);
  // Untrusted bytes: every flipped byte, a truncation and trailing bytes are named errors, and the
  // cache keeps what it had.
  const int64_t before = wl_point_cache_count(b);
  auto rejected = [&](std::vector<uint8_t> bad, const char* what) {
    const wl_status st = wl_point_cache_restore(b, bad.data(), bad.size());
    CHECK_MSG(st == WL_ERR_FORMAT, "%s: status %d", what, int(st));
    CHECK_MSG(std::string(wl_last_error()).find(what) != std::string::npos, "%s: '%s'", what,
              wl_last_error());
    CHECK(wl_point_cache_count(b) == before);
  };
  for (size_t at :
       {size_t(0), size_t(9), size_t(20), size_t(60), bytes.size() / 2, bytes.size() - 1}) {
    std::vector<uint8_t> bad = bytes;
    bad[at] ^= 0x20;
    rejected(bad, at < 8 ? "bad magic" : "checksum");
  }
  rejected(std::vector<uint8_t>(bytes.begin(), bytes.begin() + long(bytes.size() / 2)), "checksum");
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  rejected(longer, "checksum");
  CHECK(wl_point_cache_restore(b, nullptr, 0) == WL_ERR_INVALID_ARGUMENT);
  wl_point_cache_free(a);
  wl_point_cache_free(b);
}

int main(int argc, char** argv) { return wl_test::run_all(argc, argv); }
