// Test-only input injection: pushes keyboard/mouse/quit events into SDL's queue and drives SDL
// virtual joysticks, so tests exercise the exact path real devices take (SDL event queue →
// poll_events, SDL_GameController → Gamepads) without hardware. Needs a live SdlContext.
#pragma once
#include <string>

namespace wl::platform::synthetic {

// `key` is an SDL scancode name ("W", "Left", "F12"). Unknown names are an InvalidArgument.
void push_key(const std::string& key, bool down);
void push_mouse_motion(float dx, float dy);
void push_quit();

// Attaches a virtual joystick typed as a game controller (all standard axes and buttons).
// Returns its joystick instance id; SDL reports it as a hot-plugged gamepad on the next poll.
int attach_virtual_gamepad();
// axis: "leftx", "lefty", "rightx", "righty" in [-1, 1]; "lefttrigger", "righttrigger" in [0, 1].
void set_virtual_axis(int id, const std::string& axis, float value);
// button: SDL name ("a", "b", "x", "y", "start", "leftshoulder", "dpup", ...).
void set_virtual_button(int id, const std::string& button, bool down);
void detach_virtual_gamepad(int id);

}  // namespace wl::platform::synthetic
