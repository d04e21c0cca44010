// Settings read from the environment (WL_CONV_BF16, WL_CPU_PROFILE, WL_KERNELS, WL_CUDA_*),
// checked in one place so that a mistyped value is an error that names the variable instead
// of a silent default. Header-only: the CUDA library uses it and wl_core links that library,
// so a definition in wl_core would make the two static libraries depend on each other.
#pragma once

#include <cstdlib>
#include <initializer_list>
#include <string>

#include "capi/error.h"

namespace wl {

// A 0/1 switch: unset or empty gives `fallback`; "0" and "1" are off and on; anything else
// throws WL_ERR_INVALID_ARGUMENT naming the variable and the value.
inline bool env_switch(const char* name, bool fallback = false) {
  const char* raw = std::getenv(name);
  if (!raw || !*raw) return fallback;
  const std::string v = raw;
  if (v != "0" && v != "1")
    throw Error(WL_ERR_INVALID_ARGUMENT,
                std::string(name) + " must be 0 or 1, got \"" + v.substr(0, 32) + "\"");
  return v == "1";
}

// One of `allowed` (exact match), or `fallback` when unset or empty; anything else throws
// WL_ERR_INVALID_ARGUMENT naming the variable, the value and the allowed values.
inline std::string env_choice(const char* name, std::initializer_list<const char*> allowed,
                              const std::string& fallback) {
  const char* raw = std::getenv(name);
  if (!raw || !*raw) return fallback;
  const std::string v = raw;
  std::string list;
  for (const char* a : allowed) {
    if (v == a) return v;
    list += list.empty() ? a : std::string(" or ") + a;
  }
  throw Error(WL_ERR_INVALID_ARGUMENT,
              std::string(name) + " must be " + list + ", got \"" + v.substr(0, 32) + "\"");
}

}  // namespace wl
