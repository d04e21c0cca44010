#include "platform/event.h"

namespace wl::platform {

const char* event_type_name(Event::Type t) {
  switch (t) {
    case Event::Type::Quit: return "quit";
    case Event::Type::KeyDown: return "keydown";
    case Event::Type::KeyUp: return "keyup";
    case Event::Type::MouseMotion: return "mousemotion";
    case Event::Type::MouseButtonDown: return "mousedown";
    case Event::Type::MouseButtonUp: return "mouseup";
    case Event::Type::MouseWheel: return "wheel";
    case Event::Type::WindowResized: return "resized";
    case Event::Type::WindowFocusGained: return "focus";
    case Event::Type::WindowFocusLost: return "blur";
    case Event::Type::WindowExposed: return "exposed";
    case Event::Type::GamepadAdded: return "gamepadadded";
    case Event::Type::GamepadRemoved: return "gamepadremoved";
    case Event::Type::GamepadButtonDown: return "gamepaddown";
    case Event::Type::GamepadButtonUp: return "gamepadup";
  }
  return "unknown";
}

}  // namespace wl::platform
