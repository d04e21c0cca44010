// Frame time of the CUDA backend through the C ABI, as the game loop sees it. One frame is
// wl_model_step (N Euler steps + decode + RGB8 on the host in one call: one graph launch when
// graphs are on); the older two-call frame, wl_model_sample then wl_model_decode, is timed too
// for comparison. Both synchronous, timed with a wall clock per frame. Prints JSON lines:
//   {"bench":"frame"|"frame_two_call"|"sample"|"decode","machine":"<GPU name>",
//    "backend":"cuda-bf16-graphs","model":"default","batch":B,"steps":N,"frames":F,
//    "median_ms":..,"p95_ms":..,"p99_ms":..,"fps":<world-frames per second at the median>}
// ("sample" and "decode" are the two halves of "frame_two_call".)
// Usage: bench_cuda --model FILE [--name NAME] [--batches 1,32] [--steps 2] [--frames 200]
//                   [--warmup 20] [--variants bf16-graphs,bf16-eager,f32-graphs,bf16-profile]
// Without a usable GPU it prints {"bench":"skipped",...} and exits 0.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_util.h"
#include "worldloop/wl_model.h"

#if WL_HAVE_CUDA
#include "cuda/device.h"
#endif

namespace {

struct Args {
  std::string model, name = "model";
  std::vector<int> batches = {1, 32};
  int steps = 2, frames = 200, warmup = 20;
  std::vector<std::string> variants = {"bf16-graphs", "bf16-eager", "f32-graphs"};
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t a = 0;
  while (a <= s.size()) {
    size_t b = s.find(',', a);
    if (b == std::string::npos) b = s.size();
    if (b > a) out.push_back(s.substr(a, b - a));
    a = b + 1;
  }
  return out;
}

bool parse_int(const char* s, int lo, int hi, int* out) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (!*s || *end || v < lo || v > hi) return false;
  *out = int(v);
  return true;
}

bool parse(int argc, char** argv, Args* a) {
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "bench_cuda: %s needs a value\n", k.c_str());
      return false;
    }
    const char* v = argv[++i];
    if (k == "--model") {
      a->model = v;
    } else if (k == "--name") {
      a->name = v;
    } else if (k == "--steps") {
      if (!parse_int(v, 1, 8, &a->steps)) return std::fprintf(stderr, "bad --steps\n"), false;
    } else if (k == "--frames") {
      if (!parse_int(v, 1, 100000, &a->frames))
        return std::fprintf(stderr, "bad --frames\n"), false;
    } else if (k == "--warmup") {
      if (!parse_int(v, 0, 100000, &a->warmup))
        return std::fprintf(stderr, "bad --warmup\n"), false;
    } else if (k == "--batches") {
      a->batches.clear();
      for (const auto& b : split(v)) {
        int n;
        if (!parse_int(b.c_str(), 1, 64, &n)) return std::fprintf(stderr, "bad --batches\n"), false;
        a->batches.push_back(n);
      }
    } else if (k == "--variants") {
      a->variants = split(v);
    } else {
      std::fprintf(stderr, "bench_cuda: unknown option %s\n", k.c_str());
      return false;
    }
  }
  if (a->model.empty()) {
    std::fprintf(stderr, "bench_cuda: --model FILE is required\n");
    return false;
  }
  return true;
}

using wl_bench::Stats;
using wl_bench::stats;

std::string json_str(const std::string& s) { return "\"" + wl_bench::json_escape(s) + "\""; }

void print_line(const char* bench, const std::string& machine, const std::string& backend,
                const Args& a, int batch, const Stats& s) {
  std::printf(
      "{\"bench\":\"%s\",\"machine\":%s,\"backend\":%s,\"model\":%s,\"batch\":%d,\"steps\":%d,"
      "\"frames\":%d,\"median_ms\":%.4f,\"p95_ms\":%.4f,\"p99_ms\":%.4f,\"fps\":%.1f}\n",
      bench, json_str(machine).c_str(), json_str(backend).c_str(), json_str(a.name).c_str(), batch,
      a.steps, a.frames, s.median, s.p95, s.p99, batch * 1000.0 / s.median);
  std::fflush(stdout);
}

using Clock = std::chrono::steady_clock;
double ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// One variant: "<precision>-<graphs|eager>".
[[maybe_unused]] int run_variant(const Args& a, const std::string& machine,
                                 const std::string& variant) {
  const size_t dash = variant.find('-');
  const std::string prec = variant.substr(0, dash);
  const std::string mode = dash == std::string::npos ? "graphs" : variant.substr(dash + 1);
  if ((prec != "bf16" && prec != "f32") ||
      (mode != "graphs" && mode != "eager" && mode != "profile")) {
    std::fprintf(stderr, "bench_cuda: bad variant \"%s\" (want bf16|f32 - graphs|eager|profile)\n",
                 variant.c_str());
    return 2;
  }
  setenv("WL_CUDA_PRECISION", prec.c_str(), 1);
  setenv("WL_CUDA_GRAPHS", mode == "graphs" ? "1" : "0", 1);
  // profile: ops launched one by one and timed with events; the per-op breakdown is printed (to
  // stderr, as {"bench":"cuda_op_profile",...}) when the model is freed. Its frame times include
  // the event overhead: read them as a breakdown, not as a benchmark.
  setenv("WL_CUDA_PROFILE", mode == "profile" ? "1" : "0", 1);
  wl_model_options o;
  wl_model_options_default(&o);
  o.backend = WL_BACKEND_CUDA;
  o.max_batch = *std::max_element(a.batches.begin(), a.batches.end());
  wl_model* m = nullptr;
  if (wl_model_load(a.model.c_str(), &o, &m) != WL_OK) {
    std::fprintf(stderr, "bench_cuda: load %s: %s\n", a.model.c_str(), wl_last_error());
    return 1;
  }
  const std::string backend = "cuda-" + variant;
  std::printf("{\"bench\":\"model_info\",\"machine\":%s,\"backend\":%s,\"model\":%s,\"info\":%s}\n",
              json_str(machine).c_str(), json_str(backend).c_str(), json_str(a.name).c_str(),
              wl_model_info_json(m));
  wl_model_dims d;
  wl_model_dims_get(m, &d);
  const size_t lat = size_t(d.latent_channels) * d.latent_h * d.latent_w;
  int rc = 0;
  for (int batch : a.batches) {
    std::vector<float> ctx(batch * lat * d.context), act(size_t(batch) * d.context * d.action_dim);
    uint64_t s = 99;
    for (auto& v : ctx)
      v = float(((s = s * 6364136223846793005ull + 1) >> 40) & 0xffff) / 65536.0f - 0.5f;
    for (auto& v : act)
      v = float(((s = s * 6364136223846793005ull + 1) >> 40) & 0xffff) / 32768.0f - 1.0f;
    std::vector<uint64_t> seeds(batch), frames(batch);
    for (int b = 0; b < batch; ++b) seeds[b] = 1234 + b;
    std::vector<float> latent(batch * lat);
    std::vector<uint8_t> rgb(size_t(batch) * d.frame_h * d.frame_w * 3);
    std::vector<double> t_step, t_frame, t_sample, t_decode;
    auto fail = [&](const char* what) {
      std::fprintf(stderr, "bench_cuda: %s batch %d (%s): %s\n", backend.c_str(), batch, what,
                   wl_last_error());
      rc = 1;
    };
    // The one-call frame first, then the two-call frame on the same frame indices.
    for (int i = 0; i < a.warmup + a.frames; ++i) {
      for (int b = 0; b < batch; ++b) frames[b] = uint64_t(i);
      const auto t0 = Clock::now();
      const wl_status st =
          wl_model_step(m, batch, ctx.data(), act.data(), nullptr, seeds.data(), frames.data(),
                        a.steps, latent.data(), rgb.data(), nullptr);
      const auto t1 = Clock::now();
      if (st != WL_OK) {
        fail("step");
        break;
      }
      if (i >= a.warmup) t_step.push_back(ms(t0, t1));
    }
    for (int i = 0; i < a.warmup + a.frames; ++i) {
      for (int b = 0; b < batch; ++b) frames[b] = uint64_t(i);
      const auto t0 = Clock::now();
      wl_status st = wl_model_sample(m, batch, ctx.data(), act.data(), nullptr, seeds.data(),
                                     frames.data(), a.steps, latent.data(), nullptr);
      const auto t1 = Clock::now();
      if (st == WL_OK) st = wl_model_decode(m, batch, latent.data(), rgb.data());
      const auto t2 = Clock::now();
      if (st != WL_OK) {
        fail("sample + decode");
        break;
      }
      if (i < a.warmup) continue;
      t_sample.push_back(ms(t0, t1));
      t_decode.push_back(ms(t1, t2));
      t_frame.push_back(ms(t0, t2));
    }
    if (!t_step.empty()) print_line("frame", machine, backend, a, batch, stats(t_step));
    if (t_frame.empty()) continue;
    print_line("frame_two_call", machine, backend, a, batch, stats(t_frame));
    print_line("sample", machine, backend, a, batch, stats(t_sample));
    print_line("decode", machine, backend, a, batch, stats(t_decode));
  }
  wl_model_free(m);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse(argc, argv, &a)) return 2;
#if WL_HAVE_CUDA
  std::string why;
  if (!wl::cuda::device_usable(&why)) {
    std::printf("{\"bench\":\"skipped\",\"reason\":%s}\n", json_str(why).c_str());
    return 0;
  }
  const std::string machine = wl::cuda::device_info().name;
  int rc = 0;
  for (const auto& v : a.variants) rc |= run_variant(a, machine, v);
  return rc;
#else
  std::printf("{\"bench\":\"skipped\",\"reason\":\"built without CUDA\"}\n");
  return 0;
#endif
}
