// Convolutions as implicit GEMM: M = output channels, N = output pixels of all worlds in the batch
// (so B worlds make one wider product, not B launches), K = Cin * k * k in PyTorch's weight order.
// x is never unfolded in memory: each thread gathers its pixel's K-slice straight from NCHW x,
// applies the fused GroupNorm affine + SiLU when asked (gn_silu_conv2d), and feeds the product.
//
// BF16 path: tensor cores (WMMA 16x16x16, bf16 operands, f32 accumulation). A CTA owns a 64x32
// output tile; its 4 warps each take every 4th K-chunk of 16 and the partial tiles are summed
// through shared memory. When the tiles alone cannot fill the GPU (batch 1 on a 16x16 latent is
// 24 tiles for 132 SMs) the K range is also split across CTAs: each writes its partial tile to a
// workspace and bumps a per-tile counter; the CTA that arrives last sums the partials in split
// order and applies the epilogue (no extra reduction launch, and the counter is reset for the next
// launch, so it works inside a replayed graph). Every sum runs in a fixed order: results are
// bitwise reproducible run to run.
//
// F32 path: the same gather on plain FMAs, for reference-grade results.
#include <cuda_bf16.h>
#include <mma.h>

#include <cstring>

#include "capi/error.h"
#include "cuda/cuda_ops.h"
#include "cuda/gn_coeffs.cuh"
#include "cuda/launch.cuh"

namespace wl {
namespace cuda {
namespace {

constexpr int kBM = 64;  // output channels per tile
constexpr int kBN = 32;  // output pixels per tile (one per lane)
constexpr int kBK = 16;  // K per chunk
constexpr int kWarpsK = 4;

struct ConvArgs {
  const float* x;
  const void* wt;  // packed weights
  const float* bias;
  const float* residual;
  float* y;
  float* ws;        // split-K partials [splits][n*cout*ohw], or null when not split
  int* counters;    // split-K arrivals per output tile (zero between launches)
  const float* ga;  // fused GroupNorm affine [n*cin] (null: plain conv)
  const float* gb;
  int silu;
  int n, cin, h, w, cout, oh, ow, pad;
  int K, Kpad;
  int ptot;    // n * oh * ow
  int chunks;  // Kpad / kBK
  int chunks_per_split;
};

int round_up(int v, int m) { return (v + m - 1) / m * m; }

// Where one output pixel reads its input from.
struct Pix {
  const float* xb;
  const float* ga;
  const float* gb;
  int iy0, ix0;
  bool valid;
};

template <int KS, int S>
__device__ __forceinline__ Pix make_pix(const ConvArgs& a, int p) {
  Pix px;
  px.valid = p < a.ptot;
  const int ohw = a.oh * a.ow;
  const int q = px.valid ? p : 0;
  const int nb = q / ohw, r = q - nb * ohw;
  const int oy = r / a.ow, ox = r - oy * a.ow;
  px.xb = a.x + size_t(nb) * a.cin * a.h * a.w;
  px.ga = a.ga ? a.ga + size_t(nb) * a.cin : nullptr;
  px.gb = a.gb ? a.gb + size_t(nb) * a.cin : nullptr;
  px.iy0 = oy * S - a.pad;
  px.ix0 = ox * S - a.pad;
  return px;
}

// x value at K index (ci, ky, kx) for this pixel, after the optional GroupNorm affine + SiLU.
// Padding is zero *after* normalisation, as in PyTorch (conv of the normalised tensor).
template <bool GN>
__device__ __forceinline__ float load_x(const ConvArgs& a, const Pix& px, int ci, int ky, int kx) {
  if (!px.valid || ci >= a.cin) return 0.0f;
  const int iy = px.iy0 + ky, ix = px.ix0 + kx;
  if (unsigned(iy) >= unsigned(a.h) || unsigned(ix) >= unsigned(a.w)) return 0.0f;
  float v = __ldg(px.xb + (size_t(ci) * a.h + iy) * a.w + ix);
  if (GN) {
    v = fmaf(v, __ldg(px.ga + ci), __ldg(px.gb + ci));
    if (a.silu) v = silu_f(v);
  }
  return v;
}

// 16 consecutive K values starting at chunk c (K order: ci, then ky, then kx).
template <int KS, bool GN>
__device__ __forceinline__ void load_chunk(const ConvArgs& a, const Pix& px, int c, float (&v)[kBK]) {
  const int k = c * kBK;
  int ci = k / (KS * KS);
  int r = k - ci * KS * KS;
  int ky = r / KS, kx = r - (r / KS) * KS;
#pragma unroll
  for (int kk = 0; kk < kBK; ++kk) {
    v[kk] = load_x<GN>(a, px, ci, ky, kx);
    if (++kx == KS) {
      kx = 0;
      if (++ky == KS) {
        ky = 0;
        ++ci;
      }
    }
  }
}

// Writes one output (or one split's partial) with the epilogue.
__device__ __forceinline__ void store_out(const ConvArgs& a, int co, int p, float v) {
  if (co >= a.cout || p >= a.ptot) return;
  const int ohw = a.oh * a.ow;
  const int nb = p / ohw, r = p - nb * ohw;
  const size_t idx = (size_t(nb) * a.cout + co) * ohw + r;
  if (a.ws) {
    a.ws[size_t(blockIdx.z) * size_t(a.ptot) * a.cout + idx] = v;
    return;
  }
  if (a.bias) v += __ldg(a.bias + co);
  if (a.residual) v += a.residual[idx];
  a.y[idx] = v;
}

// Split-K only: called by every thread of a CTA after it stored its partial tile. The last CTA to
// arrive for this (m, n) tile sums all partials in split order and writes y with the epilogue.
__device__ void finish_split(const ConvArgs& a, int m0, int p0) {
  __shared__ int last;
  __threadfence();  // this CTA's partials are visible device-wide before the arrival counts
  __syncthreads();
  if (threadIdx.x == 0) {
    int* ctr = a.counters + blockIdx.y * gridDim.x + blockIdx.x;
    const int arrived = atomicAdd(ctr, 1);
    last = arrived == int(gridDim.z) - 1;
    if (last) *ctr = 0;  // every split has arrived: ready for the next launch
  }
  __syncthreads();
  if (!last) return;
  __threadfence();
  const int ohw = a.oh * a.ow;
  const size_t total = size_t(a.ptot) * a.cout;
  for (int e = threadIdx.x; e < kBM * kBN; e += blockDim.x) {
    const int m = e / kBN, j = e - m * kBN;
    const int co = m0 + m, p = p0 + j;
    if (co >= a.cout || p >= a.ptot) continue;
    const int nb = p / ohw, r = p - nb * ohw;
    const size_t idx = (size_t(nb) * a.cout + co) * ohw + r;
    float v = 0.0f;
    for (int z = 0; z < int(gridDim.z); ++z) v += __ldcg(a.ws + size_t(z) * total + idx);
    if (a.bias) v += __ldg(a.bias + co);
    if (a.residual) v += a.residual[idx];
    a.y[idx] = v;
  }
}

template <int KS, int S, bool GN>
__global__ void __launch_bounds__(32 * kWarpsK) conv_bf16_kernel(ConvArgs a) {
  using namespace nvcuda;
  __shared__ __align__(32) __nv_bfloat16 bs[kWarpsK][2][kBK * kBN];
  __shared__ __align__(32) float stage[kWarpsK][kBM * kBN];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int m0 = blockIdx.y * kBM, p0 = blockIdx.x * kBN;
  const Pix px = make_pix<KS, S>(a, p0 + lane);
  const __nv_bfloat16* w = static_cast<const __nv_bfloat16*>(a.wt);

  const int cbeg = blockIdx.z * a.chunks_per_split;
  const int cend = min(a.chunks, cbeg + a.chunks_per_split);

  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[kBM / 16][kBN / 16];
#pragma unroll
  for (int i = 0; i < kBM / 16; ++i)
#pragma unroll
    for (int j = 0; j < kBN / 16; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

  float v[kBK];
  int c = cbeg + warp;
  if (c < cend) load_chunk<KS, GN>(a, px, c, v);
  int buf = 0;
  for (; c < cend; c += kWarpsK) {
    __nv_bfloat16* b = bs[warp][buf];
#pragma unroll
    for (int kk = 0; kk < kBK; ++kk) b[kk * kBN + lane] = __float2bfloat16_rn(v[kk]);
    __syncwarp();
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> af[kBM / 16];
    wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> bf[kBN / 16];
#pragma unroll
    for (int i = 0; i < kBM / 16; ++i)
      wmma::load_matrix_sync(af[i], w + size_t(m0 + 16 * i) * a.Kpad + c * kBK, a.Kpad);
#pragma unroll
    for (int j = 0; j < kBN / 16; ++j) wmma::load_matrix_sync(bf[j], b + 16 * j, kBN);
    // Next chunk's gathers go out before the products so their latency overlaps them.
    if (c + kWarpsK < cend) load_chunk<KS, GN>(a, px, c + kWarpsK, v);
#pragma unroll
    for (int i = 0; i < kBM / 16; ++i)
#pragma unroll
      for (int j = 0; j < kBN / 16; ++j) wmma::mma_sync(acc[i][j], af[i], bf[j], acc[i][j]);
    buf ^= 1;
  }

#pragma unroll
  for (int i = 0; i < kBM / 16; ++i)
#pragma unroll
    for (int j = 0; j < kBN / 16; ++j)
      wmma::store_matrix_sync(&stage[warp][(16 * i) * kBN + 16 * j], acc[i][j], kBN,
                              wmma::mem_row_major);
  __syncthreads();
  for (int e = threadIdx.x; e < kBM * kBN; e += blockDim.x) {
    float s = 0.0f;
#pragma unroll
    for (int q = 0; q < kWarpsK; ++q) s += stage[q][e];
    const int m = e / kBN, j = e - m * kBN;
    store_out(a, m0 + m, p0 + j, s);
  }
  if (a.ws) finish_split(a, m0, p0);
}

// 256 threads: lane = pixel of the tile, warp t owns output channels t, t+8, ..., t+56.
template <int KS, int S, bool GN>
__global__ void __launch_bounds__(256) conv_f32_kernel(ConvArgs a) {
  __shared__ float as[kBK][kBM + 1];
  __shared__ float bsm[kBK][kBN];
  const int tx = threadIdx.x & 31, ty = threadIdx.x >> 5;
  const int m0 = blockIdx.y * kBM, p0 = blockIdx.x * kBN;
  const Pix px = make_pix<KS, S>(a, p0 + tx);
  const float* w = static_cast<const float*>(a.wt);
  const int cbeg = blockIdx.z * a.chunks_per_split;
  const int cend = min(a.chunks, cbeg + a.chunks_per_split);
  float acc[kBM / 8];
#pragma unroll
  for (int i = 0; i < kBM / 8; ++i) acc[i] = 0.0f;

  for (int c = cbeg; c < cend; ++c) {
    const int k0 = c * kBK;
#pragma unroll
    for (int r = 0; r < (kBM * kBK) / 256; ++r) {
      const int e = threadIdx.x + 256 * r;
      const int m = e / kBK, kk = e - m * kBK;
      const int co = m0 + m, k = k0 + kk;
      as[kk][m] = (co < a.cout && k < a.K) ? __ldg(w + size_t(co) * a.K + k) : 0.0f;
    }
#pragma unroll
    for (int r = 0; r < (kBK * kBN) / 256; ++r) {
      const int kk = ty + 8 * r, k = k0 + kk;
      const int ci = k / (KS * KS), rem = k - ci * KS * KS;
      bsm[kk][tx] = load_x<GN>(a, px, ci, rem / KS, rem % KS);
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kBK; ++kk) {
      const float b = bsm[kk][tx];
#pragma unroll
      for (int i = 0; i < kBM / 8; ++i) acc[i] = fmaf(as[kk][ty + 8 * i], b, acc[i]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < kBM / 8; ++i) store_out(a, m0 + ty + 8 * i, p0 + tx, acc[i]);
  if (a.ws) finish_split(a, m0, p0);
}

struct Plan {
  int K, Kpad, chunks, tiles_m, tiles_n, splits, chunks_per_split;
};

Plan plan_conv(const Ctx& ctx, Precision p, const ConvShape& s) {
  Plan pl;
  pl.K = s.cin * s.k * s.k;
  pl.Kpad = round_up(pl.K, kBK);
  pl.chunks = pl.Kpad / kBK;
  pl.tiles_m = round_up(s.cout, kBM) / kBM;
  const long ptot = long(s.n) * s.out_h() * s.out_w();
  pl.tiles_n = int((ptot + kBN - 1) / kBN);
  const long tiles = long(pl.tiles_m) * pl.tiles_n;
  // Aim for about two CTAs per SM; keep at least 2 chunks per warp so a split does real work.
  const long want = 2L * (ctx.sm_count > 0 ? ctx.sm_count : 1);
  const int chunks_per_cta_min = p == Precision::BF16 ? 2 * kWarpsK : 4;
  int splits = 1;
  if (tiles < want) {
    splits = int((want + tiles - 1) / tiles);
    splits = std::min(splits, std::max(1, pl.chunks / chunks_per_cta_min));
    splits = std::min(splits, 32);
  }
  pl.chunks_per_split = (pl.chunks + splits - 1) / splits;
  pl.splits = (pl.chunks + pl.chunks_per_split - 1) / pl.chunks_per_split;  // no empty splits
  return pl;
}

void validate(const ConvShape& s) {
  if (s.k != 1 && s.k != 3) throw Error(WL_ERR_INVALID_ARGUMENT, "cuda::conv2d: k must be 1 or 3");
  if (s.stride != 1 && s.stride != 2) {
    throw Error(WL_ERR_INVALID_ARGUMENT, "cuda::conv2d: stride must be 1 or 2");
  }
  if (s.n <= 0 || s.cin <= 0 || s.cout <= 0 || s.h <= 0 || s.w <= 0 || s.out_h() <= 0 ||
      s.out_w() <= 0) {
    throw Error(WL_ERR_INVALID_ARGUMENT, "cuda::conv2d: empty or negative shape");
  }
  if (long(s.n) * s.out_h() * s.out_w() > 0x7fffffffL) {
    throw Error(WL_ERR_INVALID_ARGUMENT, "cuda::conv2d: too many output pixels for one call");
  }
}

// Split-K partials (the tile counters live at the start of ctx.scratch, see cuda_ops.h).
size_t splitk_bytes(const Plan& pl, const ConvShape& s) {
  if (pl.splits <= 1) return 0;
  size_t b = size_t(pl.splits) * s.n * s.cout * s.out_h() * s.out_w() * sizeof(float);
  return (b + 255) / 256 * 256;
}

template <bool GN>
void launch(const Ctx& ctx, Precision p, const ConvShape& s, const Plan& pl, ConvArgs& a) {
  dim3 grid(pl.tiles_n, pl.tiles_m, pl.splits);
  cudaStream_t st = stream_of(ctx.stream);
  const int key = s.k * 10 + s.stride;
  if (p == Precision::BF16) {
    switch (key) {
      case 11: conv_bf16_kernel<1, 1, GN><<<grid, 32 * kWarpsK, 0, st>>>(a); break;
      case 12: conv_bf16_kernel<1, 2, GN><<<grid, 32 * kWarpsK, 0, st>>>(a); break;
      case 31: conv_bf16_kernel<3, 1, GN><<<grid, 32 * kWarpsK, 0, st>>>(a); break;
      default: conv_bf16_kernel<3, 2, GN><<<grid, 32 * kWarpsK, 0, st>>>(a); break;
    }
    check_launch("conv_bf16_kernel");
  } else {
    switch (key) {
      case 11: conv_f32_kernel<1, 1, GN><<<grid, 256, 0, st>>>(a); break;
      case 12: conv_f32_kernel<1, 2, GN><<<grid, 256, 0, st>>>(a); break;
      case 31: conv_f32_kernel<3, 1, GN><<<grid, 256, 0, st>>>(a); break;
      default: conv_f32_kernel<3, 2, GN><<<grid, 256, 0, st>>>(a); break;
    }
    check_launch("conv_f32_kernel");
  }
}

void run_conv(const Ctx& ctx, Precision p, const ConvShape& s, const float* x, const void* w,
              const ConvEpilogue& ep, float* y, const float* ga, const float* gb, bool silu,
              int* counters, void* ws_mem, size_t ws_bytes) {
  validate(s);
  const Plan pl = plan_conv(ctx, p, s);
  if (ws_bytes < splitk_bytes(pl, s)) throw Error(WL_ERR_INTERNAL, "cuda::conv2d: scratch too small");
  ConvArgs a;
  a.x = x;
  a.wt = w;
  a.bias = ep.bias;
  a.residual = ep.residual;
  a.y = y;
  if (pl.splits > 1 && size_t(pl.tiles_m) * pl.tiles_n * sizeof(int) > kSplitCounterBytes) {
    throw Error(WL_ERR_INTERNAL, "cuda::conv2d: too many split tiles for the counter block");
  }
  a.counters = pl.splits > 1 ? counters : nullptr;
  a.ws = pl.splits > 1 ? static_cast<float*>(ws_mem) : nullptr;
  a.ga = ga;
  a.gb = gb;
  a.silu = silu ? 1 : 0;
  a.n = s.n;
  a.cin = s.cin;
  a.h = s.h;
  a.w = s.w;
  a.cout = s.cout;
  a.oh = s.out_h();
  a.ow = s.out_w();
  a.pad = s.pad;
  a.K = pl.K;
  a.Kpad = pl.Kpad;
  a.ptot = s.n * a.oh * a.ow;
  a.chunks = pl.chunks;
  a.chunks_per_split = pl.chunks_per_split;
  if (ga) {
    launch<true>(ctx, p, s, pl, a);
  } else {
    launch<false>(ctx, p, s, pl, a);
  }
}

uint16_t f32_to_bf16_rne(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

}  // namespace

size_t conv2d_packed_bytes(Precision p, int cout, int cin, int k) {
  const size_t K = size_t(cin) * k * k;
  if (p == Precision::F32) return size_t(cout) * K * sizeof(float);
  return size_t(round_up(cout, kBM)) * round_up(int(K), kBK) * sizeof(uint16_t);
}

void conv2d_pack(Precision p, int cout, int cin, int k, const float* w, void* packed) {
  const int K = cin * k * k;
  if (p == Precision::F32) {
    std::memcpy(packed, w, size_t(cout) * K * sizeof(float));
    return;
  }
  // [round_up(cout,64)][round_up(K,16)] bf16, zero padded: the tensor-core loads need no bounds.
  const int mpad = round_up(cout, kBM), kpad = round_up(K, kBK);
  uint16_t* o = static_cast<uint16_t*>(packed);
  for (int m = 0; m < mpad; ++m)
    for (int kk = 0; kk < kpad; ++kk)
      o[size_t(m) * kpad + kk] = (m < cout && kk < K) ? f32_to_bf16_rne(w[size_t(m) * K + kk]) : 0;
}

size_t conv2d_scratch_bytes(const Ctx& ctx, Precision p, const ConvShape& s) {
  validate(s);
  return kSplitCounterBytes + splitk_bytes(plan_conv(ctx, p, s), s);
}

void conv2d(const Ctx& ctx, Precision p, const ConvShape& s, const float* x, const void* packed_w,
            const ConvEpilogue& ep, float* y) {
  validate(s);  // shape errors first: they are the caller's, a small scratch is ours
  if (ctx.scratch_bytes < kSplitCounterBytes) {
    throw Error(WL_ERR_INTERNAL, "cuda::conv2d: scratch too small");
  }
  char* sc = static_cast<char*>(ctx.scratch);
  run_conv(ctx, p, s, x, packed_w, ep, y, nullptr, nullptr, false, reinterpret_cast<int*>(sc),
           sc + kSplitCounterBytes, ctx.scratch_bytes - kSplitCounterBytes);
}

size_t gn_silu_conv2d_scratch_bytes(const Ctx& ctx, Precision p, const GroupNormShape& gs,
                                    const ConvShape& cs) {
  return gn_coeffs_bytes(gs) + conv2d_scratch_bytes(ctx, p, cs);
}

void gn_silu_conv2d(const Ctx& ctx, Precision p, const GroupNormShape& gs,
                    const GroupNormParams& gp, const ConvShape& cs, const float* x,
                    const void* packed_w, const ConvEpilogue& ep, float* y) {
  if (gs.n != cs.n || gs.c != cs.cin || gs.hw != cs.h * cs.w) {
    throw Error(WL_ERR_INVALID_ARGUMENT, "cuda::gn_silu_conv2d: GroupNorm and conv shapes differ");
  }
  validate(cs);
  if (gs.groups <= 0 || gs.c % gs.groups != 0) {
    throw Error(WL_ERR_INVALID_ARGUMENT, "cuda::gn_silu_conv2d: groups must divide channels");
  }
  // Scratch: [arrival counters][GroupNorm coefficients (+ partial statistics)][split partials].
  const size_t gnb = gn_coeffs_bytes(gs);
  if (ctx.scratch_bytes < kSplitCounterBytes + gnb) {
    throw Error(WL_ERR_INTERNAL, "cuda::gn_silu_conv2d: scratch too small");
  }
  char* sc = static_cast<char*>(ctx.scratch);
  float *ca = nullptr, *cb = nullptr;
  gn_coeffs(ctx, gs, x, gp, sc + kSplitCounterBytes, reinterpret_cast<int*>(sc), &ca, &cb);
  // The op is GroupNorm -> SiLU -> conv by definition; gp.silu is implied.
  run_conv(ctx, p, cs, x, packed_w, ep, y, ca, cb, true, reinterpret_cast<int*>(sc),
           sc + kSplitCounterBytes + gnb, ctx.scratch_bytes - kSplitCounterBytes - gnb);
}

}  // namespace cuda
}  // namespace wl
