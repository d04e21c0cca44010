#include "platform/synthetic_input.h"

#include <SDL.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "platform/platform_error.h"
#include "platform/sdl_context.h"

namespace wl::platform::synthetic {

static void require_sdl() {
  if (!SdlContext::active()) {
    throw PlatformError(ErrorCode::InvalidArgument, "synthetic input needs an open window (SDL is not running)");
  }
}

static void push(SDL_Event& e) {
  if (SDL_PushEvent(&e) < 0) throw PlatformError(ErrorCode::Internal, std::string("SDL_PushEvent: ") + SDL_GetError());
}

void push_key(const std::string& key, bool down) {
  require_sdl();
  SDL_Scancode sc = SDL_GetScancodeFromName(key.c_str());
  if (sc == SDL_SCANCODE_UNKNOWN) throw PlatformError(ErrorCode::InvalidArgument, "unknown key name '" + key + "'");
  SDL_Event e{};
  e.type = down ? SDL_KEYDOWN : SDL_KEYUP;
  e.key.state = down ? SDL_PRESSED : SDL_RELEASED;
  e.key.keysym.scancode = sc;
  e.key.keysym.sym = SDL_GetKeyFromScancode(sc);
  e.key.timestamp = SDL_GetTicks();
  push(e);
}

void push_mouse_motion(float dx, float dy) {
  require_sdl();
  if (!std::isfinite(dx) || !std::isfinite(dy)) throw PlatformError(ErrorCode::InvalidArgument, "mouse motion must be finite");
  SDL_Event e{};
  e.type = SDL_MOUSEMOTION;
  e.motion.xrel = int(std::lround(dx));
  e.motion.yrel = int(std::lround(dy));
  e.motion.timestamp = SDL_GetTicks();
  push(e);
}

void push_quit() {
  require_sdl();
  SDL_Event e{};
  e.type = SDL_QUIT;
  push(e);
}

// Ids of the virtual devices we attached. The SDL_Joystick handles are looked up by id on each
// call rather than stored, so a handle never outlives an SDL_Quit (ids are not reused after it).
static std::set<int>& virtuals() {
  static std::set<int> s;
  return s;
}

static SDL_Joystick* find(int id) {
  SDL_Joystick* js = virtuals().count(id) ? SDL_JoystickFromInstanceID(id) : nullptr;
  if (!js) throw PlatformError(ErrorCode::InvalidArgument, "no virtual gamepad with id " + std::to_string(id));
  return js;
}

int attach_virtual_gamepad() {
  require_sdl();
  int index = SDL_JoystickAttachVirtual(SDL_JOYSTICK_TYPE_GAMECONTROLLER, SDL_CONTROLLER_AXIS_MAX,
                                        SDL_CONTROLLER_BUTTON_MAX, 0);
  if (index < 0) throw PlatformError(ErrorCode::Unsupported, std::string("SDL_JoystickAttachVirtual: ") + SDL_GetError());
  SDL_Joystick* js = SDL_JoystickOpen(index);
  if (!js) {
    SDL_JoystickDetachVirtual(index);
    throw PlatformError(ErrorCode::Internal, std::string("SDL_JoystickOpen(virtual): ") + SDL_GetError());
  }
  int id = SDL_JoystickInstanceID(js);
  virtuals().insert(id);
  // Triggers rest at their minimum (the virtual device starts every axis at 0 = half pressed).
  SDL_JoystickSetVirtualAxis(js, SDL_CONTROLLER_AXIS_TRIGGERLEFT, SDL_JOYSTICK_AXIS_MIN);
  SDL_JoystickSetVirtualAxis(js, SDL_CONTROLLER_AXIS_TRIGGERRIGHT, SDL_JOYSTICK_AXIS_MIN);
  return id;
}

void set_virtual_axis(int id, const std::string& axis, float value) {
  require_sdl();
  SDL_Joystick* js = find(id);
  SDL_GameControllerAxis a = SDL_GameControllerGetAxisFromString(axis.c_str());
  if (a == SDL_CONTROLLER_AXIS_INVALID) throw PlatformError(ErrorCode::InvalidArgument, "unknown gamepad axis '" + axis + "'");
  if (!std::isfinite(value)) throw PlatformError(ErrorCode::InvalidArgument, "axis value must be finite");
  bool trigger = a == SDL_CONTROLLER_AXIS_TRIGGERLEFT || a == SDL_CONTROLLER_AXIS_TRIGGERRIGHT;
  float v = std::clamp(value, trigger ? 0.f : -1.f, 1.f);
  // The virtual device's raw axes span the full int16 range; SDL's controller layer maps the
  // trigger's full range onto [0, 1].
  float raw = trigger ? (v * 2.f - 1.f) * 32767.f : v * 32767.f;
  if (SDL_JoystickSetVirtualAxis(js, a, Sint16(std::lround(raw))) != 0) {
    throw PlatformError(ErrorCode::Internal, std::string("SDL_JoystickSetVirtualAxis: ") + SDL_GetError());
  }
}

void set_virtual_button(int id, const std::string& button, bool down) {
  require_sdl();
  SDL_Joystick* js = find(id);
  SDL_GameControllerButton b = SDL_GameControllerGetButtonFromString(button.c_str());
  if (b == SDL_CONTROLLER_BUTTON_INVALID) throw PlatformError(ErrorCode::InvalidArgument, "unknown gamepad button '" + button + "'");
  if (SDL_JoystickSetVirtualButton(js, b, down ? SDL_PRESSED : SDL_RELEASED) != 0) {
    throw PlatformError(ErrorCode::Internal, std::string("SDL_JoystickSetVirtualButton: ") + SDL_GetError());
  }
}

void detach_virtual_gamepad(int id) {
  require_sdl();
  SDL_Joystick* js = find(id);
  SDL_JoystickClose(js);
  virtuals().erase(id);
  for (int i = 0; i < SDL_NumJoysticks(); i++) {
    if (SDL_JoystickGetDeviceInstanceID(i) == id) {
      SDL_JoystickDetachVirtual(i);
      return;
    }
  }
}

}  // namespace wl::platform::synthetic
