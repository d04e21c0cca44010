// Ground-truth world throughput: frames per second of step+render (with the exploration policy
// choosing actions, as in training) for one world on one thread, and for many worlds in a batch
// over 1 and 2 threads. Prints one JSON line per configuration: "fps" is frames over total wall
// time (includes the scheduler stalls of a shared machine), "fps_at_median" is 1000/median_ms.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "worldloop/wl_world.h"

namespace {

using wl_bench::now_ms;
using wl_bench::Stats;
using wl_bench::stats;

void print(const char* bench, int threads, int worlds, int w, int h, double fps, const Stats& s, const char* unit) {
  std::printf("{\"bench\":\"%s\",\"machine\":\"%s\",\"backend\":\"cpu\",\"model\":\"truth\",\"threads\":%d,"
              "\"worlds\":%d,\"width\":%d,\"height\":%d,\"fps\":%.1f,\"fps_at_median\":%.1f,\"median_ms\":%.4f,\"p95_ms\":%.4f,"
              "\"p99_ms\":%.4f,\"per\":\"%s\"}\n",
              bench, wl_bench::json_escape(wl_bench::machine()).c_str(), threads, worlds, w, h, fps, 1000.0 / s.median, s.median, s.p95, s.p99, unit);
  std::fflush(stdout);
}

// One world, one thread: per-frame times of explorer + step + render.
void single(int w, int h, int frames) {
  wl_world_config cfg;
  wl_world_default_config(&cfg);
  cfg.width = w;
  cfg.height = h;
  wl_world* world = nullptr;
  wl_explorer* ex = nullptr;
  if (wl_world_create(1, &cfg, &world) != WL_OK || wl_explorer_create(1, nullptr, &ex) != WL_OK) {
    std::fprintf(stderr, "bench_world: %s\n", wl_last_error());
    std::exit(1);
  }
  float a[WL_ACTION_COUNT];
  for (int i = 0; i < 50; ++i) wl_explorer_next(ex, world, a, WL_ACTION_COUNT), wl_world_step(world, a, WL_ACTION_COUNT);
  std::vector<double> times;
  times.reserve(frames);
  const double t0 = now_ms();
  for (int i = 0; i < frames; ++i) {
    const double s = now_ms();
    wl_explorer_next(ex, world, a, WL_ACTION_COUNT);
    wl_world_step(world, a, WL_ACTION_COUNT);
    times.push_back(now_ms() - s);
  }
  const double total = now_ms() - t0;
  print("world_render", 1, 1, w, h, frames * 1000.0 / total, stats(times), "frame");
  wl_explorer_free(ex);
  wl_world_free(world);
}

// Many worlds through the batch generator (frames copied out, as training receives them).
void batch(int worlds, int threads, int w, int h, int steps, int rounds) {
  wl_world_config cfg;
  wl_world_default_config(&cfg);
  cfg.width = w;
  cfg.height = h;
  std::vector<uint64_t> seeds(worlds);
  for (int i = 0; i < worlds; ++i) seeds[i] = 1000 + i;
  wl_world_batch* b = nullptr;
  if (wl_world_batch_create(seeds.data(), worlds, &cfg, nullptr, threads, &b) != WL_OK) {
    std::fprintf(stderr, "bench_world: %s\n", wl_last_error());
    std::exit(1);
  }
  std::vector<uint8_t> frames(size_t(worlds) * steps * w * h * 3);
  std::vector<float> actions(size_t(worlds) * steps * WL_ACTION_COUNT), poses(size_t(worlds) * steps * 3);
  wl_world_batch_generate(b, steps, frames.data(), actions.data(), poses.data());  // warm-up
  std::vector<double> times;
  const double t0 = now_ms();
  for (int r = 0; r < rounds; ++r) {
    const double s = now_ms();
    wl_world_batch_generate(b, steps, frames.data(), actions.data(), poses.data());
    times.push_back((now_ms() - s) / (double(worlds) * steps));  // per frame
  }
  const double total = now_ms() - t0;
  print("world_batch", threads, worlds, w, h, double(rounds) * worlds * steps * 1000.0 / total, stats(times), "frame (batch call / frames)");
  wl_world_batch_free(b);
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  const int frames = quick ? 500 : 5000;
  single(128, 128, frames);
  single(64, 64, frames);
  single(640, 360, frames / 10);
  // Scaling over threads for many worlds: 1, 2, 4, ... up to the machine's cores (at least 2).
  const int cores = std::max(2, int(std::thread::hardware_concurrency()));
  for (int threads = 1; threads <= cores; threads *= 2) {
    batch(std::max(16, 2 * threads), threads, 128, 128, quick ? 16 : 64, quick ? 3 : 8);
  }
  return 0;
}
