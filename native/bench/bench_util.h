// Helpers shared by the benchmark binaries: wall-clock time, the median/p95/p99 every bench
// reports, the machine name that goes into each JSON line, and JSON string escaping.
// Header-only and inline, so a bench that uses only part of it has no unused-function warnings.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace wl_bench {

inline double now_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Percentile of sorted, non-empty samples: the sample at rank round(q * (n - 1)), q in [0, 1].
inline double percentile(const std::vector<double>& sorted, double q) {
  return sorted[std::min(sorted.size() - 1, size_t(q * double(sorted.size() - 1) + 0.5))];
}

struct Stats {
  double median, p95, p99;
};
inline Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {percentile(v, 0.5), percentile(v, 0.95), percentile(v, 0.99)};
}

// Quotes and backslashes escaped, control characters dropped: safe inside a JSON string.
inline std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) o += c;
  }
  return o;
}

// The CPU's "model name" from /proc/cpuinfo ("unknown-cpu" where there is none), plus its
// family and model numbers where listed: VMs often report a generic name ("AMD EPYC") for hosts
// of different generations (family 25 = Zen 3/4, 26 = Zen 5, whose AVX-512 peak is twice its
// AVX2 peak), and the numbers tell them apart.
inline std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line, name, family, model;
  auto value = [&line]() {
    const size_t c = line.find(':');
    const size_t b = c == std::string::npos ? c : line.find_first_not_of(" \t", c + 1);
    return b == std::string::npos ? std::string() : line.substr(b);
  };
  while (std::getline(f, line) && !line.empty()) {
    if (line.rfind("model name", 0) == 0)
      name = value();
    else if (line.rfind("cpu family", 0) == 0)
      family = value();
    else if (line.rfind("model", 0) == 0 && line.find(':') != std::string::npos &&
             line.find_first_not_of(" \t", 5) == line.find(':'))
      model = value();
  }
  if (name.empty()) return "unknown-cpu";
  if (!family.empty() && !model.empty()) name += " (family " + family + " model " + model + ")";
  return name;
}

// $WL_MACHINE, else the CPU model and its hardware thread count.
inline std::string machine() {
  if (const char* m = std::getenv("WL_MACHINE")) return m;
  return cpu_model() + " x" + std::to_string(std::thread::hardware_concurrency());
}

}  // namespace wl_bench
