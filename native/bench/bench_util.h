// Helpers shared by the benchmark binaries: wall-clock time, the median/p95/p99 every bench
// reports, the machine name that goes into each JSON line, and JSON string escaping.
// Header-only and inline, so a bench that uses only part of it has no unused-function warnings.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "ops/cpu_features.h"

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

// The CPU's model name with family and model numbers (ops/cpu_features.h).
inline std::string cpu_model() { return wl::cpu_model_name(); }

// $WL_MACHINE, else the CPU model and its hardware thread count.
inline std::string machine() {
  if (const char* m = std::getenv("WL_MACHINE")) return m;
  return cpu_model() + " x" + std::to_string(std::thread::hardware_concurrency());
}

}  // namespace wl_bench
