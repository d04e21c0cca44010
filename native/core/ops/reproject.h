// Reprojection ops: a frame with per-pixel depth, seen by one pinhole camera, splatted into
// another camera with a z-buffer (docs/kernels.md, "Reprojection"). Two ops:
//   unproject: every pixel of a frame -> the world point its centre shows, and the size of the
//              surface patch it stands for;
//   splat:     world points -> an image, a depth buffer and a validity mask of any camera, the
//              nearest point winning each pixel (every output pixel is written).
// Reprojecting a frame is unproject then splat; the point cache (cache/point_cache.h) splats the
// points it keeps. Like every op: ref:: (plain loops, the definition), fast:: (threaded, no
// allocation) and the CUDA twin (native/cuda/reproject.cu, declared in cuda/cuda_ops.h). All three
// run the per-point arithmetic of reproject_math.h with contraction into FMA off
// (-ffp-contract=off, nvcc --fmad=false) and so give bit-identical outputs (tested). Both are rows
// of the op table (ops/op_table.h: UnprojectArgs, SplatArgs in ops/op_args.h) with cases in
// tests/op_cases.h.
#pragma once
#include <cstddef>
#include <cstdint>

#include "ops/ops.h"

namespace wl {

// A pinhole camera. Pixel (i, j) covers [i, i+1) x [j, j+1), its centre is (i + 0.5, j + 0.5).
// A world point P is seen at u = cx + fx * Xc / Zc, v = cy + fy * Yc / Zc with
// [Xc Yc Zc] = R P + t; world_to_camera = [R | t] row-major; R must be orthogonal (its
// transpose is used as its inverse). The ground-truth world publishes its cameras in this form
// (wl_world_camera).
struct PinholeCamera {
  int width = 0, height = 0;
  float fx = 0, fy = 0, cx = 0, cy = 0;
  float world_to_camera[12] = {0};
};

struct SplatParams {
  // Points with camera z at or below this are not drawn (behind or at the eye).
  float near_z = 1e-3f;
  // A point covers a square of (size * f / z) pixels a side, at most this many (a point just in
  // front of the eye would otherwise cover the frame) and at least the one pixel it falls in.
  float max_footprint = 8.f;
};

// Throws WL_ERR_INVALID_ARGUMENT naming `what` and the field when sizes are out of 1..16384 or a
// parameter is not finite (fx, fy <= 0 too).
void check_camera(const PinholeCamera& cam, const char* what);
void check_splat_params(const SplatParams& p, const char* what);

namespace ref {
// xyz [H*W*3]: the world point of each pixel centre at depth[p] (z along the camera's forward
// axis); size [H*W]: depth / max(fx, fy), the side of the patch one pixel covers on a surface
// facing the camera. Pixels whose depth is not finite and > 0 (the sky) get xyz = NaN, size 0:
// splat skips them.
void unproject(const PinholeCamera& cam, const float* depth, float* xyz, float* size);
// n points (xyz [n*3], size [n], rgb [n*3]) into cam's image: a point covers the pixels whose
// centres lie in its footprint; a pixel takes the point of smallest camera z, ties to the lower
// point index. Every output pixel is written: where no point landed rgb 0, depth +infinity,
// mask 0; elsewhere mask 255. n < 2^32 - 1.
void splat(const PinholeCamera& cam, const SplatParams& p, int64_t n, const float* xyz,
           const float* size, const uint8_t* rgb, uint8_t* out_rgb, float* out_depth,
           uint8_t* out_mask);
// unproject(src) then splat into dst; allocates (the definition the tests use).
void reproject(const PinholeCamera& src, const uint8_t* src_rgb, const float* src_depth,
               const PinholeCamera& dst, const SplatParams& p, uint8_t* out_rgb, float* out_depth,
               uint8_t* out_mask);
}  // namespace ref

namespace fast {
void unproject(const OpCtx& ctx, const PinholeCamera& cam, const float* depth, float* xyz,
               float* size);
// Scratch: one 64-bit key per output pixel (the z-buffer the threads race on).
size_t splat_scratch_floats(int width, int height);
void splat(const OpCtx& ctx, const PinholeCamera& cam, const SplatParams& p, int64_t n,
           const float* xyz, const float* size, const uint8_t* rgb, uint8_t* out_rgb,
           float* out_depth, uint8_t* out_mask);
}  // namespace fast

}  // namespace wl
