// GroupNorm on the GPU. Standalone: one kernel per call (statistics, then the normalised group).
// Fused before a convolution: gn_coeffs turns (mean, rstd, gamma, beta, adaptive scale/shift)
// into one affine pair per (sample, channel) and the convolution's loader applies a*x + b and
// SiLU while it gathers x, so the normalised tensor never round-trips through memory.
#include "cuda/cuda_ops.h"
#include "cuda/gn_coeffs.cuh"
#include "cuda/launch.cuh"

namespace wl {
namespace cuda {
namespace {

constexpr int kStatThreads = 256;

__device__ float block_sum(float v, float* red) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  __syncthreads();  // red may still be read by a previous call
  if (lane == 0) red[warp] = v;
  __syncthreads();
  float t = 0.0f;
  for (int i = 0; i < int(blockDim.x >> 5); ++i) t += red[i];
  return t;
}

// grid (groups, n). Two passes (mean, then squared deviations) for accuracy on large groups.
__global__ void gn_coeffs_kernel(int c, int hw, int groups, float eps, const float* __restrict__ x,
                                 const float* __restrict__ gamma, const float* __restrict__ beta,
                                 const float* __restrict__ scale, const float* __restrict__ shift,
                                 float* __restrict__ ca, float* __restrict__ cb) {
  __shared__ float red[32];
  __shared__ float stats[2];
  const int g = blockIdx.x, n = blockIdx.y, cpg = c / groups;
  const size_t count = size_t(cpg) * hw;
  const float* xg = x + (size_t(n) * c + size_t(g) * cpg) * hw;
  float s = 0.0f;
  for (size_t i = threadIdx.x; i < count; i += blockDim.x) s += xg[i];
  const float mean = block_sum(s, red) / float(count);
  float q = 0.0f;
  for (size_t i = threadIdx.x; i < count; i += blockDim.x) {
    float d = xg[i] - mean;
    q += d * d;
  }
  const float var = block_sum(q, red) / float(count);
  if (threadIdx.x == 0) {
    stats[0] = mean;
    stats[1] = 1.0f / sqrtf(var + eps);
  }
  __syncthreads();
  for (int j = threadIdx.x; j < cpg; j += blockDim.x) {
    const int ch = g * cpg + j;
    float a = stats[1] * (gamma ? gamma[ch] : 1.0f);
    float b = (beta ? beta[ch] : 0.0f) - stats[0] * a;
    if (scale) {
      const float k = 1.0f + scale[size_t(n) * c + ch];
      a *= k;
      b *= k;
    }
    if (shift) b += shift[size_t(n) * c + ch];
    ca[size_t(n) * c + ch] = a;
    cb[size_t(n) * c + ch] = b;
  }
}

// Standalone GroupNorm: one CTA per (group, sample) computes the statistics and writes the
// normalised group in the same kernel (no scratch, one launch). y may alias x.
__global__ void group_norm_kernel(int c, int hw, int groups, float eps, int silu, const float* x,
                                  const float* __restrict__ gamma, const float* __restrict__ beta,
                                  const float* __restrict__ scale, const float* __restrict__ shift,
                                  float* y) {
  __shared__ float red[32];
  const int g = blockIdx.x, n = blockIdx.y, cpg = c / groups;
  const size_t count = size_t(cpg) * hw;
  const size_t base = (size_t(n) * c + size_t(g) * cpg) * hw;
  float s = 0.0f;
  for (size_t i = threadIdx.x; i < count; i += blockDim.x) s += x[base + i];
  const float mean = block_sum(s, red) / float(count);
  float q = 0.0f;
  for (size_t i = threadIdx.x; i < count; i += blockDim.x) {
    float d = x[base + i] - mean;
    q += d * d;
  }
  const float rstd = 1.0f / sqrtf(block_sum(q, red) / float(count) + eps);
  for (size_t i = threadIdx.x; i < count; i += blockDim.x) {
    const int ch = g * cpg + int(i / hw);
    float a = rstd * (gamma ? gamma[ch] : 1.0f);
    float b = (beta ? beta[ch] : 0.0f) - mean * a;
    if (scale) {
      const float k = 1.0f + scale[size_t(n) * c + ch];
      a *= k;
      b *= k;
    }
    if (shift) b += shift[size_t(n) * c + ch];
    const float v = fmaf(x[base + i], a, b);
    y[base + i] = silu ? silu_f(v) : v;
  }
}

}  // namespace

void gn_coeffs(const Ctx& ctx, const GroupNormShape& s, const float* x, const GroupNormParams& p,
               float* ca, float* cb) {
  if (s.groups <= 0 || s.c % s.groups != 0) {
    throw Error(WL_ERR_INVALID_ARGUMENT, "cuda::group_norm: groups must divide channels");
  }
  dim3 grid(s.groups, s.n);
  gn_coeffs_kernel<<<grid, kStatThreads, 0, stream_of(ctx.stream)>>>(
      s.c, s.hw, s.groups, s.eps, x, p.gamma, p.beta, p.scale, p.shift, ca, cb);
  check_launch("gn_coeffs_kernel");
}

void group_norm(const Ctx& ctx, const GroupNormShape& s, const float* x, const GroupNormParams& p,
                float* y) {
  if (s.groups <= 0 || s.c % s.groups != 0) {
    throw Error(WL_ERR_INVALID_ARGUMENT, "cuda::group_norm: groups must divide channels");
  }
  if (size_t(s.n) * s.c * s.hw == 0) return;
  dim3 grid(s.groups, s.n);
  group_norm_kernel<<<grid, kStatThreads, 0, stream_of(ctx.stream)>>>(
      s.c, s.hw, s.groups, s.eps, p.silu ? 1 : 0, x, p.gamma, p.beta, p.scale, p.shift, y);
  check_launch("group_norm_kernel");
}

}  // namespace cuda
}  // namespace wl
