// The seam between the network code (what to compute) and a compute backend (where and how).
//
// Networks are built once at load: they ask the backend how large packed weights are, plan their
// activations as offsets in one arena, upload weights, then on every call issue a fixed sequence
// of op calls with pointers into that arena. A backend owns the arena memory: host memory for the
// CPU backend, device memory for a CUDA backend (whose calls then enqueue kernels on one stream, so
// a whole frame can be captured as a graph). Network code never reads activation values on the
// host; the only host-side numbers it passes are per-world scalars derived from call arguments
// (sigma-dependent EDM/Euler coefficients, Fourier times, Philox keys).
//
// Every pointer argument named x/y/w/... points into the arena (backend memory) unless its name
// ends in _host. All tensors are f32, NCHW, contiguous; shapes follow ops/ops.h.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "ops/op_table.h"
#include "ops/ops.h"

namespace wl {

class Backend {
 public:
  virtual ~Backend() = default;

  // "cpu" / "cuda".
  virtual const char* name() const = 0;
  // Human-readable detail for wl_model_info_json (ISA and threads, device name, ...), as a
  // JSON object body without braces, e.g. "\"isa\":\"avx512\",\"threads\":2".
  virtual std::string describe_json() const = 0;
  // The op profile gathered so far (WL_CPU_PROFILE=1 on the CPU backend) as one JSON line, or
  // "" where the backend is not profiling. A profiling backend also prints it to stderr when it
  // is destroyed.
  virtual std::string profile_json() const { return {}; }

  // ---- planning (before allocate) ----
  // Floats a conv weight [cout, cin, k, k] occupies once packed for this backend.
  virtual size_t conv_packed_floats(int cout, int cin, int k) const = 0;
  // Tell the backend about every op call the networks will make (shapes only: the pointers are
  // not read) so it can size its private scratch (the CPU kernels' per-thread tiles, the CUDA
  // convolutions' split-K partials). May be called many times; keeps the maximum.
  virtual void reserve(const OpCall& call) = 0;
  // Helpers for the ops that need scratch on some backend.
  void reserve_conv(const ConvShape& s) {
    reserve(Conv2dArgs{s, nullptr, nullptr, ConvEpilogue{}, nullptr});
  }
  void reserve_gn_silu_conv(const GroupNormShape& gs, const ConvShape& cs) {
    reserve(GnSiluConv2dArgs{gs, GroupNormParams{}, cs, nullptr, nullptr, ConvEpilogue{}, nullptr});
  }
  void reserve_attention(const AttentionShape& s) { reserve(AttentionArgs{s, nullptr, nullptr}); }

  // Allocates the arena (floats, zero-filled) plus the backend's scratch; called once.
  // Returns the arena base. Throws wl::Error(WL_ERR_OUT_OF_MEMORY) on failure.
  virtual float* allocate(size_t arena_floats) = 0;
  // Bytes held by the backend (arena + scratch), for reporting.
  virtual size_t memory_bytes() const = 0;

  // ---- transfers (host <-> arena); synchronous from the caller's point of view ----
  virtual void upload(float* dst, const float* src_host, size_t n) = 0;
  virtual void download(float* dst_host, const float* src, size_t n) = 0;
  // Packs a host conv weight [cout, cin, k, k] into dst (conv_packed_floats floats in the arena).
  virtual void upload_conv_weight(int cout, int cin, int k, const float* w_host, float* dst) = 0;
  // RGB8 frames travel as bytes; the backend stages them itself.
  // rgb_host [n, h, w, 3] -> y [n, 3, h, w] in [-1, 1] (x / 127.5 - 1).
  virtual void upload_rgb_u8(int n, int h, int w, const uint8_t* rgb_host, float* y) = 0;
  // x [n, 3, h, w] -> rgb_host [n, h, w, 3], rounded and clamped (see ops rgb_f32_to_u8).
  virtual void download_rgb_u8(int n, int h, int w, const float* x, uint8_t* rgb_host) = 0;
  // Waits for queued work (no-op on the CPU).
  virtual void synchronize() = 0;

  // ---- ops ----
  // Runs (CPU) or records (CUDA) one call of an op of the table (ops/op_table.h); `w` of a conv
  // is always the packed weight, pointers named like *_host in the helpers below are host
  // memory (TensorRole::PerWorld), every other pointer points into the arena.
  virtual void run(const OpCall& call) = 0;

  // Call-site helpers: each builds its op's argument struct (semantics in ops/ops.h).
  void conv2d(const ConvShape& s, const float* x, const float* w, const float* bias,
              const float* residual, float* y) {
    run(Conv2dArgs{s, x, w, ConvEpilogue{bias, residual}, y});
  }
  void group_norm(const GroupNormShape& s, const float* x, const GroupNormParams& p, float* y) {
    run(GroupNormArgs{s, x, p, y});
  }
  void gn_silu_conv2d(const GroupNormShape& gs, const GroupNormParams& gp, const ConvShape& cs,
                      const float* x, const float* w, const float* bias, const float* residual,
                      float* y) {
    run(GnSiluConv2dArgs{gs, gp, cs, x, w, ConvEpilogue{bias, residual}, y});
  }
  void silu(size_t n, const float* x, float* y) { run(SiluArgs{n, x, y}); }
  void add(size_t n, const float* a, const float* b, float* y) { run(AddArgs{n, a, b, y}); }
  // y[n, out] = x[n, in] @ w[out, in]^T + b[out]; w unpacked (PyTorch layout).
  void linear(int n, int in, int out, const float* x, const float* w, const float* b, float* y) {
    run(LinearArgs{n, in, out, x, w, b, y});
  }
  void concat_channels(int n, int ca, int cb, int hw, const float* a, const float* b, float* y) {
    run(ConcatChannelsArgs{n, ca, cb, hw, a, b, y});
  }
  void upsample_nearest2x(int n, int c, int h, int w, const float* x, float* y) {
    run(UpsampleNearest2xArgs{n, c, h, w, x, y});
  }
  void attention(const AttentionShape& s, const float* qkv, float* y) {
    run(AttentionArgs{s, qkv, y});
  }
  // Per-world affine combination, the sampler's only arithmetic:
  //   y[b, i] = a_host[b] * x[b, i] + c_host[b] * z[b, i]     (z may be null: then c is ignored)
  // for b < batch, i < per. y may alias x or z.
  void scale_add(int batch, size_t per, const float* a_host, const float* x, const float* c_host,
                 const float* z, float* y) {
    run(ScaleAddArgs{batch, per, a_host, x, z ? c_host : nullptr, z, y});
  }
  // Fourier features of per-world times: y[b, j] = cos(2 pi t_host[b] f[j]) for j < half,
  // y[b, half + j] = sin(2 pi t_host[b] f[j]); f: [half] frequencies (arena).
  void fourier(int batch, int half, const float* t_host, const float* freqs, float* y) {
    run(FourierArgs{batch, half, t_host, freqs, y});
  }
  // Standard normals for world b from Philox(seed_host[b], frame_host[b], step): y[b, 0..per),
  // bit-identical to wl::philox_normals (model/philox.h).
  void normal_noise(int batch, size_t per, const uint64_t* seed_host, const uint64_t* frame_host,
                    uint32_t step, float* y) {
    run(NormalNoiseArgs{batch, per, seed_host, frame_host, step, y});
  }
};

}  // namespace wl
