// Minimal test harness for the C++ test binaries: TEST(name) { CHECK(...); } and a main that
// runs every registered test, prints "N passed, M failed" and exits non-zero on any failure.
#pragma once
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace wl_test {

struct Case {
  const char* name;
  std::function<void()> fn;
};
inline std::vector<Case>& registry() {
  static std::vector<Case> r;
  return r;
}
inline int& failures_in_case() {
  static int f = 0;
  return f;
}
struct Registrar {
  Registrar(const char* n, std::function<void()> f) { registry().push_back({n, std::move(f)}); }
};

inline int run_all(int argc, char** argv) {
  const char* filter = argc > 1 ? argv[1] : nullptr;
  int passed = 0, failed = 0;
  for (auto& c : registry()) {
    if (filter && std::string(c.name).find(filter) == std::string::npos) continue;
    failures_in_case() = 0;
    try {
      c.fn();
    } catch (const std::exception& e) {
      std::printf("  exception: %s\n", e.what());
      failures_in_case()++;
    }
    if (failures_in_case() == 0) {
      passed++;
      std::printf("ok   %s\n", c.name);
    } else {
      failed++;
      std::printf("FAIL %s\n", c.name);
    }
    std::fflush(stdout);
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace wl_test

#define WL_CAT2(a, b) a##b
#define WL_CAT(a, b) WL_CAT2(a, b)
#define TEST(name)                                                               \
  static void name();                                                            \
  static wl_test::Registrar WL_CAT(reg_, name)(#name, name);                     \
  static void name()
#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);     \
      wl_test::failures_in_case()++;                                             \
    }                                                                            \
  } while (0)
#define CHECK_MSG(cond, ...)                                                     \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::printf("  %s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);     \
      std::printf(__VA_ARGS__);                                                  \
      std::printf("\n");                                                         \
      wl_test::failures_in_case()++;                                             \
    }                                                                            \
  } while (0)
#define TEST_MAIN() \
  int main(int argc, char** argv) { return wl_test::run_all(argc, argv); }
