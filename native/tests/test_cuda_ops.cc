// Every CUDA op against its CPU reference (wl::ref), on the cases of op_cases.h marked kUseCuda
// (odd sizes, channel counts that are not multiples of the tile sizes, batches up to 64, stride
// 2, pad 0/1, k = 1/3, the model's shapes; the convolutions in both precisions): one test per op
// of the table that has a CUDA version, named op_<name>. Plus split-K, the sampler kernels' bits,
// graph capture/replay, the backend's graph cache, and host-side checks that need no GPU
// (among them that the table's cuda column matches the cuda::run overloads).
// Where no usable GPU exists it prints "skipped: no CUDA device (...)" and exits 0.
//
// Error measure: max|gpu - ref| / max(1e-6, max|ref|); any NaN/Inf in a GPU output fails.
// Tolerances per precision:
//   f32 paths (all non-conv ops, and convs with Precision::F32): 2e-5. ref accumulates in double,
//     the GPU in float in a different order (split-K sums partial tiles): for a K-term dot product
//     of O(1) values the rounding error is ~sqrt(K) * 2^-24 * |partial sums| ~ 1e-6 of the output
//     range at K = 1728, and expf/sqrtf add a few ulp. 2e-5 leaves >10x margin and still flags any
//     indexing, padding or tail bug, which errs by O(1).
//   bf16 convs: 2e-2. Both operands are rounded to bf16 (8 significant bits, relative error up to
//     2^-9 each) and products are summed in f32. With random signs the errors add like a random
//     walk, so the output error is ~2^-9 * sqrt(2) * (typical |output|), i.e. ~3e-3 of the output
//     range with a long tail; 2e-2 is ~6x that and an indexing bug still errs by O(1).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"

#if WL_HAVE_CUDA
#include "capi/error.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_ops.h"
#include "cuda/device.h"
#include "model/philox.h"
#include "op_cases.h"
#include "ops/op_table.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace wl;
using cuda::DeviceBuffer;
using cuda::Precision;

namespace {

constexpr double kTolF32 = 2e-5;
constexpr double kTolBf16 = 2e-2;

using wl_test::BoundCase;
using wl_test::each_tensor;
using wl_test::HostTensor;
using wl_test::kUseCuda;
using wl_test::norm_err;
using wl_test::op_cases;
using wl_test::OpCase;
using wl_test::output_error;
using wl_test::Pointee;
using wl_test::random_vec;
using wl_test::Rng;

DeviceBuffer to_dev(const std::vector<float>& v) {
  DeviceBuffer b(v.size() * sizeof(float));
  b.upload(v.data(), v.size() * sizeof(float));
  return b;
}
std::vector<float> from_dev(const DeviceBuffer& b, size_t n) {
  std::vector<float> v(n);  // download() waits for every stream
  b.download(v.data(), n * sizeof(float));
  return v;
}

// Scratch and stream shared by the tests; scratch is generously sized and re-checked per op.
struct Env {
  cuda::Stream stream;
  DeviceBuffer scratch{size_t(256) << 20};
  Env() {
    cuda::fill_zero(stream.get(), scratch.data(), scratch.bytes());  // split-K counters start at 0
    stream.synchronize();
  }
  cuda::Ctx ctx() {
    cuda::Ctx c;
    c.stream = stream.get();
    c.scratch = scratch.data();
    c.scratch_bytes = scratch.bytes();
    c.sm_count = cuda::device_info().sm_count;
    return c;
  }
};
Env& env() {
  static Env e;
  return e;
}

DeviceBuffer packed_weights(Precision p, int cout, int cin, int k, const std::vector<float>& w) {
  std::vector<unsigned char> host(cuda::conv2d_packed_bytes(p, cout, cin, k));
  cuda::conv2d_pack(p, cout, cin, k, w.data(), host.data());
  DeviceBuffer b(host.size());
  b.upload(host.data(), host.size());
  return b;
}

bool is_conv(OpId op) { return op == OpId::Conv2d || op == OpId::GnSiluConv2d; }

// Runs one bound case on the GPU in precision p and compares every output with ref's.
void run_cuda_case(const OpCase& c, BoundCase& b, const std::vector<HostTensor>& want,
                   Precision p) {
  OpCall call = b.call;
  std::vector<DeviceBuffer> dev;
  dev.reserve(b.tensors.size());
  std::vector<std::pair<const HostTensor*, const DeviceBuffer*>> outs;
  each_tensor(b, call, [&](HostTensor& t, auto& field) {
    using T = Pointee<decltype(field)>;
    if (t.desc.role == TensorRole::ConvWeight) {
      dev.push_back(packed_weights(p, t.desc.cout, t.desc.cin, t.desc.k, t.floats()));
    } else {
      dev.emplace_back(t.bytes());
      if (t.desc.role == TensorRole::Out) {
        cuda::fill_zero(env().stream.get(), dev.back().data(), dev.back().bytes());
        outs.push_back({&t, &dev.back()});
      } else {
        dev.back().upload(t.data(), t.bytes());
      }
    }
    field = static_cast<T*>(dev.back().data());
  });
  cuda::Ctx ctx = env().ctx();
  std::visit(
      [&](const auto& args) {
        CHECK(cuda::scratch_bytes(ctx, p, args) <= ctx.scratch_bytes);
        cuda::run(ctx, p, args);
      },
      call);
  cuda::synchronize(ctx.stream);
  const double tol = is_conv(c.op()) && p == Precision::BF16 ? kTolBf16 : kTolF32;
  for (size_t i = 0; i < outs.size(); ++i) {
    std::vector<uint64_t> got(outs[i].first->storage.size());
    outs[i].second->download(got.data(), outs[i].first->bytes());
    const double e = output_error(c, want[i], got.data());
    CHECK_MSG(e <= tol, "%s %s %s: err %.3g > %.3g", c.name().c_str(), cuda::precision_name(p),
              want[i].desc.name, e, tol);
  }
}

// Every kUseCuda case of `op` (convolutions in both precisions) against ref.
void run_cuda_cases(OpId op) {
  const std::vector<OpCase> cases = op_cases(op, kUseCuda);
  CHECK_MSG(!cases.empty(), "%s has a CUDA version but no kUseCuda case", op_name(op));
  Rng rng(2000 + uint64_t(op));
  for (const OpCase& c : cases) {
    BoundCase b = wl_test::bind(c, rng);
    const std::vector<HostTensor> want = wl_test::ref_outputs(b);
    run_cuda_case(c, b, want, Precision::F32);
    if (is_conv(op)) run_cuda_case(c, b, want, Precision::BF16);
  }
}

// One test per op with a CUDA version, registered from the table (`test_cuda_ops conv2d`).
[[maybe_unused]] const bool registered = [] {
  static std::vector<std::string> names;
  names.reserve(kOpCount);
  for (const OpInfo& info : kOps) {
    if (!(info.impls & kImplCuda)) continue;
    names.push_back(std::string("op_") + info.name);
    const OpId id = info.id;
    wl_test::registry().push_back({names.back().c_str(), [id] { run_cuda_cases(id); }});
  }
  return true;
}();

// The split-K path must give the same result as the unsplit one within f32 rounding: run one
// shape with an SM count that forces splitting and one that forbids it.
TEST(conv2d_split_k_matches_unsplit) {
  Rng rng(7);
  ConvShape s{1, 192, 16, 16, 192, 3, 1, 1};
  auto x = random_vec(rng, size_t(192) * 256);
  auto w = random_vec(rng, size_t(192) * 192 * 9, -0.03f, 0.03f);
  DeviceBuffer dx = to_dev(x), dw = packed_weights(Precision::BF16, 192, 192, 3, w);
  DeviceBuffer y1(192 * 256 * 4), y2(192 * 256 * 4);
  cuda::Ctx many = env().ctx(), one = env().ctx();
  many.sm_count = 132;
  one.sm_count = 1;
  CHECK(cuda::conv2d_scratch_bytes(many, Precision::BF16, s) > cuda::kSplitCounterBytes);  // splits
  CHECK(cuda::conv2d_scratch_bytes(one, Precision::BF16, s) == cuda::kSplitCounterBytes);  // not
  cuda::conv2d(many, Precision::BF16, s, dx.as<float>(), dw.data(), {}, y1.as<float>());
  cuda::conv2d(one, Precision::BF16, s, dx.as<float>(), dw.data(), {}, y2.as<float>());
  cuda::synchronize(many.stream);
  auto a = from_dev(y1, 192 * 256), b = from_dev(y2, 192 * 256);
  CHECK(norm_err(a, b) <= kTolF32);
  // Again: the tile counters were reset by the first launch, and the sum order is fixed.
  cuda::conv2d(many, Precision::BF16, s, dx.as<float>(), dw.data(), {}, y2.as<float>());
  CHECK(a == from_dev(y2, 192 * 256));
  std::vector<int> counters(cuda::kSplitCounterBytes / sizeof(int));
  env().scratch.download(counters.data(), cuda::kSplitCounterBytes);
  CHECK(std::all_of(counters.begin(), counters.end(), [](int c) { return c == 0; }));
}

TEST(linear_batch_matches_separate_linears) {
  Rng rng(33);
  for (int n : {1, 5, 64}) {
    const int in = 256;
    const int outs[] = {64, 64, 128, 17, 192, 1};
    auto x = random_vec(rng, size_t(n) * in);
    DeviceBuffer dx = to_dev(x);
    cuda::LinearBatch lb;
    std::memset(&lb, 0, sizeof(lb));
    lb.x = dx.as<float>();
    lb.n = n;
    lb.in = in;
    lb.count = 6;
    std::vector<std::vector<float>> ws, bs, want;
    std::vector<DeviceBuffer> dw, db, dy;
    for (int j = 0; j < 6; ++j) {
      ws.push_back(random_vec(rng, size_t(outs[j]) * in, -0.1f, 0.1f));
      bs.push_back(random_vec(rng, outs[j]));
      want.emplace_back(size_t(n) * outs[j]);
      ref::linear(n, in, outs[j], x.data(), ws[j].data(), j == 3 ? nullptr : bs[j].data(),
                  want[j].data());
      dw.push_back(to_dev(ws[j]));
      db.push_back(to_dev(bs[j]));
      dy.emplace_back(size_t(n) * outs[j] * 4);
      lb.job[j] = {dw[j].as<float>(), j == 3 ? nullptr : db[j].as<float>(), dy[j].as<float>(),
                   outs[j]};
    }
    cuda::linear_batch(env().ctx(), lb);
    for (int j = 0; j < 6; ++j) {
      const double err = norm_err(want[j], from_dev(dy[j], want[j].size()));
      CHECK_MSG(err <= kTolF32, "linear_batch n=%d job %d: err %.3g", n, j, err);
    }
  }
}

TEST(sampler_kernels) {
  cuda::Ctx ctx = env().ctx();
  const int batch = 5;
  const size_t per = 8 * 16 * 16 + 3;  // not a multiple of 4: the last Philox block is partial
  // Philox normals: same bits as the CPU (double Box-Muller rounded once to f32; CUDA's double
  // log/sincos may differ from libm by an ulp of double, which flips an f32 rounding with
  // probability ~1e-9 per value, so allow at most a couple of 1-ulp differences).
  std::vector<uint64_t> seeds = {0, 1, 0xDEADBEEFCAFEF00Dull, 42, 7};
  std::vector<uint64_t> frames = {0, 2, (1ull << 40) + 7, 9, 7};
  DeviceBuffer ds(seeds.size() * 8), df(frames.size() * 8), dn(batch * per * 4);
  ds.upload(seeds.data(), seeds.size() * 8);
  df.upload(frames.data(), frames.size() * 8);
  cuda::normal_noise(ctx, batch, per, ds.as<uint64_t>(), df.as<uint64_t>(), 3, dn.as<float>());
  auto got = from_dev(dn, batch * per);
  int off_by_ulp = 0, wrong = 0;
  for (int b = 0; b < batch; ++b) {
    std::vector<float> want(per);
    philox_normals(seeds[size_t(b)], frames[size_t(b)], 3, per, want.data());
    for (size_t i = 0; i < per; ++i) {
      const float g = got[b * per + i];
      if (g == want[i]) continue;
      if (std::nextafter(want[i], g) == g) {
        ++off_by_ulp;
      } else {
        ++wrong;
      }
    }
  }
  CHECK_MSG(wrong == 0 && off_by_ulp <= 2, "philox normals: %d wrong, %d off by one ulp", wrong,
            off_by_ulp);

  // scale_add with and without z, aliasing y = x.
  Rng rng(61);
  auto x = random_vec(rng, batch * per), z = random_vec(rng, batch * per);
  std::vector<float> a = {0.5f, -1.0f, 2.0f, 0.0f, 1.5f}, c = {1.0f, 0.25f, -3.0f, 1.0f, 0.0f};
  DeviceBuffer dx = to_dev(x), dz = to_dev(z), da = to_dev(a), dc = to_dev(c);
  cuda::scale_add(ctx, batch, per, da.as<float>(), dx.as<float>(), dc.as<float>(), dz.as<float>(),
                  dx.as<float>());
  auto y = from_dev(dx, x.size());
  double err = 0;
  for (int b = 0; b < batch; ++b)
    for (size_t i = 0; i < per; ++i) {
      const float want = a[b] * x[b * per + i] + c[b] * z[b * per + i];
      err = std::max(err, double(std::fabs(want - y[b * per + i])));
    }
  CHECK_MSG(err <= 1e-6, "scale_add err %.3g", err);

  // Fourier features against the f32 formula of train/modules.py.
  const int half = 64;
  auto freqs = random_vec(rng, half, -3.0f, 3.0f);
  std::vector<float> t = {-1.2f, 0.0f, 0.37f, 1.9f, -0.01f};
  DeviceBuffer dfr = to_dev(freqs), dt = to_dev(t), dyf(batch * 2 * half * 4);
  cuda::fourier(ctx, batch, half, dt.as<float>(), dfr.as<float>(), dyf.as<float>());
  auto f = from_dev(dyf, batch * 2 * half);
  double ferr = 0;
  for (int b = 0; b < batch; ++b)
    for (int j = 0; j < half; ++j) {
      const float arg = (6.28318530717958647692f * t[b]) * freqs[j];
      ferr = std::max(ferr, double(std::fabs(std::cos(arg) - f[b * 2 * half + j])));
      ferr = std::max(ferr, double(std::fabs(std::sin(arg) - f[b * 2 * half + half + j])));
    }
  CHECK_MSG(ferr <= 1e-5, "fourier err %.3g", ferr);
}

// A captured graph replays the same work: results after replay equal the eager results.
TEST(graph_capture_replays_same_result) {
  Rng rng(71);
  cuda::Ctx ctx = env().ctx();
  ConvShape s{2, 64, 16, 16, 64, 3, 1, 1};
  GroupNormShape gs{2, 64, 256, 32, 1e-5f};
  auto x = random_vec(rng, size_t(2) * 64 * 256), w = random_vec(rng, 64 * 64 * 9, -0.04f, 0.04f);
  DeviceBuffer dx = to_dev(x), dw = packed_weights(Precision::BF16, 64, 64, 3, w), dy(x.size() * 4),
               dz(x.size() * 4);
  GroupNormParams gp;
  gp.silu = true;
  auto work = [&] {
    cuda::gn_silu_conv2d(ctx, Precision::BF16, gs, gp, s, dx.as<float>(), dw.data(), {},
                         dy.as<float>());
    cuda::silu(ctx, x.size(), dy.as<float>(), dz.as<float>());
  };
  work();
  auto eager = from_dev(dz, x.size());
  cuda::fill_zero(ctx.stream, dz.data(), dz.bytes());
  cuda::Graph g;
  g.begin(ctx.stream);
  work();
  g.end(ctx.stream);
  CHECK(g.ready());
  g.launch(ctx.stream);
  g.launch(ctx.stream);
  cuda::synchronize(ctx.stream);
  auto replayed = from_dev(dz, x.size());
  CHECK(eager == replayed);  // same kernels, same order: bitwise equal
}

// The backend records ops and replays a cached graph on the second identical sequence; per-world
// host values (here the scale_add coefficients) must be the new ones on replay.
TEST(backend_graph_cache_uses_fresh_per_world_values) {
  auto be = cuda::make_cuda_backend(cuda::CudaBackendOptions{});
  const int batch = 3;
  const size_t per = 1000;
  be->reserve_conv(ConvShape{batch, 4, 10, 10, 4, 3, 1, 1});
  float* arena = be->allocate(3 * batch * per);
  float *x = arena, *z = arena + batch * per, *y = arena + 2 * batch * per;
  Rng rng(81);
  auto hx = random_vec(rng, batch * per), hz = random_vec(rng, batch * per);
  be->upload(x, hx.data(), hx.size());
  be->upload(z, hz.data(), hz.size());
  // Three Linears over the same input (merged into one launch by the backend) plus one that
  // reads a merged one's output (must run after it).
  const int in = 40, out = 24;
  float* lw = z;  // reuse z's contents as weights [out, in] and input rows
  float* lx = z + out * in;
  float* l1 = y + 0 * batch * out;
  float* l2 = y + 1 * batch * out;
  float* l3 = y + 2 * batch * out;
  float* l4 = y + 3 * batch * out;
  be->linear(batch, in, out, lx, lw, nullptr, l1);
  be->linear(batch, in, out, lx, lw + 7, nullptr, l2);
  be->linear(batch, in, out, lx, lw + 13, lx, l3);
  be->linear(batch, out, out, l1, lw, nullptr, l4);
  std::vector<float> lin(4 * batch * out);
  be->download(lin.data(), y, lin.size());
  {
    std::vector<float> want(4 * batch * out);
    const float* hw = hz.data();
    const float* hxl = hz.data() + out * in;
    ref::linear(batch, in, out, hxl, hw, nullptr, want.data());
    ref::linear(batch, in, out, hxl, hw + 7, nullptr, want.data() + batch * out);
    ref::linear(batch, in, out, hxl, hw + 13, hxl, want.data() + 2 * batch * out);
    ref::linear(batch, out, out, want.data(), hw, nullptr, want.data() + 3 * batch * out);
    CHECK_MSG(norm_err(want, lin) <= kTolF32, "merged linears: err %.3g", norm_err(want, lin));
  }
  for (int round = 0; round < 3; ++round) {
    std::vector<float> a = {1.0f + round, -0.5f * round, 2.0f}, c = {0.5f, float(round), -1.0f};
    be->scale_add(batch, per, a.data(), x, c.data(), z, y);
    be->silu(batch * per, y, y);
    std::vector<float> got(batch * per);
    be->download(got.data(), y, got.size());
    std::vector<float> want(batch * per);
    for (int b = 0; b < batch; ++b)
      for (size_t i = 0; i < per; ++i) {
        const float v = a[b] * hx[b * per + i] + c[b] * hz[b * per + i];
        want[b * per + i] = v / (1.0f + std::exp(-v));
      }
    CHECK_MSG(norm_err(want, got) <= kTolF32, "round %d", round);
  }
  const std::string info = be->describe_json();
  CHECK_MSG(info.find("\"graph_captures\":2,") != std::string::npos &&
                info.find("\"graph_replays\":2") != std::string::npos,
            "%s", info.c_str());
}

// ---- host-side logic: runs with or without a GPU ----

// The table's cuda column says what the code has: an op listed for CUDA without a cuda::run
// overload (cuda/cuda_ops.h), or one that has it unlisted, fails here.
TEST(host_op_table_matches_cuda) {
  for (const OpInfo& info : kOps) {
    CHECK_MSG((info.impls & kImplCuda) == cuda::cuda_impls(info.id),
              "%s: table lists cuda%d, code has cuda%d", info.name, bool(info.impls & kImplCuda),
              bool(cuda::cuda_impls(info.id) & kImplCuda));
    if (info.impls & kImplCuda)
      CHECK_MSG(!op_cases(info.id, kUseCuda).empty(), "%s: no kUseCuda case", info.name);
  }
}

uint16_t bf16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return uint16_t(u >> 16);
}

TEST(host_bf16_pack_layout_and_rounding) {
  const int cout = 3, cin = 2, k = 3, K = cin * k * k;  // -> [64][32] padded
  std::vector<float> w(size_t(cout) * K);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.1f * float(i) - 1.0f;
  w[1] = 1.0f + 1.0f / 256.0f;  // tie between 1 and 1+1/128: rounds to even (1.0)
  w[2] = 1.0f + 3.0f / 256.0f;  // tie: rounds up to 1 + 2/128
  CHECK(cuda::conv2d_packed_bytes(Precision::BF16, cout, cin, k) == size_t(64) * 32 * 2);
  std::vector<uint16_t> packed(64 * 32, 0xFFFF);
  cuda::conv2d_pack(Precision::BF16, cout, cin, k, w.data(), packed.data());
  CHECK(packed[1] == bf16_bits(1.0f));
  CHECK(packed[2] == bf16_bits(1.0f + 2.0f / 128.0f));
  bool pad_zero = true, values_close = true;
  for (int m = 0; m < 64; ++m)
    for (int kk = 0; kk < 32; ++kk) {
      const uint16_t v = packed[size_t(m) * 32 + kk];
      if (m >= cout || kk >= K) {
        pad_zero &= v == 0;
      } else {
        uint32_t u = uint32_t(v) << 16;
        float f;
        std::memcpy(&f, &u, 4);
        values_close &=
            std::fabs(f - w[size_t(m) * K + kk]) <= std::fabs(w[size_t(m) * K + kk]) / 256.0f;
      }
    }
  CHECK(pad_zero);
  CHECK(values_close);
  std::vector<float> f32(size_t(cout) * K);
  CHECK(cuda::conv2d_packed_bytes(Precision::F32, cout, cin, k) == f32.size() * 4);
  cuda::conv2d_pack(Precision::F32, cout, cin, k, w.data(), f32.data());
  CHECK(f32 == w);
}

TEST(host_split_k_planning) {
  cuda::Ctx many, one;
  many.sm_count = 132;
  one.sm_count = 1;
  const ConvShape small{1, 192, 16, 16, 192, 3, 1, 1}, big{32, 64, 128, 128, 64, 3, 1, 1};
  // Batch 1 on a 16x16 latent cannot fill 132 SMs with tiles: K is split (partials in scratch).
  CHECK(cuda::conv2d_scratch_bytes(many, Precision::BF16, small) > cuda::kSplitCounterBytes);
  CHECK(cuda::conv2d_scratch_bytes(one, Precision::BF16, small) == cuda::kSplitCounterBytes);
  CHECK(cuda::conv2d_scratch_bytes(many, Precision::BF16, big) == cuda::kSplitCounterBytes);
  // Fused GroupNorm adds its coefficients (and, for large groups, partial statistics).
  const GroupNormShape gs{32, 64, 128 * 128, 8, 1e-5f}, gs1{1, 64, 128 * 128, 8, 1e-5f};
  CHECK(cuda::gn_silu_conv2d_scratch_bytes(many, Precision::BF16, gs, big) >=
        cuda::kSplitCounterBytes + size_t(2) * 32 * 64 * 4);
  ConvShape big1 = big;
  big1.n = 1;
  CHECK(cuda::gn_silu_conv2d_scratch_bytes(many, Precision::BF16, gs1, big1) >
        cuda::kSplitCounterBytes + size_t(2) * 64 * 4);
}

template <class F>
wl_status status_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.status();
  }
  return WL_OK;
}

// Bad shapes are rejected on the host before anything is launched (so no GPU is needed here).
TEST(host_bad_shapes_are_errors) {
  cuda::Ctx ctx;
  ctx.scratch_bytes = 0;
  float* p = nullptr;
  CHECK(status_of([&] {
          cuda::conv2d(ctx, Precision::BF16, ConvShape{1, 4, 8, 8, 4, 5, 1, 2}, p, p, {}, p);
        }) == WL_ERR_INVALID_ARGUMENT);
  CHECK(status_of([&] {
          cuda::conv2d(ctx, Precision::BF16, ConvShape{1, 4, 8, 8, 4, 3, 3, 1}, p, p, {}, p);
        }) == WL_ERR_INVALID_ARGUMENT);
  CHECK(status_of([&] {
          cuda::group_norm(ctx, GroupNormShape{1, 6, 4, 4, 1e-5f}, p, {}, p);
        }) == WL_ERR_INVALID_ARGUMENT);
  CHECK(status_of([&] {
          cuda::attention(ctx, AttentionShape{1, 300, 16, 1}, p, p);
        }) == WL_ERR_UNSUPPORTED);
  CHECK(status_of([&] {
          cuda::attention(ctx, AttentionShape{1, 30, 16, 4}, p, p);
        }) == WL_ERR_INVALID_ARGUMENT);
  CHECK(status_of([&] { cuda::linear(ctx, 1, 0, 4, p, p, p, p); }) == WL_ERR_INVALID_ARGUMENT);
  CHECK(status_of([&] {
          cuda::gn_silu_conv2d(ctx, Precision::BF16, GroupNormShape{1, 6, 64, 4, 1e-5f}, {},
                               ConvShape{1, 6, 8, 8, 4, 3, 1, 1}, p, p, {}, p);
        }) == WL_ERR_INVALID_ARGUMENT);
  CHECK(status_of([&] {
          cuda::gn_silu_conv2d(ctx, Precision::BF16, GroupNormShape{1, 8, 64, 4, 1e-5f}, {},
                               ConvShape{1, 6, 8, 8, 4, 3, 1, 1}, p, p, {}, p);
        }) == WL_ERR_INVALID_ARGUMENT);
}

TEST(host_backend_options_from_env) {
  auto with = [](const char* k, const char* v) {
    if (v) {
      setenv(k, v, 1);
    } else {
      unsetenv(k);
    }
  };
  for (const char* k : {"WL_CUDA_PRECISION", "WL_CUDA_GRAPHS", "WL_CUDA_DEVICE", "WL_CUDA_PROFILE"})
    with(k, nullptr);
  cuda::CudaBackendOptions d = cuda::CudaBackendOptions::from_env();
  CHECK(d.precision == Precision::BF16 && d.graphs && d.device == 0 && !d.profile);
  with("WL_CUDA_PRECISION", "f32");
  with("WL_CUDA_GRAPHS", "0");
  with("WL_CUDA_DEVICE", "1");
  with("WL_CUDA_PROFILE", "1");
  cuda::CudaBackendOptions o = cuda::CudaBackendOptions::from_env();
  CHECK(o.precision == Precision::F32 && !o.graphs && o.device == 1 && o.profile);
  with("WL_CUDA_PRECISION", "fp8");
  CHECK(status_of([] { cuda::CudaBackendOptions::from_env(); }) == WL_ERR_INVALID_ARGUMENT);
  with("WL_CUDA_GRAPHS", "yes");
  CHECK(status_of([] { cuda::CudaBackendOptions::from_env(); }) == WL_ERR_INVALID_ARGUMENT);
  // Empty is unset, as for every switch (model/env_switch.h): the defaults.
  with("WL_CUDA_PRECISION", "");
  with("WL_CUDA_GRAPHS", "");
  CHECK(cuda::CudaBackendOptions::from_env().precision == Precision::BF16);
  CHECK(cuda::CudaBackendOptions::from_env().graphs);
  with("WL_CUDA_PRECISION", nullptr);
  with("WL_CUDA_DEVICE", "-1");
  CHECK(status_of([] { cuda::CudaBackendOptions::from_env(); }) == WL_ERR_INVALID_ARGUMENT);
  with("WL_CUDA_DEVICE", "x");
  CHECK(status_of([] { cuda::CudaBackendOptions::from_env(); }) == WL_ERR_INVALID_ARGUMENT);
  for (const char* k : {"WL_CUDA_PRECISION", "WL_CUDA_GRAPHS", "WL_CUDA_DEVICE", "WL_CUDA_PROFILE"})
    with(k, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  std::string why;
  if (!cuda::device_usable(&why)) {
    // Host-side logic still runs; every GPU test is skipped.
    char filter[] = "host_";
    char* args[] = {argv[0], filter};
    const int rc = wl_test::run_all(2, args);
    std::printf("skipped: %s (GPU tests)\n", why.c_str());
    return rc;
  }
  const auto info = cuda::device_info();
  std::printf("device: %s (sm_%d%d, %d SMs)\n", info.name.c_str(), info.cc_major, info.cc_minor,
              info.sm_count);
  return wl_test::run_all(argc, argv);
}

#else  // !WL_HAVE_CUDA

int main() {
  std::printf(
      "skipped: no CUDA device (this build has no CUDA backend: nvcc not found or "
      "-DWL_CUDA=OFF)\n");
  return 0;
}

#endif
