// Helpers shared by the C++ test binaries (check.h stays the harness): seeded random data,
// the normalised error measure, fixture and temp-file access, expected-failure capture, and an
// opt-in heap-allocation counter. Header-only; everything is inline so a binary that uses only
// part of it compiles without unused-function warnings.
#pragma once
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <new>
#include <string>
#include <vector>

#include "capi/error.h"
#include "model/safetensors.h"

namespace wl_test {

// xorshift64: the same seed gives the same data on every machine, so a failing case reproduces.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  float uniform(float lo = -1.0f, float hi = 1.0f) {
    return lo + (hi - lo) * float(next() >> 40) / float(1ull << 24);
  }
  int pick(std::initializer_list<int> v) { return v.begin()[next() % v.size()]; }
};

inline std::vector<float> random_vec(Rng& rng, size_t n, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> v(n);
  for (auto& x : v) x = rng.uniform(lo, hi);
  return v;
}

// max|want - got| / max(1e-6, max|want|). NaN/Inf in `got` or a size mismatch count as failure
// (returns inf), so a tolerance check cannot pass on a broken output.
inline double norm_err(const std::vector<float>& want, const std::vector<float>& got) {
  if (want.size() != got.size()) return INFINITY;
  double mx = 0, err = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    mx = std::max(mx, std::fabs(double(want[i])));
    err = std::max(err, std::fabs(double(want[i]) - double(got[i])));
  }
  return err / std::max(1e-6, mx);
}

// Path of a file in the test fixtures: $WL_FIXTURES, else native/tests/fixtures (ctest runs the
// binaries from the repository root).
inline std::string fixture(const std::string& name) {
  const char* dir = std::getenv("WL_FIXTURES");
  return std::string(dir ? dir : "native/tests/fixtures") + "/" + name;
}

inline bool fixture_exists(const std::string& name) {
  FILE* f = std::fopen(fixture(name).c_str(), "rb");
  if (f) std::fclose(f);
  return f != nullptr;
}

// A safetensors fixture (goldens, models) opened with every dtype allowed.
struct Fixture {
  wl::SafetensorsFile file;
  explicit Fixture(const std::string& name)
      : file(wl::SafetensorsFile::open(fixture(name), wl::kMaxSafetensorsFileBytes,
                                       wl::AllowedDTypes::Any)) {}
  std::vector<float> f32(const std::string& name) const {
    return file.to_f32(name, file.get(name).shape);
  }
  template <class T>
  std::vector<T> raw(const std::string& name) const {
    const wl::TensorInfo& t = file.get(name);
    std::vector<T> out(t.nbytes / sizeof(T));
    std::memcpy(out.data(), t.data, out.size() * sizeof(T));
    return out;
  }
};

// The inputs stored in golden_memory.safetensors (train/goldens.py), read in one place so the
// CPU and CUDA golden tests feed the model the same tensors.
struct MemoryGoldenInputs {
  std::vector<float> noisy, sigma, ctx, act, mem_lat, mem_pose, mem_mask, noise;
  std::vector<uint64_t> seeds, frames;
  int steps;
};
inline MemoryGoldenInputs memory_golden_inputs(const Fixture& g) {
  return {g.f32("input_noisy"),       g.f32("input_sigma"),        g.f32("input_context"),
          g.f32("input_actions"),     g.f32("input_memory"),       g.f32("input_memory_poses"),
          g.f32("input_memory_mask"), g.f32("input_noise"),        g.raw<uint64_t>("input_seeds"),
          g.raw<uint64_t>("input_frames"), int(g.raw<int64_t>("input_steps").at(0))};
}

// Appends the whole file to *out; false when it cannot be opened.
inline bool read_file(const std::string& path, std::vector<uint8_t>* out) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  uint8_t buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out->insert(out->end(), buf, buf + n);
  std::fclose(f);
  return true;
}

// False when the file cannot be created or not every byte reached it.
inline bool write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

// /tmp/wl_test_<test>_<pid>_<tag>.safetensors: the pid keeps concurrent runs apart.
inline std::string temp_path(const char* test, const char* tag) {
  return std::string("/tmp/wl_test_") + test + "_" + std::to_string(int(getpid())) + "_" + tag +
         ".safetensors";
}

// What a call threw as wl::Error (status WL_OK and "<no error>" when it did not throw).
struct Failure {
  wl_status status = WL_OK;
  std::string message = "<no error>";
};

template <class F>
Failure failure_of(F&& f) {
  Failure out;
  try {
    f();
  } catch (const wl::Error& e) {
    out.status = e.status();
    out.message = e.what();
  }
  return out;
}

}  // namespace wl_test

// Heap-allocation counter for tests that assert a region allocates nothing. Replacing operator
// new is a whole-program choice, so it is opt-in: define WL_TEST_COUNT_ALLOCATIONS before including
// this header in exactly one file of a test binary. Its value is whether counting starts on (1:
// count everything, compare before/after) or off (0: count only while g_count_allocs is set).
// Under a debugger, WL_ABORT_ON_ALLOC=1 stops at the first counted allocation.
#ifdef WL_TEST_COUNT_ALLOCATIONS
namespace wl_test {
inline std::atomic<bool> g_count_allocs{WL_TEST_COUNT_ALLOCATIONS != 0};
inline std::atomic<long> g_allocs{0};
}  // namespace wl_test

void* operator new(std::size_t n) {
  if (wl_test::g_count_allocs.load(std::memory_order_relaxed)) {
    wl_test::g_allocs.fetch_add(1);
    if (std::getenv("WL_ABORT_ON_ALLOC")) std::abort();
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
// Out of line, so GCC does not pair an inlined free() with operator new and warn.
__attribute__((noinline)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void* operator new[](std::size_t n) { return operator new(n); }
__attribute__((noinline)) void operator delete[](void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#endif
