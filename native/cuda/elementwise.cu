// Memory-bound ops: SiLU, add, channel concat, nearest x2 upsample, RGB conversions.
#include <cstdint>

#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace wl {
namespace cuda {
namespace {

__global__ void silu_kernel(size_t n, const float* __restrict__ x, float* __restrict__ y) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x)
    y[i] = silu_f(x[i]);
}

__global__ void add_kernel(size_t n, const float* a, const float* b, float* y) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x)
    y[i] = a[i] + b[i];
}

__global__ void concat_kernel(int n, int ca, int cb, int hw, const float* __restrict__ a,
                              const float* __restrict__ b, float* __restrict__ y) {
  const size_t per = size_t(ca + cb) * hw;
  const size_t total = per * n;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < total;
       i += size_t(gridDim.x) * blockDim.x) {
    size_t s = i / per, r = i - s * per;
    size_t split = size_t(ca) * hw;
    y[i] = r < split ? a[s * split + r] : b[s * size_t(cb) * hw + (r - split)];
  }
}

__global__ void upsample2x_kernel(int planes, int h, int w, const float* __restrict__ x,
                                  float* __restrict__ y) {
  const int oh = 2 * h, ow = 2 * w;
  const size_t total = size_t(planes) * oh * ow;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < total;
       i += size_t(gridDim.x) * blockDim.x) {
    size_t p = i / (size_t(oh) * ow);
    int r = int(i - p * oh * ow);
    int oy = r / ow, ox = r - oy * ow;
    y[i] = x[(p * h + (oy >> 1)) * w + (ox >> 1)];
  }
}

// As ref::rgb_f32_to_u8: round-half-away-from-zero of clamp((x + 1) * 127.5, 0, 255); NaN -> 0.
__device__ __forceinline__ uint8_t to_u8(float x) {
  float v = (x + 1.0f) * 127.5f;
  if (!(v > 0.0f)) v = 0.0f;
  if (v > 255.0f) v = 255.0f;
  return static_cast<uint8_t>(roundf(v));
}

__global__ void rgb_f32_to_u8_kernel(int n, int h, int w, const float* __restrict__ x,
                                     uint8_t* __restrict__ y) {
  const size_t hw = size_t(h) * w, total = size_t(n) * hw;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < total;
       i += size_t(gridDim.x) * blockDim.x) {
    size_t b = i / hw, p = i - b * hw;
    const float* xb = x + b * 3 * hw;
    uint8_t* o = y + i * 3;
    o[0] = to_u8(xb[p]);
    o[1] = to_u8(xb[hw + p]);
    o[2] = to_u8(xb[2 * hw + p]);
  }
}

__global__ void rgb_u8_to_f32_kernel(int n, int h, int w, const uint8_t* __restrict__ x,
                                     float* __restrict__ y) {
  const size_t hw = size_t(h) * w, total = size_t(n) * hw;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < total;
       i += size_t(gridDim.x) * blockDim.x) {
    size_t b = i / hw, p = i - b * hw;
    float* yb = y + b * 3 * hw;
    const uint8_t* px = x + i * 3;
    yb[p] = px[0] / 127.5f - 1.0f;
    yb[hw + p] = px[1] / 127.5f - 1.0f;
    yb[2 * hw + p] = px[2] / 127.5f - 1.0f;
  }
}

constexpr unsigned kThreads = 256;

}  // namespace

void silu(const Ctx& ctx, size_t n, const float* x, float* y) {
  if (n == 0) return;
  silu_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream_of(ctx.stream)>>>(n, x, y);
  check_launch("silu_kernel");
}

void add(const Ctx& ctx, size_t n, const float* a, const float* b, float* y) {
  if (n == 0) return;
  add_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream_of(ctx.stream)>>>(n, a, b, y);
  check_launch("add_kernel");
}

void concat_channels(const Ctx& ctx, int n, int ca, int cb, int hw, const float* a,
                     const float* b, float* y) {
  size_t total = size_t(n) * (ca + cb) * hw;
  if (total == 0) return;
  concat_kernel<<<blocks_for(total, kThreads), kThreads, 0, stream_of(ctx.stream)>>>(n, ca, cb,
                                                                                     hw, a, b, y);
  check_launch("concat_kernel");
}

void upsample_nearest2x(const Ctx& ctx, int n, int c, int h, int w, const float* x, float* y) {
  size_t total = size_t(n) * c * 4 * h * w;
  if (total == 0) return;
  upsample2x_kernel<<<blocks_for(total, kThreads), kThreads, 0, stream_of(ctx.stream)>>>(
      n * c, h, w, x, y);
  check_launch("upsample2x_kernel");
}

void rgb_f32_to_u8(const Ctx& ctx, int n, int h, int w, const float* x, uint8_t* y) {
  size_t total = size_t(n) * h * w;
  if (total == 0) return;
  rgb_f32_to_u8_kernel<<<blocks_for(total, kThreads), kThreads, 0, stream_of(ctx.stream)>>>(
      n, h, w, x, y);
  check_launch("rgb_f32_to_u8_kernel");
}

void rgb_u8_to_f32(const Ctx& ctx, int n, int h, int w, const uint8_t* x, float* y) {
  size_t total = size_t(n) * h * w;
  if (total == 0) return;
  rgb_u8_to_f32_kernel<<<blocks_for(total, kThreads), kThreads, 0, stream_of(ctx.stream)>>>(
      n, h, w, x, y);
  check_launch("rgb_u8_to_f32_kernel");
}

const char* precision_name(Precision p) { return p == Precision::BF16 ? "bf16" : "f32"; }

}  // namespace cuda
}  // namespace wl
