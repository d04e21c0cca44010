// GroupNorm on the GPU. Standalone: one kernel per call (statistics, then the normalised group).
// Fused before a convolution: gn_coeffs turns (mean, rstd, gamma, beta, adaptive scale/shift)
// into one affine pair per (sample, channel) and the convolution's loader applies a*x + b and
// SiLU while it gathers x, so the normalised tensor never round-trips through memory.
#include <algorithm>

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

// Writes the affine pairs of group g of sample n from its mean and rstd.
__device__ void write_coeffs(int c, int cpg, int g, int n, float mean, float rstd,
                             const float* __restrict__ gamma, const float* __restrict__ beta,
                             const float* __restrict__ scale, const float* __restrict__ shift,
                             float* __restrict__ ca, float* __restrict__ cb) {
  for (int j = threadIdx.x; j < cpg; j += blockDim.x) {
    const int ch = g * cpg + j;
    float a = rstd * (gamma ? gamma[ch] : 1.0f);
    float b = (beta ? beta[ch] : 0.0f) - mean * a;
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

// grid (parts, groups, n). Each CTA takes one contiguous part of a group and computes its mean and
// sum of squared deviations in two passes (accurate on large groups). With one part it writes the
// coefficients directly; otherwise the last CTA of the group to finish (arrival counter, reset
// after use) merges the parts in part order with Chan's formula — deterministic — and writes them.
// Splitting matters at batch 1 on big frames: 8 groups of 32K values would otherwise be 8 CTAs.
__global__ void gn_coeffs_kernel(int c, int hw, int groups, int parts, float eps,
                                 const float* __restrict__ x, const float* __restrict__ gamma,
                                 const float* __restrict__ beta, const float* __restrict__ scale,
                                 const float* __restrict__ shift, float* __restrict__ ca,
                                 float* __restrict__ cb, float* partial, int* counters) {
  __shared__ float red[32];
  __shared__ int last;
  const int part = blockIdx.x, g = blockIdx.y, n = blockIdx.z, cpg = c / groups;
  const long count = long(cpg) * hw;
  const long per = (count + parts - 1) / parts;
  const long begin = min(count, part * per), end = min(count, begin + per);
  const float* xg = x + (size_t(n) * c + size_t(g) * cpg) * hw;
  float s = 0.0f;
  for (long i = begin + threadIdx.x; i < end; i += blockDim.x) s += xg[i];
  const float total = block_sum(s, red);  // every thread calls it: it synchronises the CTA
  const float mean = end > begin ? total / float(end - begin) : 0.0f;
  float q = 0.0f;
  for (long i = begin + threadIdx.x; i < end; i += blockDim.x) {
    const float d = xg[i] - mean;
    q += d * d;
  }
  const float m2 = block_sum(q, red);
  if (parts == 1) {
    write_coeffs(c, cpg, g, n, mean, 1.0f / sqrtf(m2 / float(count) + eps), gamma, beta, scale,
                 shift, ca, cb);
    return;
  }
  float* mine = partial + ((size_t(n) * groups + g) * parts + part) * 2;
  if (threadIdx.x == 0) {
    mine[0] = mean;
    mine[1] = m2;
    __threadfence();
    int* ctr = counters + n * groups + g;
    last = atomicAdd(ctr, 1) == parts - 1;
    if (last) *ctr = 0;
  }
  __syncthreads();
  if (!last) return;
  __threadfence();
  const float* all = partial + (size_t(n) * groups + g) * parts * 2;
  double na = 0.0, ma = 0.0, m2a = 0.0;  // merged so far (every thread does the same tiny loop)
  for (int k = 0; k < parts; ++k) {
    const long b0 = min(count, k * per), b1 = min(count, b0 + per);
    const double nb = double(b1 - b0);
    if (nb == 0.0) continue;
    const double mb = __ldcg(all + 2 * k), m2b = __ldcg(all + 2 * k + 1);
    const double nn = na + nb, delta = mb - ma;
    ma += delta * nb / nn;
    m2a += m2b + delta * delta * na * nb / nn;
    na = nn;
  }
  write_coeffs(c, cpg, g, n, float(ma), float(1.0 / sqrt(m2a / double(count) + double(eps))),
               gamma, beta, scale, shift, ca, cb);
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

int gn_parts(const GroupNormShape& s) {
  if (s.groups <= 0 || s.c % s.groups != 0) return 1;  // rejected by gn_coeffs itself
  const long count = long(s.c / s.groups) * s.hw;
  // ~4K values per CTA; no split when the groups alone give enough CTAs or the counter block
  // (shared with the convolutions' split-K, cuda_ops.h) cannot index every (sample, group).
  long parts = std::min(32L, std::max(1L, count / 4096));
  if (long(s.n) * s.groups >= 256 || size_t(s.n) * s.groups * sizeof(int) > kSplitCounterBytes)
    parts = 1;
  return int(parts);
}

size_t gn_coeffs_bytes(const GroupNormShape& s) {
  size_t b = (size_t(2) * s.n * s.c * sizeof(float) + 255) / 256 * 256;
  const int parts = gn_parts(s);
  if (parts > 1) b += (size_t(2) * s.n * s.groups * parts * sizeof(float) + 255) / 256 * 256;
  return b;
}

void gn_coeffs(const Ctx& ctx, const GroupNormShape& s, const float* x, const GroupNormParams& p,
               void* mem, int* counters, float** ca, float** cb) {
  if (s.groups <= 0 || s.c % s.groups != 0) {
    throw Error(WL_ERR_INVALID_ARGUMENT, "cuda::group_norm: groups must divide channels");
  }
  *ca = static_cast<float*>(mem);
  *cb = *ca + size_t(s.n) * s.c;
  const int parts = gn_parts(s);
  float* partial = reinterpret_cast<float*>(
      static_cast<char*>(mem) + (size_t(2) * s.n * s.c * sizeof(float) + 255) / 256 * 256);
  dim3 grid(parts, s.groups, s.n);
  gn_coeffs_kernel<<<grid, kStatThreads, 0, stream_of(ctx.stream)>>>(
      s.c, s.hw, s.groups, parts, s.eps, x, p.gamma, p.beta, p.scale, p.shift, *ca, *cb, partial,
      counters);
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
