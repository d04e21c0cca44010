// Op benchmark on the default model's shapes (the cases of native/tests/op_cases.h marked
// kUseBench, the same table the op tests run): per op and shape, median / p95 / p99 ms over
// repetitions, GFLOP/s and the fraction of this machine's measured FMA peak, for every ISA the
// CPU has (or the one in WL_ISA / --isa) and 1 and 2 threads. One JSON line per measurement.
//
//   bench_ops [--quick] [--isa portable|avx2|avx512|neon] [--threads N] [--filter substring]
//
// The peak is measured, not looked up: a loop of independent FMAs per ISA, run on every thread
// of the pool at once; it is printed as its own JSON line ("bench":"fma_peak").
// Where the CPU has AVX-512 BF16, the AVX-512 convs are timed again in bf16 (OpCtx::conv):
// rows with "precision":"bf16" (the others say "f32"), whose frac_peak is still against the
// FMA peak, and a "bf16_peak" line from a loop of independent vdpbf16ps.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench_util.h"
#include "op_cases.h"
#include "ops/op_run.h"
#include "ops/op_table.h"
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
// 12 independent vdpbf16ps chains: 32 multiply-adds each (16 lanes x 2 products).
__attribute__((target("avx512f,avx512bf16"))) float dpbf16_loop(long iters) {
  __m512 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(float(i) * 1e-3f);
  const __m512bh m = reinterpret_cast<__m512bh>(_mm512_set1_epi32(0x3f7f3f7f));  // (0.996, 0.996)
  const __m512bh c = reinterpret_cast<__m512bh>(_mm512_set1_epi32(0x33d633d6));  // (1e-7, 1e-7)
  for (long it = 0; it < iters; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm512_dpbf16_ps(a[i], m, c);
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

// Peak GFLOP/s of `threads` threads running the ISA's FMA loop together (best of 40); with
// bf16, the vdpbf16ps loop (AVX-512 BF16 only). every_worker: false when no repetition had
// every loop on its own worker and the figure is the best there was (then likely one core's:
// the JSON says so, and a frac_peak against it is not to be trusted).
struct Peak {
  double gflops;
  bool every_worker;
};

Peak measure_peak(Isa isa, ThreadPool& pool, int threads, bool bf16 = false) {
  const long iters = 500000;  // ~2 ms: short enough to fit one scheduler slice on a busy machine
  int lanes = 4;
  std::function<float(long)> loop = fma_loop_portable;
#if defined(__x86_64__)
  if (bf16) {
    lanes = 32;
    loop = dpbf16_loop;
  } else if (isa == Isa::Avx512) {
    lanes = 16;
    loop = fma_loop_avx512;
  } else if (isa == Isa::Avx2) {
    lanes = 8;
    loop = fma_loop_avx2;
  }
#endif
  // A repetition counts only if every loop ran on its own worker: when the other core is busy
  // (or a worker is still asleep) the caller runs both chunks itself, and the "peak" of such a
  // repetition is one core's, which once halved a 2-thread peak and doubled every frac_peak.
  double best = 0, best_any = 0;
  float sink = 0;
  for (int rep = 0; rep < 40; ++rep) {
    std::vector<float> out(size_t(threads), 0.0f);
    std::vector<int> who(size_t(threads), -1);
    const auto t0 = Clock::now();
    if (threads == 1) {
      out[0] = loop(iters);
    } else {
      pool.parallel_for(threads, 1, [&](int64_t b, int64_t e, int worker) {
        for (int64_t i = b; i < e; ++i) {
          out[size_t(i)] = loop(iters);
          who[size_t(i)] = worker;
        }
      });
    }
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    for (float v : out) sink += v;
    const double rate = double(threads) * iters * 12 * lanes * 2 / s / 1e9;
    std::sort(who.begin(), who.end());
    const bool all_workers = std::unique(who.begin(), who.end()) == who.end();
    best_any = std::max(best_any, rate);
    if (threads == 1 || all_workers) best = std::max(best, rate);
  }
  if (sink == 12345.0f) std::printf("#\n");
  if (best == 0) return {best_any, false};  // no repetition got every worker: the best there was
  return {best, true};
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

// A bench case bound to host buffers (seeded random inputs, conv weights packed for fast::),
// returning the call to time.
std::function<void()> prepare(const wl_test::OpCase& c, const OpCtx& ctx) {
  const ConvPrecision prec = ctx.conv;
  wl_test::Rng rng(1);
  auto bound = std::make_shared<wl_test::BoundCase>(wl_test::bind(c, rng));
  auto packed = std::make_shared<std::vector<std::vector<float>>>();
  auto call = std::make_shared<OpCall>(bound->call);
  wl_test::each_tensor(*bound, *call, [&](wl_test::HostTensor& t, auto& field) {
    if (t.desc.role != TensorRole::ConvWeight) return;
    packed->emplace_back(fast::conv2d_packed_floats(t.desc.cout, t.desc.cin, t.desc.k, prec));
    fast::conv2d_pack(t.desc.cout, t.desc.cin, t.desc.k, t.as<float>(), packed->back().data(),
                      prec);
    field = reinterpret_cast<wl_test::Pointee<decltype(field)>*>(packed->back().data());
  });
  return [bound, packed, call, ctx]() { cpu_run(ctx, true, *call); };
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
      top = v == "portable" ? Isa::Portable
            : v == "avx2"   ? Isa::Avx2
            : v == "neon"   ? Isa::Neon
                            : Isa::Avx512;
      top = cap_isa(top);
      all_isas = false;
    } else if (a == "--threads" && i + 1 < argc) {
      only_threads = std::atoi(argv[++i]);
    } else if (a == "--filter" && i + 1 < argc) {
      filter = argv[++i];
    } else {
      std::fprintf(
          stderr,
          "usage: %s [--quick] [--isa portable|avx2|avx512|neon] [--threads N] [--filter s]\n",
          argv[0]);
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
  const std::vector<wl_test::OpCase> all_cases = [] {
    std::vector<wl_test::OpCase> v;
    for (wl_test::OpCase& c : wl_test::op_cases())
      if (c.use & wl_test::kUseBench) v.push_back(std::move(c));
    return v;
  }();
  for (Isa isa : isas) {
    for (int threads : thread_counts) {
      ThreadPool pool(threads);
      const Peak fma = measure_peak(isa, pool, threads);
      const double peak = fma.gflops;
      std::printf(
          "{\"bench\":\"fma_peak\",\"machine\":\"%s\",\"backend\":\"cpu\",\"isa\":\"%s\","
          "\"threads\":%d,\"peak_gflops\":%.1f,\"peak_every_worker\":%s}\n",
          machine.c_str(), isa_name(isa), threads, peak, fma.every_worker ? "true" : "false");
      const bool bf16 = isa == Isa::Avx512 && has_avx512_bf16();
      const double peak_bf16 = bf16 ? measure_peak(isa, pool, threads, true).gflops : 0;
      if (bf16)
        std::printf(
            "{\"bench\":\"bf16_peak\",\"machine\":\"%s\",\"backend\":\"cpu\",\"isa\":\"%s\","
            "\"threads\":%d,\"peak_gflops\":%.1f,\"vs_fma_peak\":%.2f}\n",
            machine.c_str(), isa_name(isa), threads, peak_bf16, peak_bf16 / peak);
      std::fflush(stdout);
      // Fractions of the peak for the stride-1 3x3 convs (the frame's bulk), summarised below.
      // frac_best: the fastest repetition's fraction. On a host shared with other tenants the
      // median says what the op got, the best what the kernel can do when its core is free.
      std::vector<double> conv3, conv3_best;
      for (const wl_test::OpCase& c : all_cases) {
        if (!filter.empty() && (c.label + " " + c.shape).find(filter) == std::string::npos)
          continue;
        const size_t scratch_floats = std::visit(
            [&](const auto& a) { return fast::scratch_floats(a, std::max(threads, 2)); }, c.call);
        std::vector<float> scratch(scratch_floats + 64);
        OpCtx ctx;
        ctx.pool = threads > 1 ? &pool : nullptr;
        ctx.isa = isa;
        ctx.scratch = scratch.data();
        ctx.scratch_floats = scratch.size();
        // The f32 row, then (where this conv runs in bf16 here) the bf16 row.
        std::vector<ConvPrecision> precisions = {ConvPrecision::F32};
        OpCtx bf16_ctx = ctx;
        bf16_ctx.conv = ConvPrecision::Bf16;
        if (const auto* a = std::get_if<Conv2dArgs>(&c.call)) {
          if (fast::conv2d_runs_bf16(bf16_ctx, a->s)) precisions.push_back(ConvPrecision::Bf16);
        } else if (const auto* g = std::get_if<GnSiluConv2dArgs>(&c.call)) {
          if (fast::conv2d_runs_bf16(bf16_ctx, g->cs)) precisions.push_back(ConvPrecision::Bf16);
        }
        for (ConvPrecision prec : precisions) {
          ctx.conv = prec;
          auto fn = prepare(c, ctx);
          const Stats st = time_it(fn, quick ? 10 : 30, quick ? 0.05 : 0.3);
          const double gflops = c.flops > 0 ? c.flops / (st.median * 1e-3) / 1e9 : 0;
          const double best_gflops = c.flops > 0 ? c.flops / (st.min * 1e-3) / 1e9 : 0;
          std::printf(
              "{\"bench\":\"op\",\"op\":\"%s\",\"shape\":\"%s\",\"machine\":\"%s\",\"backend\":"
              "\"cpu\","
              "\"model\":\"default-v1\",\"isa\":\"%s\",\"precision\":\"%s\",\"threads\":%d,"
              "\"reps\":%d,"
              "\"min_ms\":%.4f,\"median_ms\":%.4f,\"p95_ms\":%.4f,\"p99_ms\":%.4f,\"gflop\":%.4f,"
              "\"gflops\":%.2f,\"peak_gflops\":%.1f,\"frac_peak\":%.3f,\"frac_peak_best\":%.3f}\n",
              c.label.c_str(), c.shape.c_str(), machine.c_str(), isa_name(isa),
              prec == ConvPrecision::Bf16 ? "bf16" : "f32", threads, st.reps, st.min, st.median,
              st.p95, st.p99, c.flops / 1e9, gflops, peak, c.flops > 0 ? gflops / peak : 0.0,
              c.flops > 0 ? best_gflops / peak : 0.0);
          std::fflush(stdout);
          if (prec == ConvPrecision::F32 && c.flops > 0 &&
              c.shape.find(" k3 s1") != std::string::npos && c.shape.rfind("n1 ", 0) == 0) {
            conv3.push_back(gflops);
            conv3_best.push_back(best_gflops);
          }
        }
      }
      if (conv3.empty()) continue;
      // The peak again after the ops: on a shared machine the two bracket what the ops could get.
      const Peak end = measure_peak(isa, pool, threads);
      const double peak_end = end.gflops;
      // The summary's fractions are against the larger of the two peaks: on a shared host the
      // second core was once half-taken while the first peak ran (2-thread peak 100 against 194
      // at the end, 2026-12-07 on a Zen 3), which made fractions of more than 1.
      const double peak_ref = std::max(peak, peak_end);
      for (double& g : conv3) g /= peak_ref;
      for (double& g : conv3_best) g /= peak_ref;
      std::sort(conv3.begin(), conv3.end());
      std::sort(conv3_best.begin(), conv3_best.end());
      std::printf(
          "{\"bench\":\"ops_summary\",\"machine\":\"%s\",\"backend\":\"cpu\",\"model\":\"default-"
          "v1\","
          "\"isa\":\"%s\",\"threads\":%d,\"peak_gflops\":%.1f,\"peak_gflops_end\":%.1f,"
          "\"peak_ref_gflops\":%.1f,"
          "\"conv3x3_s1_count\":%zu,\"conv3x3_s1_frac_min\":%.3f,\"conv3x3_s1_frac_median\":%.3f,"
          "\"conv3x3_s1_frac_max\":%.3f,\"conv3x3_s1_frac_best_median\":%.3f,"
          "\"peak_every_worker\":%s}\n",
          machine.c_str(), isa_name(isa), threads, peak, peak_end, peak_ref, conv3.size(),
          conv3.front(), conv3[conv3.size() / 2], conv3.back(), conv3_best[conv3_best.size() / 2],
          fma.every_worker && end.every_worker ? "true" : "false");
      std::fflush(stdout);
    }
  }
  return 0;
}
