// The CUDA twin of the op set in ops/ops.h. Same shapes and semantics as wl::ref (which defines
// them); every pointer here is a device pointer and every call only enqueues work on ctx.stream,
// so a whole frame can be captured into a CUDA graph. Nothing here allocates: ops that need
// temporary memory take it from ctx.scratch (sized by the *_scratch_bytes functions).
//
// This header has no CUDA includes so plain C++ files (backend, tests) can use it.
#pragma once
#include <cstddef>
#include <cstdint>

#include <type_traits>
#include <utility>

#include "ops/op_table.h"
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
void concat_channels(const Ctx& ctx, int n, int ca, int cb, int hw, const float* a, const float* b,
                     float* y);
void upsample_nearest2x(const Ctx& ctx, int n, int c, int h, int w, const float* x, float* y);
void rgb_f32_to_u8(const Ctx& ctx, int n, int h, int w, const float* x, uint8_t* y);
void rgb_u8_to_f32(const Ctx& ctx, int n, int h, int w, const uint8_t* x, float* y);

// ---- linear (f32; the conditioning MLP is tiny) ----
void linear(const Ctx& ctx, int n, int in, int out, const float* x, const float* w, const float* b,
            float* y);

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
// Standard normals of Philox(seeds[b], frames[b], step), same values as wl::philox_normals.
void normal_noise(const Ctx& ctx, int batch, size_t per, const uint64_t* seeds,
                  const uint64_t* frames, uint32_t step, float* y);

// ---- reprojection (ops/reproject.h): bit-identical to ref (ops/reproject_math.h, --fmad=false)
// ----
void unproject(const Ctx& ctx, const PinholeCamera& cam, const float* depth, float* xyz,
               float* size);
// Scratch: one 64-bit z-buffer key per output pixel, after the split-K counters.
size_t splat_scratch_bytes(int width, int height);
void splat(const Ctx& ctx, const PinholeCamera& cam, const SplatParams& p, int64_t n,
           const float* xyz, const float* size, const uint8_t* rgb, uint8_t* out_rgb,
           float* out_depth, uint8_t* out_mask);

// ---- the op table's dispatch (ops/op_table.h) ----
// One overload per op the CUDA backend implements: it is what the table's cuda column means
// (test_cuda_ops checks the two agree). Every pointer is a device pointer, per-world values
// included; conv weights are packed for `p`, which only the convolutions read.
inline void run(const Ctx& c, Precision p, const Conv2dArgs& a) {
  conv2d(c, p, a.s, a.x, a.w, a.ep, a.y);
}
inline void run(const Ctx& c, Precision, const GroupNormArgs& a) {
  group_norm(c, a.s, a.x, a.p, a.y);
}
inline void run(const Ctx& c, Precision p, const GnSiluConv2dArgs& a) {
  gn_silu_conv2d(c, p, a.gs, a.gp, a.cs, a.x, a.w, a.ep, a.y);
}
inline void run(const Ctx& c, Precision, const SiluArgs& a) { silu(c, a.n, a.x, a.y); }
inline void run(const Ctx& c, Precision, const AddArgs& a) { add(c, a.n, a.a, a.b, a.y); }
inline void run(const Ctx& c, Precision, const LinearArgs& a) {
  linear(c, a.n, a.in, a.out, a.x, a.w, a.b, a.y);
}
inline void run(const Ctx& c, Precision, const ConcatChannelsArgs& a) {
  concat_channels(c, a.n, a.ca, a.cb, a.hw, a.a, a.b, a.y);
}
inline void run(const Ctx& c, Precision, const UpsampleNearest2xArgs& a) {
  upsample_nearest2x(c, a.n, a.c, a.h, a.w, a.x, a.y);
}
inline void run(const Ctx& c, Precision, const AttentionArgs& a) { attention(c, a.s, a.qkv, a.y); }
inline void run(const Ctx& c, Precision, const RgbF32ToU8Args& a) {
  rgb_f32_to_u8(c, a.n, a.h, a.w, a.x, a.y);
}
inline void run(const Ctx& c, Precision, const RgbU8ToF32Args& a) {
  rgb_u8_to_f32(c, a.n, a.h, a.w, a.x, a.y);
}
inline void run(const Ctx& c, Precision, const ScaleAddArgs& a) {
  scale_add(c, a.batch, a.per, a.a, a.x, a.c, a.z, a.y);
}
inline void run(const Ctx& c, Precision, const FourierArgs& a) {
  fourier(c, a.batch, a.half, a.t, a.freqs, a.y);
}
inline void run(const Ctx& c, Precision, const NormalNoiseArgs& a) {
  normal_noise(c, a.batch, a.per, a.seed, a.frame, a.step, a.y);
}
inline void run(const Ctx& c, Precision, const UnprojectArgs& a) {
  unproject(c, a.cam, a.depth, a.xyz, a.size);
}
inline void run(const Ctx& c, Precision, const SplatArgs& a) {
  splat(c, a.cam, a.p, a.n, a.xyz, a.size, a.rgb, a.out_rgb, a.out_depth, a.out_mask);
}

// Scratch bytes a call needs; ops without an overload need none.
inline size_t scratch_bytes(const Ctx& c, Precision p, const Conv2dArgs& a) {
  return conv2d_scratch_bytes(c, p, a.s);
}
inline size_t scratch_bytes(const Ctx& c, Precision p, const GnSiluConv2dArgs& a) {
  return gn_silu_conv2d_scratch_bytes(c, p, a.gs, a.cs);
}
inline size_t scratch_bytes(const Ctx&, Precision, const SplatArgs& a) {
  return splat_scratch_bytes(a.cam.width, a.cam.height);
}
template <class A>
size_t scratch_bytes(const Ctx&, Precision, const A&) {
  return 0;
}

template <class A, class = void>
struct HasCuda : std::false_type {};
template <class A>
struct HasCuda<A, std::void_t<decltype(cuda::run(std::declval<const Ctx&>(), Precision::F32,
                                                 std::declval<const A&>()))>> : std::true_type {};

// The cuda bit each op's code actually has, in table order (checked against kOps).
inline unsigned cuda_impls(OpId id) {
  static constexpr unsigned bits[] = {
#define WL_OP_CUDA(id, name, args, impls) (HasCuda<args>::value ? unsigned(kImplCuda) : 0u),
      WL_OP_TABLE(WL_OP_CUDA)
#undef WL_OP_CUDA
  };
  return bits[int(id)];
}

}  // namespace cuda
}  // namespace wl
