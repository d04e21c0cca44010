// The CUDA twin of the op set in ops/ops.h. Same shapes and semantics as wl::ref (which defines
// them); every pointer here is a device pointer and every call only enqueues work on ctx.stream,
// so a whole frame can be captured into a CUDA graph. Nothing here allocates: ops that need
// temporary memory take it from ctx.scratch (sized by the *_scratch_bytes functions).
//
// This header has no CUDA includes so plain C++ files (backend, tests) can use it.
#pragma once
#include <cstddef>
#include <cstdint>

#include "ops/ops.h"

namespace wl {
namespace cuda {

// Precision of the convolution products. F32: plain f32 FMAs (reference-grade, slow).
// BF16: tensor cores, bf16 operands, f32 accumulation; activations stay f32 in memory and are
// rounded to bf16 as they are loaded into the product.
enum class Precision { F32 = 0, BF16 = 1 };
const char* precision_name(Precision p);

// Scratch: device memory of at least the *_scratch_bytes the ops ask for, zero-filled once before
// first use. Its first kSplitCounterBytes hold the split-K tile counters, which kernels always
// return to zero; the rest is overwritten freely by each op. Ops on one stream may share it.
constexpr size_t kSplitCounterBytes = 16384;

struct Ctx {
  void* stream = nullptr;  // cudaStream_t; null = legacy default stream
  void* scratch = nullptr;
  size_t scratch_bytes = 0;
  int sm_count = 132;  // used to decide when a convolution splits its K dimension
};

// ---- conv2d ----
// Weights live on the device in a layout private to each precision; pack on the host once at load
// (conv2d_pack), upload, then pass the device copy to conv2d.
size_t conv2d_packed_bytes(Precision p, int cout, int cin, int k);
void conv2d_pack(Precision p, int cout, int cin, int k, const float* w_host, void* packed_host);
size_t conv2d_scratch_bytes(const Ctx& ctx, Precision p, const ConvShape& s);
void conv2d(const Ctx& ctx, Precision p, const ConvShape& s, const float* x, const void* packed_w,
            const ConvEpilogue& ep, float* y);

// ---- group_norm (+affine, adaptive scale/shift, SiLU) ----
void group_norm(const Ctx& ctx, const GroupNormShape& s, const float* x, const GroupNormParams& p,
                float* y);

// ---- group_norm + SiLU + conv2d, fused: the normalisation is applied while the conv loads x ----
size_t gn_silu_conv2d_scratch_bytes(const Ctx& ctx, Precision p, const GroupNormShape& gs,
                                    const ConvShape& cs);
void gn_silu_conv2d(const Ctx& ctx, Precision p, const GroupNormShape& gs,
                    const GroupNormParams& gp, const ConvShape& cs, const float* x,
                    const void* packed_w, const ConvEpilogue& ep, float* y);

// ---- elementwise and layout ----
void silu(const Ctx& ctx, size_t n, const float* x, float* y);
void add(const Ctx& ctx, size_t n, const float* a, const float* b, float* y);
void concat_channels(const Ctx& ctx, int n, int ca, int cb, int hw, const float* a,
                     const float* b, float* y);
void upsample_nearest2x(const Ctx& ctx, int n, int c, int h, int w, const float* x, float* y);
void rgb_f32_to_u8(const Ctx& ctx, int n, int h, int w, const float* x, uint8_t* y);
void rgb_u8_to_f32(const Ctx& ctx, int n, int h, int w, const uint8_t* x, float* y);

// ---- linear (f32; the conditioning MLP is tiny) ----
void linear(const Ctx& ctx, int n, int in, int out, const float* x, const float* w,
            const float* b, float* y);

// Up to kMaxLinearJobs Linears that read the same x [n, in], in one launch (the denoiser's
// per-ResBlock adaptive-norm projections all read the conditioning vector).
constexpr int kMaxLinearJobs = 32;
struct LinearJob {
  const float* w;  // [out, in]
  const float* b;  // [out] or null
  float* y;        // [n, out]
  int out;
};
struct LinearBatch {
  const float* x;
  int n, in, count;
  LinearJob job[kMaxLinearJobs];
};
void linear_batch(const Ctx& ctx, const LinearBatch& jobs);

// ---- self-attention (f32, online softmax; head dim <= 128) ----
void attention(const Ctx& ctx, const AttentionShape& s, const float* qkv, float* y);

// ---- the sampler's per-world arithmetic; per-world values are device arrays [batch] ----
// y[b,i] = a[b] * x[b,i] + c[b] * z[b,i] (z may be null; y may alias x or z).
void scale_add(const Ctx& ctx, int batch, size_t per, const float* a, const float* x,
               const float* c, const float* z, float* y);
// y[b,j] = cos(2 pi t[b] f[j]), y[b,half+j] = sin(2 pi t[b] f[j]).
void fourier(const Ctx& ctx, int batch, int half, const float* t, const float* freqs, float* y);
// Standard normals of Philox(seed, frame, step), same values as wl::philox_normals.
// keys: [batch][2] = {seed, frame}.
void normal_noise(const Ctx& ctx, int batch, size_t per, const uint64_t* keys, uint32_t step,
                  float* y);

}  // namespace cuda
}  // namespace wl
