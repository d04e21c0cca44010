// Reprojection ops on the GPU (declared in cuda/cuda_ops.h). splat resolves its z-buffer with a
// 64-bit atomicMin on (z bits, point index + 1), as the fast CPU op does, so the winner of every
// pixel is the reference's whatever order the threads run in; a second kernel copies the winners'
// colours. This file is compiled with --fmad=false (native/CMakeLists.txt) so the arithmetic of
// ops/reproject_math.h rounds exactly as on the CPU.
#include <cstdint>
#include <string>

#include "capi/error.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"
#include "ops/reproject_math.h"

namespace wl {
namespace cuda {
namespace {

constexpr unsigned kThreads = 256;

struct CamArgs {
  float m[12];
  float fx, fy, cx, cy;
  int w, h;
};

CamArgs cam_args(const PinholeCamera& c) {
  CamArgs a;
  for (int i = 0; i < 12; ++i) a.m[i] = c.world_to_camera[i];
  a.fx = c.fx;
  a.fy = c.fy;
  a.cx = c.cx;
  a.cy = c.cy;
  a.w = c.width;
  a.h = c.height;
  return a;
}

__global__ void unproject_kernel(CamArgs c, float inv_f, const float* __restrict__ depth,
                                 float* __restrict__ xyz, float* __restrict__ size) {
  const size_t total = size_t(c.w) * c.h;
  for (size_t p = blockIdx.x * size_t(blockDim.x) + threadIdx.x; p < total;
       p += size_t(gridDim.x) * blockDim.x) {
    const int j = int(p / c.w), i = int(p - size_t(j) * c.w);
    const float z = depth[p];
    if (z > 0.f && z < __int_as_float(0x7f800000)) {
      reproject_math::unproject_pixel(c.m, c.fx, c.fy, c.cx, c.cy, i, j, z, xyz + p * 3);
      size[p] = z * inv_f;
    } else {
      const float nan = __int_as_float(0x7fc00000);
      xyz[p * 3] = nan;
      xyz[p * 3 + 1] = nan;
      xyz[p * 3 + 2] = nan;
      size[p] = 0.f;
    }
  }
}

__global__ void splat_init_kernel(size_t pixels, unsigned long long* __restrict__ keys) {
  for (size_t p = blockIdx.x * size_t(blockDim.x) + threadIdx.x; p < pixels;
       p += size_t(gridDim.x) * blockDim.x)
    keys[p] = reproject_math::splat_key(0x7f800000u, 0);  // +infinity, no point
}

__global__ void splat_points_kernel(CamArgs c, float near_z, float max_fp, int64_t n,
                                    const float* __restrict__ xyz, const float* __restrict__ size,
                                    unsigned long long* __restrict__ keys) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    reproject_math::Footprint f;
    if (!reproject_math::project_point(c.m, c.fx, c.fy, c.cx, c.cy, c.w, c.h, near_z, max_fp,
                                       xyz + i * 3, size[i], &f))
      continue;
    const unsigned long long key = reproject_math::splat_key(__float_as_uint(f.z), uint32_t(i + 1));
    for (int y = f.y0; y <= f.y1; ++y)
      for (int x = f.x0; x <= f.x1; ++x) atomicMin(keys + size_t(y) * c.w + x, key);
  }
}

__global__ void splat_resolve_kernel(size_t pixels, const unsigned long long* __restrict__ keys,
                                     const uint8_t* __restrict__ rgb, uint8_t* __restrict__ out_rgb,
                                     float* __restrict__ out_depth,
                                     uint8_t* __restrict__ out_mask) {
  for (size_t p = blockIdx.x * size_t(blockDim.x) + threadIdx.x; p < pixels;
       p += size_t(gridDim.x) * blockDim.x) {
    const unsigned long long key = keys[p];
    const uint32_t payload = uint32_t(key & 0xFFFFFFFFull);
    out_depth[p] = __uint_as_float(uint32_t(key >> 32));
    if (payload == 0) {
      out_rgb[p * 3] = out_rgb[p * 3 + 1] = out_rgb[p * 3 + 2] = 0;
      out_mask[p] = 0;
      continue;
    }
    const size_t s = size_t(payload - 1) * 3;
    out_rgb[p * 3] = rgb[s];
    out_rgb[p * 3 + 1] = rgb[s + 1];
    out_rgb[p * 3 + 2] = rgb[s + 2];
    out_mask[p] = 255;
  }
}

}  // namespace

void unproject(const Ctx& ctx, const PinholeCamera& cam, const float* depth, float* xyz,
               float* size) {
  check_camera(cam, "cuda unproject");
  const float inv_f = 1.f / (cam.fx > cam.fy ? cam.fx : cam.fy);
  const size_t total = size_t(cam.width) * cam.height;
  unproject_kernel<<<blocks_for(total, kThreads), kThreads, 0, stream_of(ctx.stream)>>>(
      cam_args(cam), inv_f, depth, xyz, size);
  check_launch("unproject_kernel");
}

size_t splat_scratch_bytes(int width, int height) {
  return kSplitCounterBytes + size_t(width) * size_t(height) * sizeof(unsigned long long);
}

void splat(const Ctx& ctx, const PinholeCamera& cam, const SplatParams& p, int64_t n,
           const float* xyz, const float* size, const uint8_t* rgb, uint8_t* out_rgb,
           float* out_depth, uint8_t* out_mask) {
  check_camera(cam, "cuda splat");
  check_splat_params(p, "cuda splat");
  if (n < 0 || n >= int64_t(0xFFFFFFFFu))
    throw Error(WL_ERR_INVALID_ARGUMENT, "cuda splat: point count is outside 0..2^32-2");
  const size_t need = splat_scratch_bytes(cam.width, cam.height);
  if (!ctx.scratch || ctx.scratch_bytes < need) {
    throw Error(WL_ERR_INVALID_ARGUMENT, "cuda splat: scratch of " +
                                             std::to_string(ctx.scratch_bytes) + " bytes, needs " +
                                             std::to_string(need));
  }
  // kSplitCounterBytes is a multiple of 8, so the keys are 8-byte aligned.
  auto* keys =
      reinterpret_cast<unsigned long long*>(static_cast<char*>(ctx.scratch) + kSplitCounterBytes);
  const size_t pixels = size_t(cam.width) * cam.height;
  const cudaStream_t s = stream_of(ctx.stream);
  splat_init_kernel<<<blocks_for(pixels, kThreads), kThreads, 0, s>>>(pixels, keys);
  check_launch("splat_init_kernel");
  if (n > 0) {
    splat_points_kernel<<<blocks_for(size_t(n), kThreads), kThreads, 0, s>>>(
        cam_args(cam), p.near_z, p.max_footprint, n, xyz, size, keys);
    check_launch("splat_points_kernel");
  }
  splat_resolve_kernel<<<blocks_for(pixels, kThreads), kThreads, 0, s>>>(pixels, keys, rgb, out_rgb,
                                                                         out_depth, out_mask);
  check_launch("splat_resolve_kernel");
}

}  // namespace cuda
}  // namespace wl
