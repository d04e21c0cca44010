// One input/window event, translated out of SDL into plain data that the addon marshals to JS.
// Key names are SDL scancode names ("W", "Left", "F12"): positions on the keyboard, so WASD
// stays WASD on AZERTY and the bindings file does not depend on the layout.
#pragma once
#include <string>

namespace wl::platform {

struct Event {
  enum class Type {
    Quit,
    KeyDown,
    KeyUp,
    MouseMotion,
    MouseButtonDown,
    MouseButtonUp,
    MouseWheel,
    WindowResized,
    WindowFocusGained,
    WindowFocusLost,
    WindowExposed,
    GamepadAdded,
    GamepadRemoved,
    GamepadButtonDown,
    GamepadButtonUp,
  };
  Type type = Type::Quit;
  std::string name;     // key name, mouse button or gamepad button name
  bool repeat = false;  // key auto-repeat
  float dx = 0, dy = 0; // relative mouse motion (pixels) or wheel ticks
  int width = 0, height = 0;  // new window size (WindowResized)
  int gamepad = -1;     // gamepad instance id
  std::string gamepad_name;
};

const char* event_type_name(Event::Type t);

}  // namespace wl::platform
