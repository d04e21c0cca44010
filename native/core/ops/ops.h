// The flat op set the networks are built from: shapes, parameters and the kernel signatures.
// Activations are f32, NCHW (N = batch of worlds), contiguous. The op table
// (ops/op_table.h) lists every op with its argument struct and the implementations it has:
//   ref::   plain loops, the definition (ops/ref_*.cc); every op has one
//   fast::  vectorised (AVX2/AVX-512 + FMA or AArch64 NEON, chosen at run time; portable
//           fallback) and threaded; every op except the sampler's three (scale_add, fourier,
//           normal_noise: a few thousand values a frame)
//   cuda::  the GPU twin (native/cuda/cuda_ops.h, when built); every op
// Tests compare fast and cuda against ref on the cases of native/tests/op_cases.h.
#pragma once
#include <cstddef>
#include <cstdint>

#include "ops/cpu_features.h"
#include "runtime/thread_pool.h"

namespace wl {

// Execution context of the fast kernels. `scratch` is caller-owned memory (part of the model
// arena) of at least the *_scratch_floats() the op asks for; kernels never allocate.
// How the fast convolutions multiply. Bf16: where the CPU has AVX-512 BF16 and the ISA is
// AVX-512, conv2d and gn_silu_conv2d round the conv's input and weights to bf16 and accumulate
// their products in f32 (vdpbf16ps); elsewhere (other ISAs and CPUs, and every other op) f32.
// Conv weights must then have been packed with ConvPrecision::Bf16. Off by default
// (docs/kernels.md).
enum class ConvPrecision { F32 = 0, Bf16 = 1 };

struct OpCtx {
  ThreadPool* pool = nullptr;  // null = single-threaded
  Isa isa = Isa::Portable;
  float* scratch = nullptr;
  size_t scratch_floats = 0;
  ConvPrecision conv = ConvPrecision::F32;
};

// ---- conv2d: square kernel k in {1,3}, stride in {1,2}, zero padding `pad`. ----
// Weights [Cout, Cin, k, k] as in PyTorch. Fast kernels run on weights repacked once at load.
struct ConvShape {
  int n, cin, h, w;  // input
  int cout, k, stride, pad;
  int out_h() const { return (h + 2 * pad - k) / stride + 1; }
  int out_w() const { return (w + 2 * pad - k) / stride + 1; }
};

// Optional epilogue fused into the conv: y = conv(x) + bias (+ residual).
struct ConvEpilogue {
  const float* bias = nullptr;      // [Cout] or null
  const float* residual = nullptr;  // [N, Cout, OH, OW] or null (may alias nothing else)
};

namespace ref {
void conv2d(const ConvShape& s, const float* x, const float* w, const ConvEpilogue& ep, float* y);
}
namespace fast {
// Packed-weight layout is private to the fast kernel; size in floats. Bf16 appends a second,
// bf16 copy after the f32 one (the f32 copy serves the convs that stay f32).
size_t conv2d_packed_floats(int cout, int cin, int k, ConvPrecision p = ConvPrecision::F32);
void conv2d_pack(int cout, int cin, int k, const float* w, float* packed,
                 ConvPrecision p = ConvPrecision::F32);
// Whether conv2d / gn_silu_conv2d under ctx multiply in bf16 for shape s (tests, benches).
bool conv2d_runs_bf16(const OpCtx& ctx, const ConvShape& s);
size_t conv2d_scratch_floats(const ConvShape& s, int threads);
void conv2d(const OpCtx& ctx, const ConvShape& s, const float* x, const float* packed_w,
            const ConvEpilogue& ep, float* y);
}  // namespace fast

// ---- group_norm (+ optional affine, adaptive scale/shift, SiLU) ----
// y = GN(x) * gamma + beta; then y = y * (1 + scale[n,c]) + shift[n,c]; then SiLU if silu.
// gamma/beta [C] or null (identity); scale/shift [N, C] or null. Groups divide C.
struct GroupNormShape {
  int n, c, hw, groups;
  float eps;
};
struct GroupNormParams {
  const float* gamma = nullptr;
  const float* beta = nullptr;
  const float* scale = nullptr;
  const float* shift = nullptr;
  bool silu = false;
};
namespace ref {
void group_norm(const GroupNormShape& s, const float* x, const GroupNormParams& p, float* y);
}
namespace fast {
void group_norm(const OpCtx& ctx, const GroupNormShape& s, const float* x, const GroupNormParams& p,
                float* y);
}

// ---- fused group_norm + SiLU + conv (the ResBlock's hot path) ----
// Equivalent to group_norm(silu=true) into a temporary then conv2d. The fast version may tile
// so the normalised activation never round-trips through memory.
namespace ref {
void gn_silu_conv2d(const GroupNormShape& gs, const GroupNormParams& gp, const ConvShape& cs,
                    const float* x, const float* w, const ConvEpilogue& ep, float* y);
}
namespace fast {
size_t gn_silu_conv2d_scratch_floats(const GroupNormShape& gs, const ConvShape& cs, int threads);
void gn_silu_conv2d(const OpCtx& ctx, const GroupNormShape& gs, const GroupNormParams& gp,
                    const ConvShape& cs, const float* x, const float* packed_w,
                    const ConvEpilogue& ep, float* y);
}  // namespace fast

// ---- elementwise ----
namespace ref {
void silu(size_t n, const float* x, float* y);
void add(size_t n, const float* a, const float* b, float* y);
}  // namespace ref
namespace fast {
void silu(const OpCtx& ctx, size_t n, const float* x, float* y);
void add(const OpCtx& ctx, size_t n, const float* a, const float* b, float* y);
}  // namespace fast

// ---- linear: y[n, out] = x[n, in] @ W[out, in]^T + b[out] (PyTorch nn.Linear layout) ----
namespace ref {
void linear(int n, int in, int out, const float* x, const float* w, const float* b, float* y);
}
namespace fast {
void linear(const OpCtx& ctx, int n, int in, int out, const float* x, const float* w,
            const float* b, float* y);
}

// ---- channel concat: y[n] = [a[n] (ca channels); b[n] (cb channels)], spatial hw ----
namespace ref {
void concat_channels(int n, int ca, int cb, int hw, const float* a, const float* b, float* y);
}
namespace fast {
void concat_channels(const OpCtx& ctx, int n, int ca, int cb, int hw, const float* a,
                     const float* b, float* y);
}

// ---- nearest-neighbour x2 upsample: [N,C,H,W] -> [N,C,2H,2W] ----
namespace ref {
void upsample_nearest2x(int n, int c, int h, int w, const float* x, float* y);
}
namespace fast {
void upsample_nearest2x(const OpCtx& ctx, int n, int c, int h, int w, const float* x, float* y);
}

// ---- multi-head self-attention over T = H*W tokens ----
// qkv: [N, 3*C, T] (the output of a 1x1 conv; q = channels [0,C), k = [C,2C), v = [2C,3C)),
// heads divide C, head dim d = C / heads, softmax(q k^T / sqrt(d)) v -> y: [N, C, T].
struct AttentionShape {
  int n, c, t, heads;
};
namespace ref {
void attention(const AttentionShape& s, const float* qkv, float* y);
}
namespace fast {
size_t attention_scratch_floats(const AttentionShape& s, int threads);
void attention(const OpCtx& ctx, const AttentionShape& s, const float* qkv, float* y);
}  // namespace fast

// ---- output conversion: float RGB [N,3,H,W] in [-1,1] -> RGB8 [N,H,W,3] (round, clamp) ----
namespace ref {
void rgb_f32_to_u8(int n, int h, int w, const float* x, uint8_t* y);
void rgb_u8_to_f32(int n, int h, int w, const uint8_t* x, float* y);  // inverse, to [-1,1]
}  // namespace ref
namespace fast {
void rgb_f32_to_u8(const OpCtx& ctx, int n, int h, int w, const float* x, uint8_t* y);
void rgb_u8_to_f32(const OpCtx& ctx, int n, int h, int w, const uint8_t* x, float* y);
}  // namespace fast

// ---- the sampler's per-world arithmetic (a, c, t, seed, frame: one value per world) ----
namespace ref {
// y[b, i] = a[b] * x[b, i] + c[b] * z[b, i] for b < batch, i < per; z (and then c) may be null.
// y may alias x or z.
void scale_add(int batch, size_t per, const float* a, const float* x, const float* c,
               const float* z, float* y);
// y[b, j] = cos(2 pi t[b] f[j]) for j < half, y[b, half + j] = sin(2 pi t[b] f[j]), rounded as
// PyTorch's f32 `2 * math.pi * t * f`.
void fourier(int batch, int half, const float* t, const float* freqs, float* y);
// y[b, 0..per) = standard normals of Philox(seed[b], frame[b], step) (model/philox.h).
void normal_noise(int batch, size_t per, const uint64_t* seed, const uint64_t* frame, uint32_t step,
                  float* y);
}  // namespace ref

// ---- weight storage conversion (model load): bf16 / f16 -> f32 ----
void bf16_to_f32(size_t n, const uint16_t* x, float* y);
void f16_to_f32(size_t n, const uint16_t* x, float* y);

}  // namespace wl
