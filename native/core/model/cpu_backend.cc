#include "model/cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "capi/error.h"
#include "model/philox.h"
#include "runtime/thread_pool.h"


namespace wl {
namespace {

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};

class CpuBackend final : public Backend {
 public:
  CpuBackend(int threads, bool reference) : ref_(reference), pool_(threads) {
    ctx_.pool = pool_.size() > 1 ? &pool_ : nullptr;
    ctx_.isa = detect_isa();
  }

  const char* name() const override { return "cpu"; }
  std::string describe_json() const override {
    return std::string("\"isa\":\"") + isa_name(ctx_.isa) + "\",\"threads\":" +
           std::to_string(pool_.size()) + ",\"kernels\":\"" +
           (ref_ ? "ref" : "fast") + "\"";
  }

  size_t conv_packed_floats(int cout, int cin, int k) const override {
    if (ref_) {
      return size_t(cout) * cin * k * k;
    } else {
      return fast::conv2d_packed_floats(cout, cin, k);
    }
  }
  void reserve_conv(const ConvShape& s) override {
    if (!ref_)
      scratch_floats_ = std::max(scratch_floats_, fast::conv2d_scratch_floats(s, pool_.size()));
  }
  void reserve_gn_silu_conv(const GroupNormShape& gs, const ConvShape& cs) override {
    if (!ref_)
      scratch_floats_ =
          std::max(scratch_floats_, fast::gn_silu_conv2d_scratch_floats(gs, cs, pool_.size()));
  }
  void reserve_attention(const AttentionShape& s) override {
    if (!ref_)
      scratch_floats_ =
          std::max(scratch_floats_, fast::attention_scratch_floats(s, pool_.size()));
  }

  float* allocate(size_t arena_floats) override {
    if (arena_) throw Error(WL_ERR_INTERNAL, "cpu backend: arena allocated twice");
    arena_floats_ = arena_floats;
    arena_.reset(alloc_floats(arena_floats));
    scratch_.reset(alloc_floats(scratch_floats_));
    ctx_.scratch = scratch_.get();
    ctx_.scratch_floats = scratch_floats_;
    return arena_.get();
  }
  size_t memory_bytes() const override { return (arena_floats_ + scratch_floats_) * sizeof(float); }

  void upload(float* dst, const float* src_host, size_t n) override {
    if (n) std::memcpy(dst, src_host, n * sizeof(float));
  }
  void download(float* dst_host, const float* src, size_t n) override {
    if (n) std::memcpy(dst_host, src, n * sizeof(float));
  }
  void upload_conv_weight(int cout, int cin, int k, const float* w_host, float* dst) override {
    if (ref_) {
      upload(dst, w_host, size_t(cout) * cin * k * k);
    } else {
      fast::conv2d_pack(cout, cin, k, w_host, dst);
    }
  }
  void upload_rgb_u8(int n, int h, int w, const uint8_t* rgb_host, float* y) override {
    if (ref_) {
      ref::rgb_u8_to_f32(n, h, w, rgb_host, y);
    } else {
      fast::rgb_u8_to_f32(ctx_, n, h, w, rgb_host, y);
    }
  }
  void download_rgb_u8(int n, int h, int w, const float* x, uint8_t* rgb_host) override {
    if (ref_) {
      ref::rgb_f32_to_u8(n, h, w, x, rgb_host);
    } else {
      fast::rgb_f32_to_u8(ctx_, n, h, w, x, rgb_host);
    }
  }
  void synchronize() override {}

  void conv2d(const ConvShape& s, const float* x, const float* w, const float* bias,
              const float* residual, float* y) override {
    ConvEpilogue ep;
    ep.bias = bias;
    ep.residual = residual;
    if (ref_) {
      ref::conv2d(s, x, w, ep, y);
    } else {
      fast::conv2d(ctx_, s, x, w, ep, y);
    }
  }
  void group_norm(const GroupNormShape& s, const float* x, const GroupNormParams& p,
                  float* y) override {
    if (ref_) {
      ref::group_norm(s, x, p, y);
    } else {
      fast::group_norm(ctx_, s, x, p, y);
    }
  }
  void gn_silu_conv2d(const GroupNormShape& gs, const GroupNormParams& gp, const ConvShape& cs,
                      const float* x, const float* w, const float* bias, const float* residual,
                      float* y) override {
    ConvEpilogue ep;
    ep.bias = bias;
    ep.residual = residual;
    if (ref_) {
      ref::gn_silu_conv2d(gs, gp, cs, x, w, ep, y);
    } else {
      fast::gn_silu_conv2d(ctx_, gs, gp, cs, x, w, ep, y);
    }
  }
  void silu(size_t n, const float* x, float* y) override {
    if (ref_) {
      ref::silu(n, x, y);
    } else {
      fast::silu(ctx_, n, x, y);
    }
  }
  void add(size_t n, const float* a, const float* b, float* y) override {
    if (ref_) {
      ref::add(n, a, b, y);
    } else {
      fast::add(ctx_, n, a, b, y);
    }
  }
  void linear(int n, int in, int out, const float* x, const float* w, const float* b,
              float* y) override {
    if (ref_) {
      ref::linear(n, in, out, x, w, b, y);
    } else {
      fast::linear(ctx_, n, in, out, x, w, b, y);
    }
  }
  void concat_channels(int n, int ca, int cb, int hw, const float* a, const float* b,
                       float* y) override {
    if (ref_) {
      ref::concat_channels(n, ca, cb, hw, a, b, y);
    } else {
      fast::concat_channels(ctx_, n, ca, cb, hw, a, b, y);
    }
  }
  void upsample_nearest2x(int n, int c, int h, int w, const float* x, float* y) override {
    if (ref_) {
      ref::upsample_nearest2x(n, c, h, w, x, y);
    } else {
      fast::upsample_nearest2x(ctx_, n, c, h, w, x, y);
    }
  }
  void attention(const AttentionShape& s, const float* qkv, float* y) override {
    if (ref_) {
      ref::attention(s, qkv, y);
    } else {
      fast::attention(ctx_, s, qkv, y);
    }
  }

  // The sampler's few per-world affine updates are tiny (batch x C x h x w); plain loops.
  void scale_add(int batch, size_t per, const float* a_host, const float* x, const float* c_host,
                 const float* z, float* y) override {
    for (int b = 0; b < batch; ++b) {
      const size_t o = size_t(b) * per;
      const float a = a_host[b];
      if (z) {
        const float c = c_host[b];
        for (size_t i = 0; i < per; ++i) y[o + i] = a * x[o + i] + c * z[o + i];
      } else {
        for (size_t i = 0; i < per; ++i) y[o + i] = a * x[o + i];
      }
    }
  }
  void fourier(int batch, int half, const float* t_host, const float* freqs, float* y) override {
    // Same rounding as PyTorch's `2 * math.pi * t * f` in f32: (f32(2 pi) * t) * f.
    const float two_pi = float(6.283185307179586);
    for (int b = 0; b < batch; ++b) {
      const float tb = two_pi * t_host[b];
      float* row = y + size_t(b) * 2 * half;
      for (int j = 0; j < half; ++j) {
        const float arg = tb * freqs[j];
        row[j] = std::cos(arg);
        row[half + j] = std::sin(arg);
      }
    }
  }
  void normal_noise(int batch, size_t per, const uint64_t* seed_host, const uint64_t* frame_host,
                    uint32_t step, float* y) override {
    for (int b = 0; b < batch; ++b)
      philox_normals(seed_host[b], frame_host[b], step, per, y + size_t(b) * per);
  }

 private:
  static float* alloc_floats(size_t n) {
    const size_t bytes = std::max<size_t>(64, (n * sizeof(float) + 63) / 64 * 64);
    void* p = std::aligned_alloc(64, bytes);
    if (!p) throw Error(WL_ERR_OUT_OF_MEMORY, "cpu backend: cannot allocate " +
                                                 std::to_string(bytes) + " bytes for the arena");
    std::memset(p, 0, bytes);
    return static_cast<float*>(p);
  }

  const bool ref_;  // plain-loop reference kernels (WL_KERNELS=ref), for debugging parity
  ThreadPool pool_;
  OpCtx ctx_;
  std::unique_ptr<float, AlignedFree> arena_, scratch_;
  size_t arena_floats_ = 0, scratch_floats_ = 0;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) {
  const char* k = std::getenv("WL_KERNELS");
  return std::make_unique<CpuBackend>(threads, k && std::string(k) == "ref");
}

}  // namespace wl
