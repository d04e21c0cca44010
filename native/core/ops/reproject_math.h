// The per-pixel and per-point arithmetic of the reprojection ops, shared by ref, fast and the
// CUDA kernels so that all three compute the same floats. Files that include it are compiled
// without FMA contraction (CMake: -ffp-contract=off; nvcc: --fmad=false): a fused multiply-add
// rounds once where a multiply then an add rounds twice, and one ulp can move a point across a
// pixel edge. The order of every sum is spelled out for the same reason.
#pragma once
#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define WL_RP_FN __host__ __device__ inline
#else
#define WL_RP_FN inline
#endif

namespace wl {
namespace reproject_math {

// Camera -> world for pixel (i, j) at depth z: P = R^T ([x y z] - t).
WL_RP_FN void unproject_pixel(const float* m, float fx, float fy, float cx, float cy, int i, int j,
                              float z, float* out) {
  const float xc = ((float(i) + 0.5f) - cx) / fx * z;
  const float yc = ((float(j) + 0.5f) - cy) / fy * z;
  const float a = xc - m[3], b = yc - m[7], c = z - m[11];
  out[0] = (m[0] * a + m[4] * b) + m[8] * c;
  out[1] = (m[1] * a + m[5] * b) + m[9] * c;
  out[2] = (m[2] * a + m[6] * b) + m[10] * c;
}

struct Footprint {
  int x0, x1, y0, y1;  // inclusive pixel ranges, already clipped to the image
  float z;
};

// World point -> the pixels it covers in a camera, or false when it is not drawn (behind near_z,
// size not > 0, NaN, or wholly outside the image).
WL_RP_FN bool project_point(const float* m, float fx, float fy, float cx, float cy, int w, int h,
                            float near_z, float max_fp, const float* p, float size, Footprint* f) {
  const float zc = (m[8] * p[0] + m[9] * p[1]) + m[10] * p[2] + m[11];
  if (!(zc > near_z) || !(size > 0.f)) return false;
  const float xc = (m[0] * p[0] + m[1] * p[1]) + m[2] * p[2] + m[3];
  const float yc = (m[4] * p[0] + m[5] * p[1]) + m[6] * p[2] + m[7];
  const float u = cx + fx * xc / zc, v = cy + fy * yc / zc;
  float sx = size * fx / zc, sy = size * fy / zc;
  sx = sx < max_fp ? sx : max_fp;
  sy = sy < max_fp ? sy : max_fp;
  // Outside by more than a footprint (also NaN/inf): keeps the int conversions below in range.
  if (!(u > -max_fp - 2.f && u < float(w) + max_fp + 2.f)) return false;
  if (!(v > -max_fp - 2.f && v < float(h) + max_fp + 2.f)) return false;
  // Pixels whose centre c + 0.5 lies in [u - s/2, u + s/2): c in [ceil(u - s/2 - 0.5), ceil(u + s/2
  // - 0.5) - 1].
  int x0 = int(ceilf(u - 0.5f * sx - 0.5f)), x1 = int(ceilf(u + 0.5f * sx - 0.5f)) - 1;
  int y0 = int(ceilf(v - 0.5f * sy - 0.5f)), y1 = int(ceilf(v + 0.5f * sy - 0.5f)) - 1;
  // A footprint narrower than a pixel that holds no centre still marks the pixel it falls in.
  if (x1 < x0) x0 = x1 = int(floorf(u));
  if (y1 < y0) y0 = y1 = int(floorf(v));
  x0 = x0 < 0 ? 0 : x0;
  y0 = y0 < 0 ? 0 : y0;
  x1 = x1 > w - 1 ? w - 1 : x1;
  y1 = y1 > h - 1 ? h - 1 : y1;
  if (x0 > x1 || y0 > y1) return false;
  f->x0 = x0;
  f->x1 = x1;
  f->y0 = y0;
  f->y1 = y1;
  f->z = zc;
  return true;
}

// The z-buffer key of the fast and CUDA splats: positive floats order like their bit patterns, so
// (z bits, point index + 1) as one unsigned 64-bit word orders by z, then by index, as the
// reference's in-order strict test does; payload 0 (with z = +infinity) is "no point".
WL_RP_FN uint64_t splat_key(uint32_t z_bits, uint32_t payload) {
  return (uint64_t(z_bits) << 32) | uint64_t(payload);
}

}  // namespace reproject_math
}  // namespace wl
