// End-to-end parity of the engine with the PyTorch definition (train/modules.py): loads the
// fixtures written by `/usr/bin/python3 -m train goldens --out native/tests/fixtures` through the
// C ABI and checks every golden on every ISA path and with 1 and 2 threads.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "check.h"
#include "model/edm.h"
#include "model/philox.h"
#include "model/safetensors.h"
#include "ops/ops.h"
#include "worldloop/wl_model.h"
// The engine promises that a call allocates nothing once the model is loaded: count heap
// allocations (from any thread) only while wl_test::g_count_allocs is set around such calls.
#define WL_TEST_COUNT_ALLOCATIONS 0
#include "test_util.h"

namespace {

constexpr float kTol = 1e-3f;

using wl_test::Fixture;
using wl_test::fixture;
using wl_test::fixture_exists;

std::string fmt(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2g", double(v));
  return buf;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const float d = std::fabs(a[i] - b[i]);
    if (!(d <= m)) m = d;  // NaN propagates as a failure
  }
  return m;
}

struct Loaded {
  wl_model* model = nullptr;
  ~Loaded() { wl_model_free(model); }
};

// The model file the goldens were computed with (metadata "model" of the goldens): the committed
// tiny model, or default_model.safetensors for `python3 -m train goldens --size default`.
std::string model_file() {
  static const std::string name = [] {
    const wl::SafetensorsFile g =
        wl::SafetensorsFile::open(fixture("golden_denoise.safetensors"),
                                  wl::kMaxSafetensorsFileBytes, wl::AllowedDTypes::Any);
    const std::string* m = g.metadata("model");
    return m ? *m : std::string("tiny_model.safetensors");
  }();
  return name.size() > 0 && name[0] == '/' ? name : fixture(name);
}

wl_model* load_fixture_model(int threads, int max_batch = 2, wl_backend backend = WL_BACKEND_CPU) {
  wl_model_options o;
  wl_model_options_default(&o);
  o.backend = backend;
  o.threads = threads;
  o.max_batch = max_batch;
  wl_model* m = nullptr;
  const wl_status st = wl_model_load(model_file().c_str(), &o, &m);
  if (st != WL_OK) std::printf("  load failed: %s\n", wl_last_error());
  return m;
}

// wl_model_step against wl_model_sample + wl_model_decode of its output on the same model:
// latent and RGB8 must match bit for bit, with and without per-step timing (which changes how
// the backend splits the work). memory may be NULL. Returns false (after CHECKs) on a mismatch.
bool step_matches_sample_then_decode(const char* label, wl_model* model, int B, const float* ctx,
                                     const float* act, const wl_model_memory* memory,
                                     const uint64_t* seeds, const uint64_t* frames, int steps) {
  wl_model_dims d;
  CHECK(wl_model_dims_get(model, &d) == WL_OK);
  const size_t lat = size_t(B) * d.latent_channels * d.latent_h * d.latent_w;
  const size_t px = size_t(B) * d.frame_h * d.frame_w * 3;
  std::vector<float> z_ref(lat), z(lat);
  std::vector<uint8_t> rgb_ref(px), rgb(px);
  CHECK_MSG(wl_model_sample(model, B, ctx, act, memory, seeds, frames, steps, z_ref.data(),
                            nullptr) == WL_OK,
            "[%s] sample: %s", label, wl_last_error());
  CHECK_MSG(wl_model_decode(model, B, z_ref.data(), rgb_ref.data()) == WL_OK, "[%s] decode: %s",
            label, wl_last_error());
  bool same = true;
  for (int timed = 0; timed < 2; ++timed) {
    double ms[9];  // steps <= 8 (wl_model.h), plus the decode
    for (double& v : ms) v = -1.0;
    // Leave another latent in the decoder's input and activations first, so a step that read
    // stale state instead of its own sample would differ.
    std::fill(z.begin(), z.end(), 0.25f);
    CHECK(wl_model_decode(model, B, z.data(), rgb.data()) == WL_OK);
    std::fill(z.begin(), z.end(), -7.0f);
    std::fill(rgb.begin(), rgb.end(), uint8_t(13));
    const wl_status st = wl_model_step(model, B, ctx, act, memory, seeds, frames, steps, z.data(),
                                       rgb.data(), timed ? ms : nullptr);
    CHECK_MSG(st == WL_OK, "[%s] step: %s", label, wl_last_error());
    const bool z_same = std::memcmp(z.data(), z_ref.data(), lat * sizeof(float)) == 0;
    const bool rgb_same = rgb == rgb_ref;
    CHECK_MSG(z_same, "[%s] step latent differs from sample (timed=%d)", label, timed);
    CHECK_MSG(rgb_same, "[%s] step rgb differs from sample+decode (timed=%d)", label, timed);
    same = same && z_same && rgb_same;
    if (timed)
      for (int i = 0; i <= steps; ++i)
        CHECK_MSG(ms[i] >= 0.0, "[%s] step_ms[%d] not written", label, i);
  }
  return same;
}

// The model file a golden names in its metadata ("model": a fixture's name or an absolute path),
// loaded for 2 worlds; null, after a failed CHECK, when it names none or does not load.
wl_model* load_model_of(const Fixture& g, const char* label, int threads, wl_backend backend) {
  const std::string* name = g.file.metadata("model");
  CHECK_MSG(name != nullptr, "[%s] the golden names no model file", label);
  if (!name) return nullptr;
  wl_model_options o;
  wl_model_options_default(&o);
  o.backend = backend;
  o.threads = threads;
  o.max_batch = 2;
  const std::string path = (*name)[0] == '/' ? *name : fixture(*name);
  wl_model* m = nullptr;
  CHECK_MSG(wl_model_load(path.c_str(), &o, &m) == WL_OK, "[%s] %s: %s", label, path.c_str(),
            wl_last_error());
  return m;
}

// After a call that wrote `out`: the call succeeded and `out` is within kTol of the golden tensor
// `expected`; the error is appended to errs so the margin shows in the log.
struct GoldenCheck {
  const char* label;
  const Fixture& g;
  const std::vector<float>& out;
  std::string& errs;
  void operator()(const char* what, wl_status st, const char* expected) const {
    CHECK_MSG(st == WL_OK, "[%s] %s: %s", label, what, wl_last_error());
    const float err = max_abs_diff(out, g.f32(expected));
    CHECK_MSG(err <= kTol, "[%s] %s max abs err %g", label, what, err);
    errs += std::string(" ") + what + " " + fmt(err);
  }
};

// The memory-enabled model's goldens (golden_memory.safetensors, written with the tiny fixtures):
// denoise and 2-step samples with memory views through the _mem entry points, and the plain
// entry points on the same model (no slot present). Absent slots hold NaN in the inputs: the
// engine must not read them. Appends "name err" pairs to errs.
void check_memory_goldens(const char* label, int threads, wl_backend backend, std::string& errs) {
  if (!fixture_exists("golden_memory.safetensors")) {
    errs += " memory (no golden_memory.safetensors: skipped)";
    return;
  }
  Fixture g("golden_memory.safetensors");
  Loaded l;
  l.model = load_model_of(g, label, threads, backend);
  if (!l.model) return;
  wl_model_dims d;
  CHECK(wl_model_dims_get(l.model, &d) == WL_OK);
  CHECK(d.memory_slots > 0 && d.memory_pose_dim > 0);
  const int B = 2;
  const size_t lat = size_t(d.latent_channels) * d.latent_h * d.latent_w;
  const auto [noisy, sigma, ctx, act, mem_lat, mem_pose, mem_mask, noise, seeds, frames, steps] =
      wl_test::memory_golden_inputs(g);
  CHECK(mem_mask.size() == size_t(B) * d.memory_slots);
  CHECK(mem_pose.size() == size_t(B) * d.memory_slots * d.memory_pose_dim);
  const wl_model_memory mem{mem_lat.data(), mem_pose.data(), mem_mask.data()};
  std::vector<float> out(B * lat);

  const GoldenCheck check{label, g, out, errs};
  check("mem-denoise",
        wl_model_denoise(l.model, B, noisy.data(), sigma.data(), ctx.data(), act.data(), &mem,
                         out.data()),
        "expected_denoise");
  check("mem-sample",
        wl_model_sample_with_noise(l.model, B, ctx.data(), act.data(), &mem, steps, noise.data(),
                                   out.data()),
        "expected_sample");
  check("mem-philox-sample",
        wl_model_sample(l.model, B, ctx.data(), act.data(), &mem, seeds.data(), frames.data(),
                        steps, out.data(), nullptr),
        "expected_sample_philox");
  // No memory at all: NULL memory agrees with PyTorch's memory=None.
  check("mem-model-null-memory",
        wl_model_denoise(l.model, B, noisy.data(), sigma.data(), ctx.data(), act.data(), nullptr,
                         out.data()),
        "expected_denoise_no_memory");
  if (step_matches_sample_then_decode(label, l.model, B, ctx.data(), act.data(), &mem, seeds.data(),
                                      frames.data(), steps) &&
      step_matches_sample_then_decode(label, l.model, B, ctx.data(), act.data(), nullptr,
                                      seeds.data(), frames.data(), steps))
    errs += " mem-step==sample+decode";
}

// Copy-then-correct (denoiser.predicts "residual"): the samplers add the newest context latent
// back after the last Euler step, wl_model_denoise stays in residual space.
void check_residual_goldens(const char* label, int threads, wl_backend backend, std::string& errs) {
  if (!fixture_exists("golden_residual.safetensors")) return;
  Fixture g("golden_residual.safetensors");
  Loaded l;
  l.model = load_model_of(g, label, threads, backend);
  if (!l.model) return;
  const int B = 2;
  const auto ctx = g.f32("input_context"), act = g.f32("input_actions");
  const auto noise = g.f32("input_noise"), sigma = g.f32("input_sigma");
  const auto noisy = g.f32("input_noisy");
  const auto seeds = g.raw<uint64_t>("input_seeds"), frames = g.raw<uint64_t>("input_frames");
  std::vector<float> out(noise.size());
  const GoldenCheck check{label, g, out, errs};
  check("residual-denoise",
        wl_model_denoise(l.model, B, noisy.data(), sigma.data(), ctx.data(), act.data(), nullptr,
                         out.data()),
        "expected_denoise");
  check("residual-sample1",
        wl_model_sample_with_noise(l.model, B, ctx.data(), act.data(), nullptr, 1, noise.data(),
                                   out.data()),
        "expected_sample_1");
  check("residual-sample2",
        wl_model_sample_with_noise(l.model, B, ctx.data(), act.data(), nullptr, 2, noise.data(),
                                   out.data()),
        "expected_sample_2");
  check("residual-philox",
        wl_model_sample(l.model, B, ctx.data(), act.data(), nullptr, seeds.data(), frames.data(), 0,
                        out.data(), nullptr),
        "expected_sample_philox");
  if (step_matches_sample_then_decode(label, l.model, B, ctx.data(), act.data(), nullptr,
                                      seeds.data(), frames.data(), 0))
    errs += " residual-step==sample+decode";
}

// Runs every golden against a freshly loaded model; `label` names the configuration.
void check_all_goldens(const char* label, int threads, wl_backend backend = WL_BACKEND_CPU) {
  Loaded l;
  l.model = load_fixture_model(threads, 2, backend);
  CHECK(l.model != nullptr);
  if (!l.model) return;
  wl_model_dims d;
  CHECK(wl_model_dims_get(l.model, &d) == WL_OK);
  const size_t lat = size_t(d.latent_channels) * d.latent_h * d.latent_w;
  const int B = 2;
  std::string errs;  // max abs errors, printed so the margin to the tolerance is visible

  {
    Fixture g("golden_denoise.safetensors");
    const auto noisy = g.f32("input_noisy"), sigma = g.f32("input_sigma");
    const auto ctx = g.f32("input_context"), act = g.f32("input_actions");
    const auto expected = g.f32("expected");
    std::vector<float> out(B * lat);
    CHECK(wl_model_denoise(l.model, B, noisy.data(), sigma.data(), ctx.data(), act.data(), nullptr,
                           out.data()) == WL_OK);
    const float err = max_abs_diff(out, expected);
    CHECK_MSG(err <= kTol, "[%s] denoise max abs err %g", label, err);
    errs += std::string(" denoise ") + fmt(err);
  }
  {
    Fixture g("golden_decode.safetensors");
    const auto latent = g.f32("input_latent"), expected = g.f32("expected");
    std::vector<float> out(expected.size());
    CHECK(wl_model_decode_f32(l.model, B, latent.data(), out.data()) == WL_OK);
    const float err = max_abs_diff(out, expected);
    CHECK_MSG(err <= kTol, "[%s] decode max abs err %g", label, err);
    errs += std::string(" decode ") + fmt(err);
    // RGB8 path: the reference conversion of PyTorch's floats, allowing one level where a value
    // sits on a rounding boundary.
    std::vector<uint8_t> rgb(size_t(B) * d.frame_h * d.frame_w * 3), want(rgb.size());
    CHECK(wl_model_decode(l.model, B, latent.data(), rgb.data()) == WL_OK);
    wl::ref::rgb_f32_to_u8(B, d.frame_h, d.frame_w, expected.data(), want.data());
    int worst = 0;
    for (size_t i = 0; i < rgb.size(); ++i) worst = std::max(worst, std::abs(rgb[i] - want[i]));
    CHECK_MSG(worst <= 1, "[%s] decode rgb8 differs by %d levels", label, worst);
  }
  {
    Fixture g("golden_encode.safetensors");
    const auto rgb = g.raw<uint8_t>("input_rgb");
    const auto expected = g.f32("expected");
    std::vector<float> out(B * lat);
    CHECK(wl_model_encode(l.model, B, rgb.data(), out.data()) == WL_OK);
    const float err = max_abs_diff(out, expected);
    CHECK_MSG(err <= kTol, "[%s] encode max abs err %g", label, err);
    errs += std::string(" encode ") + fmt(err);
  }
  {
    Fixture g("golden_sample.safetensors");
    const auto ctx = g.f32("input_context"), act = g.f32("input_actions");
    const auto noise = g.f32("input_noise"), expected = g.f32("expected");
    const int steps = int(g.raw<int64_t>("input_steps").at(0));
    std::vector<float> out(B * lat);
    CHECK(wl_model_sample_with_noise(l.model, B, ctx.data(), act.data(), nullptr, steps,
                                     noise.data(), out.data()) == WL_OK);
    const float err = max_abs_diff(out, expected);
    CHECK_MSG(err <= kTol, "[%s] sample (%d steps) max abs err %g", label, steps, err);
    errs += std::string(" sample ") + fmt(err);
  }
  {
    Fixture g("golden_sample_philox.safetensors");
    const auto ctx = g.f32("input_context"), act = g.f32("input_actions");
    const auto seeds = g.raw<uint64_t>("input_seeds"), frames = g.raw<uint64_t>("input_frames");
    const auto expected = g.f32("expected");
    const int steps = int(g.raw<int64_t>("input_steps").at(0));
    std::vector<float> out(B * lat);
    CHECK(wl_model_sample(l.model, B, ctx.data(), act.data(), nullptr, seeds.data(), frames.data(),
                          steps, out.data(), nullptr) == WL_OK);
    const float err = max_abs_diff(out, expected);
    CHECK_MSG(err <= kTol, "[%s] philox sample max abs err %g", label, err);
    errs += std::string(" philox-sample ") + fmt(err);
    // The combined frame call, on the same inputs, with 1 and 2 worlds and the default steps.
    if (step_matches_sample_then_decode(label, l.model, B, ctx.data(), act.data(), nullptr,
                                        seeds.data(), frames.data(), steps) &&
        step_matches_sample_then_decode(label, l.model, 1, ctx.data(), act.data(), nullptr,
                                        seeds.data(), frames.data(), 0))
      errs += " step==sample+decode";
  }
  check_memory_goldens(label, threads, backend, errs);
  check_residual_goldens(label, threads, backend, errs);
  std::printf("  [%s] max abs err:%s\n", label, errs.c_str());
}

struct IsaCase {
  const char* isa;
  int threads;
};

void with_env(const char* key, const char* value) {
  if (value)
    setenv(key, value, 1);
  else
    unsetenv(key);
}

}  // namespace

TEST(goldens_every_isa_and_thread_count) {
  // Every ISA this machine runs (x86-64: portable, avx2, avx512; AArch64: portable, neon).
  std::vector<IsaCase> cases;
  for (wl::Isa isa : wl::runnable_isas())
    for (int threads : {1, 2}) cases.push_back({wl::isa_name(isa), threads});
  for (const IsaCase& c : cases) {
    with_env("WL_ISA", c.isa);
    char label[64];
    std::snprintf(label, sizeof label, "%s, %d threads", c.isa, c.threads);
    check_all_goldens(label, c.threads);
  }
  with_env("WL_ISA", nullptr);
}

TEST(goldens_reference_kernels) {
  // The plain-loop ops: separates a network-wiring bug (fails here too) from a kernel bug.
  with_env("WL_KERNELS", "ref");
  check_all_goldens("ref kernels", 1);
  with_env("WL_KERNELS", nullptr);
}

TEST(goldens_cuda_when_available) {
  // f32 compute so the same tolerance applies (the CUDA default is bf16 tensor cores).
  with_env("WL_CUDA_PRECISION", "f32");
  wl_model_options o;
  wl_model_options_default(&o);
  o.backend = WL_BACKEND_CUDA;
  wl_model* m = nullptr;
  const wl_status st = wl_model_load(model_file().c_str(), &o, &m);
  if (st == WL_ERR_UNSUPPORTED) {
    std::printf("  skipped: %s\n", wl_last_error());
  } else {
    CHECK_MSG(st == WL_OK, "%s", wl_last_error());
    wl_model_free(m);
    if (st == WL_OK) {
      check_all_goldens("cuda f32", 0, WL_BACKEND_CUDA);
      with_env("WL_CUDA_GRAPHS", "0");
      check_all_goldens("cuda f32, no graphs", 0, WL_BACKEND_CUDA);
      with_env("WL_CUDA_GRAPHS", nullptr);
    }
  }
  with_env("WL_CUDA_PRECISION", nullptr);
}

TEST(info_reports_requested_isa_when_supported) {
  Loaded best;
  best.model = load_fixture_model(1);
  CHECK(best.model != nullptr);
  if (!best.model) return;
  const std::string info = wl_model_info_json(best.model);
  CHECK(info.find("\"params\"") != std::string::npos);
  CHECK(info.find("\"load_ms\"") != std::string::npos);
  CHECK(info.find("\"nan_weights\":[]") != std::string::npos);
  with_env("WL_ISA", "portable");
  Loaded port;
  port.model = load_fixture_model(1);
  with_env("WL_ISA", nullptr);
  CHECK(port.model != nullptr);
  if (port.model)
    CHECK(std::string(wl_model_info_json(port.model)).find("\"isa\":\"portable\"") !=
          std::string::npos);
}

TEST(philox_matches_python_and_known_answers) {
  // Known-answer vectors of Philox-4x32-10 (Random123).
  const uint32_t c0[4] = {0, 0, 0, 0}, k0[2] = {0, 0};
  const wl::PhiloxWords a = wl::philox4x32_10(c0, k0);
  CHECK(a.w[0] == 0x6627e8d5u && a.w[1] == 0xe169c58du && a.w[2] == 0xbc57ac4cu &&
        a.w[3] == 0x9b00dbd8u);
  const uint32_t c1[4] = {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u};
  const uint32_t k1[2] = {0xa4093822u, 0x299f31d0u};
  const wl::PhiloxWords b = wl::philox4x32_10(c1, k1);
  CHECK(b.w[0] == 0xd16cfe09u && b.w[1] == 0x94fdccebu && b.w[2] == 0x5001e420u &&
        b.w[3] == 0x24126ea1u);

  Fixture g("golden_philox.safetensors");
  const auto keys = g.raw<uint64_t>("input_keys");
  const auto words = g.raw<uint32_t>("expected_words");
  const auto normals = g.f32("expected_normals");
  const size_t nkeys = keys.size() / 3, nwords = words.size() / nkeys,
               nnorm = normals.size() / nkeys;
  for (size_t k = 0; k < nkeys; ++k) {
    const uint64_t seed = keys[3 * k], frame = keys[3 * k + 1];
    const uint32_t step = uint32_t(keys[3 * k + 2]);
    for (size_t blk = 0; blk < nwords / 4; ++blk) {
      const wl::PhiloxWords p = wl::philox_block(seed, frame, step, uint32_t(blk));
      for (int j = 0; j < 4; ++j) CHECK(p.w[j] == words[k * nwords + blk * 4 + j]);
    }
    std::vector<float> n(nnorm);
    wl::philox_normals(seed, frame, step, nnorm, n.data());
    int exact = 0;
    for (size_t i = 0; i < nnorm; ++i) exact += n[i] == normals[k * nnorm + i];
    CHECK_MSG(exact == int(nnorm), "key %zu: %d of %zu normals bit-identical", k, exact, nnorm);
  }
}

TEST(karras_schedule_and_edm_scalars) {
  double s1[2], s4[5];
  wl::karras_sigmas(1, 0.002, 5.0, 7.0, s1);
  CHECK(std::fabs(s1[0] - 5.0) < 1e-12 && s1[1] == 0.0);
  wl::karras_sigmas(4, 0.002, 5.0, 7.0, s4);
  CHECK(std::fabs(s4[0] - 5.0) < 1e-12 && std::fabs(s4[3] - 0.002) < 1e-12 && s4[4] == 0.0);
  for (int i = 0; i < 4; ++i) CHECK(s4[i] > s4[i + 1]);
  const wl::EdmScalars e = wl::edm_precondition(0.5, 0.5);  // sigma = sigma_data
  CHECK(std::fabs(e.c_skip - 0.5f) < 1e-7f && std::fabs(e.c_in - 1.0f / std::sqrt(0.5f)) < 1e-6f);
}

TEST(sample_is_deterministic_and_batch_independent) {
  Loaded l;
  l.model = load_fixture_model(2, 3);
  CHECK(l.model != nullptr);
  if (!l.model) return;
  wl_model_dims d;
  wl_model_dims_get(l.model, &d);
  const size_t lat = size_t(d.latent_channels) * d.latent_h * d.latent_w;
  const size_t ctx_n = lat * d.context, act_n = size_t(d.context) * d.action_dim;
  std::vector<float> ctx(3 * ctx_n), act(3 * act_n);
  for (size_t i = 0; i < ctx.size(); ++i) ctx[i] = std::sin(0.37f * float(i));
  for (size_t i = 0; i < act.size(); ++i) act[i] = std::cos(1.3f * float(i));
  const uint64_t seeds[3] = {7, 7, 8}, frames[3] = {100, 100, 100};
  std::vector<float> out1(3 * lat), out2(3 * lat), single(lat);
  double step_ms[2] = {-1, -1};
  CHECK(wl_model_sample(l.model, 3, ctx.data(), act.data(), nullptr, seeds, frames, 2, out1.data(),
                        step_ms) == WL_OK);
  CHECK(step_ms[0] >= 0 && step_ms[1] >= 0);
  CHECK(wl_model_sample(l.model, 3, ctx.data(), act.data(), nullptr, seeds, frames, 2, out2.data(),
                        nullptr) == WL_OK);
  CHECK(out1 == out2);
  // World 2 alone gives what it gave inside the batch (its noise depends only on its own key).
  CHECK(wl_model_sample(l.model, 1, ctx.data() + 2 * ctx_n, act.data() + 2 * act_n, nullptr,
                        seeds + 2, frames + 2, 2, single.data(), nullptr) == WL_OK);
  const std::vector<float> third(out1.begin() + 2 * lat, out1.end());
  CHECK(max_abs_diff(single, third) <= 1e-5f);
  // A different seed must change the sample.
  std::vector<float> reseeded(lat);
  const uint64_t other_seed = 9;
  CHECK(wl_model_sample(l.model, 1, ctx.data() + 2 * ctx_n, act.data() + 2 * act_n, nullptr,
                        &other_seed, frames + 2, 2, reseeded.data(), nullptr) == WL_OK);
  CHECK(max_abs_diff(single, reseeded) > 1e-3f);
}

TEST(networks_sharing_activation_memory_do_not_interfere) {
  Loaded l;
  l.model = load_fixture_model(1);
  CHECK(l.model != nullptr);
  if (!l.model) return;
  Fixture dec("golden_decode.safetensors");
  const auto latent = dec.f32("input_latent");
  std::vector<float> first(dec.f32("expected").size()), again(first.size());
  CHECK(wl_model_decode_f32(l.model, 2, latent.data(), first.data()) == WL_OK);
  Fixture smp("golden_sample.safetensors");
  const auto ctx = smp.f32("input_context"), act = smp.f32("input_actions");
  const auto noise = smp.f32("input_noise");
  std::vector<float> z(latent.size());
  CHECK(wl_model_sample_with_noise(l.model, 2, ctx.data(), act.data(), nullptr, 2, noise.data(),
                                   z.data()) == WL_OK);
  Fixture enc("golden_encode.safetensors");
  const auto rgb = enc.raw<uint8_t>("input_rgb");
  CHECK(wl_model_encode(l.model, 2, rgb.data(), z.data()) == WL_OK);
  CHECK(wl_model_decode_f32(l.model, 2, latent.data(), again.data()) == WL_OK);
  CHECK(first == again);
}

TEST(calls_allocate_nothing) {
  Loaded l;
  l.model = load_fixture_model(2, 2);
  CHECK(l.model != nullptr);
  if (!l.model) return;
  Fixture smp("golden_sample.safetensors");
  const auto ctx = smp.f32("input_context"), act = smp.f32("input_actions");
  const auto noise = smp.f32("input_noise");
  Fixture dn("golden_denoise.safetensors");
  const auto noisy = dn.f32("input_noisy"), sigma = dn.f32("input_sigma");
  Fixture enc("golden_encode.safetensors");
  const auto rgb_in = enc.raw<uint8_t>("input_rgb");
  wl_model_dims d;
  wl_model_dims_get(l.model, &d);
  const size_t lat = size_t(d.latent_channels) * d.latent_h * d.latent_w;
  std::vector<float> z(2 * lat), f(2 * 3 * size_t(d.frame_h) * d.frame_w);
  std::vector<uint8_t> rgb(f.size());
  const uint64_t seeds[2] = {1, 2}, frames[2] = {3, 4};
  double step_ms[5];
  auto all_calls = [&] {
    int bad = 0;
    bad += wl_model_sample(l.model, 2, ctx.data(), act.data(), nullptr, seeds, frames, 4, z.data(),
                           step_ms) != WL_OK;
    bad += wl_model_sample_with_noise(l.model, 2, ctx.data(), act.data(), nullptr, 2, noise.data(),
                                      z.data()) != WL_OK;
    bad += wl_model_denoise(l.model, 2, noisy.data(), sigma.data(), ctx.data(), act.data(), nullptr,
                            z.data()) != WL_OK;
    bad += wl_model_decode(l.model, 2, z.data(), rgb.data()) != WL_OK;
    bad += wl_model_decode_f32(l.model, 2, z.data(), f.data()) != WL_OK;
    bad += wl_model_encode(l.model, 2, rgb_in.data(), z.data()) != WL_OK;
    bad += wl_model_step(l.model, 2, ctx.data(), act.data(), nullptr, seeds, frames, 4, z.data(),
                         rgb.data(), step_ms) != WL_OK;
    bad += wl_model_step(l.model, 2, ctx.data(), act.data(), nullptr, seeds, frames, 2, z.data(),
                         rgb.data(), nullptr) != WL_OK;
    return bad;
  };
  CHECK(all_calls() == 0);  // warm-up (thread-pool start-up, lazy statics)
  wl_test::g_allocs = 0;
  wl_test::g_count_allocs = true;
  const int bad = all_calls();
  wl_test::g_count_allocs = false;
  CHECK(bad == 0);
  CHECK_MSG(wl_test::g_allocs.load() == 0,
            "%ld heap allocations during calls (WL_ABORT_ON_ALLOC=1 under gdb finds the first)",
            wl_test::g_allocs.load());
}

namespace {
std::vector<uint8_t> read_bytes(const std::string& path) {
  std::vector<uint8_t> out;
  wl_test::read_file(path, &out);
  return out;
}
std::string write_temp(const std::vector<uint8_t>& bytes, const char* name) {
  const std::string path = wl_test::temp_path("goldens", name);
  wl_test::write_file(path, bytes);
  return path;
}
}  // namespace

TEST(non_finite_weights_are_reported_not_fatal) {
  std::vector<uint8_t> bytes = read_bytes(model_file());
  CHECK(bytes.size() > 8);
  const wl::SafetensorsFile f = wl::SafetensorsFile::open(model_file());
  const wl::TensorInfo& t = f.get("denoiser.conv_in.bias");
  uint64_t header = 0;
  std::memcpy(&header, bytes.data(), 8);
  uint8_t* element1 = bytes.data() + 8 + header + t.begin + wl::dtype_size(t.dtype);
  if (t.dtype == wl::DType::F32) {
    const float nan = NAN;
    std::memcpy(element1, &nan, 4);
  } else {  // quiet NaN in F16 / BF16
    const uint16_t nan = t.dtype == wl::DType::F16 ? 0x7E00 : 0x7FC0;
    std::memcpy(element1, &nan, 2);
  }
  const std::string path = write_temp(bytes, "nan");
  wl_model* m = nullptr;
  CHECK(wl_model_load(path.c_str(), nullptr, &m) == WL_OK);
  if (m) {
    const std::string info = wl_model_info_json(m);
    CHECK(info.find("\"nan_weights\":[\"denoiser.conv_in.bias: 1 NaN, 0 Inf\"]") !=
          std::string::npos);
    // A NaN latent from the sampler: decode refuses it (a caller's argument), and the one-call
    // frame reports it as the engine's failure (the weights give non-finite outputs).
    wl_model_dims d;
    CHECK(wl_model_dims_get(m, &d) == WL_OK);
    const size_t lat = size_t(d.latent_channels) * d.latent_h * d.latent_w;
    std::vector<float> ctx(lat * d.context, 0.1f), act(size_t(d.context) * d.action_dim, 0.0f);
    std::vector<float> z(lat);
    std::vector<uint8_t> rgb(size_t(d.frame_h) * d.frame_w * 3);
    const uint64_t seed = 1, frame = 1;
    CHECK(wl_model_sample(m, 1, ctx.data(), act.data(), nullptr, &seed, &frame, 1, z.data(),
                          nullptr) == WL_OK);
    const wl_status dec = wl_model_decode(m, 1, z.data(), rgb.data());
    const wl_status stp = wl_model_step(m, 1, ctx.data(), act.data(), nullptr, &seed, &frame, 1,
                                        z.data(), rgb.data(), nullptr);
    CHECK_MSG(dec == WL_ERR_INVALID_ARGUMENT && stp == WL_ERR_INTERNAL, "decode %d, step %d (%s)",
              int(dec), int(stp), wl_last_error());
    CHECK_MSG(std::string(wl_last_error()).find("not finite") != std::string::npos, "%s",
              wl_last_error());
    wl_model_free(m);
  }
  std::remove(path.c_str());
}

TEST(missing_tensor_is_named) {
  std::vector<uint8_t> bytes = read_bytes(model_file());
  // Rename the tensor in the header (same length keeps every offset valid).
  const std::string from = "\"denoiser.conv_out.bias\"", to = "\"denoiser.conv_out.bia_\"";
  const std::string text(bytes.begin(), bytes.end());
  const size_t at = text.find(from);
  CHECK(at != std::string::npos);
  if (at == std::string::npos) return;
  std::memcpy(bytes.data() + at, to.data(), to.size());
  const std::string path = write_temp(bytes, "missing");
  wl_model* m = nullptr;
  CHECK(wl_model_load(path.c_str(), nullptr, &m) == WL_ERR_FORMAT);
  CHECK(m == nullptr);
  const std::string err = wl_last_error();
  CHECK_MSG(err.find("missing tensor \"denoiser.conv_out.bias\"") != std::string::npos, "%s",
            err.c_str());
  std::remove(path.c_str());
}

TEST(bad_arguments_are_errors_not_crashes) {
  wl_model* m = nullptr;
  CHECK(wl_model_load("native/tests/fixtures/does_not_exist.safetensors", nullptr, &m) ==
        WL_ERR_IO);
  CHECK(m == nullptr && std::strlen(wl_last_error()) > 0);
  // A golden data file is a valid safetensors file without a manifest.
  CHECK(wl_model_load(fixture("golden_decode.safetensors").c_str(), nullptr, &m) != WL_OK);
  CHECK(m == nullptr);
  wl_model_options o;
  wl_model_options_default(&o);
  o.max_batch = -3;
  CHECK(wl_model_load(model_file().c_str(), &o, &m) == WL_ERR_INVALID_ARGUMENT);
  CHECK(std::string(wl_last_error()).find("max_batch") != std::string::npos);
  o.max_batch = 1;
  o.backend = static_cast<wl_backend>(42);
  CHECK(wl_model_load(model_file().c_str(), &o, &m) == WL_ERR_INVALID_ARGUMENT);

  Loaded l;
  l.model = load_fixture_model(1, 1);
  CHECK(l.model != nullptr);
  if (!l.model) return;
  wl_model_dims d;
  wl_model_dims_get(l.model, &d);
  const size_t lat = size_t(d.latent_channels) * d.latent_h * d.latent_w;
  std::vector<float> x(lat, 0.1f), ctx(lat * d.context, 0.0f),
      act(size_t(d.context) * d.action_dim, 0.0f), out(lat);
  float sigma = 1.0f;
  CHECK(wl_model_denoise(l.model, 2, x.data(), &sigma, ctx.data(), act.data(), nullptr,
                         out.data()) == WL_ERR_INVALID_ARGUMENT);  // batch above max_batch
  CHECK(std::string(wl_last_error()).find("batch") != std::string::npos);
  CHECK(wl_model_denoise(l.model, 1, nullptr, &sigma, ctx.data(), act.data(), nullptr,
                         out.data()) == WL_ERR_INVALID_ARGUMENT);
  sigma = NAN;
  CHECK(wl_model_denoise(l.model, 1, x.data(), &sigma, ctx.data(), act.data(), nullptr,
                         out.data()) == WL_ERR_INVALID_ARGUMENT);
  CHECK(std::string(wl_last_error()).find("sigma[0]") != std::string::npos);
  sigma = 1.0f;
  ctx[5] = INFINITY;
  CHECK(wl_model_denoise(l.model, 1, x.data(), &sigma, ctx.data(), act.data(), nullptr,
                         out.data()) == WL_ERR_INVALID_ARGUMENT);
  CHECK(std::string(wl_last_error()).find("context_latents[5]") != std::string::npos);
  ctx[5] = 0.0f;
  const uint64_t seed = 1, frame = 0;
  CHECK(wl_model_sample(l.model, 1, ctx.data(), act.data(), nullptr, &seed, &frame, 9, out.data(),
                        nullptr) == WL_ERR_INVALID_ARGUMENT);
  CHECK(wl_model_sample(nullptr, 1, ctx.data(), act.data(), nullptr, &seed, &frame, 1, out.data(),
                        nullptr) == WL_ERR_INVALID_ARGUMENT);
  // The one-call frame validates like sample and decode, naming the argument.
  std::vector<uint8_t> rgb(size_t(d.frame_h) * d.frame_w * 3);
  CHECK(wl_model_step(l.model, 1, ctx.data(), act.data(), nullptr, &seed, &frame, 9, out.data(),
                      rgb.data(), nullptr) == WL_ERR_INVALID_ARGUMENT);
  CHECK(wl_model_step(l.model, 2, ctx.data(), act.data(), nullptr, &seed, &frame, 1, out.data(),
                      rgb.data(), nullptr) == WL_ERR_INVALID_ARGUMENT);
  CHECK(wl_model_step(l.model, 1, ctx.data(), act.data(), nullptr, &seed, &frame, 1, out.data(),
                      nullptr, nullptr) == WL_ERR_INVALID_ARGUMENT);
  CHECK(std::string(wl_last_error()).find("out_rgb") != std::string::npos);
  act[1] = NAN;
  CHECK(wl_model_step(l.model, 1, ctx.data(), act.data(), nullptr, &seed, &frame, 1, out.data(),
                      rgb.data(), nullptr) == WL_ERR_INVALID_ARGUMENT);
  CHECK(std::string(wl_last_error()).find("context_actions[1]") != std::string::npos);
  act[1] = 0.0f;
  const float mask = 1.0f;
  const wl_model_memory mem{x.data(), x.data(), &mask};
  CHECK(wl_model_step(l.model, 1, ctx.data(), act.data(), &mem, &seed, &frame, 1, out.data(),
                      rgb.data(), nullptr) == WL_ERR_INVALID_ARGUMENT);
  CHECK(std::string(wl_last_error()).find("no memory slots") != std::string::npos);
  CHECK(wl_model_step(nullptr, 1, ctx.data(), act.data(), nullptr, &seed, &frame, 1, out.data(),
                      rgb.data(), nullptr) == WL_ERR_INVALID_ARGUMENT);
  CHECK(wl_model_dims_get(nullptr, &d) == WL_ERR_INVALID_ARGUMENT);
  CHECK(std::string(wl_model_info_json(nullptr)) == "{}");
}

TEST_MAIN()

TEST(memory_arguments_and_allocations) {
  if (!fixture_exists("golden_memory.safetensors")) {
    std::printf("  skipped: no golden_memory.safetensors in the fixtures\n");
    return;
  }
  Fixture g("golden_memory.safetensors");
  Loaded l;
  wl_model_options o;
  wl_model_options_default(&o);
  o.threads = 1;
  o.max_batch = 2;
  const std::string* name = g.file.metadata("model");
  CHECK(name != nullptr);
  if (!name) return;
  const std::string path = (*name)[0] == '/' ? *name : fixture(*name);
  CHECK_MSG(wl_model_load(path.c_str(), &o, &l.model) == WL_OK, "%s", wl_last_error());
  if (!l.model) return;
  wl_model_dims md;
  CHECK(wl_model_dims_get(l.model, &md) == WL_OK);
  const std::string info = wl_model_info_json(l.model);
  const std::string want_mem = "\"memory\":{\"slots\":" + std::to_string(md.memory_slots) +
                               ",\"pose_dim\":" + std::to_string(md.memory_pose_dim) + "}";
  CHECK_MSG(info.find(want_mem) != std::string::npos, "%s", info.c_str());
  const auto noisy = g.f32("input_noisy"), sigma = g.f32("input_sigma");
  const auto ctx = g.f32("input_context"), act = g.f32("input_actions");
  auto mem_lat = g.f32("input_memory"), mem_pose = g.f32("input_memory_poses");
  auto mask = g.f32("input_memory_mask");
  const auto noise = g.f32("input_noise");
  wl_model_memory mem{mem_lat.data(), mem_pose.data(), mask.data()};
  std::vector<float> out(noisy.size()), again(noisy.size());
  std::vector<uint8_t> step_rgb(size_t(2) * md.frame_h * md.frame_w * 3);
  const uint64_t seeds[2] = {1, 2}, frames[2] = {3, 4};

  // No allocation in the memory paths either.
  auto calls = [&] {
    int bad = 0;
    bad += wl_model_denoise(l.model, 2, noisy.data(), sigma.data(), ctx.data(), act.data(), &mem,
                            out.data()) != WL_OK;
    bad += wl_model_sample(l.model, 2, ctx.data(), act.data(), &mem, seeds, frames, 2, out.data(),
                           nullptr) != WL_OK;
    bad += wl_model_sample_with_noise(l.model, 2, ctx.data(), act.data(), &mem, 2, noise.data(),
                                      out.data()) != WL_OK;
    bad += wl_model_step(l.model, 2, ctx.data(), act.data(), &mem, seeds, frames, 2, out.data(),
                         step_rgb.data(), nullptr) != WL_OK;
    return bad;
  };
  CHECK(calls() == 0);
  wl_test::g_allocs = 0;
  wl_test::g_count_allocs = true;
  const int bad = calls();
  wl_test::g_count_allocs = false;
  CHECK(bad == 0);
  CHECK_MSG(wl_test::g_allocs.load() == 0, "%ld heap allocations in memory calls",
            wl_test::g_allocs.load());

  // Worlds stay independent: world 0 alone (batch 1) gives world 0's result of the batch.
  CHECK(wl_model_denoise(l.model, 2, noisy.data(), sigma.data(), ctx.data(), act.data(), &mem,
                         out.data()) == WL_OK);
  CHECK(wl_model_denoise(l.model, 1, noisy.data(), sigma.data(), ctx.data(), act.data(), &mem,
                         again.data()) == WL_OK);
  const size_t lat = out.size() / 2;
  CHECK(std::equal(out.begin(), out.begin() + lat, again.begin()));

  // A present slot's content matters (the golden's no-memory output differs from it).
  const float diff = max_abs_diff(out, g.f32("expected_denoise_no_memory"));
  CHECK_MSG(diff > 1e-2f, "memory changed the output by only %g", diff);

  auto expect_error = [&](const char* needle) {
    const wl_status st = wl_model_denoise(l.model, 2, noisy.data(), sigma.data(), ctx.data(),
                                          act.data(), &mem, out.data());
    CHECK(st == WL_ERR_INVALID_ARGUMENT);
    CHECK_MSG(std::string(wl_last_error()).find(needle) != std::string::npos, "%s (wanted %s)",
              wl_last_error(), needle);
  };
  const float saved_mask = mask[1];
  mask[1] = 0.5f;
  expect_error("memory.mask[0][1]: must be 0 (absent) or 1 (present)");
  mask[1] = saved_mask;
  // Slot (0, 0) is present in the golden: a NaN there is rejected, naming the element.
  CHECK(mask[0] == 1.0f);
  const float saved_lat = mem_lat[7];
  mem_lat[7] = NAN;
  expect_error("memory.latents[0][0][7] is not finite");
  mem_lat[7] = saved_lat;
  const float saved_pose = mem_pose[2];
  mem_pose[2] = INFINITY;
  expect_error("memory.poses[0][0][2] is not finite");
  mem_pose[2] = saved_pose;
  mem.poses = nullptr;
  expect_error("memory.poses is null");
  mem.poses = mem_pose.data();
  CHECK(wl_model_denoise(l.model, 2, noisy.data(), sigma.data(), ctx.data(), act.data(), &mem,
                         out.data()) == WL_OK);

  // A model without memory slots refuses memory instead of ignoring it.
  Loaded plain;
  plain.model = load_fixture_model(1, 2);
  wl_model_dims d{};
  if (plain.model) CHECK(wl_model_dims_get(plain.model, &d) == WL_OK);
  if (plain.model && d.memory_slots > 0) {
    // Goldens of a memory model (goldens --model): there is no memory-less model to ask.
    std::printf("  the goldens' main model has memory: memory-less refusal not checked\n");
  } else if (plain.model) {
    CHECK(d.memory_pose_dim == 0);
    const size_t plat = size_t(d.latent_channels) * d.latent_h * d.latent_w;
    std::vector<float> x(2 * plat, 0.1f), c(2 * plat * d.context, 0.0f),
        a(2 * size_t(d.context) * d.action_dim, 0.0f), y(2 * plat);
    const float s2[2] = {1.0f, 1.0f};
    CHECK(wl_model_denoise(plain.model, 2, x.data(), s2, c.data(), a.data(), &mem, y.data()) ==
          WL_ERR_INVALID_ARGUMENT);
    CHECK(std::string(wl_last_error()).find("no memory slots") != std::string::npos);
    CHECK(wl_model_denoise(plain.model, 2, x.data(), s2, c.data(), a.data(), nullptr, y.data()) ==
          WL_OK);
  }
}
