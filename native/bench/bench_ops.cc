// Op benchmark on the default model's shapes: per op and shape, median / p95 / p99 ms over
// repetitions, GFLOP/s and the fraction of this machine's measured FMA peak, for every ISA the
// CPU has (or the one in WL_ISA / --isa) and 1 and 2 threads. One JSON line per measurement.
//
//   bench_ops [--quick] [--isa portable|avx2|avx512|neon] [--threads N] [--filter substring]
//
// The peak is measured, not looked up: a loop of independent FMAs per ISA, run on every thread
// of the pool at once; it is printed as its own JSON line ("bench":"fma_peak").
#include <algorithm>
#include <array>
#include <memory>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "bench_util.h"
#include "ops/ops.h"
#include "runtime/thread_pool.h"

#if defined(__x86_64__)
// GCC 12's AVX-512 headers trip its uninitialised-use warning (false positive).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif

using namespace wl;
using Clock = std::chrono::steady_clock;

namespace {

// Independent FMA chains (more than latency x pipes on current x86), volatile-free: the
// result is returned and printed so the loop cannot be removed.
#if defined(__x86_64__)
__attribute__((target("avx512f,fma"))) float fma_loop_avx512(long iters) {
  __m512 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(float(i) * 1e-3f);
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < iters; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
  __m512 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, a[i]);
  return _mm512_reduce_add_ps(s);
}
__attribute__((target("avx2,fma"))) float fma_loop_avx2(long iters) {
  __m256 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(float(i) * 1e-3f);
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iters; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
  __m256 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, a[i]);
  float t[8];
  _mm256_storeu_ps(t, s);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#endif
float fma_loop_portable(long iters) {
  float a[12][4];
  for (int i = 0; i < 12; ++i)
    for (int l = 0; l < 4; ++l) a[i][l] = float(i + l) * 1e-3f;
  for (long it = 0; it < iters; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i)
#pragma GCC unroll 4
      for (int l = 0; l < 4; ++l) a[i][l] = a[i][l] * 0.999999f + 1e-7f;
  float s = 0;
  for (int i = 0; i < 12; ++i)
    for (int l = 0; l < 4; ++l) s += a[i][l];
  return s;
}

// Peak GFLOP/s of `threads` threads running the ISA's FMA loop together (best of 40).
double measure_peak(Isa isa, ThreadPool& pool, int threads) {
  const long iters = 500000;  // ~2 ms: short enough to fit one scheduler slice on a busy machine
  int lanes = 4;
  std::function<float(long)> loop = fma_loop_portable;
#if defined(__x86_64__)
  if (isa == Isa::Avx512) {
    lanes = 16;
    loop = fma_loop_avx512;
  } else if (isa == Isa::Avx2) {
    lanes = 8;
    loop = fma_loop_avx2;
  }
#endif
  double best = 0;
  float sink = 0;
  for (int rep = 0; rep < 40; ++rep) {
    std::vector<float> out(size_t(threads), 0.0f);
    const auto t0 = Clock::now();
    if (threads == 1) {
      out[0] = loop(iters);
    } else {
      pool.parallel_for(threads, 1, [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) out[size_t(i)] = loop(iters);
      });
    }
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    for (float v : out) sink += v;
    best = std::max(best, double(threads) * iters * 12 * lanes * 2 / s / 1e9);
  }
  if (sink == 12345.0f) std::printf("#\n");
  return best;
}

struct Stats {
  double min, median, p95, p99;
  int reps;
};

// Repeats fn (after warm-up) until both min_reps and min_seconds are reached.
Stats time_it(const std::function<void()>& fn, int min_reps, double min_seconds) {
  for (int i = 0; i < 3; ++i) fn();
  std::vector<double> ms;
  const auto start = Clock::now();
  while (int(ms.size()) < min_reps ||
         std::chrono::duration<double>(Clock::now() - start).count() < min_seconds) {
    const auto t0 = Clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (ms.size() > 100000) break;
  }
  std::sort(ms.begin(), ms.end());
  return {ms.front(), wl_bench::percentile(ms, 0.5), wl_bench::percentile(ms, 0.95),
          wl_bench::percentile(ms, 0.99), int(ms.size())};
}

std::vector<float> filled(size_t n, float scale = 1.0f) {
  std::vector<float> v(n);
  uint32_t s = 12345;
  for (auto& x : v) {
    s = s * 1664525u + 1013904223u;
    x = scale * (float(s >> 8) / float(1 << 24) * 2.0f - 1.0f);
  }
  return v;
}

struct Case {
  std::string op, shape;
  double flops;  // per call (multiply-add = 2)
  std::function<std::function<void()>(const OpCtx&)> make;  // prepares buffers, returns the call
  size_t scratch;
};

std::string conv_desc(const ConvShape& s) {
  char b[128];
  std::snprintf(b, sizeof b, "n%d %dx%dx%d->%d k%d s%d", s.n, s.cin, s.h, s.w, s.cout, s.k, s.stride);
  return b;
}

Case conv_case(const ConvShape& s, bool fused) {
  Case c;
  c.op = fused ? "gn_silu_conv2d" : "conv2d";
  c.shape = conv_desc(s);
  c.flops = 2.0 * s.n * s.cout * s.out_h() * s.out_w() * double(s.cin) * s.k * s.k;
  const GroupNormShape gs{s.n, s.cin, s.h * s.w, 8, 1e-5f};
  c.scratch = fused ? fast::gn_silu_conv2d_scratch_floats(gs, s, 2) : fast::conv2d_scratch_floats(s, 2);
  c.make = [s, fused, gs](const OpCtx& ctx) -> std::function<void()> {
    auto x = std::make_shared<std::vector<float>>(filled(size_t(s.n) * s.cin * s.h * s.w));
    auto w = filled(size_t(s.cout) * s.cin * s.k * s.k, 0.1f);
    auto pw = std::make_shared<std::vector<float>>(fast::conv2d_packed_floats(s.cout, s.cin, s.k));
    fast::conv2d_pack(s.cout, s.cin, s.k, w.data(), pw->data());
    auto b = std::make_shared<std::vector<float>>(filled(size_t(s.cout)));
    auto sc = std::make_shared<std::vector<float>>(filled(size_t(s.n) * s.cin, 0.1f));
    auto y = std::make_shared<std::vector<float>>(size_t(s.n) * s.cout * s.out_h() * s.out_w());
    return [=]() {
      ConvEpilogue ep;
      ep.bias = b->data();
      if (fused) {
        GroupNormParams gp;
        gp.scale = sc->data();
        gp.shift = sc->data();
        fast::gn_silu_conv2d(ctx, gs, gp, s, x->data(), pw->data(), ep, y->data());
      } else {
        fast::conv2d(ctx, s, x->data(), pw->data(), ep, y->data());
      }
    };
  };
  return c;
}

std::vector<Case> cases() {
  std::vector<Case> v;
  // Denoiser (latent U-Net): conv_in on noisy + 4 context latents, the ResBlock convs per
  // level, stride-2 downsampling, 1x1 skip and attention qkv convs, the latent head.
  for (const ConvShape& s : {ConvShape{1, 40, 16, 16, 64, 3, 1, 1}, ConvShape{1, 64, 16, 16, 64, 3, 1, 1},
                             ConvShape{1, 64, 16, 16, 64, 3, 2, 1}, ConvShape{1, 128, 8, 8, 128, 3, 1, 1},
                             ConvShape{1, 192, 4, 4, 192, 3, 1, 1}, ConvShape{1, 64, 8, 8, 128, 1, 1, 0},
                             ConvShape{1, 128, 8, 8, 384, 1, 1, 0}, ConvShape{1, 192, 4, 4, 576, 1, 1, 0},
                             ConvShape{1, 64, 16, 16, 8, 3, 1, 1},
                             // Decoder: latent in, then one level per resolution, RGB head.
                             ConvShape{1, 8, 16, 16, 128, 3, 1, 1}, ConvShape{1, 128, 16, 16, 128, 3, 1, 1},
                             ConvShape{1, 64, 32, 32, 64, 3, 1, 1}, ConvShape{1, 32, 64, 64, 32, 3, 1, 1},
                             ConvShape{1, 16, 128, 128, 16, 3, 1, 1}, ConvShape{1, 16, 128, 128, 3, 3, 1, 1},
                             // The shipped default model (denoiser channels 64/128/192): conv_in on
                             // noisy + 4 context + memory channels, the up path's concatenations.
                             ConvShape{1, 72, 16, 16, 64, 3, 1, 1}, ConvShape{1, 128, 16, 16, 64, 3, 1, 1},
                             ConvShape{1, 256, 8, 8, 128, 3, 1, 1}, ConvShape{1, 384, 4, 4, 192, 3, 1, 1},
                             // Its decoder's upsampling convs (input already upsampled).
                             ConvShape{1, 128, 32, 32, 64, 3, 1, 1}, ConvShape{1, 64, 64, 64, 32, 3, 1, 1},
                             ConvShape{1, 32, 128, 128, 16, 3, 1, 1},
                             // Batched worlds.
                             ConvShape{64, 192, 4, 4, 192, 3, 1, 1}, ConvShape{8, 64, 16, 16, 64, 3, 1, 1}})
    v.push_back(conv_case(s, false));
  for (const ConvShape& s : {ConvShape{1, 64, 16, 16, 64, 3, 1, 1}, ConvShape{1, 128, 8, 8, 128, 3, 1, 1},
                             ConvShape{1, 192, 4, 4, 192, 3, 1, 1}, ConvShape{1, 128, 16, 16, 128, 3, 1, 1},
                             ConvShape{1, 64, 32, 32, 64, 3, 1, 1}, ConvShape{1, 32, 64, 64, 32, 3, 1, 1},
                             ConvShape{1, 16, 128, 128, 16, 3, 1, 1}})
    v.push_back(conv_case(s, true));
  for (const GroupNormShape& s : {GroupNormShape{1, 64, 256, 8, 1e-5f}, GroupNormShape{1, 16, 16384, 8, 1e-5f}}) {
    Case c;
    c.op = "group_norm_silu";
    c.shape = "n1 c" + std::to_string(s.c) + " hw" + std::to_string(s.hw);
    c.flops = 0;  // memory-bound; reported in ms only
    c.scratch = 0;
    c.make = [s](const OpCtx& ctx) -> std::function<void()> {
      auto x = std::make_shared<std::vector<float>>(filled(size_t(s.c) * s.hw));
      auto y = std::make_shared<std::vector<float>>(x->size());
      return [=]() {
        GroupNormParams p;
        p.silu = true;
        fast::group_norm(ctx, s, x->data(), p, y->data());
      };
    };
    v.push_back(c);
  }
  for (const auto& l : {std::array<int, 3>{1, 256, 1024}, std::array<int, 3>{1, 1024, 1024},
                        std::array<int, 3>{64, 1024, 1024}}) {
    Case c;
    c.op = "linear";
    c.shape = "n" + std::to_string(l[0]) + " " + std::to_string(l[1]) + "->" + std::to_string(l[2]);
    c.flops = 2.0 * l[0] * l[1] * l[2];
    c.scratch = 0;
    c.make = [l](const OpCtx& ctx) -> std::function<void()> {
      auto x = std::make_shared<std::vector<float>>(filled(size_t(l[0]) * l[1]));
      auto w = std::make_shared<std::vector<float>>(filled(size_t(l[1]) * l[2], 0.05f));
      auto b = std::make_shared<std::vector<float>>(filled(size_t(l[2])));
      auto y = std::make_shared<std::vector<float>>(size_t(l[0]) * l[2]);
      return [=]() { fast::linear(ctx, l[0], l[1], l[2], x->data(), w->data(), b->data(), y->data()); };
    };
    v.push_back(c);
  }
  for (const AttentionShape& s : {AttentionShape{1, 128, 64, 4}, AttentionShape{1, 192, 16, 4}}) {
    Case c;
    c.op = "attention";
    c.shape = "n1 c" + std::to_string(s.c) + " t" + std::to_string(s.t) + " h" + std::to_string(s.heads);
    c.flops = 4.0 * s.n * s.t * s.t * double(s.c);
    c.scratch = fast::attention_scratch_floats(s, 2);
    c.make = [s](const OpCtx& ctx) -> std::function<void()> {
      auto qkv = std::make_shared<std::vector<float>>(filled(size_t(3) * s.c * s.t));
      auto y = std::make_shared<std::vector<float>>(size_t(s.c) * s.t);
      return [=]() { fast::attention(ctx, s, qkv->data(), y->data()); };
    };
    v.push_back(c);
  }
  {
    Case c;
    c.op = "rgb_f32_to_u8";
    c.shape = "n1 128x128";
    c.flops = 0;
    c.scratch = 0;
    c.make = [](const OpCtx& ctx) -> std::function<void()> {
      auto x = std::make_shared<std::vector<float>>(filled(size_t(3) * 128 * 128));
      auto y = std::make_shared<std::vector<uint8_t>>(size_t(3) * 128 * 128);
      return [=]() { fast::rgb_f32_to_u8(ctx, 1, 128, 128, x->data(), y->data()); };
    };
    v.push_back(c);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  int only_threads = 0;
  std::string filter;
  Isa top = detect_isa();
  bool all_isas = std::getenv("WL_ISA") == nullptr;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
    } else if (a == "--isa" && i + 1 < argc) {
      const std::string v = argv[++i];
      top = v == "portable" ? Isa::Portable : v == "avx2" ? Isa::Avx2 : v == "neon" ? Isa::Neon : Isa::Avx512;
      top = cap_isa(top);
      all_isas = false;
    } else if (a == "--threads" && i + 1 < argc) {
      only_threads = std::atoi(argv[++i]);
    } else if (a == "--filter" && i + 1 < argc) {
      filter = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--isa portable|avx2|avx512|neon] [--threads N] [--filter s]\n", argv[0]);
      return 2;
    }
  }
  const std::string machine = wl_bench::json_escape(wl_bench::cpu_model());
  std::vector<Isa> isas;
  if (all_isas) {
    for (Isa isa : runnable_isas())
      if (isa_level(isa) <= isa_level(top)) isas.push_back(isa);
  } else {
    isas.push_back(top);
  }
  std::vector<int> thread_counts = {1, 2};
  if (only_threads > 0) thread_counts = {only_threads};
  const auto all_cases = cases();
  for (Isa isa : isas) {
    for (int threads : thread_counts) {
      ThreadPool pool(threads);
      const double peak = measure_peak(isa, pool, threads);
      std::printf("{\"bench\":\"fma_peak\",\"machine\":\"%s\",\"backend\":\"cpu\",\"isa\":\"%s\","
                  "\"threads\":%d,\"peak_gflops\":%.1f}\n",
                  machine.c_str(), isa_name(isa), threads, peak);
      std::fflush(stdout);
      // Fractions of the peak for the stride-1 3x3 convs (the frame's bulk), summarised below.
      std::vector<double> conv3;
      for (const Case& c : all_cases) {
        if (!filter.empty() && (c.op + " " + c.shape).find(filter) == std::string::npos) continue;
        std::vector<float> scratch(c.scratch + 64);
        OpCtx ctx;
        ctx.pool = threads > 1 ? &pool : nullptr;
        ctx.isa = isa;
        ctx.scratch = scratch.data();
        ctx.scratch_floats = scratch.size();
        auto fn = c.make(ctx);
        const Stats st = time_it(fn, quick ? 10 : 30, quick ? 0.05 : 0.3);
        const double gflops = c.flops > 0 ? c.flops / (st.median * 1e-3) / 1e9 : 0;
        std::printf("{\"bench\":\"op\",\"op\":\"%s\",\"shape\":\"%s\",\"machine\":\"%s\",\"backend\":\"cpu\","
                    "\"model\":\"default-v1\",\"isa\":\"%s\",\"threads\":%d,\"reps\":%d,"
                    "\"min_ms\":%.4f,\"median_ms\":%.4f,\"p95_ms\":%.4f,\"p99_ms\":%.4f,\"gflop\":%.4f,"
                    "\"gflops\":%.2f,\"peak_gflops\":%.1f,\"frac_peak\":%.3f}\n",
                    c.op.c_str(), c.shape.c_str(), machine.c_str(), isa_name(isa), threads, st.reps,
                    st.min, st.median, st.p95, st.p99, c.flops / 1e9, gflops, peak,
                    c.flops > 0 ? gflops / peak : 0.0);
        std::fflush(stdout);
        if (c.flops > 0 && c.shape.find(" k3 s1") != std::string::npos && c.shape.rfind("n1 ", 0) == 0)
          conv3.push_back(gflops / peak);
      }
      if (conv3.empty()) continue;
      // The peak again after the ops: on a shared machine the two bracket what the ops could get.
      const double peak_end = measure_peak(isa, pool, threads);
      std::sort(conv3.begin(), conv3.end());
      std::printf("{\"bench\":\"ops_summary\",\"machine\":\"%s\",\"backend\":\"cpu\",\"model\":\"default-v1\","
                  "\"isa\":\"%s\",\"threads\":%d,\"peak_gflops\":%.1f,\"peak_gflops_end\":%.1f,"
                  "\"conv3x3_s1_count\":%zu,\"conv3x3_s1_frac_min\":%.3f,\"conv3x3_s1_frac_median\":%.3f,"
                  "\"conv3x3_s1_frac_max\":%.3f}\n",
                  machine.c_str(), isa_name(isa), threads, peak, peak_end, conv3.size(), conv3.front(),
                  conv3[conv3.size() / 2], conv3.back());
      std::fflush(stdout);
    }
  }
  return 0;
}
