// Multi-head self-attention over the T = H*W tokens of a latent level, one pass with an online
// softmax (running max and sum, rescaled per key tile), so the T x T score matrix never exists.
// A CTA owns 16 queries of one (world, head); K and V stream through shared memory 32 keys at a
// time. For scores a lane owns a key; for the output a lane owns head dimensions. f32 throughout:
// at T <= 256 tokens this op is a few microseconds and precision costs nothing here.
#include <cmath>

#include "capi/error.h"
#include "cuda/cuda_ops.h"
#include "cuda/launch.cuh"

namespace wl {
namespace cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kQueriesPerWarp = 4;
constexpr int kQueries = kWarps * kQueriesPerWarp;
constexpr int kKeys = 32;

template <int DL>  // head dimensions per lane: d <= 32 * DL
__global__ void __launch_bounds__(32 * kWarps)
    attention_kernel(int c, int t, int d, float scale, const float* __restrict__ qkv,
                     float* __restrict__ y) {
  extern __shared__ float smem[];
  float* qs = smem;                    // [kQueries][d]
  float* ks = qs + kQueries * d;       // [kKeys][d + 1] (padded: lane j reads row j)
  float* vs = ks + kKeys * (d + 1);    // [kKeys][d]
  const int q0 = blockIdx.x * kQueries, h = blockIdx.y, n = blockIdx.z;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const float* qb = qkv + (size_t(n) * 3 * c + size_t(h) * d) * t;
  const float* kb = qb + size_t(c) * t;
  const float* vb = kb + size_t(c) * t;

  for (int e = threadIdx.x; e < kQueries * d; e += blockDim.x) {
    const int dd = e / kQueries, i = e - dd * kQueries;
    qs[i * d + dd] = q0 + i < t ? qb[size_t(dd) * t + q0 + i] * scale : 0.0f;
  }

  float m[kQueriesPerWarp], l[kQueriesPerWarp], acc[kQueriesPerWarp][DL];
#pragma unroll
  for (int qi = 0; qi < kQueriesPerWarp; ++qi) {
    m[qi] = -INFINITY;
    l[qi] = 0.0f;
#pragma unroll
    for (int x = 0; x < DL; ++x) acc[qi][x] = 0.0f;
  }

  for (int k0 = 0; k0 < t; k0 += kKeys) {
    __syncthreads();  // previous tile fully consumed (and qs written, on the first pass)
    for (int e = threadIdx.x; e < kKeys * d; e += blockDim.x) {
      const int dd = e / kKeys, j = e - dd * kKeys;
      const bool ok = k0 + j < t;
      ks[j * (d + 1) + dd] = ok ? kb[size_t(dd) * t + k0 + j] : 0.0f;
      vs[j * d + dd] = ok ? vb[size_t(dd) * t + k0 + j] : 0.0f;
    }
    __syncthreads();
    const bool key_ok = k0 + lane < t;
#pragma unroll
    for (int qi = 0; qi < kQueriesPerWarp; ++qi) {
      const float* q = qs + (warp * kQueriesPerWarp + qi) * d;
      const float* kr = ks + lane * (d + 1);
      float s = 0.0f;
      for (int dd = 0; dd < d; ++dd) s = fmaf(q[dd], kr[dd], s);
      s = key_ok ? s : -INFINITY;
      float mt = s;
      for (int off = 16; off > 0; off >>= 1) mt = fmaxf(mt, __shfl_xor_sync(0xffffffffu, mt, off));
      const float m_new = fmaxf(m[qi], mt);  // finite: key k0 is always valid
      const float p = key_ok ? expf(s - m_new) : 0.0f;
      const float corr = expf(m[qi] - m_new);  // exp(-inf) = 0 on the first tile
      float ps = p;
      for (int off = 16; off > 0; off >>= 1) ps += __shfl_xor_sync(0xffffffffu, ps, off);
      l[qi] = l[qi] * corr + ps;
#pragma unroll
      for (int x = 0; x < DL; ++x) acc[qi][x] *= corr;
      for (int j = 0; j < kKeys; ++j) {
        const float pj = __shfl_sync(0xffffffffu, p, j);
#pragma unroll
        for (int x = 0; x < DL; ++x) {
          const int dd = lane + 32 * x;
          if (dd < d) acc[qi][x] = fmaf(pj, vs[j * d + dd], acc[qi][x]);
        }
      }
      m[qi] = m_new;
    }
  }

  float* yb = y + (size_t(n) * c + size_t(h) * d) * t;
#pragma unroll
  for (int qi = 0; qi < kQueriesPerWarp; ++qi) {
    const int q = q0 + warp * kQueriesPerWarp + qi;
    if (q >= t) continue;
    const float inv = 1.0f / l[qi];
#pragma unroll
    for (int x = 0; x < DL; ++x) {
      const int dd = lane + 32 * x;
      if (dd < d) yb[size_t(dd) * t + q] = acc[qi][x] * inv;
    }
  }
}

}  // namespace

void attention(const Ctx& ctx, const AttentionShape& s, const float* qkv, float* y) {
  if (s.n <= 0 || s.c <= 0 || s.t <= 0 || s.heads <= 0 || s.c % s.heads != 0) {
    throw Error(WL_ERR_INVALID_ARGUMENT, "cuda::attention: bad shape (heads must divide channels)");
  }
  const int d = s.c / s.heads;
  if (d > 128) throw Error(WL_ERR_UNSUPPORTED, "cuda::attention: head dim > 128");
  const float scale = 1.0f / std::sqrt(float(d));
  const size_t smem = sizeof(float) * (size_t(kQueries) * d + size_t(kKeys) * (d + 1) + size_t(kKeys) * d);
  dim3 grid((s.t + kQueries - 1) / kQueries, s.heads, s.n);
  cudaStream_t st = stream_of(ctx.stream);
  const int dl = (d + 31) / 32;
  switch (dl) {
    case 1: attention_kernel<1><<<grid, 32 * kWarps, smem, st>>>(s.c, s.t, d, scale, qkv, y); break;
    case 2: attention_kernel<2><<<grid, 32 * kWarps, smem, st>>>(s.c, s.t, d, scale, qkv, y); break;
    case 3: attention_kernel<3><<<grid, 32 * kWarps, smem, st>>>(s.c, s.t, d, scale, qkv, y); break;
    default: attention_kernel<4><<<grid, 32 * kWarps, smem, st>>>(s.c, s.t, d, scale, qkv, y); break;
  }
  check_launch("attention_kernel");
}

}  // namespace cuda
}  // namespace wl
