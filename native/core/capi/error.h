// Bridges C++ errors to the C ABI: C ABI functions catch wl::Error (and std::bad_alloc) at the
// boundary and turn them into a wl_status + thread-local message.
#pragma once
#include <stdexcept>
#include <string>

#include "worldloop/wl_common.h"

namespace wl {

class Error : public std::runtime_error {
 public:
  Error(wl_status status, const std::string& msg) : std::runtime_error(msg), status_(status) {}
  wl_status status() const { return status_; }

 private:
  wl_status status_;
};

wl_status set_error(wl_status status, const std::string& message);
void clear_error();

// Runs body() and converts any exception into a status. Use in every extern "C" entry point.
template <class F>
wl_status guard(F&& body) {
  try {
    clear_error();
    body();
    return WL_OK;
  } catch (const Error& e) {
    return set_error(e.status(), e.what());
  } catch (const std::bad_alloc&) {
    return set_error(WL_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return set_error(WL_ERR_INTERNAL, std::string("internal error: ") + e.what());
  }
}

}  // namespace wl
