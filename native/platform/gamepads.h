// The connected game controllers, opened through SDL_GameController so any pad in SDL's mapping
// database (built in, plus SDL_GAMECONTROLLERCONFIG / a mappings file) reports the same named
// axes and buttons. Handles hot-plug and applies stick/trigger deadzones.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

typedef struct _SDL_GameController SDL_GameController;

namespace wl::platform {

struct GamepadState {
  int id = -1;  // SDL joystick instance id (stable while connected)
  std::string name;
  // Sticks in [-1, 1] (y down is positive, as SDL reports), triggers in [0, 1]; deadzones applied.
  float left_x = 0, left_y = 0, right_x = 0, right_y = 0;
  float left_trigger = 0, right_trigger = 0;
  std::vector<std::string> buttons_down;  // SDL button names: "a", "b", "start", "dpup", ...
};

struct Deadzones {
  float stick = 0.15f;   // radial, per stick; output rescaled so it still reaches 1
  float trigger = 0.05f;
};

// Radial deadzone with rescale: inside `dz` → (0,0); outside, magnitude maps (dz,1] → (0,1].
void apply_stick_deadzone(float& x, float& y, float dz);
float apply_trigger_deadzone(float v, float dz);

class Gamepads {
 public:
  Gamepads() = default;
  ~Gamepads();
  Gamepads(const Gamepads&) = delete;
  Gamepads& operator=(const Gamepads&) = delete;

  // Opens a controller by SDL device index (CONTROLLERDEVICEADDED). Returns the instance id or -1
  // when the device is not a game controller / cannot be opened.
  int open(int device_index, std::string* name_out);
  // Closes by instance id (CONTROLLERDEVICEREMOVED). Returns false if it was not open.
  bool close(int instance_id);
  // Opens every controller present now (at startup; SDL also sends ADDED events for them).
  void open_all();

  std::vector<GamepadState> snapshot() const;
  void set_deadzones(const Deadzones& d);
  const Deadzones& deadzones() const { return dz_; }
  // Loads extra controller mappings (SDL gamecontrollerdb.txt format). Returns how many.
  int add_mappings_file(const std::string& path);

 private:
  std::map<int, SDL_GameController*> open_;
  Deadzones dz_;
};

}  // namespace wl::platform
