// Whole-network benchmark through the C ABI: ms per denoiser call, per decode, per encode and per
// full frame (sampler steps + decode: "model.frame" as two calls, "model.step" as one
// wl_model_step), as JSON lines with median / p95 / p99.
//
//   /usr/bin/python3 -m train export-random --out /tmp/default-random.safetensors
//   (add --memory-slots M for a memory-enabled model: then "model.sample_mem" runs too)
//   bench_model --model /tmp/default-random.safetensors [--backend cpu|cuda] [--threads N]
//               [--batch B] [--steps S] [--iters N] [--warmup N]
//
// Random weights cost the same as trained ones (dense f32 compute, no data-dependent paths).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "bench_util.h"
#include "worldloop/wl_model.h"

namespace {

using Clock = std::chrono::steady_clock;

// Value of a string field in a flat JSON text ("" when absent); enough for our own info JSON.
std::string json_field(const std::string& json, const std::string& key) {
  const std::string pat = "\"" + key + "\":\"";
  const size_t p = json.find(pat);
  if (p == std::string::npos) return "";
  const size_t b = p + pat.size(), e = json.find('"', b);
  return e == std::string::npos ? "" : json.substr(b, e - b);
}

// Number after `"key":`, searching from the first occurrence of `after` (if given).
std::string json_number(const std::string& json, const std::string& key,
                        const std::string& after = "") {
  const std::string pat = "\"" + key + "\":";
  const size_t from = after.empty() ? 0 : json.find(after);
  const size_t p = from == std::string::npos ? from : json.find(pat, from);
  if (p == std::string::npos) return "null";
  size_t b = p + pat.size(), e = b;
  while (e < json.size() && (std::isdigit((unsigned char)json[e]) || json[e] == '.' ||
                             json[e] == '-' || json[e] == 'e' || json[e] == '+'))
    ++e;
  return e > b ? json.substr(b, e - b) : "null";
}

// min: the fastest iteration; on a host shared with other tenants the median says what a frame
// got and the minimum what it costs when the cores are free.
struct Stats {
  double median, p95, p99, mean, min;
};

Stats stats(const std::vector<double>& v) {
  const wl_bench::Stats s = wl_bench::stats(v);
  double sum = 0;
  for (double x : v) sum += x;
  return Stats{s.median, s.p95, s.p99, sum / double(v.size()),
               *std::min_element(v.begin(), v.end())};
}

void die(const char* what) {
  std::fprintf(stderr, "bench_model: %s: %s\n", what, wl_last_error());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, backend = "cpu";
  int threads = 0, batch = 1, steps = 0, iters = 30, warmup = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_model: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--model")
      model_path = next();
    else if (a == "--backend")
      backend = next();
    else if (a == "--threads")
      threads = std::atoi(next().c_str());
    else if (a == "--batch")
      batch = std::atoi(next().c_str());
    else if (a == "--steps")
      steps = std::atoi(next().c_str());
    else if (a == "--iters")
      iters = std::atoi(next().c_str());
    else if (a == "--warmup")
      warmup = std::atoi(next().c_str());
    else {
      std::fprintf(stderr,
                   "usage: bench_model --model FILE [--backend cpu|cuda|auto] [--threads N] "
                   "[--batch B] [--steps S] [--iters N] [--warmup N]\n");
      return 2;
    }
  }
  if (model_path.empty()) {
    const char* env = std::getenv("WL_BENCH_MODEL");
    if (!env) {
      std::fprintf(
          stderr,
          "bench_model: no --model; create one with\n"
          "  /usr/bin/python3 -m train export-random --out /tmp/default-random.safetensors\n");
      return 2;
    }
    model_path = env;
  }
  if (iters < 1 || batch < 1) {
    std::fprintf(stderr, "bench_model: --iters and --batch must be >= 1\n");
    return 2;
  }

  wl_model_options o;
  wl_model_options_default(&o);
  o.threads = threads;
  o.max_batch = batch;
  o.backend = backend == "cuda"   ? WL_BACKEND_CUDA
              : backend == "auto" ? WL_BACKEND_AUTO
                                  : WL_BACKEND_CPU;
  wl_model* m = nullptr;
  if (wl_model_load(model_path.c_str(), &o, &m) != WL_OK) die("load");
  const std::string info = wl_model_info_json(m);
  wl_model_dims d;
  wl_model_dims_get(m, &d);
  if (steps == 0) steps = d.default_steps;

  const std::string be = json_field(info, "backend");
  // "isa":"...", plus the CPU backend's conv precision ("conv":"f32" or "bf16" under
  // WL_CONV_BF16=1) so that a bf16 run never reads as an f32 one.
  const std::string conv = json_field(info, "conv");
  const std::string isa_fields = "\"isa\":\"" + json_field(info, "isa") + "\"" +
                                 (conv.empty() ? "" : ",\"conv\":\"" + conv + "\"");
  const std::string device = json_field(info, "device");
  const std::string machine =
      wl_bench::json_escape(be == "cuda" && !device.empty() ? device : wl_bench::cpu_model());
  const std::string name = wl_bench::json_escape(json_field(info, "name"));
  std::printf(
      "{\"bench\":\"model.load\",\"machine\":\"%s\",\"backend\":\"%s\",\"model\":\"%s\","
      "\"load_ms\":%s,\"memory_bytes\":%s,\"params\":{\"denoiser\":%s,\"decoder\":%s,"
      "\"encoder\":%s}}\n",
      machine.c_str(), be.c_str(), name.c_str(), json_number(info, "load_ms").c_str(),
      json_number(info, "memory_bytes").c_str(),
      json_number(info, "denoiser", "\"params\"").c_str(),
      json_number(info, "decoder", "\"params\"").c_str(),
      json_number(info, "encoder", "\"params\"").c_str());

  const size_t lat = size_t(d.latent_channels) * d.latent_h * d.latent_w;
  const size_t nb = size_t(batch);
  std::vector<float> ctx(nb * lat * d.context), act(nb * d.context * d.action_dim);
  std::vector<float> x(nb * lat), out(nb * lat), sigma(nb, 1.0f);
  for (size_t i = 0; i < ctx.size(); ++i) ctx[i] = 0.5f * std::sin(0.1f * float(i));
  for (size_t i = 0; i < act.size(); ++i) act[i] = std::sin(0.7f * float(i));
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.3f * float(i));
  std::vector<uint8_t> rgb(nb * d.frame_h * d.frame_w * 3);
  std::vector<uint64_t> seeds(nb), frames(nb);
  for (size_t b = 0; b < nb; ++b) seeds[b] = 1234 + b;
  std::vector<double> step_ms(static_cast<size_t>(steps));

  auto run = [&](const char* bench, const std::function<void(int)>& fn) {
    for (int i = 0; i < warmup; ++i) fn(i);
    std::vector<double> t;
    t.reserve(size_t(iters));
    for (int i = 0; i < iters; ++i) {
      const auto t0 = Clock::now();
      fn(i);
      t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    const Stats s = stats(t);
    std::printf(
        "{\"bench\":\"%s\",\"machine\":\"%s\",\"backend\":\"%s\",%s,"
        "\"threads\":%s,\"model\":\"%s\",\"batch\":%d,\"steps\":%d,\"iters\":%d,"
        "\"median_ms\":%.3f,\"p95_ms\":%.3f,\"p99_ms\":%.3f,\"mean_ms\":%.3f,\"min_ms\":%.3f}\n",
        bench, machine.c_str(), be.c_str(), isa_fields.c_str(),
        json_number(info, "threads").c_str(), name.c_str(), batch, steps, iters, s.median, s.p95,
        s.p99, s.mean, s.min);
    std::fflush(stdout);
  };

  run("model.denoise", [&](int) {
    if (wl_model_denoise(m, batch, x.data(), sigma.data(), ctx.data(), act.data(), nullptr,
                         out.data()))
      die("denoise");
  });
  run("model.decode", [&](int) {
    if (wl_model_decode(m, batch, x.data(), rgb.data())) die("decode");
  });
  run("model.encode", [&](int) {
    if (wl_model_encode(m, batch, rgb.data(), out.data())) die("encode");
  });
  run("model.sample", [&](int i) {
    for (size_t b = 0; b < nb; ++b) frames[b] = uint64_t(i);
    if (wl_model_sample(m, batch, ctx.data(), act.data(), nullptr, seeds.data(), frames.data(),
                        steps, out.data(), step_ms.data()))
      die("sample");
  });
  // A full frame: the latent step, then the decode of its result.
  run("model.frame", [&](int i) {
    for (size_t b = 0; b < nb; ++b) frames[b] = uint64_t(i);
    if (wl_model_sample(m, batch, ctx.data(), act.data(), nullptr, seeds.data(), frames.data(),
                        steps, out.data(), nullptr))
      die("sample");
    if (wl_model_decode(m, batch, out.data(), rgb.data())) die("decode");
  });
  // The same frame as one call (wl_model_step): the latent never leaves the backend.
  run("model.step", [&](int i) {
    for (size_t b = 0; b < nb; ++b) frames[b] = uint64_t(i);
    if (wl_model_step(m, batch, ctx.data(), act.data(), nullptr, seeds.data(), frames.data(), steps,
                      out.data(), rgb.data(), nullptr))
      die("step");
  });
  // One call against two, alternating which goes first in every iteration so that a change in
  // machine load hits both alike; the ratio is the median of the per-iteration ratios (a frame
  // timed in a quiet moment and another in a busy one would otherwise decide it).
  {
    auto two_calls = [&](int i) {
      for (size_t b = 0; b < nb; ++b) frames[b] = uint64_t(i);
      if (wl_model_sample(m, batch, ctx.data(), act.data(), nullptr, seeds.data(), frames.data(),
                          steps, out.data(), nullptr))
        die("sample");
      if (wl_model_decode(m, batch, out.data(), rgb.data())) die("decode");
    };
    // step_ms: [0, steps) the denoiser steps (each with its Euler update), [steps] the decode
    // and the copies to the host: the per-stage breakdown of the frame.
    std::vector<double> stage_ms(size_t(steps) + 1);
    auto one_call = [&](int i) {
      for (size_t b = 0; b < nb; ++b) frames[b] = uint64_t(i);
      if (wl_model_step(m, batch, ctx.data(), act.data(), nullptr, seeds.data(), frames.data(),
                        steps, out.data(), rgb.data(), stage_ms.data()))
        die("step");
    };
    for (int i = 0; i < warmup; ++i) {
      two_calls(i);
      one_call(i);
    }
    std::vector<double> t2, t1, ratio;
    std::vector<std::vector<double>> stages(size_t(steps) + 1);
    for (int i = 0; i < iters; ++i) {
      double ms[2];
      for (int k = 0; k < 2; ++k) {
        const bool step_now = (k == 0) == (i % 2 == 0);
        const auto t0 = Clock::now();
        if (step_now)
          one_call(i);
        else
          two_calls(i);
        ms[step_now ? 1 : 0] = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (step_now)
          for (size_t st = 0; st < stage_ms.size(); ++st) stages[st].push_back(stage_ms[st]);
      }
      t2.push_back(ms[0]);
      t1.push_back(ms[1]);
      ratio.push_back(ms[1] / ms[0]);
    }
    const Stats s2 = stats(t2), s1 = stats(t1), sr = stats(ratio);
    std::printf(
        "{\"bench\":\"model.step_vs_two_calls\",\"machine\":\"%s\",\"backend\":\"%s\","
        "%s,\"threads\":%s,\"model\":\"%s\",\"batch\":%d,\"steps\":%d,"
        "\"iters\":%d,\"two_calls_median_ms\":%.3f,\"two_calls_p95_ms\":%.3f,"
        "\"step_median_ms\":%.3f,\"step_p95_ms\":%.3f,\"step_p99_ms\":%.3f,"
        "\"ratio_step_over_two_calls_median\":%.3f}\n",
        machine.c_str(), be.c_str(), isa_fields.c_str(), json_number(info, "threads").c_str(),
        name.c_str(), batch, steps, iters, s2.median, s2.p95, s1.median, s1.p95, s1.p99, sr.median);
    std::string per_step;
    for (int st = 0; st < steps; ++st) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s%.3f", st ? "," : "", stats(stages[size_t(st)]).median);
      per_step += buf;
    }
    const Stats dec = stats(stages[size_t(steps)]);
    std::printf(
        "{\"bench\":\"model.frame_stages\",\"machine\":\"%s\",\"backend\":\"%s\","
        "%s,\"threads\":%s,\"model\":\"%s\",\"batch\":%d,\"steps\":%d,"
        "\"iters\":%d,\"denoise_step_median_ms\":[%s],\"decode_median_ms\":%.3f,"
        "\"decode_p95_ms\":%.3f,\"median_ms\":%.3f,\"p95_ms\":%.3f,\"p99_ms\":%.3f,"
        "\"min_ms\":%.3f}\n",
        machine.c_str(), be.c_str(), isa_fields.c_str(), json_number(info, "threads").c_str(),
        name.c_str(), batch, steps, iters, per_step.c_str(), dec.median, dec.p95, s1.median, s1.p95,
        s1.p99, s1.min);
    std::fflush(stdout);
  }
  if (d.memory_slots > 0) {
    // The same latent step with every memory slot present (the most the memory path costs).
    const size_t slots = nb * size_t(d.memory_slots);
    std::vector<float> mem_lat(slots * lat), mem_pose(slots * size_t(d.memory_pose_dim));
    std::vector<float> mem_mask(slots, 1.0f);
    for (size_t i = 0; i < mem_lat.size(); ++i) mem_lat[i] = 0.5f * std::cos(0.05f * float(i));
    for (size_t i = 0; i < mem_pose.size(); ++i) mem_pose[i] = std::sin(0.9f * float(i));
    const wl_model_memory mem{mem_lat.data(), mem_pose.data(), mem_mask.data()};
    run("model.sample_mem", [&](int i) {
      for (size_t b = 0; b < nb; ++b) frames[b] = uint64_t(i);
      if (wl_model_sample(m, batch, ctx.data(), act.data(), &mem, seeds.data(), frames.data(),
                          steps, out.data(), nullptr))
        die("sample_mem");
    });
  }
  wl_model_free(m);
  return 0;
}
