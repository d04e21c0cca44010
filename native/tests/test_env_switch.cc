// Settings from the environment (model/env_switch.h): defaults when unset or empty, the allowed
// values, and an error naming the variable for anything else, as the CPU backend reports it.
#include <cstdlib>
#include <string>

#include "capi/error.h"
#include "check.h"
#include "model/cpu_backend.h"
#include "model/env_switch.h"

using namespace wl;

namespace {

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(switch_defaults_values_and_errors) {
  unsetenv("WL_TEST_SWITCH");
  CHECK(!env_switch("WL_TEST_SWITCH"));
  CHECK(env_switch("WL_TEST_SWITCH", true));
  setenv("WL_TEST_SWITCH", "", 1);
  CHECK(env_switch("WL_TEST_SWITCH", true));
  setenv("WL_TEST_SWITCH", "1", 1);
  CHECK(env_switch("WL_TEST_SWITCH"));
  setenv("WL_TEST_SWITCH", "0", 1);
  CHECK(!env_switch("WL_TEST_SWITCH", true));
  setenv("WL_TEST_SWITCH", "true", 1);
  const std::string why = error_of([] { env_switch("WL_TEST_SWITCH"); });
  CHECK_MSG(why == "WL_TEST_SWITCH must be 0 or 1, got \"true\"", "%s", why.c_str());
  unsetenv("WL_TEST_SWITCH");
}

TEST(choice_defaults_values_and_errors) {
  unsetenv("WL_TEST_CHOICE");
  CHECK(env_choice("WL_TEST_CHOICE", {"f32", "bf16"}, "bf16") == "bf16");
  setenv("WL_TEST_CHOICE", "f32", 1);
  CHECK(env_choice("WL_TEST_CHOICE", {"f32", "bf16"}, "bf16") == "f32");
  setenv("WL_TEST_CHOICE", "fp16", 1);
  const std::string why = error_of([] { env_choice("WL_TEST_CHOICE", {"f32", "bf16"}, "f32"); });
  CHECK_MSG(why == "WL_TEST_CHOICE must be f32 or bf16, got \"fp16\"", "%s", why.c_str());
  unsetenv("WL_TEST_CHOICE");
}

TEST(cpu_backend_refuses_an_unknown_kernel_set) {
  setenv("WL_KERNELS", "reference", 1);
  const std::string why = error_of([] { make_cpu_backend(1); });
  CHECK_MSG(why.find("WL_KERNELS must be ref or fast, got \"reference\"") != std::string::npos,
            "%s", why.c_str());
  setenv("WL_KERNELS", "ref", 1);
  CHECK(make_cpu_backend(1) != nullptr);
  unsetenv("WL_KERNELS");
}

TEST_MAIN()
