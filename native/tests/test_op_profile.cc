// The CPU backend's op profile (WL_CPU_PROFILE=1): calls summed per (op, shape), rows by time,
// the arithmetic rate of the ops that do arithmetic, and a clear error for a bad switch value.
// Also the shared shape text and FLOP count (ops/op_describe.h) that bench_ops prints.
#include <cstdlib>
#include <string>
#include <vector>

#include "capi/error.h"
#include "check.h"
#include "model/cpu_backend.h"
#include "model/op_profile.h"
#include "ops/op_describe.h"

using namespace wl;

namespace {

size_t count_of(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST(shape_text_and_flops) {
  const ConvShape s{1, 64, 16, 16, 32, 3, 2, 1};
  CHECK(conv_shape_text(s) == "n1 64x16x16->32 k3 s2");
  const OpCall conv = Conv2dArgs{s, nullptr, nullptr, ConvEpilogue{}, nullptr};
  CHECK(op_shape_text(conv) == "n1 64x16x16->32 k3 s2");
  CHECK(op_flops(conv) == 2.0 * 32 * 8 * 8 * 64 * 9);  // stride 2: 8x8 outputs
  const OpCall lin = LinearArgs{4, 128, 256, nullptr, nullptr, nullptr, nullptr};
  CHECK(op_shape_text(lin) == "n4 128->256");
  CHECK(op_flops(lin) == 2.0 * 4 * 128 * 256);
  const OpCall add = AddArgs{1000, nullptr, nullptr, nullptr};
  CHECK(op_shape_text(add) == "n1000");
  CHECK(op_flops(add) == 0.0);
  const OpCall att = AttentionArgs{AttentionShape{1, 128, 64, 4}, nullptr, nullptr};
  CHECK(op_shape_text(att) == "n1 c128 t64 h4");
}

TEST(profile_rows_sorted_and_summed) {
  OpProfile p;
  CHECK(p.empty());
  const OpCall small = AddArgs{10, nullptr, nullptr, nullptr};
  const OpCall big = LinearArgs{1, 1000, 1000, nullptr, nullptr, nullptr, nullptr};
  p.add(small, 1.0);
  p.add(big, 2.0);
  p.add(big, 2.0);
  const std::string j = p.json("cpu \"x\"", "\"isa\":\"avx2\"");
  std::printf("  %s\n", j.c_str());
  CHECK(j.rfind("{\"bench\":\"cpu_op_profile\",\"machine\":\"cpu \\\"x\\\"\",\"isa\":\"avx2\"",
                0) == 0);
  CHECK(j.find("\"total_ms\":5.0000") != std::string::npos);
  // The linear rows were merged (one row, count 2) and come first: 4 of the 5 ms.
  CHECK(count_of(j, "\"op\":\"linear\"") == 1);
  CHECK(j.find("\"op\":\"linear\"") < j.find("\"op\":\"add\""));
  CHECK(j.find("\"count\":2,\"ms\":4.0000,\"share\":0.8000,\"gflops\":1.00") != std::string::npos);
  CHECK(j.find("\"count\":1,\"ms\":1.0000,\"share\":0.2000,\"gflops\":0.00") != std::string::npos);
}

TEST(backend_profiles_only_when_asked) {
  std::vector<float> a(64 * 32, 0.5f), w(32 * 64, 0.25f), y(64 * 32);
  unsetenv("WL_CPU_PROFILE");
  auto off = make_cpu_backend(1);
  off->run(AddArgs{a.size(), a.data(), a.data(), y.data()});
  CHECK(off->profile_json().empty());

  setenv("WL_CPU_PROFILE", "1", 1);
  auto on = make_cpu_backend(1);
  on->run(AddArgs{a.size(), a.data(), a.data(), y.data()});
  CHECK(y[0] == 1.0f);  // profiling still computes
  on->run(LinearArgs{64, 32, 32, a.data(), w.data(), nullptr, y.data()});
  on->run(LinearArgs{64, 32, 32, a.data(), w.data(), nullptr, y.data()});
  CHECK(y[0] == 32 * 0.5f * 0.25f);
  const std::string j = on->profile_json();
  std::printf("  %s\n", j.c_str());
  CHECK(j.find("\"isa\":") != std::string::npos && j.find("\"threads\":1") != std::string::npos);
  CHECK(j.find("{\"op\":\"linear\",\"shape\":\"n64 32->32\",\"count\":2,") != std::string::npos);
  CHECK(j.find("{\"op\":\"add\",\"shape\":\"n2048\",\"count\":1,") != std::string::npos);

  setenv("WL_CPU_PROFILE", "yes", 1);
  std::string why;
  try {
    make_cpu_backend(1);
  } catch (const Error& e) {
    why = e.what();
  }
  CHECK_MSG(why.find("WL_CPU_PROFILE must be 0 or 1, got \"yes\"") != std::string::npos, "%s",
            why.c_str());
  unsetenv("WL_CPU_PROFILE");
}

TEST_MAIN()
