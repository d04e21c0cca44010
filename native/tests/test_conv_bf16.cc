// The bf16 convolutions (OpCtx::conv = ConvPrecision::Bf16; docs/kernels.md) against ref:: on
// every conv2d and gn_silu_conv2d case of op_cases.h marked kUseCpu, on every ISA this machine
// runs with 1, 2 and 3 threads; plus the weight pack, the bf16 rounding and the backend switch.
//
// Where conv2d_runs_bf16 says a call multiplies in bf16 (every conv on AVX-512 with the BF16
// extension: the indirect and the panel tiles), every output o must satisfy
//   |fast_o - ref_o| <= (c * 2^-7 + K * 2^-24) * S_o + 1e-5 * max|ref|,   c = 1.01,
// with S_o = sum of |x * w| over the K = cin * k * k products of output o (ref::conv2d of |x|
// and |w|; for gn_silu_conv2d x is ref's normalised activation). Why: rounding x and w to bf16
// (to nearest, 8 significant bits: half an ulp is 2^-8 of the value at most) moves each by at
// most 2^-8 of itself, so a product moves by at most (2^-7 + 2^-16) |x w| (c covers the 2^-16
// term); a 27-term conv here comes within 1 % of 2^-7 S_o. vdpbf16ps sums in f32, one rounding
// per product at most (K * 2^-24 * S_o); the rest (bias, residual, the fused op's f32 group
// norm) is the f32 path's, which test_ops holds to 1e-5 of max|ref|. This is a worst-case
// bound, so it cannot fail by chance; the typical error is ~sqrt(K) times smaller (the test
// prints the largest error / bound seen).
// A worst-case bound of 2^-7 S_o would let a kernel drop one term of a long dot product
// (|x w| ~ S_o / K), so conv2d is also held to the exact bf16 model: ref::conv2d on x and w
// rounded to bf16, within the f32 accumulation term only (K * 2^-23 * S_o + 1e-5 * max|ref|).
// Elsewhere (ISAs below AVX-512, CPUs without the BF16 extension) a bf16 context must give the f32
// result (test_ops' 1e-5). Only on a CPU without avx512_bf16 does the bf16 part print a skip.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "capi/error.h"
#include "check.h"
#include "model/cpu_backend.h"
#include "op_cases.h"
#include "ops/op_run.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace wl;

namespace {

constexpr double kTolF32 = 1e-5;  // test_ops' tolerance: the f32 path's error
constexpr double kRounding = 1.01 * 0x1p-7;
constexpr double kAccumulate = 0x1p-24;

using wl_test::BoundCase;
using wl_test::HostTensor;
using wl_test::OpCase;

// bf16 to nearest even, back in f32 (random test inputs are finite and normal).
float round_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  u += 0x7fffu + ((u >> 16) & 1u);
  u &= 0xffff0000u;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

std::vector<float> map(const float* p, size_t n, float (*f)(float)) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = f(p[i]);
  return v;
}
float absf(float f) { return std::fabs(f); }

// The conv the case computes, its input as the conv sees it (for gn_silu_conv2d: ref's
// normalised activation) and its weights [cout][cin][k][k].
struct ConvView {
  ConvShape s;
  std::vector<float> x;
  const float* w;
};
ConvView conv_view(const OpCall& call) {
  if (const auto* a = std::get_if<Conv2dArgs>(&call)) {
    const size_t n = size_t(a->s.n) * a->s.cin * a->s.h * a->s.w;
    return {a->s, std::vector<float>(a->x, a->x + n), a->w};
  }
  const auto& a = std::get<GnSiluConv2dArgs>(call);
  std::vector<float> act(size_t(a.gs.n) * a.gs.c * a.gs.hw);
  GroupNormParams p = a.gp;
  p.silu = true;
  ref::group_norm(a.gs, a.x, p, act.data());
  return {a.cs, std::move(act), a.w};
}

std::vector<float> ref_conv(const ConvShape& s, const std::vector<float>& x,
                            const std::vector<float>& w) {
  std::vector<float> y(size_t(s.n) * s.cout * s.out_h() * s.out_w());
  ref::conv2d(s, x.data(), w.data(), ConvEpilogue{}, y.data());
  return y;
}

struct Tally {
  int bf16_runs = 0;
  double worst_ratio = 0;  // largest |err| / bound of the rounding check
};

void run_cases(OpId op, Tally& tally) {
  static ThreadPool pool2(2), pool3(3);
  wl_test::Rng rng(2000 + uint64_t(op));
  for (const OpCase& c : wl_test::op_cases(op, wl_test::kUseCpu)) {
    BoundCase b = wl_test::bind(c, rng);
    const std::vector<HostTensor> want = wl_test::ref_outputs(b);
    const std::vector<float> ref_y = want[0].floats();
    double max_ref = 0;
    for (float v : ref_y) max_ref = std::max(max_ref, double(std::fabs(v)));
    // S_o and the exact bf16 model, from the conv's own input and weights.
    const ConvView cv = conv_view(b.call);
    const size_t wn = size_t(cv.s.cout) * cv.s.cin * cv.s.k * cv.s.k;
    const std::vector<float> abs_sum =
        ref_conv(cv.s, map(cv.x.data(), cv.x.size(), absf), map(cv.w, wn, absf));
    const std::vector<float> model =
        ref_conv(cv.s, map(cv.x.data(), cv.x.size(), round_bf16), map(cv.w, wn, round_bf16));
    const double k_terms = double(cv.s.cin) * cv.s.k * cv.s.k;
    const bool is_conv = op == OpId::Conv2d;
    // The model's outputs lack the epilogue: the gap between ref with and without it.
    const std::vector<float> plain = ref_conv(cv.s, cv.x, std::vector<float>(cv.w, cv.w + wn));

    OpCall call = b.call;
    std::vector<std::vector<float>> packed;
    std::vector<HostTensor> got;
    got.reserve(b.tensors.size());
    wl_test::each_tensor(b, call, [&](HostTensor& t, auto& field) {
      using T = wl_test::Pointee<decltype(field)>;
      if (t.desc.role == TensorRole::ConvWeight) {
        packed.emplace_back(
            fast::conv2d_packed_floats(t.desc.cout, t.desc.cin, t.desc.k, ConvPrecision::Bf16));
        fast::conv2d_pack(t.desc.cout, t.desc.cin, t.desc.k, t.as<float>(), packed.back().data(),
                          ConvPrecision::Bf16);
        field = reinterpret_cast<T*>(packed.back().data());
      } else if (t.desc.role == TensorRole::Out) {
        got.push_back(t);
        field = got.back().as<T>();
      }
    });
    for (Isa isa : runnable_isas()) {
      for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &pool2, &pool3}) {
        const int threads = pool ? pool->size() : 1;
        const std::string where = std::string(isa_name(isa)) + "/t" + std::to_string(threads);
        wl_test::poison(got[0].as<float>(), got[0].desc.count);
        std::vector<float> scratch;
        OpCtx ctx;
        ctx.pool = pool;
        ctx.isa = isa;
        ctx.conv = ConvPrecision::Bf16;
        std::visit(
            [&](const auto& args) {
              using A = std::decay_t<decltype(args)>;
              if constexpr (std::is_same_v<A, Conv2dArgs> || std::is_same_v<A, GnSiluConv2dArgs>) {
                const size_t floats = fast::scratch_floats(args, threads);
                scratch.assign(floats + 1, NAN);
                ctx.scratch = scratch.data();
                ctx.scratch_floats = floats;
                fast::run(ctx, args);
              }
            },
            call);
        const std::vector<float> y = got[0].floats();
        if (!fast::conv2d_runs_bf16(ctx, cv.s)) {
          const double e = wl_test::norm_err(ref_y, y);
          CHECK_MSG(e <= kTolF32, "%s [%s, bf16 context on the f32 path]: err %.3g",
                    c.name().c_str(), where.c_str(), e);
          continue;
        }
        ++tally.bf16_runs;
        int bad = 0, bad_model = 0;
        size_t first = 0;
        for (size_t o = 0; o < y.size(); ++o) {
          const double err = std::fabs(double(y[o]) - ref_y[o]);
          const double slack = kTolF32 * std::max(1e-6, max_ref);
          const double bound = (kRounding + k_terms * kAccumulate) * abs_sum[o] + slack;
          if (!(err <= bound) && bad++ == 0) first = o;
          tally.worst_ratio = std::max(tally.worst_ratio, err / bound);
          if (is_conv) {
            const double exact = double(model[o]) + (double(ref_y[o]) - plain[o]);
            const double e2 = std::fabs(double(y[o]) - exact);
            if (!(e2 <= 2 * k_terms * kAccumulate * abs_sum[o] + slack) && bad_model++ == 0 && !bad)
              first = o;
          }
        }
        CHECK_MSG(bad == 0 && bad_model == 0,
                  "%s [%s]: %d outputs past the bf16 rounding bound, %d off the bf16 model; "
                  "first %zu: got %.6g, ref %.6g, sum|xw| %.4g",
                  c.name().c_str(), where.c_str(), bad, bad_model, first, y[first], ref_y[first],
                  abs_sum[first]);
      }
    }
  }
}

}  // namespace

TEST(conv2d_and_gn_silu_conv2d_in_bf16) {
  Tally tally;
  run_cases(OpId::Conv2d, tally);
  const int conv_runs = tally.bf16_runs;
  run_cases(OpId::GnSiluConv2d, tally);
  if (!has_avx512_bf16()) {
    std::printf(
        "  skipped: this CPU lacks avx512_bf16, so only the f32 fallback of bf16 "
        "contexts was checked\n");
    CHECK(tally.bf16_runs == 0);
    return;
  }
  std::printf("  %d conv2d and %d gn_silu_conv2d runs in bf16; largest error / bound %.3f\n",
              conv_runs, tally.bf16_runs - conv_runs, tally.worst_ratio);
  CHECK(conv_runs > 0 && tally.bf16_runs > conv_runs);
}

// CPUID and the kernel agree: a detection that wrongly said "no" would turn the bf16 test above
// into a skip on a machine that has the instructions (Linux x86: the avx512_bf16 cpuinfo flag;
// elsewhere nothing to compare).
TEST(bf16_detection_matches_cpuinfo) {
  std::FILE* f = std::fopen("/proc/cpuinfo", "r");
  if (!f) return;
  std::string text;
  char buf[4096];
  for (size_t got; (got = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, got);
  std::fclose(f);
  const size_t flags = text.find("\nflags");
  if (flags == std::string::npos) return;  // not an x86 cpuinfo
  const std::string line = text.substr(flags, text.find('\n', flags + 1) - flags) + " ";
  const bool listed = line.find(" avx512_bf16 ") != std::string::npos;
  std::printf("  cpuinfo avx512_bf16: %s, has_avx512_bf16(): %s\n", listed ? "yes" : "no",
              has_avx512_bf16() ? "yes" : "no");
  CHECK(has_avx512_bf16() == (listed && hardware_isa() == Isa::Avx512));
}

// On AVX-512 with the BF16 extension every conv of a bf16 context runs in bf16 (the indirect
// path: decoder, 16x16 level; the panel path: 8x8 / 4x4 levels, stride 2; 1x1 convs); below
// AVX-512 or in an f32 context none does.
TEST(bf16_path_choice) {
  OpCtx ctx;
  ctx.isa = Isa::Avx512;
  ctx.conv = ConvPrecision::Bf16;
  const bool hw = has_avx512_bf16();
  for (const ConvShape& s :
       {ConvShape{1, 16, 128, 128, 16, 3, 1, 1}, ConvShape{1, 64, 16, 16, 64, 3, 1, 1},
        ConvShape{1, 128, 8, 8, 128, 3, 1, 1}, ConvShape{1, 64, 16, 16, 64, 3, 2, 1},
        ConvShape{1, 128, 16, 16, 64, 1, 1, 0}}) {
    ctx.isa = Isa::Avx512;
    ctx.conv = ConvPrecision::Bf16;
    CHECK(fast::conv2d_runs_bf16(ctx, s) == hw);
    ctx.isa = Isa::Avx2;
    CHECK(!fast::conv2d_runs_bf16(ctx, s));
    ctx.isa = Isa::Avx512;
    ctx.conv = ConvPrecision::F32;
    CHECK(!fast::conv2d_runs_bf16(ctx, s));
  }
}

// The bf16 pack follows the f32 one: [block][pair, ky, kx][8] pairs, channel 2p in the low half,
// rounded to nearest even, zeros past cout and for the missing channel of an odd cin.
TEST(bf16_pack_layout_and_rounding) {
  const int cout = 9, cin = 3, k = 1;
  std::vector<float> w(size_t(cout) * cin * k * k, 0.0f);
  w[0 * 3 + 0] = 1.0f + 0x1p-8f;             // a tie: to even (1.0)
  w[0 * 3 + 1] = 1.0f + 0x1p-8f + 0x1p-20f;  // past the tie: up
  w[0 * 3 + 2] = -2.0f;
  w[8 * 3 + 1] = 3.0f;
  const size_t f32 = fast::conv2d_packed_floats(cout, cin, k);
  CHECK(f32 == 16 * 3);
  CHECK(fast::conv2d_packed_floats(cout, cin, k, ConvPrecision::Bf16) == f32 + 16 * 2);
  std::vector<float> packed(fast::conv2d_packed_floats(cout, cin, k, ConvPrecision::Bf16), NAN);
  fast::conv2d_pack(cout, cin, k, w.data(), packed.data(), ConvPrecision::Bf16);
  CHECK(packed[0] == w[0] && packed[8] == w[1]);  // the f32 pack is unchanged
  std::vector<uint32_t> pairs(32);
  std::memcpy(pairs.data(), packed.data() + f32, pairs.size() * 4);
  CHECK(pairs[0] == (0x3f80u | (0x3f81u << 16)));  // block 0, pair 0, row 0: w0 | w1 << 16
  CHECK(pairs[8] == 0xc000u);                      // pair 1, row 0: w2, no channel 3
  CHECK(pairs[1] == 0);
  CHECK(pairs[16 + 0] == (0x4040u << 16));  // block 1, pair 0, row 0 (co 8): ci 1 = 3
  for (int i = 1; i < 8; ++i) CHECK(pairs[16 + i] == 0 && pairs[24 + i] == 0);  // past cout
}

TEST(backend_switch) {
  setenv("WL_CONV_BF16", "yes", 1);
  bool threw = false;
  try {
    make_cpu_backend(1);
  } catch (const Error& e) {
    threw = std::string(e.what()).find("WL_CONV_BF16") != std::string::npos;
  }
  CHECK(threw);
  unsetenv("WL_CONV_BF16");
  auto off = make_cpu_backend(1);
  CHECK(off->describe_json().find("\"conv\":\"f32\"") != std::string::npos);
  CHECK(off->conv_packed_floats(16, 16, 3) == fast::conv2d_packed_floats(16, 16, 3));
  setenv("WL_CONV_BF16", "1", 1);
  auto on = make_cpu_backend(1);
  const bool bf16 = has_avx512_bf16() && detect_isa() == Isa::Avx512;
  std::printf("  WL_CONV_BF16=1: %s\n", on->describe_json().c_str());
  CHECK((on->describe_json().find("\"conv\":\"bf16\"") != std::string::npos) == bf16);
  CHECK(on->conv_packed_floats(16, 16, 3) ==
        fast::conv2d_packed_floats(16, 16, 3, bf16 ? ConvPrecision::Bf16 : ConvPrecision::F32));
  setenv("WL_ISA", "avx2", 1);  // a cap below AVX-512 turns it off
  CHECK(make_cpu_backend(1)->describe_json().find("\"conv\":\"f32\"") != std::string::npos);
  unsetenv("WL_ISA");
  unsetenv("WL_CONV_BF16");
}

TEST_MAIN()
