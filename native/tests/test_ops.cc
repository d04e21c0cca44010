// Every fast op against its reference, on every ISA this machine has (portable, avx2,
// avx512 as available), with 1, 2 and 3 threads, on the cases of op_cases.h marked kUseCpu
// (odd sizes, channel counts not divisible by 8/16, batches, stride 2, pad 0/1/2, k = 1/3/5,
// the model's and bench_ops' shapes); one test per op of the table that has a fast version,
// named op_<name>. Plus the table's own checks and the properties no case table expresses
// (ISA choice, pointwise SiLU accuracy, every RGB rounding midpoint, no allocation).
//
// Tolerance: max|fast - ref| / max(1e-6, max|ref|) <= 1e-5. ref accumulates in double, fast in
// float with FMA; for a K-term dot product of O(1) random values the float rounding error grows
// like sqrt(K) * 2^-24 * (partial-sum size), i.e. ~1e-6 of the output range at K = 1728 (the
// largest conv here), and the polynomial exp in SiLU/softmax adds ~2 ulp. 1e-5 leaves a 10x
// margin over that and still flags any indexing/padding/tail bug, which errs by O(1).
// Any NaN or Inf in a fast output fails.
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "capi/error.h"
#include "check.h"
#include "ops/conv2d_internal.h"
#include "ops/op_run.h"
#include "ops/op_table.h"
#include "ops/ops.h"
// Kernels must not allocate: count every heap allocation of the binary.
#define WL_TEST_COUNT_ALLOCATIONS 1
#include "op_cases.h"
#include "test_util.h"

using namespace wl;

namespace {

constexpr double kTol = 1e-5;

using wl_test::BoundCase;
using wl_test::each_tensor;
using wl_test::HostTensor;
using wl_test::kUseCpu;
using wl_test::norm_err;
using wl_test::op_cases;
using wl_test::OpCase;
using wl_test::output_error;
using wl_test::Pointee;
using wl_test::poison;
using wl_test::random_vec;
using wl_test::Rng;

// The execution contexts every fast op is tried with: each ISA up to the hardware's, with no
// pool (1 thread) and with pools of 2 and 3 threads.
struct Ctx {
  Isa isa;
  ThreadPool* pool;
  std::string name() const {
    return std::string(isa_name(isa)) + "/t" + std::to_string(pool ? pool->size() : 1);
  }
};
std::vector<Ctx> contexts() {
  static ThreadPool pool2(2), pool3(3);
  std::vector<Ctx> out;
  for (Isa isa : runnable_isas()) {
    for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool2, &pool3})
      out.push_back({isa, p});
  }
  return out;
}

// Scratch starts as NaN: a kernel that reads scratch it did not write shows up as NaN output.
OpCtx make_ctx(const Ctx& c, std::vector<float>& scratch, size_t floats) {
  scratch.assign(floats + 1, NAN);
  OpCtx ctx;
  ctx.pool = c.pool;
  ctx.isa = c.isa;
  ctx.scratch = scratch.data();
  ctx.scratch_floats = floats;
  return ctx;
}

int threads_of(const Ctx& c) { return c.pool ? c.pool->size() : 1; }

// Runs every kUseCpu case of `op` with fast:: in every context against ref::.
void run_fast_cases(OpId op) {
  const std::vector<OpCase> cases = op_cases(op, kUseCpu);
  CHECK_MSG(!cases.empty(), "%s has a fast version but no kUseCpu case", op_name(op));
  Rng rng(1000 + uint64_t(op));
  for (const OpCase& c : cases) {
    BoundCase b = bind(c, rng);
    const std::vector<HostTensor> want = ref_outputs(b);
    // The fast call: same inputs, conv weights packed, its own outputs.
    OpCall call = b.call;
    std::vector<std::vector<float>> packed;
    std::vector<HostTensor> got;
    got.reserve(b.tensors.size());
    each_tensor(b, call, [&](HostTensor& t, auto& field) {
      using T = Pointee<decltype(field)>;
      if (t.desc.role == TensorRole::ConvWeight) {
        packed.emplace_back(fast::conv2d_packed_floats(t.desc.cout, t.desc.cin, t.desc.k));
        fast::conv2d_pack(t.desc.cout, t.desc.cin, t.desc.k, t.as<float>(), packed.back().data());
        field = reinterpret_cast<T*>(packed.back().data());
      } else if (t.desc.role == TensorRole::Out) {
        got.push_back(t);
        field = got.back().as<T>();
      }
    });
    for (const Ctx& cx : contexts()) {
      for (HostTensor& t : got) {
        if (t.elem_bytes == sizeof(float)) {
          poison(t.as<float>(), t.desc.count);
        } else {
          poison(t.as<uint8_t>(), t.desc.count);
        }
      }
      std::visit(
          [&](const auto& args) {
            using A = std::decay_t<decltype(args)>;
            if constexpr (has_fast<A>) {
              std::vector<float> scratch;
              const OpCtx ctx = make_ctx(cx, scratch, fast::scratch_floats(args, threads_of(cx)));
              fast::run(ctx, args);
            }
          },
          call);
      for (size_t i = 0; i < got.size(); ++i) {
        const double e = output_error(c, want[i], got[i].data());
        CHECK_MSG(e <= kTol, "%s [%s] %s: err %.3g", c.name().c_str(), cx.name().c_str(),
                  want[i].desc.name, e);
      }
    }
  }
}

// One test per op with a fast version, registered from the table: `test_ops conv2d` runs the
// conv cases.
[[maybe_unused]] const bool registered = [] {
  static std::vector<std::string> names;
  names.reserve(kOpCount);
  for (const OpInfo& info : kOps) {
    if (!(info.impls & kImplFast)) continue;
    names.push_back(std::string("op_") + info.name);
    const OpId id = info.id;
    wl_test::registry().push_back({names.back().c_str(), [id] { run_fast_cases(id); }});
  }
  return true;
}();

}  // namespace

TEST(error_metric_can_fail) {
  std::vector<float> a = {1.0f, -2.0f, 0.5f}, b = a;
  CHECK(norm_err(a, b) == 0.0);
  b[1] += 1e-4f;
  CHECK(norm_err(a, b) > kTol);
  b = a;
  b[2] = NAN;
  CHECK(!(norm_err(a, b) <= kTol));
  b[2] = INFINITY;
  CHECK(!(norm_err(a, b) <= kTol));
}

// The table's ref and fast columns say what the code has: an op listed for a version that has
// no ref::run / fast::run overload (ops/op_run.h), or one that has it unlisted, fails here.
TEST(op_table_matches_implementations) {
  for (const OpInfo& info : kOps) {
    const unsigned listed = info.impls & (kImplRef | kImplFast);
    CHECK_MSG(listed == cpu_impls(info.id), "%s: table lists ref%d fast%d, code has ref%d fast%d",
              info.name, bool(listed & kImplRef), bool(listed & kImplFast),
              bool(cpu_impls(info.id) & kImplRef), bool(cpu_impls(info.id) & kImplFast));
    CHECK_MSG(info.impls & kImplRef, "%s: every op needs a ref version", info.name);
    CHECK(op_info(info.id).id == info.id);
  }
  // Every case is run by something, and binding it reaches every pointer of its op's struct:
  // a pointer that tensors() does not list would still hold the marker.
  Rng rng(1);
  for (const OpCase& c : op_cases()) {
    CHECK_MSG(c.use != 0, "%s: a case no backend runs", c.name().c_str());
    const BoundCase b = wl_test::bind(c, rng);
    CHECK_MSG(!std::visit([](const auto& a) { return wl_test::unvisited_pointer(a); }, b.call),
              "%s: a pointer its tensors() does not list", c.name().c_str());
    if (c.use & kUseCpu)
      CHECK_MSG(op_info(c.op()).impls & kImplFast, "%s: kUseCpu without fast", c.name().c_str());
  }
}

TEST(isa_detection_and_cap) {
  const Isa hw = hardware_isa();
  std::printf("  hardware ISA: %s\n", isa_name(hw));
  setenv("WL_ISA", "portable", 1);
  CHECK(detect_isa() == Isa::Portable);
  // Caps are ranks (isa_level): avx2 and neon name the same one, so each gives this machine's
  // best ISA of at most that rank, never a promotion and never the other architecture's ISA.
  const Isa mid = hw == Isa::Avx512 ? Isa::Avx2 : hw;
  setenv("WL_ISA", "avx2", 1);
  CHECK(detect_isa() == mid);
  setenv("WL_ISA", "neon", 1);
  CHECK(detect_isa() == mid);
  setenv("WL_ISA", "avx512", 1);
  CHECK(detect_isa() == hw);
  for (Isa isa : runnable_isas()) CHECK(cap_isa(isa) == isa);
  setenv("WL_ISA", "sse9", 1);
  bool threw = false;
  try {
    detect_isa();
  } catch (const Error& e) {
    threw = std::string(e.what()).find("WL_ISA") != std::string::npos;
  }
  CHECK(threw);
  unsetenv("WL_ISA");
  CHECK(detect_isa() == hw);
}

TEST(conv2d_rejects_small_scratch_and_bad_shape) {
  ConvShape s{1, 8, 8, 8, 8, 3, 1, 1};
  std::vector<float> x(512), w(fast::conv2d_packed_floats(8, 8, 3)), y(512);
  std::vector<float> scratch(16);
  OpCtx ctx;
  ctx.scratch = scratch.data();
  ctx.scratch_floats = scratch.size();
  bool threw = false;
  try {
    fast::conv2d(ctx, s, x.data(), w.data(), {}, y.data());
  } catch (const Error& e) {
    threw = e.status() == WL_ERR_INVALID_ARGUMENT;
  }
  CHECK(threw);
  threw = false;
  ConvShape bad{1, 8, 1, 1, 8, 3, 1, 0};
  try {
    fast::conv2d(ctx, bad, x.data(), w.data(), {}, y.data());
  } catch (const Error&) {
    threw = true;
  }
  CHECK(threw);
}

TEST(silu_relative_accuracy_over_range) {
  // Pointwise relative error, so small outputs (large negative x) are checked too.
  const size_t n = 20001;
  std::vector<float> x(n), want(n);
  for (size_t i = 0; i < n; ++i) x[i] = -80.0f + 160.0f * float(i) / float(n - 1);
  ref::silu(n, x.data(), want.data());
  for (const Ctx& c : contexts()) {
    std::vector<float> scratch;
    OpCtx ctx = make_ctx(c, scratch, 0);
    std::vector<float> got(n);
    fast::silu(ctx, n, x.data(), got.data());
    double worst = 0;
    for (size_t i = 0; i < n; ++i)
      worst = std::max(
          worst, std::fabs(double(got[i]) - want[i]) / std::max(1e-30, std::fabs(double(want[i]))));
    CHECK_MSG(worst <= 2e-6, "silu relative error %.3g [%s]", worst, c.name().c_str());
  }
}

TEST(linear_rows_independent_of_batch) {
  // A row's output is the same bits in a batch of 7 as alone: the kernels block rows in 4s
  // (AVX-512, NEON) or 2s (AVX2) but give every row the same FMA chain, so batched worlds and
  // single-world play agree exactly.
  Rng rng(77);
  const int n = 7, in = 100, out = 37;
  const std::vector<float> x = random_vec(rng, size_t(n) * in),
                           w = random_vec(rng, size_t(out) * in), b = random_vec(rng, size_t(out));
  for (const Ctx& c : contexts()) {
    std::vector<float> scratch;
    OpCtx ctx = make_ctx(c, scratch, 0);
    std::vector<float> batched(size_t(n) * out), alone(out);
    fast::linear(ctx, n, in, out, x.data(), w.data(), b.data(), batched.data());
    for (int r = 0; r < n; ++r) {
      fast::linear(ctx, 1, in, out, x.data() + size_t(r) * in, w.data(), b.data(), alone.data());
      CHECK_MSG(
          std::memcmp(alone.data(), batched.data() + size_t(r) * out, out * sizeof(float)) == 0,
          "row %d differs alone [%s]", r, c.name().c_str());
    }
  }
}

TEST(rgb_conversion_exact) {
  // A dense sweep over [-1.01, 1.01], every rounding midpoint with its float neighbours, and
  // specials; fast must equal ref byte for byte.
  std::vector<float> vals;
  for (int i = 0; i <= 2020000; ++i) vals.push_back(-1.01f + float(i) * 1e-6f);
  for (int k = 0; k <= 255; ++k) {
    float x = (float(k) + 0.5f) / 127.5f - 1.0f;
    for (int d = 0; d < 4; ++d) x = std::nextafter(x, -2.0f);
    for (int d = 0; d < 9; ++d, x = std::nextafter(x, 2.0f)) vals.push_back(x);
  }
  for (float s : {NAN, INFINITY, -INFINITY, -1.0f, 1.0f, 0.0f, -0.0f, 1e30f, -1e30f})
    vals.push_back(s);
  while (vals.size() % 3) vals.push_back(0.25f);
  const int n = 1, h = 1, w = int(vals.size() / 3);
  std::vector<uint8_t> want(vals.size());
  ref::rgb_f32_to_u8(n, h, w, vals.data(), want.data());
  for (const Ctx& c : contexts()) {
    std::vector<float> scratch;
    OpCtx ctx = make_ctx(c, scratch, 0);
    std::vector<uint8_t> got(vals.size(), 7);
    fast::rgb_f32_to_u8(ctx, n, h, w, vals.data(), got.data());
    CHECK_MSG(got == want, "rgb_f32_to_u8 [%s] differs from ref", c.name().c_str());
  }
  // Spot-check ref itself: -1 -> 0, 1 -> 255, 0 -> 128 (127.5 rounds half away from zero).
  float spot[3] = {-1.0f, 1.0f, 0.0f};
  uint8_t out[3];
  ref::rgb_f32_to_u8(1, 1, 1, spot, out);
  CHECK(out[0] == 0 && out[1] == 255 && out[2] == 128);
  // Round trip of every byte value.
  Rng rng(10);
  const int h2 = 7, w2 = 13;
  std::vector<uint8_t> bytes(size_t(2) * h2 * w2 * 3);
  for (auto& b : bytes) b = uint8_t(rng.next());
  for (int i = 0; i < 256; ++i) bytes[size_t(i)] = uint8_t(i);
  std::vector<float> fw(bytes.size());
  ref::rgb_u8_to_f32(2, h2, w2, bytes.data(), fw.data());
  for (const Ctx& c : contexts()) {
    std::vector<float> scratch;
    OpCtx ctx = make_ctx(c, scratch, 0);
    std::vector<float> f(bytes.size());
    std::vector<uint8_t> back(bytes.size());
    fast::rgb_u8_to_f32(ctx, 2, h2, w2, bytes.data(), f.data());
    CHECK_MSG(f == fw, "rgb_u8_to_f32 [%s] differs from ref", c.name().c_str());
    fast::rgb_f32_to_u8(ctx, 2, h2, w2, f.data(), back.data());
    CHECK_MSG(back == bytes, "u8 -> f32 -> u8 round trip [%s]", c.name().c_str());
  }
}

TEST(fast_ops_do_not_allocate) {
  // Every fast op on a model-like shape, each ISA, pools of 1-3 threads: after a warm-up
  // call, a second call must not touch the heap.
  Rng rng(12);
  const ConvShape cs{1, 16, 16, 16, 16, 3, 1, 1}, cs_wide{1, 8, 4, 40, 8, 3, 1, 1};
  const GroupNormShape gs{1, 16, 256, 8, 1e-5f};
  const AttentionShape as{1, 16, 16, 2};
  auto x = random_vec(rng, 16 * 256), w = random_vec(rng, 16 * 16 * 9),
       y = random_vec(rng, 16 * 256);
  auto x2 = random_vec(rng, 8 * 160), y2 = random_vec(rng, 8 * 160), qkv = random_vec(rng, 48 * 16);
  std::vector<float> pw(fast::conv2d_packed_floats(16, 16, 3));
  fast::conv2d_pack(16, 16, 3, w.data(), pw.data());
  std::vector<uint8_t> rgb(3 * 256);
  for (const Ctx& c : contexts()) {
    std::vector<float> scratch;
    const size_t need = std::max(
        {fast::conv2d_scratch_floats(cs, 3), fast::conv2d_scratch_floats(cs_wide, 3),
         fast::gn_silu_conv2d_scratch_floats(gs, cs, 3), fast::attention_scratch_floats(as, 3)});
    OpCtx ctx = make_ctx(c, scratch, need);
    auto all_ops = [&] {
      fast::conv2d(ctx, cs, x.data(), pw.data(), {}, y.data());
      fast::conv2d(ctx, cs_wide, x2.data(), pw.data(), {}, y2.data());
      fast::gn_silu_conv2d(ctx, gs, {}, cs, x.data(), pw.data(), {}, y.data());
      fast::group_norm(ctx, gs, x.data(), {}, y.data());
      fast::silu(ctx, x.size(), x.data(), y.data());
      fast::add(ctx, x.size(), x.data(), x.data(), y.data());
      fast::linear(ctx, 4, 64, 16, x.data(), w.data(), nullptr, y.data());
      fast::attention(ctx, as, qkv.data(), y.data());
      fast::concat_channels(ctx, 1, 8, 8, 256, x.data(), x.data(), y.data());
      fast::upsample_nearest2x(ctx, 1, 4, 16, 16, x.data(), y.data());
      fast::rgb_f32_to_u8(ctx, 1, 16, 16, x.data(), rgb.data());
      fast::rgb_u8_to_f32(ctx, 1, 16, 16, rgb.data(), y.data());
    };
    all_ops();
    const long before = wl_test::g_allocs.load();
    all_ops();
    CHECK_MSG(wl_test::g_allocs.load() == before, "%ld allocations [%s]",
              wl_test::g_allocs.load() - before, c.name().c_str());
  }
}

// On more than one thread, large full-resolution convs run as bands of output rows, each worker
// padding (or group-normalising) its own input rows, and the 8x8 / 4x4 levels split their
// output channels across the threads. The sums are the same, so the outputs must be
// bit-identical to one thread's, for the plain conv and the fused GN-SiLU conv with every
// affine term, on every ISA with indirect tiles.
TEST(banded_convs_match_one_thread_bit_for_bit) {
  Rng rng(41);
  const ConvShape shapes[] = {{1, 16, 128, 128, 16, 3, 1, 1}, {2, 32, 64, 64, 21, 3, 1, 1},
                              {1, 24, 100, 120, 8, 3, 1, 1},  {1, 16, 128, 128, 3, 3, 1, 1},
                              {1, 64, 16, 16, 64, 3, 1, 1},   {2, 72, 16, 16, 8, 3, 1, 1},
                              {1, 64, 32, 32, 64, 3, 1, 1},   {1, 128, 8, 8, 128, 3, 1, 1},
                              {1, 192, 4, 4, 192, 3, 1, 1},   {2, 96, 8, 8, 72, 3, 1, 1}};
  int banded = 0;
  for (const ConvShape& s : shapes) {
    const size_t nx = size_t(s.n) * s.cin * s.h * s.w;
    const size_t ny = size_t(s.n) * s.cout * s.out_h() * s.out_w();
    const auto x = random_vec(rng, nx), w = random_vec(rng, size_t(s.cout) * s.cin * s.k * s.k),
               bias = random_vec(rng, size_t(s.cout)), res = random_vec(rng, ny),
               gamma = random_vec(rng, size_t(s.cin)), beta = random_vec(rng, size_t(s.cin)),
               scale = random_vec(rng, size_t(s.n) * s.cin),
               shift = random_vec(rng, size_t(s.n) * s.cin);
    std::vector<float> pw(fast::conv2d_packed_floats(s.cout, s.cin, s.k));
    fast::conv2d_pack(s.cout, s.cin, s.k, w.data(), pw.data());
    const GroupNormShape gs{s.n, s.cin, s.h * s.w, 8, 1e-5f};
    GroupNormParams gp;
    gp.gamma = gamma.data();
    gp.beta = beta.data();
    gp.scale = scale.data();
    gp.shift = shift.data();
    ConvEpilogue ep;
    ep.bias = bias.data();
    ep.residual = res.data();
    for (Isa isa : runnable_isas()) {
      std::vector<float> one_conv(ny), one_gn(ny);
      for (const Ctx& c : contexts()) {
        if (c.isa != isa) continue;
        std::vector<float> scratch;
        OpCtx ctx = make_ctx(c, scratch, fast::gn_silu_conv2d_scratch_floats(gs, s, 3));
        std::vector<float> yc(ny, NAN), yg(ny, NAN);
        fast::conv2d(ctx, s, x.data(), pw.data(), ep, yc.data());
        fast::gn_silu_conv2d(ctx, gs, gp, s, x.data(), pw.data(), ep, yg.data());
        if (!c.pool) {
          one_conv = yc;
          one_gn = yg;
          continue;
        }
        banded += fast::conv2d_runs_banded(ctx, s);
        CHECK_MSG(std::memcmp(yc.data(), one_conv.data(), ny * 4) == 0,
                  "conv n%d %dx%dx%d->%d [%s] differs from one thread", s.n, s.cin, s.h, s.w,
                  s.cout, c.name().c_str());
        CHECK_MSG(std::memcmp(yg.data(), one_gn.data(), ny * 4) == 0,
                  "gn_silu_conv2d n%d %dx%dx%d->%d [%s] differs from one thread", s.n, s.cin, s.h,
                  s.w, s.cout, c.name().c_str());
      }
    }
  }
  std::printf("  %d banded runs\n", banded);
  // The hardware ISA has indirect tiles wherever this test runs (x86 AVX2/AVX-512, NEON).
  CHECK(banded > 0 || detect_isa() == Isa::Portable);
}

TEST(half_and_bfloat_conversion) {
  std::vector<uint16_t> all(65536);
  for (int i = 0; i < 65536; ++i) all[size_t(i)] = uint16_t(i);
  std::vector<float> f(65536);
  f16_to_f32(all.size(), all.data(), f.data());
  int bad = 0;
  for (int i = 0; i < 65536; ++i) {
    const int sign = i >> 15, e = (i >> 10) & 31, m = i & 1023;
    double want;
    if (e == 31) {
      want = m ? NAN : INFINITY;
    } else if (e == 0) {
      want = std::ldexp(double(m), -24);
    } else {
      want = std::ldexp(1.0 + m / 1024.0, e - 15);
    }
    if (sign) want = -want;
    const bool same =
        std::isnan(want) ? std::isnan(f[size_t(i)])
                         : double(f[size_t(i)]) == want && std::signbit(f[size_t(i)]) == bool(sign);
    if (!same) bad++;
  }
  CHECK_MSG(bad == 0, "%d half values convert wrongly", bad);
  const float samples[] = {1.0f, -2.5f, 3.140625f, 0.0f, -0.0f, INFINITY, 1e-40f};
  for (float s : samples) {
    uint32_t bits;
    std::memcpy(&bits, &s, 4);
    const uint16_t hi = uint16_t(bits >> 16);
    float back;
    bf16_to_f32(1, &hi, &back);
    uint32_t back_bits;
    std::memcpy(&back_bits, &back, 4);
    CHECK(back_bits == (bits & 0xffff0000u));
  }
}

TEST_MAIN()
