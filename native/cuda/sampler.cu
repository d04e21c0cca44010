// The sampler's per-world arithmetic (Euler updates, Fourier features of the noise level, Philox
// noise). Per-world scalars come from device memory, not kernel arguments, so a captured graph
// reads each frame's values: the backend refreshes that memory before every replay.
#include <cstdint>

#include "capi/error.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace wl {
namespace cuda {
namespace {

__global__ void scale_add_kernel(int batch, size_t per, const float* __restrict__ a, const float* x,
                                 const float* __restrict__ c, const float* z, float* y) {
  const size_t total = size_t(batch) * per;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < total;
       i += size_t(gridDim.x) * blockDim.x) {
    const size_t b = i / per;
    float v = a[b] * x[i];
    if (z) v = fmaf(c[b], z[i], v);
    y[i] = v;
  }
}

// Same operation order as train/modules.py FourierFeatures in f32: (2*pi * t) * f, then cos/sin.
__global__ void fourier_kernel(int batch, int half, const float* __restrict__ t,
                               const float* __restrict__ freqs, float* __restrict__ y) {
  const int total = batch * half;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const int b = i / half, j = i - b * half;
    const float f = (6.28318530717958647692f * t[b]) * freqs[j];
    y[size_t(b) * 2 * half + j] = cosf(f);
    y[size_t(b) * 2 * half + half + j] = sinf(f);
  }
}

// Philox-4x32-10 exactly as model/philox.cc (counter: block, step, frame lo, frame hi; key: seed).
__device__ __forceinline__ void philox(uint32_t c[4], uint32_t k0, uint32_t k1) {
#pragma unroll
  for (int r = 0; r < 10; ++r) {
    const uint32_t lo0 = 0xD2511F53u * c[0], hi0 = __umulhi(0xD2511F53u, c[0]);
    const uint32_t lo1 = 0xCD9E8D57u * c[2], hi1 = __umulhi(0xCD9E8D57u, c[2]);
    const uint32_t n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;
    c[0] = n0;
    c[1] = lo1;
    c[2] = n2;
    c[3] = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
}

__device__ __forceinline__ double unit24(uint32_t w) {
  return (double(w >> 8) + 0.5) * (1.0 / 16777216.0);
}

// One thread per block of four normals; Box-Muller in double, rounded once to f32 as on the CPU.
__global__ void philox_normal_kernel(int batch, size_t per, const uint64_t* __restrict__ seeds,
                                     const uint64_t* __restrict__ frames, uint32_t step,
                                     float* __restrict__ y) {
  const size_t blocks = (per + 3) / 4, total = size_t(batch) * blocks;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < total;
       i += size_t(gridDim.x) * blockDim.x) {
    const size_t b = i / blocks, blk = i - b * blocks;
    const uint64_t seed = seeds[b], frame = frames[b];
    uint32_t c[4] = {uint32_t(blk), step, uint32_t(frame), uint32_t(frame >> 32)};
    philox(c, uint32_t(seed), uint32_t(seed >> 32));
    double n[4];
#pragma unroll
    for (int pair = 0; pair < 2; ++pair) {
      const double r = sqrt(-2.0 * log(unit24(c[2 * pair])));
      const double th = 6.283185307179586476925286766559 * unit24(c[2 * pair + 1]);
      double s, co;
      sincos(th, &s, &co);
      n[2 * pair] = r * co;
      n[2 * pair + 1] = r * s;
    }
    float* yb = y + b * per + blk * 4;
    for (size_t j = 0; j < 4 && blk * 4 + j < per; ++j) yb[j] = float(n[j]);
  }
}

}  // namespace

void scale_add(const Ctx& ctx, int batch, size_t per, const float* a, const float* x,
               const float* c, const float* z, float* y) {
  if (batch <= 0 || per == 0) return;
  scale_add_kernel<<<blocks_for(batch * per, 256), 256, 0, stream_of(ctx.stream)>>>(batch, per, a,
                                                                                    x, c, z, y);
  check_launch("scale_add_kernel");
}

void fourier(const Ctx& ctx, int batch, int half, const float* t, const float* freqs, float* y) {
  if (batch <= 0 || half <= 0) return;
  fourier_kernel<<<blocks_for(size_t(batch) * half, 128), 128, 0, stream_of(ctx.stream)>>>(
      batch, half, t, freqs, y);
  check_launch("fourier_kernel");
}

void normal_noise(const Ctx& ctx, int batch, size_t per, const uint64_t* seeds,
                  const uint64_t* frames, uint32_t step, float* y) {
  if (batch <= 0 || per == 0) return;
  const size_t threads = size_t(batch) * ((per + 3) / 4);
  philox_normal_kernel<<<blocks_for(threads, 128), 128, 0, stream_of(ctx.stream)>>>(
      batch, per, seeds, frames, step, y);
  check_launch("philox_normal_kernel");
}

}  // namespace cuda
}  // namespace wl
