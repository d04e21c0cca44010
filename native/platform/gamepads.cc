#include "platform/gamepads.h"

#include <SDL.h>

#include <algorithm>
#include <cmath>

#include "platform/platform_error.h"

namespace wl::platform {

void apply_stick_deadzone(float& x, float& y, float dz) {
  float mag = std::sqrt(x * x + y * y);
  if (mag <= dz || mag == 0.f) {
    x = y = 0.f;
    return;
  }
  float scaled = std::min(1.f, (mag - dz) / (1.f - dz));
  x = x / mag * scaled;
  y = y / mag * scaled;
}

float apply_trigger_deadzone(float v, float dz) {
  if (v <= dz) return 0.f;
  return std::min(1.f, (v - dz) / (1.f - dz));
}

Gamepads::~Gamepads() {
  for (auto& [id, gc] : open_) SDL_GameControllerClose(gc);
}

int Gamepads::open(int device_index, std::string* name_out) {
  if (!SDL_IsGameController(device_index)) return -1;
  SDL_JoystickID id = SDL_JoystickGetDeviceInstanceID(device_index);
  if (id < 0) return -1;
  auto it = open_.find(id);
  if (it == open_.end()) {
    SDL_GameController* gc = SDL_GameControllerOpen(device_index);
    if (!gc) return -1;
    it = open_.emplace(id, gc).first;
  }
  if (name_out) {
    const char* n = SDL_GameControllerName(it->second);
    *name_out = n ? n : "gamepad";
  }
  return id;
}

bool Gamepads::close(int instance_id) {
  auto it = open_.find(instance_id);
  if (it == open_.end()) return false;
  SDL_GameControllerClose(it->second);
  open_.erase(it);
  return true;
}

void Gamepads::open_all() {
  int n = SDL_NumJoysticks();
  for (int i = 0; i < n; i++) open(i, nullptr);
}

static float axis01(SDL_GameController* gc, SDL_GameControllerAxis a) {
  // SDL axes are int16; -32768 would overshoot -1 by one step.
  return std::max(-1.f, SDL_GameControllerGetAxis(gc, a) / 32767.f);
}

std::vector<GamepadState> Gamepads::snapshot() const {
  std::vector<GamepadState> out;
  out.reserve(open_.size());
  for (auto& [id, gc] : open_) {
    GamepadState s;
    s.id = id;
    const char* n = SDL_GameControllerName(gc);
    s.name = n ? n : "gamepad";
    s.left_x = axis01(gc, SDL_CONTROLLER_AXIS_LEFTX);
    s.left_y = axis01(gc, SDL_CONTROLLER_AXIS_LEFTY);
    s.right_x = axis01(gc, SDL_CONTROLLER_AXIS_RIGHTX);
    s.right_y = axis01(gc, SDL_CONTROLLER_AXIS_RIGHTY);
    apply_stick_deadzone(s.left_x, s.left_y, dz_.stick);
    apply_stick_deadzone(s.right_x, s.right_y, dz_.stick);
    s.left_trigger = apply_trigger_deadzone(std::max(0.f, axis01(gc, SDL_CONTROLLER_AXIS_TRIGGERLEFT)), dz_.trigger);
    s.right_trigger = apply_trigger_deadzone(std::max(0.f, axis01(gc, SDL_CONTROLLER_AXIS_TRIGGERRIGHT)), dz_.trigger);
    for (int b = 0; b < SDL_CONTROLLER_BUTTON_MAX; b++) {
      auto btn = static_cast<SDL_GameControllerButton>(b);
      if (SDL_GameControllerGetButton(gc, btn)) {
        const char* bn = SDL_GameControllerGetStringForButton(btn);
        if (bn) s.buttons_down.emplace_back(bn);
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

void Gamepads::set_deadzones(const Deadzones& d) {
  auto ok = [](float v) { return std::isfinite(v) && v >= 0.f && v < 1.f; };
  if (!ok(d.stick)) throw PlatformError(ErrorCode::InvalidArgument, "stick deadzone must be in [0, 1)");
  if (!ok(d.trigger)) throw PlatformError(ErrorCode::InvalidArgument, "trigger deadzone must be in [0, 1)");
  dz_ = d;
}

int Gamepads::add_mappings_file(const std::string& path) {
  int n = SDL_GameControllerAddMappingsFromFile(path.c_str());
  if (n < 0) {
    throw PlatformError(ErrorCode::InvalidArgument,
                        "cannot load controller mappings from '" + path + "': " + SDL_GetError());
  }
  // Pads plugged in before the mapping was known become controllers now.
  open_all();
  return n;
}

}  // namespace wl::platform
