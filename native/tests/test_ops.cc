// Every fast op against its reference, on every ISA this machine has (portable, avx2,
// avx512 as available), with 1, 2 and 3 threads, on random shapes that include odd sizes,
// channel counts not divisible by 8/16, batches, stride 2, pad 0/1, k = 1/3.
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
#include "ops/ops.h"
// Kernels must not allocate: count every heap allocation of the binary.
#define WL_TEST_COUNT_ALLOCATIONS 1
#include "test_util.h"

using namespace wl;

namespace {

constexpr double kTol = 1e-5;

using wl_test::norm_err;
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

std::string conv_name(const ConvShape& s) {
  char b[160];
  std::snprintf(b, sizeof b, "n%d cin%d %dx%d cout%d k%d s%d p%d", s.n, s.cin, s.h, s.w, s.cout,
                s.k, s.stride, s.pad);
  return b;
}

void check_conv(const ConvShape& s, Rng& rng, bool bias, bool residual) {
  const size_t out = size_t(s.n) * s.cout * s.out_h() * s.out_w();
  auto x = random_vec(rng, size_t(s.n) * s.cin * s.h * s.w);
  auto w = random_vec(rng, size_t(s.cout) * s.cin * s.k * s.k);
  auto b = random_vec(rng, size_t(s.cout));
  auto r = random_vec(rng, out);
  ConvEpilogue ep;
  if (bias) ep.bias = b.data();
  if (residual) ep.residual = r.data();
  std::vector<float> want(out);
  ref::conv2d(s, x.data(), w.data(), ep, want.data());
  std::vector<float> packed(fast::conv2d_packed_floats(s.cout, s.cin, s.k));
  fast::conv2d_pack(s.cout, s.cin, s.k, w.data(), packed.data());
  for (const Ctx& c : contexts()) {
    std::vector<float> scratch;
    OpCtx ctx = make_ctx(c, scratch, fast::conv2d_scratch_floats(s, threads_of(c)));
    std::vector<float> got(out, NAN);
    fast::conv2d(ctx, s, x.data(), packed.data(), ep, got.data());
    const double e = norm_err(want, got);
    CHECK_MSG(e <= kTol, "conv2d %s bias%d res%d [%s]: err %.3g", conv_name(s).c_str(), bias,
              residual, c.name().c_str(), e);
  }
}

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

TEST(conv2d_model_shapes) {
  Rng rng(1);
  // Denoiser levels, its 1x1 and stride-2 convs, the decoder levels, the RGB head.
  const ConvShape shapes[] = {
      {1, 40, 16, 16, 64, 3, 1, 1},  {1, 64, 16, 16, 64, 3, 1, 1},  {1, 128, 8, 8, 128, 3, 1, 1},
      {1, 192, 4, 4, 192, 3, 1, 1},  {1, 64, 16, 16, 64, 3, 2, 1},  {1, 128, 8, 8, 384, 1, 1, 0},
      {1, 192, 4, 4, 576, 1, 1, 0},  {1, 128, 16, 16, 64, 1, 1, 0}, {1, 8, 16, 16, 128, 3, 1, 1},
      {1, 64, 32, 32, 32, 3, 1, 1},  {1, 16, 128, 128, 16, 3, 1, 1}, {1, 16, 128, 128, 3, 3, 1, 1},
      {4, 192, 4, 4, 192, 3, 1, 1},  {3, 64, 8, 8, 128, 1, 1, 0},
  };
  for (const auto& s : shapes) check_conv(s, rng, true, rng.next() % 2 == 0);
}

TEST(conv2d_two_row_tiles) {
  // 16-wide output rows go through two-row tiles on AVX-512: odd row counts, batches, pad 0.
  Rng rng(11);
  check_conv({2, 24, 7, 16, 17, 3, 1, 1}, rng, true, true);
  check_conv({1, 8, 16, 18, 8, 3, 1, 0}, rng, false, false);
  check_conv({3, 5, 1, 16, 9, 3, 1, 1}, rng, true, false);
}

TEST(conv2d_flat_tiles) {
  // Output widths that are multiples of 8 go through flat indirect tiles on AVX2 (24 pixels in
  // vectors of 8 that wrap output rows): planes that are not a multiple of the tile (partial
  // last tile per image, batches), pad 0 / 1 / 2, k 1 with padding, k 5, odd channel counts
  // (3, 11 and 19 output channels leave a 3-row block: AVX2's 3-row pass; 27 is a row tile).
  Rng rng(12);
  const ConvShape shapes[] = {
      {1, 13, 8, 8, 17, 3, 1, 1},  {3, 5, 10, 10, 9, 3, 1, 0},  {2, 7, 3, 16, 3, 3, 1, 1},
      {1, 16, 5, 24, 1, 3, 1, 1},  {2, 9, 7, 26, 7, 3, 1, 0},  {1, 33, 9, 40, 24, 3, 1, 1},
      {2, 3, 6, 6, 8, 1, 1, 1},    {1, 6, 11, 12, 16, 5, 1, 2}, {1, 4, 2, 6, 10, 3, 1, 2},
      {1, 8, 1, 48, 9, 3, 1, 1},   {5, 17, 4, 8, 40, 3, 1, 1},  {1, 5, 6, 16, 11, 3, 1, 1},
      {2, 4, 3, 27, 19, 3, 1, 1},
  };
  for (const auto& s : shapes) check_conv(s, rng, rng.next() % 2 == 0, rng.next() % 2 == 0);
}

TEST(conv2d_narrow_block_groups) {
  // Planes of <= 16 pixels use the narrow tile; on AVX2 it takes up to 3 packed blocks per call
  // in 6-row passes across block boundaries: channel counts that leave 1..23 rows in the last
  // group (and 4- and 2-row tail passes), thread splits that cut a group, tiles that straddle
  // images (plane 9 and 12: one block per call), 1x1 convs reading their input in place.
  Rng rng(13);
  const ConvShape shapes[] = {
      {1, 19, 4, 4, 23, 3, 1, 1}, {1, 7, 4, 4, 48, 3, 1, 1}, {2, 5, 4, 4, 25, 3, 1, 1},
      {1, 33, 4, 4, 13, 3, 1, 1}, {3, 6, 3, 3, 30, 3, 1, 1}, {2, 9, 3, 4, 17, 3, 1, 1},
      {1, 16, 4, 4, 70, 1, 1, 0}, {4, 8, 2, 8, 21, 1, 1, 0}, {1, 11, 8, 8, 41, 3, 2, 1},
      {1, 3, 4, 4, 2, 3, 1, 1},
  };
  for (const auto& s : shapes) check_conv(s, rng, rng.next() % 2 == 0, rng.next() % 2 == 0);
}

TEST(conv2d_batched_worlds) {
  Rng rng(2);
  check_conv({64, 192, 4, 4, 192, 3, 1, 1}, rng, true, true);
  check_conv({17, 64, 5, 3, 24, 3, 2, 1}, rng, false, true);
}

TEST(conv2d_random_shapes) {
  Rng rng(3);
  for (int iter = 0; iter < 60; ++iter) {
    ConvShape s;
    s.n = rng.pick({1, 1, 2, 3});
    s.cin = rng.pick({1, 3, 5, 8, 13, 16, 17, 33});
    s.cout = rng.pick({1, 3, 7, 8, 9, 16, 17, 24, 40});
    s.k = rng.pick({1, 3});
    s.stride = rng.pick({1, 2});
    s.pad = s.k == 3 ? rng.pick({0, 1}) : 0;
    s.h = rng.pick({1, 2, 3, 5, 7, 8, 11, 16, 19});
    s.w = rng.pick({1, 2, 3, 5, 7, 8, 11, 16, 19, 37});
    if (s.h + 2 * s.pad < s.k || s.w + 2 * s.pad < s.k) continue;
    check_conv(s, rng, rng.next() % 2 == 0, rng.next() % 2 == 0);
  }
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

static void check_group_norm(const GroupNormShape& s, Rng& rng, bool affine, bool adaptive,
                             bool silu, float offset) {
  const size_t total = size_t(s.n) * s.c * s.hw;
  auto x = random_vec(rng, total, offset - 1.0f, offset + 1.0f);
  auto gamma = random_vec(rng, s.c, 0.5f, 1.5f), beta = random_vec(rng, s.c);
  auto scale = random_vec(rng, size_t(s.n) * s.c), shift = random_vec(rng, size_t(s.n) * s.c);
  GroupNormParams p;
  if (affine) {
    p.gamma = gamma.data();
    p.beta = beta.data();
  }
  if (adaptive) {
    p.scale = scale.data();
    p.shift = shift.data();
  }
  p.silu = silu;
  std::vector<float> want(total);
  ref::group_norm(s, x.data(), p, want.data());
  for (const Ctx& c : contexts()) {
    std::vector<float> scratch;
    OpCtx ctx = make_ctx(c, scratch, 0);
    std::vector<float> got(total, NAN);
    fast::group_norm(ctx, s, x.data(), p, got.data());
    const double e = norm_err(want, got);
    CHECK_MSG(e <= kTol, "group_norm n%d c%d hw%d g%d affine%d adaptive%d silu%d off%g [%s]: %.3g",
              s.n, s.c, s.hw, s.groups, affine, adaptive, silu, offset, c.name().c_str(), e);
  }
}

TEST(group_norm_variants) {
  Rng rng(4);
  check_group_norm({1, 64, 256, 8, 1e-5f}, rng, false, true, true, 0.0f);
  check_group_norm({1, 16, 16384, 8, 1e-5f}, rng, true, false, true, 0.0f);
  check_group_norm({2, 192, 16, 32, 1e-6f}, rng, true, true, false, 0.0f);
  check_group_norm({3, 12, 7, 3, 1e-5f}, rng, true, true, true, 10.0f);
  for (int iter = 0; iter < 30; ++iter) {
    const int groups = rng.pick({1, 2, 3, 8});
    const int c = groups * rng.pick({1, 2, 3, 5, 8});
    check_group_norm({rng.pick({1, 2, 4}), c, rng.pick({1, 3, 15, 16, 17, 64, 255}), groups, 1e-5f},
                     rng, rng.next() % 2, rng.next() % 2, rng.next() % 2, 0.0f);
  }
}

TEST(gn_silu_conv2d_fused) {
  Rng rng(5);
  // Covers both fused paths: GN into the conv's padded input (stride 1, rows >= a wide tile:
  // 36 and 128 wide on AVX-512, also 31 on AVX2) and GN into a scratch tensor (the others).
  for (const auto& cs : {ConvShape{1, 64, 16, 16, 64, 3, 1, 1}, ConvShape{2, 24, 7, 5, 17, 3, 2, 1},
                         ConvShape{1, 16, 32, 32, 8, 1, 1, 0}, ConvShape{2, 16, 10, 36, 13, 3, 1, 1},
                         ConvShape{1, 8, 9, 33, 5, 3, 1, 0}, ConvShape{1, 16, 128, 128, 16, 3, 1, 1},
                         ConvShape{3, 24, 8, 8, 9, 3, 1, 1}, ConvShape{1, 16, 5, 40, 3, 3, 1, 1}}) {
    GroupNormShape gs{cs.n, cs.cin, cs.h * cs.w, 8, 1e-5f};
    auto x = random_vec(rng, size_t(cs.n) * cs.cin * cs.h * cs.w);
    auto w = random_vec(rng, size_t(cs.cout) * cs.cin * cs.k * cs.k);
    auto scale = random_vec(rng, size_t(cs.n) * cs.cin), shift = random_vec(rng, size_t(cs.n) * cs.cin);
    auto bias = random_vec(rng, cs.cout);
    GroupNormParams gp;
    gp.scale = scale.data();
    gp.shift = shift.data();
    ConvEpilogue ep;
    ep.bias = bias.data();
    const size_t out = size_t(cs.n) * cs.cout * cs.out_h() * cs.out_w();
    std::vector<float> want(out);
    ref::gn_silu_conv2d(gs, gp, cs, x.data(), w.data(), ep, want.data());
    std::vector<float> packed(fast::conv2d_packed_floats(cs.cout, cs.cin, cs.k));
    fast::conv2d_pack(cs.cout, cs.cin, cs.k, w.data(), packed.data());
    for (const Ctx& c : contexts()) {
      std::vector<float> scratch;
      OpCtx ctx = make_ctx(c, scratch, fast::gn_silu_conv2d_scratch_floats(gs, cs, threads_of(c)));
      std::vector<float> got(out, NAN);
      fast::gn_silu_conv2d(ctx, gs, gp, cs, x.data(), packed.data(), ep, got.data());
      const double e = norm_err(want, got);
      CHECK_MSG(e <= kTol, "gn_silu_conv2d %s [%s]: %.3g", conv_name(cs).c_str(), c.name().c_str(), e);
    }
  }
}

TEST(silu_and_add) {
  Rng rng(6);
  for (size_t n : {size_t(1), size_t(7), size_t(15), size_t(16), size_t(17), size_t(1000), size_t(100003)}) {
    auto x = random_vec(rng, n, -20.0f, 20.0f), b = random_vec(rng, n);
    if (n > 20) {  // the far tails of exp: clamped ranges must still give finite, right values
      x[0] = -100.0f;
      x[1] = 100.0f;
      x[2] = -88.5f;
      x[3] = 0.0f;
    }
    std::vector<float> want(n), want_add(n);
    ref::silu(n, x.data(), want.data());
    ref::add(n, x.data(), b.data(), want_add.data());
    for (const Ctx& c : contexts()) {
      std::vector<float> scratch;
      OpCtx ctx = make_ctx(c, scratch, 0);
      std::vector<float> got(n, NAN), got_add(n, NAN);
      fast::silu(ctx, n, x.data(), got.data());
      fast::add(ctx, n, x.data(), b.data(), got_add.data());
      const double e = norm_err(want, got);
      CHECK_MSG(e <= kTol, "silu n%zu [%s]: %.3g", n, c.name().c_str(), e);
      CHECK_MSG(got_add == want_add, "add n%zu [%s] not exact", n, c.name().c_str());
    }
  }
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
      worst = std::max(worst, std::fabs(double(got[i]) - want[i]) / std::max(1e-30, std::fabs(double(want[i]))));
    CHECK_MSG(worst <= 2e-6, "silu relative error %.3g [%s]", worst, c.name().c_str());
  }
}

TEST(linear_shapes) {
  Rng rng(7);
  struct L {
    int n, in, out;
  };
  std::vector<L> shapes = {{1, 256, 1024}, {64, 1024, 256}, {1, 1024, 1024}, {5, 33, 17}, {3, 7, 4}, {2, 1, 1}};
  for (int i = 0; i < 20; ++i)
    shapes.push_back({rng.pick({1, 2, 3, 4, 5, 9}), rng.pick({1, 5, 8, 16, 17, 31, 64, 100}),
                      rng.pick({1, 2, 3, 4, 5, 7, 16, 33})});
  for (const L& l : shapes) {
    auto x = random_vec(rng, size_t(l.n) * l.in), w = random_vec(rng, size_t(l.out) * l.in);
    auto b = random_vec(rng, l.out);
    for (bool with_bias : {true, false}) {
      std::vector<float> want(size_t(l.n) * l.out);
      const float* bp = with_bias ? b.data() : nullptr;
      ref::linear(l.n, l.in, l.out, x.data(), w.data(), bp, want.data());
      for (const Ctx& c : contexts()) {
        std::vector<float> scratch;
        OpCtx ctx = make_ctx(c, scratch, 0);
        std::vector<float> got(want.size(), NAN);
        fast::linear(ctx, l.n, l.in, l.out, x.data(), w.data(), bp, got.data());
        const double e = norm_err(want, got);
        CHECK_MSG(e <= kTol, "linear n%d in%d out%d bias%d [%s]: %.3g", l.n, l.in, l.out, with_bias,
                  c.name().c_str(), e);
      }
    }
  }
}

TEST(attention_shapes) {
  Rng rng(8);
  std::vector<AttentionShape> shapes = {{1, 128, 64, 4}, {1, 192, 16, 4}, {2, 128, 64, 4}, {3, 12, 5, 3},
                                        {1, 8, 1, 2},    {2, 16, 17, 1}};
  for (int i = 0; i < 10; ++i) {
    const int heads = rng.pick({1, 2, 4});
    shapes.push_back({rng.pick({1, 2}), heads * rng.pick({1, 3, 8, 13}), rng.pick({1, 2, 7, 16, 33}), heads});
  }
  for (const auto& s : shapes) {
    // Scaled up so the softmax is peaked, not nearly uniform.
    auto qkv = random_vec(rng, size_t(s.n) * 3 * s.c * s.t, -3.0f, 3.0f);
    std::vector<float> want(size_t(s.n) * s.c * s.t);
    ref::attention(s, qkv.data(), want.data());
    for (const Ctx& c : contexts()) {
      std::vector<float> scratch;
      OpCtx ctx = make_ctx(c, scratch, fast::attention_scratch_floats(s, threads_of(c)));
      std::vector<float> got(want.size(), NAN);
      fast::attention(ctx, s, qkv.data(), got.data());
      const double e = norm_err(want, got);
      CHECK_MSG(e <= kTol, "attention n%d c%d t%d heads%d [%s]: %.3g", s.n, s.c, s.t, s.heads,
                c.name().c_str(), e);
    }
  }
}

TEST(concat_and_upsample_exact) {
  Rng rng(9);
  for (int iter = 0; iter < 10; ++iter) {
    const int n = rng.pick({1, 2, 5}), ca = rng.pick({0, 1, 8, 13}), cb = rng.pick({1, 3, 64});
    const int h = rng.pick({1, 3, 16}), w = rng.pick({1, 5, 16});
    auto a = random_vec(rng, size_t(n) * ca * h * w), b = random_vec(rng, size_t(n) * cb * h * w);
    std::vector<float> want(size_t(n) * (ca + cb) * h * w), want_up(size_t(n) * cb * 4 * h * w);
    ref::concat_channels(n, ca, cb, h * w, a.data(), b.data(), want.data());
    ref::upsample_nearest2x(n, cb, h, w, b.data(), want_up.data());
    for (const Ctx& c : contexts()) {
      std::vector<float> scratch;
      OpCtx ctx = make_ctx(c, scratch, 0);
      std::vector<float> got(want.size(), NAN), got_up(want_up.size(), NAN);
      fast::concat_channels(ctx, n, ca, cb, h * w, a.data(), b.data(), got.data());
      fast::upsample_nearest2x(ctx, n, cb, h, w, b.data(), got_up.data());
      CHECK_MSG(got == want, "concat n%d ca%d cb%d hw%d [%s]", n, ca, cb, h * w, c.name().c_str());
      CHECK_MSG(got_up == want_up, "upsample n%d c%d %dx%d [%s]", n, cb, h, w, c.name().c_str());
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
  for (float s : {NAN, INFINITY, -INFINITY, -1.0f, 1.0f, 0.0f, -0.0f, 1e30f, -1e30f}) vals.push_back(s);
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
  auto x = random_vec(rng, 16 * 256), w = random_vec(rng, 16 * 16 * 9), y = random_vec(rng, 16 * 256);
  auto x2 = random_vec(rng, 8 * 160), y2 = random_vec(rng, 8 * 160), qkv = random_vec(rng, 48 * 16);
  std::vector<float> pw(fast::conv2d_packed_floats(16, 16, 3));
  fast::conv2d_pack(16, 16, 3, w.data(), pw.data());
  std::vector<uint8_t> rgb(3 * 256);
  for (const Ctx& c : contexts()) {
    std::vector<float> scratch;
    const size_t need = std::max({fast::conv2d_scratch_floats(cs, 3), fast::conv2d_scratch_floats(cs_wide, 3),
                                  fast::gn_silu_conv2d_scratch_floats(gs, cs, 3),
                                  fast::attention_scratch_floats(as, 3)});
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
    CHECK_MSG(wl_test::g_allocs.load() == before, "%ld allocations [%s]", wl_test::g_allocs.load() - before, c.name().c_str());
  }
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
    const bool same = std::isnan(want) ? std::isnan(f[size_t(i)]) : double(f[size_t(i)]) == want &&
                                                                    std::signbit(f[size_t(i)]) == bool(sign);
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
