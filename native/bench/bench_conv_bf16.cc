// The CPU backend's bf16 convolutions (WL_CONV_BF16=1) against its f32 ones on a real model, in
// one process: the same model loaded twice, once per setting, fed the same inputs.
//   - picture: PSNR of the bf16 frames against the f32 frames, and of each against the world's
//     own rendered frames, for one decode of the same latent, one step from the same context,
//     and an autoregressive rollout in which each model feeds back its own latents (so any
//     drift accumulates as it would in play). The context is real: frames of the procedural
//     world (same seed, walking and turning), encoded by the f32 model.
//   - speed: frames (wl_model_step) and decodes timed alternately, the order swapped every
//     iteration so load changes hit both alike; the ratio is the median of per-iteration ratios.
//
//   bench_conv_bf16 --model models/default.safetensors [--threads N] [--iters N] [--frames N]
//
// Prints JSON lines; on a CPU without AVX-512 BF16 one "note" line (the switch is moot there).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_util.h"
#include "worldloop/wl_model.h"
#include "worldloop/wl_world.h"

namespace {

void die(const char* what) {
  std::fprintf(stderr, "bench_conv_bf16: %s: %s\n", what, wl_last_error());
  std::exit(1);
}

wl_model* load(const std::string& path, int threads, const char* bf16) {
  setenv("WL_CONV_BF16", bf16, 1);
  wl_model_options o;
  wl_model_options_default(&o);
  o.threads = threads;
  o.max_batch = 1;
  o.backend = WL_BACKEND_CPU;
  wl_model* m = nullptr;
  if (wl_model_load(path.c_str(), &o, &m) != WL_OK) die("load");
  unsetenv("WL_CONV_BF16");
  return m;
}

double psnr(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  double se = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = double(a[i]) - double(b[i]);
    se += d * d;
  }
  if (se == 0) return INFINITY;
  return 10.0 * std::log10(255.0 * 255.0 * double(a.size()) / se);
}

// JSON has no infinity: identical frames print as 999.
double json_db(double db) { return std::isfinite(db) ? db : 999.0; }

// The walk that makes the context and the rollout: forward, turning now and then.
std::vector<float> action_at(int t) {
  std::vector<float> a(WL_ACTION_COUNT, 0.0f);
  a[WL_ACTION_MOVE] = 1.0f;
  a[WL_ACTION_TURN] = (t / 8) % 3 == 1 ? 0.6f : 0.0f;
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  int threads = 1, iters = 20, frames = 24;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--model" && i + 1 < argc) {
      path = argv[++i];
    } else if (a == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (a == "--iters" && i + 1 < argc) {
      iters = std::atoi(argv[++i]);
    } else if (a == "--frames" && i + 1 < argc) {
      frames = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "usage: bench_conv_bf16 --model FILE [--threads N] [--iters N] [--frames N]\n");
      return 2;
    }
  }
  if (path.empty() || iters < 1 || frames < 1 || threads < 1) {
    std::fprintf(stderr, "bench_conv_bf16: --model is required; counts must be >= 1\n");
    return 2;
  }
  const std::string machine = wl_bench::json_escape(wl_bench::cpu_model());
  wl_model* f32 = load(path, threads, "0");
  wl_model* bf16 = load(path, threads, "1");
  const std::string info = wl_model_info_json(bf16);
  if (info.find("\"conv\":\"bf16\"") == std::string::npos) {
    std::printf(
        "{\"bench\":\"note\",\"machine\":\"%s\",\"message\":\"bench_conv_bf16: this CPU "
        "(or WL_ISA) gives no bf16 conv path; nothing to compare\"}\n",
        machine.c_str());
    return 0;
  }
  wl_model_dims d;
  wl_model_dims_get(f32, &d);
  const size_t lat = size_t(d.latent_channels) * d.latent_h * d.latent_w;
  const size_t K = size_t(d.context), A = size_t(d.action_dim);
  const size_t pixels = size_t(d.frame_h) * d.frame_w * 3;

  // The world at the model's frame size; K frames of context, then `frames` to roll out.
  wl_world_config wc;
  wl_world_default_config(&wc);
  wc.width = d.frame_w;
  wc.height = d.frame_h;
  wl_world* world = nullptr;
  if (wl_world_create(7, &wc, &world) != WL_OK) die("world");
  const int total = int(K) + frames;
  std::vector<std::vector<uint8_t>> truth;
  std::vector<std::vector<float>> actions;
  for (int t = 0; t < total; ++t) {
    truth.emplace_back(wl_world_frame(world), wl_world_frame(world) + pixels);
    std::vector<float> a = action_at(t);
    actions.push_back(a);
    if (wl_world_step(world, a.data(), a.size()) != WL_OK) die("world step");
  }
  wl_world_free(world);
  // Context k is frame k; its action (the one leading to frame k + 1) padded / cut to A.
  std::vector<float> ctx_lat(K * lat), ctx_act(K * A, 0.0f);
  for (size_t k = 0; k < K; ++k) {
    if (wl_model_encode(f32, 1, truth[k].data(), ctx_lat.data() + k * lat)) die("encode");
    for (size_t j = 0; j < std::min(A, size_t(WL_ACTION_COUNT)); ++j)
      ctx_act[k * A + j] = actions[k][j];
  }
  const uint64_t seed = 1234;
  const int steps = d.default_steps;

  // One step from the same context, and one decode of the same latent.
  std::vector<float> lat_f(lat), lat_b(lat);
  std::vector<uint8_t> rgb_f(pixels), rgb_b(pixels);
  uint64_t frame0 = K;
  if (wl_model_step(f32, 1, ctx_lat.data(), ctx_act.data(), nullptr, &seed, &frame0, steps,
                    lat_f.data(), rgb_f.data(), nullptr))
    die("step");
  if (wl_model_step(bf16, 1, ctx_lat.data(), ctx_act.data(), nullptr, &seed, &frame0, steps,
                    lat_b.data(), rgb_b.data(), nullptr))
    die("step");
  double lat_err = 0, lat_max = 0;
  for (size_t i = 0; i < lat; ++i) {
    lat_err = std::max(lat_err, double(std::fabs(lat_f[i] - lat_b[i])));
    lat_max = std::max(lat_max, double(std::fabs(lat_f[i])));
  }
  std::vector<uint8_t> dec_b(pixels);
  if (wl_model_decode(bf16, 1, lat_f.data(), dec_b.data())) die("decode");
  std::printf(
      "{\"bench\":\"conv_bf16.picture\",\"machine\":\"%s\",\"threads\":%d,\"steps\":%d,"
      "\"decode_psnr_db\":%.2f,\"step_psnr_db\":%.2f,\"step_latent_max_abs_err\":%.5f,"
      "\"latent_max_abs\":%.3f,\"f32_vs_world_psnr_db\":%.2f,\"bf16_vs_world_psnr_db\":%.2f}\n",
      machine.c_str(), threads, steps, json_db(psnr(rgb_f, dec_b)), json_db(psnr(rgb_f, rgb_b)),
      lat_err, lat_max, psnr(rgb_f, truth[K]), psnr(rgb_b, truth[K]));
  std::fflush(stdout);

  // The rollout: each model conditions on its own past frames, same actions and noise seeds.
  std::vector<float> lat_ctx_f = ctx_lat, lat_ctx_b = ctx_lat, act_ctx = ctx_act;
  std::vector<double> vs_f32, f32_world, bf16_world;
  for (int t = 0; t < frames; ++t) {
    uint64_t fr = K + size_t(t);
    if (wl_model_step(f32, 1, lat_ctx_f.data(), act_ctx.data(), nullptr, &seed, &fr, steps,
                      lat_f.data(), rgb_f.data(), nullptr))
      die("rollout");
    if (wl_model_step(bf16, 1, lat_ctx_b.data(), act_ctx.data(), nullptr, &seed, &fr, steps,
                      lat_b.data(), rgb_b.data(), nullptr))
      die("rollout");
    vs_f32.push_back(psnr(rgb_f, rgb_b));
    f32_world.push_back(psnr(rgb_f, truth[K + size_t(t)]));
    bf16_world.push_back(psnr(rgb_b, truth[K + size_t(t)]));
    // Shift the context one frame: drop the oldest, append the new latent and the next action.
    for (auto* c : {&lat_ctx_f, &lat_ctx_b}) {
      std::memmove(c->data(), c->data() + lat, (K - 1) * lat * sizeof(float));
    }
    std::memcpy(lat_ctx_f.data() + (K - 1) * lat, lat_f.data(), lat * sizeof(float));
    std::memcpy(lat_ctx_b.data() + (K - 1) * lat, lat_b.data(), lat * sizeof(float));
    std::memmove(act_ctx.data(), act_ctx.data() + A, (K - 1) * A * sizeof(float));
    std::fill(act_ctx.begin() + (K - 1) * A, act_ctx.end(), 0.0f);
    for (size_t j = 0; j < std::min(A, size_t(WL_ACTION_COUNT)); ++j)
      act_ctx[(K - 1) * A + j] = actions[K + size_t(t)][j];
  }
  auto list = [](const std::vector<double>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) {
      char b[32];
      std::snprintf(b, sizeof b, "%s%.2f", i ? "," : "", json_db(v[i]));
      s += b;
    }
    return s + "]";
  };
  std::printf(
      "{\"bench\":\"conv_bf16.rollout\",\"machine\":\"%s\",\"frames\":%d,\"steps\":%d,"
      "\"bf16_vs_f32_psnr_db\":%s,\"f32_vs_world_psnr_db\":%s,\"bf16_vs_world_psnr_db\":%s}\n",
      machine.c_str(), frames, steps, list(vs_f32).c_str(), list(f32_world).c_str(),
      list(bf16_world).c_str());
  std::fflush(stdout);

  // Speed: alternate which model goes first; per-iteration ratios bf16 / f32.
  auto timed = [&](const char* name, auto&& call) {
    for (int w = 0; w < 2; ++w) call(f32), call(bf16);
    std::vector<double> tf, tb, ratio;
    for (int i = 0; i < iters; ++i) {
      double ms[2];
      for (int o = 0; o < 2; ++o) {
        const int which = (i + o) % 2;
        const double t0 = wl_bench::now_ms();
        call(which ? bf16 : f32);
        ms[which] = wl_bench::now_ms() - t0;
      }
      tf.push_back(ms[0]);
      tb.push_back(ms[1]);
      ratio.push_back(ms[1] / ms[0]);
    }
    std::printf(
        "{\"bench\":\"conv_bf16.%s\",\"machine\":\"%s\",\"backend\":\"cpu\",\"isa\":\"avx512\","
        "\"threads\":%d,\"iters\":%d,\"f32_median_ms\":%.3f,\"bf16_median_ms\":%.3f,"
        "\"bf16_over_f32_median\":%.3f}\n",
        name, machine.c_str(), threads, iters, wl_bench::stats(tf).median,
        wl_bench::stats(tb).median, wl_bench::stats(ratio).median);
    std::fflush(stdout);
  };
  timed("frame", [&](wl_model* m) {
    if (wl_model_step(m, 1, ctx_lat.data(), ctx_act.data(), nullptr, &seed, &frame0, steps,
                      lat_f.data(), rgb_f.data(), nullptr))
      die("step");
  });
  timed("decode", [&](wl_model* m) {
    if (wl_model_decode(m, 1, ctx_lat.data(), rgb_f.data())) die("decode");
  });
  wl_model_free(f32);
  wl_model_free(bf16);
  return 0;
}
