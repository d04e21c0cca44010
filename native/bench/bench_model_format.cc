// Cost of the model-file layer at load: SafetensorsFile::open (read + validate + NaN/Inf scan)
// and converting every tensor to f32, on a synthetic file the size of the default v1 model
// (about 11 M parameters in ~220 tensors), stored as F32 and as BF16. The file lives in /tmp, so
// after the first run this measures the page cache, not the disk. Prints one JSON line per case.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "model/safetensors.h"

namespace {

// ~11 M parameters: conv weights of a few widths plus their norms/biases.
std::vector<wl::TensorToWrite> synthetic_tensors(wl::DType dt) {
  std::vector<wl::TensorToWrite> out;
  const int widths[] = {64, 128, 192, 192, 128, 64};
  int k = 0;
  for (int rep = 0; rep < 6; ++rep) {
    for (int c : widths) {
      auto add = [&](std::vector<int64_t> shape) {
        size_t n = 1;
        for (auto d : shape) n *= size_t(d);
        std::vector<uint8_t> bytes(n * wl::dtype_size(dt));
        for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t((i * 2654435761u) >> 13) & 0x3F;
        out.push_back({"net.t" + std::to_string(k++), dt, std::move(shape), std::move(bytes)});
      };
      add({c, c, 3, 3});
      add({c});
      add({c});
      add({c, c, 3, 3});
      add({c});
      add({c * 2, 256});
    }
  }
  return out;
}

void run(wl::DType dt, int iters) {
  auto tensors = synthetic_tensors(dt);
  uint64_t params = 0;
  for (const auto& t : tensors) params += t.data.size() / wl::dtype_size(dt);
  const std::vector<uint8_t> bytes = wl::encode_safetensors(tensors, {{"worldloop", "{}"}});
  const std::string path = "/tmp/wl_bench_model_format_" + std::to_string(getpid()) + ".safetensors";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    std::fprintf(stderr, "bench_model_format: cannot write %s\n", path.c_str());
    std::exit(1);
  }
  std::fclose(f);

  std::vector<double> t_open, t_convert;
  std::vector<float> buf;
  for (int i = 0; i < iters; ++i) {
    double t0 = wl_bench::now_ms();
    wl::SafetensorsFile file = wl::SafetensorsFile::open(path);
    double t1 = wl_bench::now_ms();
    for (const auto& t : file.tensors()) {
      buf.resize(size_t(t.numel));
      file.to_f32(t.name, t.shape, buf.data());
    }
    double t2 = wl_bench::now_ms();
    t_open.push_back(t1 - t0);
    t_convert.push_back(t2 - t1);
  }
  std::remove(path.c_str());

  const std::string model = std::string("synthetic-") + std::to_string(params / 1000000) + "M-" + wl::dtype_name(dt);
  for (int which = 0; which < 2; ++which) {
    const wl_bench::Stats s = wl_bench::stats(which == 0 ? t_open : t_convert);
    std::printf("{\"bench\":\"%s\",\"machine\":\"%s\",\"backend\":\"cpu\",\"model\":\"%s\",\"tensors\":%zu,"
                "\"params\":%llu,\"file_bytes\":%zu,\"iters\":%d,\"median_ms\":%.3f,\"p95_ms\":%.3f,\"p99_ms\":%.3f}\n",
                which == 0 ? "safetensors_open" : "safetensors_to_f32", wl_bench::json_escape(wl_bench::machine()).c_str(), model.c_str(),
                tensors.size(), (unsigned long long)params, bytes.size(), iters, s.median, s.p95, s.p99);
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int iters = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20;
  run(wl::DType::F32, iters);
  run(wl::DType::BF16, iters);
  return 0;
}
