// Errors of the SDL layer. The platform library has no C ABI of its own (the addon calls it
// directly), so it carries a symbolic code that the binding hands to JS unchanged.
#pragma once
#include <stdexcept>
#include <string>

namespace wl::platform {

enum class ErrorCode {
  NoDisplay,        // no X11/Wayland display to open a window on (headless machine, no xvfb)
  InvalidArgument,  // caller passed a bad size, buffer, name or id
  Unsupported,      // the running SDL cannot do it (e.g. no virtual joystick support)
  Internal,         // SDL reported a failure we did not expect
};

class PlatformError : public std::runtime_error {
 public:
  PlatformError(ErrorCode code, const std::string& msg) : std::runtime_error(msg), code_(code) {}
  ErrorCode code() const { return code_; }
  // The JS-facing code string (matches src/errors.ts WorldloopErrorCode).
  const char* code_name() const {
    switch (code_) {
      case ErrorCode::NoDisplay: return "WL_NO_DISPLAY";
      case ErrorCode::InvalidArgument: return "WL_INVALID_ARGUMENT";
      case ErrorCode::Unsupported: return "WL_UNSUPPORTED";
      default: return "WL_INTERNAL";
    }
  }

 private:
  ErrorCode code_;
};

}  // namespace wl::platform
