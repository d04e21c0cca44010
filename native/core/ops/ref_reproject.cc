// Reference reprojection ops: plain loops over pixels and points, the definition the fast and
// CUDA versions are tested against (ops/reproject.h).
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "capi/error.h"
#include "ops/reproject.h"
#include "ops/reproject_math.h"

namespace wl {

namespace {
[[noreturn]] void bad(const char* what, const std::string& msg) {
  throw Error(WL_ERR_INVALID_ARGUMENT, std::string(what) + ": " + msg);
}
}  // namespace

void check_camera(const PinholeCamera& c, const char* what) {
  if (c.width < 1 || c.width > 16384 || c.height < 1 || c.height > 16384) {
    bad(what, "camera size " + std::to_string(c.width) + "x" + std::to_string(c.height) +
                  " is outside 1..16384");
  }
  if (!(std::isfinite(c.fx) && c.fx > 0) || !(std::isfinite(c.fy) && c.fy > 0))
    bad(what, "camera fx and fy must be finite and > 0");
  if (!std::isfinite(c.cx) || !std::isfinite(c.cy)) bad(what, "camera cx and cy must be finite");
  for (int i = 0; i < 12; ++i) {
    if (!std::isfinite(c.world_to_camera[i]))
      bad(what, "camera world_to_camera[" + std::to_string(i) + "] is not finite");
  }
}

void check_splat_params(const SplatParams& p, const char* what) {
  if (!(std::isfinite(p.near_z) && p.near_z > 0)) bad(what, "near_z must be finite and > 0");
  if (!(std::isfinite(p.max_footprint) && p.max_footprint >= 1 && p.max_footprint <= 64))
    bad(what, "max_footprint must be in 1..64");
}

namespace ref {

void unproject(const PinholeCamera& cam, const float* depth, float* xyz, float* size) {
  check_camera(cam, "unproject");
  const float inv_f = 1.f / (cam.fx > cam.fy ? cam.fx : cam.fy);
  for (int j = 0; j < cam.height; ++j) {
    for (int i = 0; i < cam.width; ++i) {
      const size_t p = size_t(j) * cam.width + i;
      const float z = depth[p];
      if (std::isfinite(z) && z > 0.f) {
        reproject_math::unproject_pixel(cam.world_to_camera, cam.fx, cam.fy, cam.cx, cam.cy, i, j,
                                        z, xyz + p * 3);
        size[p] = z * inv_f;
      } else {
        xyz[p * 3] = xyz[p * 3 + 1] = xyz[p * 3 + 2] = std::numeric_limits<float>::quiet_NaN();
        size[p] = 0.f;
      }
    }
  }
}

void splat(const PinholeCamera& cam, const SplatParams& sp, int64_t n, const float* xyz,
           const float* size, const uint8_t* rgb, uint8_t* out_rgb, float* out_depth,
           uint8_t* out_mask) {
  check_camera(cam, "splat");
  check_splat_params(sp, "splat");
  if (n < 0 || n >= int64_t(0xFFFFFFFFu))
    bad("splat", "point count " + std::to_string(n) + " is outside 0..2^32-2");
  const int w = cam.width;
  const size_t pixels = size_t(w) * cam.height;
  std::memset(out_rgb, 0, pixels * 3);
  std::memset(out_mask, 0, pixels);
  for (size_t p = 0; p < pixels; ++p) out_depth[p] = std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) {
    reproject_math::Footprint f;
    if (!reproject_math::project_point(cam.world_to_camera, cam.fx, cam.fy, cam.cx, cam.cy, w,
                                       cam.height, sp.near_z, sp.max_footprint, xyz + i * 3,
                                       size[i], &f)) {
      continue;
    }
    for (int y = f.y0; y <= f.y1; ++y) {
      for (int x = f.x0; x <= f.x1; ++x) {
        const size_t p = size_t(y) * w + x;
        if (!(f.z < out_depth[p])) continue;  // strict: the lower index wins ties
        out_depth[p] = f.z;
        std::memcpy(out_rgb + p * 3, rgb + i * 3, 3);
        out_mask[p] = 255;
      }
    }
  }
}

void reproject(const PinholeCamera& src, const uint8_t* src_rgb, const float* src_depth,
               const PinholeCamera& dst, const SplatParams& p, uint8_t* out_rgb, float* out_depth,
               uint8_t* out_mask) {
  const size_t n = size_t(src.width) * size_t(src.height);
  check_camera(src, "reproject");
  std::vector<float> xyz(n * 3), size(n);
  unproject(src, src_depth, xyz.data(), size.data());
  splat(dst, p, int64_t(n), xyz.data(), size.data(), src_rgb, out_rgb, out_depth, out_mask);
}

}  // namespace ref
}  // namespace wl
