#include "model/cpu_backend.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "capi/error.h"
#include "model/env_switch.h"
#include "model/op_profile.h"
#include "ops/op_run.h"
#include "runtime/thread_pool.h"

namespace wl {
namespace {

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};

class CpuBackend final : public Backend {
 public:
  CpuBackend(int threads, bool reference, bool conv_bf16, bool profile)
      : ref_(reference), profile_(profile), pool_(threads) {
    ctx_.pool = pool_.size() > 1 ? &pool_ : nullptr;
    ctx_.isa = detect_isa();
    // bf16 convs only where they run: fast kernels, AVX-512 (not capped below by WL_ISA) and
    // the BF16 extension. Elsewhere the request is moot and describe_json says "f32".
    if (conv_bf16 && !ref_ && ctx_.isa == Isa::Avx512 && has_avx512_bf16())
      ctx_.conv = ConvPrecision::Bf16;
  }

  ~CpuBackend() override {
    if (profile_ && !ops_.empty()) std::fprintf(stderr, "%s\n", profile_json().c_str());
  }

  const char* name() const override { return "cpu"; }
  std::string describe_json() const override {
    return std::string("\"isa\":\"") + isa_name(ctx_.isa) +
           "\",\"threads\":" + std::to_string(pool_.size()) + ",\"kernels\":\"" +
           (ref_ ? "ref" : "fast") + "\",\"conv\":\"" +
           (ctx_.conv == ConvPrecision::Bf16 ? "bf16" : "f32") + "\"";
  }

  size_t conv_packed_floats(int cout, int cin, int k) const override {
    if (ref_) {
      return size_t(cout) * cin * k * k;
    } else {
      return fast::conv2d_packed_floats(cout, cin, k, ctx_.conv);
    }
  }
  void reserve(const OpCall& call) override {
    if (ref_) return;  // the reference kernels need no scratch
    const size_t need =
        std::visit([&](const auto& a) { return fast::scratch_floats(a, pool_.size()); }, call);
    scratch_floats_ = std::max(scratch_floats_, need);
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
      fast::conv2d_pack(cout, cin, k, w_host, dst, ctx_.conv);
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

  // The table's dispatch (ops/op_run.h): fast unless WL_KERNELS=ref or the op has no fast
  // version (the sampler's three).
  // With WL_CPU_PROFILE=1 each call is timed: the pool joins before run returns, so a call's
  // wall time is its whole cost.
  void run(const OpCall& call) override {
    if (!profile_) {
      cpu_run(ctx_, !ref_, call);
      return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    cpu_run(ctx_, !ref_, call);
    const auto t1 = std::chrono::steady_clock::now();
    ops_.add(call, std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::string profile_json() const override {
    return profile_ ? ops_.json(cpu_model_name(), describe_json()) : std::string();
  }

 private:
  static float* alloc_floats(size_t n) {
    const size_t bytes = std::max<size_t>(64, (n * sizeof(float) + 63) / 64 * 64);
    void* p = std::aligned_alloc(64, bytes);
    if (!p)
      throw Error(WL_ERR_OUT_OF_MEMORY,
                  "cpu backend: cannot allocate " + std::to_string(bytes) + " bytes for the arena");
    std::memset(p, 0, bytes);
    return static_cast<float*>(p);
  }

  const bool ref_;      // plain-loop reference kernels (WL_KERNELS=ref), for debugging parity
  const bool profile_;  // WL_CPU_PROFILE=1
  OpProfile ops_;
  ThreadPool pool_;
  OpCtx ctx_;
  std::unique_ptr<float, AlignedFree> arena_, scratch_;
  size_t arena_floats_ = 0, scratch_floats_ = 0;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) {
  const bool ref = env_choice("WL_KERNELS", {"ref", "fast"}, "fast") == "ref";
  const bool conv_bf16 = env_switch("WL_CONV_BF16");
  const bool profile = env_switch("WL_CPU_PROFILE");
  return std::make_unique<CpuBackend>(threads, ref, conv_bf16, profile);
}

}  // namespace wl
