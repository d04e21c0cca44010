// Cameras shared by the reprojection tests (test_reproject for ref/fast and the cache,
// test_cuda_reproject for the CUDA twins): the truth world's published camera as the ops'
// PinholeCamera, and a seeded random camera. Header-only and inline, like test_util.h.
#pragma once
#include <cmath>
#include <cstring>

#include "ops/reproject.h"
#include "test_util.h"
#include "worldloop/wl_world.h"

namespace wl_test {

inline wl::PinholeCamera camera_of(const wl_camera& c) {
  wl::PinholeCamera p;
  p.width = c.width;
  p.height = c.height;
  p.fx = c.fx;
  p.fy = c.fy;
  p.cx = c.cx;
  p.cy = c.cy;
  std::memcpy(p.world_to_camera, c.world_to_camera, sizeof(p.world_to_camera));
  return p;
}

// A camera at a random yaw and place (eye height 0.5, the world's rotation convention) with
// random intrinsics, for a w x h image.
inline wl::PinholeCamera random_camera(Rng& rng, int w, int h) {
  wl::PinholeCamera c;
  c.width = w;
  c.height = h;
  c.fx = rng.uniform(0.5f, 1.5f) * w;
  c.fy = c.fx * rng.uniform(0.8f, 1.25f);
  c.cx = w * rng.uniform(0.4f, 0.6f);
  c.cy = h * rng.uniform(0.4f, 0.6f);
  const double yaw = rng.uniform(-3.1f, 3.1f), cs = std::cos(yaw), sn = std::sin(yaw);
  const double r[9] = {-sn, cs, 0, 0, 0, -1, cs, sn, 0};
  const double eye[3] = {rng.uniform(-2, 2), rng.uniform(-2, 2), 0.5};
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) c.world_to_camera[i * 4 + j] = float(r[i * 3 + j]);
    c.world_to_camera[i * 4 + 3] =
        float(-(r[i * 3] * eye[0] + r[i * 3 + 1] * eye[1] + r[i * 3 + 2] * eye[2]));
  }
  return c;
}

}  // namespace wl_test
