#include "capi/error.h"

#include <string>

#include "worldloop/wl_common.h"

namespace wl {
namespace {
thread_local std::string g_last_error;
}

wl_status set_error(wl_status status, const std::string& message) {
  g_last_error = message;
  return status;
}

void clear_error() { g_last_error.clear(); }

}  // namespace wl

extern "C" {
const char* wl_last_error(void) { return wl::g_last_error.c_str(); }
const char* wl_version(void) { return "0.1.0"; }
}
