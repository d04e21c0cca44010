// The CUDA backend end to end through the C ABI: the PyTorch goldens (native/tests/fixtures) in
// both precisions, CUDA against the CPU backend on the same inputs, and batched worlds
// (B = 1..64 per call, each world with its own context, actions and seed, equal to running that
// world alone). Without a usable GPU it checks the documented failure instead: --backend cuda
// gives WL_ERR_UNSUPPORTED naming the reason, --backend auto falls back to the CPU.
//
// Error measure: max|got - want| / max(1e-6, max|want|) (normalised), NaN/Inf fail.
// Tolerances:
//   f32 precision: 1e-3 normalised, the CPU goldens' bound (test_goldens.cc uses 1e-3 absolute on
//     outputs of magnitude ~1): f32 with a different summation order than PyTorch.
//   bf16 precision: 5e-2 normalised. Each conv rounds its operands to bf16 (~3e-3 relative output
//     error, see test_cuda_ops.cc); the networks chain ~20 of them, partly through residuals, so
//     errors add roughly like a random walk: sqrt(20) * 3e-3 ~ 1.5e-2, 5e-2 is ~3x that. A
//     wiring bug (wrong tensor, missing bias, swapped scale/shift) errs by O(1).
// Every comparison prints its error so a GPU run's log records the actual numbers.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "model/safetensors.h"
#include "test_util.h"
#include "worldloop/wl_model.h"

#if WL_HAVE_CUDA
#include "cuda/device.h"
#endif

namespace {

using wl_test::Fixture;
using wl_test::fixture;
using wl_test::norm_err;

struct Model {
  wl_model* m = nullptr;
  Model() = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  ~Model() { wl_model_free(m); }
};

// Loads a fixture model (default: the tiny one); precision "f32"/"bf16" selects the CUDA conv path.
bool load(Model& out, wl_backend backend, const char* precision, int max_batch,
          const char* file = "tiny_model.safetensors") {
  if (precision) setenv("WL_CUDA_PRECISION", precision, 1);
  wl_model_options o;
  wl_model_options_default(&o);
  o.backend = backend;
  o.threads = 2;
  o.max_batch = max_batch;
  const wl_status st = wl_model_load(fixture(file).c_str(), &o, &out.m);
  unsetenv("WL_CUDA_PRECISION");
  if (st != WL_OK) std::printf("  load failed (%d): %s\n", int(st), wl_last_error());
  return st == WL_OK;
}

void check_err(const char* what, const char* precision, double err, double tol) {
  std::printf("  %-28s %-5s normalised err %.3g (tol %.3g)\n", what, precision, err, tol);
  CHECK_MSG(err <= tol, "%s [%s]: %.3g > %.3g", what, precision, err, tol);
}

double tol_for(const char* precision) { return std::strcmp(precision, "f32") == 0 ? 1e-3 : 5e-2; }

// The memory-enabled fixture model (golden_memory.safetensors): memory latents as conv_in
// channels and the per-slot pose MLP run on existing ops, so CUDA must match like the rest.
void memory_goldens(const char* precision) {
  Fixture g("golden_memory.safetensors");
  const std::string* file = g.file.metadata("model");
  CHECK(file != nullptr);
  if (!file) return;
  Model md;
  CHECK(load(md, WL_BACKEND_CUDA, precision, 2, file->c_str()));
  if (!md.m) return;
  wl_model_dims d;
  CHECK(wl_model_dims_get(md.m, &d) == WL_OK);
  const size_t lat = size_t(d.latent_channels) * d.latent_h * d.latent_w;
  const int B = 2;
  const double tol = tol_for(precision);
  const auto [noisy, sigma, ctx, act, mem_lat, mem_pose, mem_mask, noise, seeds, frames, steps] =
      wl_test::memory_golden_inputs(g);
  const wl_model_memory mem{mem_lat.data(), mem_pose.data(), mem_mask.data()};
  std::vector<float> out(B * lat), again(B * lat);
  CHECK(wl_model_denoise(md.m, B, noisy.data(), sigma.data(), ctx.data(), act.data(), &mem,
                         out.data()) == WL_OK);
  check_err("golden memory denoise", precision, norm_err(g.f32("expected_denoise"), out), tol);
  CHECK(wl_model_sample_with_noise(md.m, B, ctx.data(), act.data(), &mem, steps, noise.data(),
                                   out.data()) == WL_OK);
  check_err("golden memory sample", precision, norm_err(g.f32("expected_sample"), out), tol);
  CHECK(wl_model_sample_with_noise(md.m, B, ctx.data(), act.data(), &mem, steps, noise.data(),
                                   again.data()) == WL_OK);
  CHECK_MSG(out == again, "[%s] memory graph replay differs from first run", precision);
  CHECK(wl_model_sample(md.m, B, ctx.data(), act.data(), &mem, seeds.data(), frames.data(), steps,
                        out.data(), nullptr) == WL_OK);
  check_err("golden memory philox sample", precision,
            norm_err(g.f32("expected_sample_philox"), out), tol);
  CHECK(wl_model_denoise(md.m, B, noisy.data(), sigma.data(), ctx.data(), act.data(), nullptr,
                         out.data()) == WL_OK);
  check_err("golden memory model, none", precision,
            norm_err(g.f32("expected_denoise_no_memory"), out), tol);
}

void goldens(const char* precision) {
  Model md;
  CHECK(load(md, WL_BACKEND_CUDA, precision, 2));
  if (!md.m) return;
  const std::string info = wl_model_info_json(md.m);
  CHECK_MSG(info.find("\"backend\":\"cuda\"") != std::string::npos, "%s", info.c_str());
  wl_model_dims d;
  CHECK(wl_model_dims_get(md.m, &d) == WL_OK);
  const size_t lat = size_t(d.latent_channels) * d.latent_h * d.latent_w;
  const int B = 2;
  const double tol = tol_for(precision);
  {
    Fixture g("golden_denoise.safetensors");
    const auto noisy = g.f32("input_noisy"), sigma = g.f32("input_sigma");
    const auto ctx = g.f32("input_context"), act = g.f32("input_actions");
    std::vector<float> out(B * lat);
    CHECK(wl_model_denoise(md.m, B, noisy.data(), sigma.data(), ctx.data(), act.data(), nullptr,
                           out.data()) == WL_OK);
    check_err("golden denoise", precision, norm_err(g.f32("expected"), out), tol);
  }
  {
    Fixture g("golden_decode.safetensors");
    const auto latent = g.f32("input_latent"), expected = g.f32("expected");
    std::vector<float> out(expected.size());
    CHECK(wl_model_decode_f32(md.m, B, latent.data(), out.data()) == WL_OK);
    check_err("golden decode", precision, norm_err(expected, out), tol);
    // The RGB8 path (conversion kernel + pinned copy) against the float path of this same model.
    std::vector<uint8_t> rgb(size_t(B) * d.frame_h * d.frame_w * 3);
    CHECK(wl_model_decode(md.m, B, latent.data(), rgb.data()) == WL_OK);
    int worst = 0;
    const size_t hw = size_t(d.frame_h) * d.frame_w;
    for (int b = 0; b < B; ++b)
      for (size_t p = 0; p < hw; ++p)
        for (int c = 0; c < 3; ++c) {
          float v = (out[(size_t(b) * 3 + c) * hw + p] + 1.0f) * 127.5f;
          v = std::isfinite(v) ? std::min(255.0f, std::max(0.0f, v)) : 0.0f;
          worst = std::max(worst, std::abs(int(std::round(v)) - int(rgb[(b * hw + p) * 3 + c])));
        }
    CHECK_MSG(worst <= 1, "[%s] decode rgb8 differs from its own floats by %d levels", precision,
              worst);
  }
  {
    Fixture g("golden_encode.safetensors");
    const auto rgb = g.raw<uint8_t>("input_rgb");
    std::vector<float> out(B * lat);
    CHECK(wl_model_encode(md.m, B, rgb.data(), out.data()) == WL_OK);
    check_err("golden encode", precision, norm_err(g.f32("expected"), out), tol);
  }
  {
    Fixture g("golden_sample.safetensors");
    const auto ctx = g.f32("input_context"), act = g.f32("input_actions");
    const auto noise = g.f32("input_noise");
    const int steps = int(g.raw<int64_t>("input_steps").at(0));
    std::vector<float> out(B * lat);
    // Twice: the second call replays the captured graph and must give the same bits.
    CHECK(wl_model_sample_with_noise(md.m, B, ctx.data(), act.data(), nullptr, steps, noise.data(),
                                     out.data()) == WL_OK);
    check_err("golden sample", precision, norm_err(g.f32("expected"), out), tol);
    std::vector<float> again(out.size());
    CHECK(wl_model_sample_with_noise(md.m, B, ctx.data(), act.data(), nullptr, steps, noise.data(),
                                     again.data()) == WL_OK);
    CHECK_MSG(out == again, "[%s] graph replay differs from first run", precision);
  }
  memory_goldens(precision);
}

struct Worlds {
  int n;
  size_t ctx_per, act_per, lat_per;
  std::vector<float> ctx, act;
  std::vector<uint64_t> seeds, frames;
};

Worlds make_worlds(const wl_model_dims& d, int n) {
  Worlds w;
  w.n = n;
  w.lat_per = size_t(d.latent_channels) * d.latent_h * d.latent_w;
  w.ctx_per = w.lat_per * d.context;
  w.act_per = size_t(d.context) * d.action_dim;
  uint64_t s = 12345;
  auto u = [&s] {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return float(s >> 40) / float(1ull << 24) * 2.0f - 1.0f;
  };
  w.ctx.resize(n * w.ctx_per);
  for (auto& v : w.ctx) v = 0.5f * u();
  w.act.resize(n * w.act_per);
  for (auto& v : w.act) v = u();
  for (int b = 0; b < n; ++b) {
    w.seeds.push_back(1000 + 7 * b);
    w.frames.push_back(b * 3 + 1);
  }
  return w;
}

std::vector<float> sample(wl_model* m, const Worlds& w, int first, int n, int steps) {
  std::vector<float> out(n * w.lat_per);
  const wl_status st = wl_model_sample(
      m, n, w.ctx.data() + first * w.ctx_per, w.act.data() + first * w.act_per, nullptr,
      w.seeds.data() + first, w.frames.data() + first, steps, out.data(), nullptr);
  CHECK_MSG(st == WL_OK, "wl_model_sample: %s", wl_last_error());
  return out;
}

}  // namespace

TEST(cuda_goldens_f32) { goldens("f32"); }
TEST(cuda_goldens_bf16) { goldens("bf16"); }

// The CUDA backend and the CPU backend sample the same worlds (same Philox noise) alike.
TEST(cuda_matches_cpu_backend_sampling) {
  for (const char* precision : {"f32", "bf16"}) {
    Model cpu, gpu;
    CHECK(load(cpu, WL_BACKEND_CPU, nullptr, 8));
    CHECK(load(gpu, WL_BACKEND_CUDA, precision, 8));
    if (!cpu.m || !gpu.m) return;
    wl_model_dims d;
    wl_model_dims_get(cpu.m, &d);
    const Worlds w = make_worlds(d, 8);
    const auto a = sample(cpu.m, w, 0, 8, 2), b = sample(gpu.m, w, 0, 8, 2);
    check_err("sample 8 worlds vs cpu", precision, norm_err(a, b), tol_for(precision));
    std::vector<uint8_t> ra(size_t(8) * d.frame_h * d.frame_w * 3), rb(ra.size());
    CHECK(wl_model_decode(cpu.m, 8, a.data(), ra.data()) == WL_OK);
    CHECK(wl_model_decode(gpu.m, 8, a.data(), rb.data()) == WL_OK);
    double sum = 0;
    for (size_t i = 0; i < ra.size(); ++i) sum += std::abs(int(ra[i]) - int(rb[i]));
    const double mean_levels = sum / double(ra.size());
    std::printf("  decode rgb8 vs cpu          %-5s mean |diff| %.3f levels\n", precision,
                mean_levels);
    CHECK_MSG(mean_levels <= (std::strcmp(precision, "f32") == 0 ? 0.05 : 1.5),
              "[%s] decoded frames differ from the CPU's by %.3f levels on average", precision,
              mean_levels);
  }
}

// B worlds in one call equal each world run alone (f32 precision isolates batching bugs from
// rounding: only the summation order may differ between batch sizes).
TEST(cuda_batched_worlds_are_independent) {
  Model md;
  CHECK(load(md, WL_BACKEND_CUDA, "f32", 64));
  if (!md.m) return;
  wl_model_dims d;
  wl_model_dims_get(md.m, &d);
  const Worlds w = make_worlds(d, 64);
  for (int n : {1, 2, 7, 32, 64}) {
    const auto together = sample(md.m, w, 0, n, 2);
    double worst = 0;
    for (int b : {0, n / 2, n - 1}) {
      const auto alone = sample(md.m, w, b, 1, 2);
      const std::vector<float> part(together.begin() + b * w.lat_per,
                                    together.begin() + (b + 1) * w.lat_per);
      worst = std::max(worst, norm_err(alone, part));
    }
    char label[64];
    std::snprintf(label, sizeof label, "batch %d vs alone", n);
    check_err(label, "f32", worst, 1e-4);
  }
  // Different seeds give different worlds (the per-world keys reach the noise).
  const auto two = sample(md.m, w, 0, 2, 2);
  CHECK(!std::equal(two.begin(), two.begin() + w.lat_per, two.begin() + w.lat_per));
}

// wl_model_step (one graph per frame when untimed) equals wl_model_sample + wl_model_decode of
// its output bit for bit, in both precisions, with graphs on and off, timed and untimed, for a
// batch of worlds and for the memory model with and without memory views. Each configuration
// runs twice so the second step replays the captured graph.
static void check_step(const char* what, wl_model* m, int n, const float* ctx, const float* act,
                       const wl_model_memory* mem, const uint64_t* seeds, const uint64_t* frames,
                       int steps) {
  wl_model_dims d;
  CHECK(wl_model_dims_get(m, &d) == WL_OK);
  const size_t lat = size_t(n) * d.latent_channels * d.latent_h * d.latent_w;
  const size_t px = size_t(n) * d.frame_h * d.frame_w * 3;
  std::vector<float> z_ref(lat), z(lat);
  std::vector<uint8_t> rgb_ref(px), rgb(px);
  CHECK_MSG(
      wl_model_sample(m, n, ctx, act, mem, seeds, frames, steps, z_ref.data(), nullptr) == WL_OK,
      "%s sample: %s", what, wl_last_error());
  CHECK_MSG(wl_model_decode(m, n, z_ref.data(), rgb_ref.data()) == WL_OK, "%s decode: %s", what,
            wl_last_error());
  for (int run = 0; run < 4; ++run) {
    double ms[9];  // steps <= 8, plus the decode
    double* step_ms = run % 2 ? ms : nullptr;
    // Another latent through the decoder first: a step reading stale state would differ.
    std::fill(z.begin(), z.end(), 0.25f);
    CHECK(wl_model_decode(m, n, z.data(), rgb.data()) == WL_OK);
    std::fill(z.begin(), z.end(), -7.0f);
    std::fill(rgb.begin(), rgb.end(), uint8_t(13));
    CHECK_MSG(wl_model_step(m, n, ctx, act, mem, seeds, frames, steps, z.data(), rgb.data(),
                            step_ms) == WL_OK,
              "%s step: %s", what, wl_last_error());
    CHECK_MSG(std::memcmp(z.data(), z_ref.data(), lat * sizeof(float)) == 0,
              "%s: step latent differs from sample (run %d)", what, run);
    CHECK_MSG(rgb == rgb_ref, "%s: step rgb differs from sample + decode (run %d)", what, run);
  }
  std::printf("  %-40s step == sample + decode\n", what);
}

TEST(cuda_step_equals_sample_then_decode) {
  for (const char* graphs : {"1", "0"}) {
    setenv("WL_CUDA_GRAPHS", graphs, 1);
    for (const char* precision : {"f32", "bf16"}) {
      char what[96];
      {
        Model md;
        CHECK(load(md, WL_BACKEND_CUDA, precision, 8));
        if (!md.m) break;
        wl_model_dims d;
        wl_model_dims_get(md.m, &d);
        const Worlds w = make_worlds(d, 8);
        for (int n : {1, 8}) {
          std::snprintf(what, sizeof what, "%s graphs=%s batch %d", precision, graphs, n);
          check_step(what, md.m, n, w.ctx.data(), w.act.data(), nullptr, w.seeds.data(),
                     w.frames.data(), 2);
        }
      }
      Fixture g("golden_memory.safetensors");
      const std::string* file = g.file.metadata("model");
      CHECK(file != nullptr);
      if (!file) break;
      Model mm;
      CHECK(load(mm, WL_BACKEND_CUDA, precision, 2, file->c_str()));
      if (!mm.m) break;
      const auto [noisy, sigma, ctx, act, mem_lat, mem_pose, mem_mask, noise, seeds, frames,
                  steps] = wl_test::memory_golden_inputs(g);
      const wl_model_memory mem{mem_lat.data(), mem_pose.data(), mem_mask.data()};
      std::snprintf(what, sizeof what, "%s graphs=%s memory", precision, graphs);
      check_step(what, mm.m, 2, ctx.data(), act.data(), &mem, seeds.data(), frames.data(), steps);
      std::snprintf(what, sizeof what, "%s graphs=%s memory model, none", precision, graphs);
      check_step(what, mm.m, 2, ctx.data(), act.data(), nullptr, seeds.data(), frames.data(),
                 steps);
    }
  }
  unsetenv("WL_CUDA_GRAPHS");
}

#if WL_HAVE_CUDA
static bool have_gpu(std::string* why) { return wl::cuda::device_usable(why); }
#else
static bool have_gpu(std::string* why) {
  *why = "no CUDA device (this build has no CUDA backend: nvcc not found or -DWL_CUDA=OFF)";
  return false;
}
#endif

// Without a GPU: the documented failure and fallback (runs on every machine without one).
static int run_without_gpu(const std::string& why) {
  int failures = 0;
  Model md;
  wl_model_options o;
  wl_model_options_default(&o);
  o.backend = WL_BACKEND_CUDA;
  const wl_status st = wl_model_load(fixture("tiny_model.safetensors").c_str(), &o, &md.m);
  const std::string msg = wl_last_error();
  if (st != WL_ERR_UNSUPPORTED || msg.find("CUDA") == std::string::npos) {
    std::printf("FAIL backend cuda without a GPU: status %d, message \"%s\"\n", int(st),
                msg.c_str());
    ++failures;
  } else {
    std::printf("ok   backend cuda without a GPU -> WL_ERR_UNSUPPORTED: %s\n", msg.c_str());
  }
  Model au;
  o.backend = WL_BACKEND_AUTO;
  if (wl_model_load(fixture("tiny_model.safetensors").c_str(), &o, &au.m) != WL_OK ||
      std::string(wl_model_info_json(au.m)).find("\"backend\":\"cpu\"") == std::string::npos) {
    std::printf("FAIL backend auto without a GPU should load on the CPU: %s\n", wl_last_error());
    ++failures;
  } else {
    std::printf("ok   backend auto without a GPU -> cpu\n");
  }
  std::printf("skipped: %s (GPU tests)\n", why.c_str());
  return failures ? 1 : 0;
}

int main(int argc, char** argv) {
  std::string why;
  if (!have_gpu(&why)) return run_without_gpu(why);
  return wl_test::run_all(argc, argv);
}
