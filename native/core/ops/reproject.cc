// Fast reprojection ops (ops/reproject.h): threaded, allocation-free, bit-identical to ref.
// unproject is one independent result per pixel, threaded over rows. splat scatters: points
// land anywhere, so threads race on the z-buffer. Each pixel holds one 64-bit key
// (z bits, point index + 1) updated with an atomic minimum, which picks the same winner as ref's
// in-order strict test whatever the schedule; a second pass over the pixels then copies the
// winners' colours. There is no SIMD here: the work is a scatter, bound by memory, not arithmetic.
#include <algorithm>
#include <cstring>
#include <limits>

#include "ops/op_support.h"
#include "ops/reproject.h"
#include "ops/reproject_math.h"

namespace wl {
namespace fast {

void unproject(const OpCtx& ctx, const PinholeCamera& cam, const float* depth, float* xyz,
               float* size) {
  check_camera(cam, "unproject");
  const float inv_f = 1.f / (cam.fx > cam.fy ? cam.fx : cam.fy);
  const int w = cam.width;
  ops_detail::parallel(ctx, cam.height, 4, [&](int64_t b, int64_t e, int) {
    for (int64_t j = b; j < e; ++j) {
      for (int i = 0; i < w; ++i) {
        const size_t p = size_t(j) * w + i;
        const float z = depth[p];
        if (z > 0.f && z < std::numeric_limits<float>::infinity()) {  // finite and > 0; NaN fails
          reproject_math::unproject_pixel(cam.world_to_camera, cam.fx, cam.fy, cam.cx, cam.cy, i,
                                          int(j), z, xyz + p * 3);
          size[p] = z * inv_f;
        } else {
          xyz[p * 3] = xyz[p * 3 + 1] = xyz[p * 3 + 2] = std::numeric_limits<float>::quiet_NaN();
          size[p] = 0.f;
        }
      }
    }
  });
}

size_t splat_scratch_floats(int width, int height) {
  return size_t(width) * size_t(height) * 2 + ops_detail::kSlotSlack;
}

void splat(const OpCtx& ctx, const PinholeCamera& cam, const SplatParams& sp, int64_t n,
           const float* xyz, const float* size, const uint8_t* rgb, uint8_t* out_rgb,
           float* out_depth, uint8_t* out_mask) {
  check_camera(cam, "splat");
  check_splat_params(sp, "splat");
  ops_detail::require(n >= 0 && n < int64_t(0xFFFFFFFFu), "splat",
                      "point count is outside 0..2^32-2");
  ops_detail::require_scratch(ctx, splat_scratch_floats(cam.width, cam.height), "splat");
  const int w = cam.width, h = cam.height;
  // 8-byte aligned view of the scratch (it is at least 4-byte aligned; the slack pays for this).
  const uintptr_t base = (reinterpret_cast<uintptr_t>(ctx.scratch) + 7) & ~uintptr_t(7);
  uint64_t* keys = reinterpret_cast<uint64_t*>(base);
  const int64_t row_grain = std::max<int64_t>(1, 4096 / w);
  const uint64_t empty = reproject_math::splat_key(0x7f800000u, 0);  // +infinity, no point
  ops_detail::parallel(ctx, h, row_grain, [&](int64_t b, int64_t e, int) {
    for (size_t p = size_t(b) * w; p < size_t(e) * w; ++p) keys[p] = empty;
  });
  const bool threaded = ops_detail::threads_of(ctx) > 1;
  ops_detail::parallel(ctx, n, 2048, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      reproject_math::Footprint f;
      if (!reproject_math::project_point(cam.world_to_camera, cam.fx, cam.fy, cam.cx, cam.cy, w, h,
                                         sp.near_z, sp.max_footprint, xyz + i * 3, size[i], &f)) {
        continue;
      }
      uint32_t bits;
      std::memcpy(&bits, &f.z, 4);
      const uint64_t key = reproject_math::splat_key(bits, uint32_t(i + 1));
      for (int y = f.y0; y <= f.y1; ++y) {
        for (int x = f.x0; x <= f.x1; ++x) {
          uint64_t* slot = keys + size_t(y) * w + x;
          if (!threaded) {
            if (key < *slot) *slot = key;
            continue;
          }
          uint64_t cur = __atomic_load_n(slot, __ATOMIC_RELAXED);
          while (key < cur && !__atomic_compare_exchange_n(slot, &cur, key, true, __ATOMIC_RELAXED,
                                                           __ATOMIC_RELAXED)) {
          }
        }
      }
    }
  });
  // parallel_for returns after every chunk finished (a full barrier), so the keys are final.
  ops_detail::parallel(ctx, h, row_grain, [&](int64_t b, int64_t e, int) {
    for (size_t p = size_t(b) * w; p < size_t(e) * w; ++p) {
      const uint64_t key = keys[p];
      const uint32_t payload = uint32_t(key & 0xFFFFFFFFu);
      const uint32_t bits = uint32_t(key >> 32);
      std::memcpy(&out_depth[p], &bits, 4);
      if (payload == 0) {
        out_rgb[p * 3] = out_rgb[p * 3 + 1] = out_rgb[p * 3 + 2] = 0;
        out_mask[p] = 0;
        continue;
      }
      std::memcpy(out_rgb + p * 3, rgb + size_t(payload - 1) * 3, 3);
      out_mask[p] = 255;
    }
  });
}

}  // namespace fast
}  // namespace wl
