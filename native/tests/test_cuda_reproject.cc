// The CUDA reprojection ops (cuda/cuda_ops.h) against ref (ops/reproject.h) on what the op
// table's random cases (test_cuda_ops op_unproject, op_splat) do not hold: truth frames with
// their depth, reprojected to the same and to nearby poses, and duplicated points (ties). Both
// must be bit-identical (ops/reproject_math.h without FMA contraction; the splat's atomicMin on
// (z bits, index + 1) picks ref's winner whatever the thread order). Where no usable GPU exists
// it prints "skipped: ..." and exits 0.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "check.h"

#if WL_HAVE_CUDA
#include "cuda/cuda_ops.h"
#include "cuda/device.h"
#include "ops/reproject.h"
#include "reproject_fixtures.h"
#include "test_util.h"
#include "worldloop/wl_world.h"

using namespace wl;
using cuda::DeviceBuffer;
using wl_test::camera_of;
using wl_test::random_camera;
using wl_test::Rng;

namespace {

template <class T>
DeviceBuffer to_dev(const std::vector<T>& v) {
  DeviceBuffer b(std::max<size_t>(1, v.size() * sizeof(T)));
  if (!v.empty()) b.upload(v.data(), v.size() * sizeof(T));
  return b;
}
template <class T>
std::vector<T> from_dev(const DeviceBuffer& b, size_t n) {
  std::vector<T> v(n);
  if (n) b.download(v.data(), n * sizeof(T));
  return v;
}

bool same_floats(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    if (std::memcmp(&a[i], &b[i], 4) != 0) return false;
  }
  return true;
}

// ref and cuda on the same source (depth + colours) and destination camera; the points are the
// source's pixels plus every third one again (equal z: ties).
void compare(const PinholeCamera& src, const std::vector<float>& depth,
             const std::vector<uint8_t>& rgb, const PinholeCamera& dst, const SplatParams& sp,
             const char* what) {
  const size_t px = depth.size(), dpx = size_t(dst.width) * dst.height;
  std::vector<float> xyz(px * 3), size(px);
  ref::unproject(src, depth.data(), xyz.data(), size.data());
  std::vector<float> pts = xyz, sizes = size;
  std::vector<uint8_t> cols = rgb;
  for (size_t i = 0; i < px; i += 3) {
    pts.insert(pts.end(), &xyz[i * 3], &xyz[i * 3] + 3);
    sizes.push_back(size[i] * 2.5f);
    cols.insert(cols.end(), {uint8_t(i), 7, 9});
  }
  const int64_t n = int64_t(sizes.size());
  std::vector<uint8_t> want_rgb(dpx * 3), want_mask(dpx);
  std::vector<float> want_depth(dpx);
  ref::splat(dst, sp, n, pts.data(), sizes.data(), cols.data(), want_rgb.data(), want_depth.data(),
             want_mask.data());

  cuda::Stream stream;
  DeviceBuffer scratch(cuda::splat_scratch_bytes(dst.width, dst.height));
  cuda::Ctx ctx;
  ctx.stream = stream.get();
  ctx.scratch = scratch.data();
  ctx.scratch_bytes = scratch.bytes();
  DeviceBuffer d_depth = to_dev(depth), d_xyz(px * 12), d_size(px * 4);
  cuda::unproject(ctx, src, d_depth.as<float>(), d_xyz.as<float>(), d_size.as<float>());
  DeviceBuffer d_pts = to_dev(pts), d_sizes = to_dev(sizes), d_cols = to_dev(cols);
  DeviceBuffer o_rgb(dpx * 3), o_mask(dpx), o_depth(dpx * 4);
  cuda::splat(ctx, dst, sp, n, d_pts.as<float>(), d_sizes.as<float>(), d_cols.as<uint8_t>(),
              o_rgb.as<uint8_t>(), o_depth.as<float>(), o_mask.as<uint8_t>());
  stream.synchronize();
  CHECK_MSG(same_floats(from_dev<float>(d_xyz, px * 3), xyz) &&
                same_floats(from_dev<float>(d_size, px), size),
            "%s: unproject differs", what);
  CHECK_MSG(from_dev<uint8_t>(o_rgb, dpx * 3) == want_rgb &&
                from_dev<uint8_t>(o_mask, dpx) == want_mask &&
                same_floats(from_dev<float>(o_depth, dpx), want_depth),
            "%s: splat differs", what);
}

}  // namespace

TEST(cuda_reproject_is_bit_identical_to_ref_on_random_points) {
  Rng rng(5);
  for (int trial = 0; trial < 20; ++trial) {
    const int w = rng.pick({1, 7, 33, 64, 97}), h = rng.pick({1, 16, 40, 64});
    const PinholeCamera src = random_camera(rng, w, h),
                        dst = random_camera(rng, rng.pick({8, 31, 64}), rng.pick({8, 48}));
    std::vector<float> depth(size_t(w) * h);
    for (float& d : depth) d = rng.uniform(0.05f, 6.f);
    depth[0] = std::numeric_limits<float>::infinity();
    std::vector<uint8_t> rgb(depth.size() * 3);
    for (auto& b : rgb) b = uint8_t(rng.next());
    SplatParams sp;
    sp.max_footprint = float(rng.pick({1, 3, 8}));
    compare(src, depth, rgb, dst, sp, ("trial " + std::to_string(trial)).c_str());
  }
}

TEST(cuda_reproject_is_bit_identical_to_ref_on_truth_frames) {
  wl_world_config cfg;
  wl_world_default_config(&cfg);
  wl_world* w = nullptr;
  CHECK(wl_world_create(9, &cfg, &w) == WL_OK);
  auto camera = [&] {
    wl_camera c;
    wl_world_camera(w, &c);
    return camera_of(c);
  };
  const float act[WL_ACTION_COUNT] = {0.8f, 0, 0.4f, 0, 0};
  for (int k = 0; k < 4; ++k) {
    const PinholeCamera a = camera();
    std::vector<float> depth(wl_world_depth(w), wl_world_depth(w) + 128 * 128);
    std::vector<uint8_t> rgb(wl_world_frame(w), wl_world_frame(w) + 128 * 128 * 3);
    for (int t = 0; t < 3; ++t) wl_world_step(w, act, WL_ACTION_COUNT);
    compare(a, depth, rgb, a, SplatParams{}, "same pose");
    compare(a, depth, rgb, camera(), SplatParams{}, "nearby pose");
  }
  wl_world_free(w);
}

int main(int argc, char** argv) {
  std::string why;
  if (!cuda::device_usable(&why)) {
    std::printf("skipped: %s (GPU tests)\n", why.c_str());
    return 0;
  }
  return wl_test::run_all(argc, argv);
}

#else

int main() {
  std::printf(
      "skipped: no CUDA device (this build has no CUDA backend: nvcc not found or "
      "-DWL_CUDA=OFF)\n");
  return 0;
}

#endif
