#include "platform/sdl_context.h"

#include <SDL.h>

#include <cstdlib>
#include <string>

#include "platform/platform_error.h"

namespace wl::platform {

static int g_refs = 0;

SdlContext::SdlContext() {
  if (g_refs++ > 0) return;
  // Node owns SIGINT/SIGTERM; SDL must not install its own handlers.
  SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
  // Gamepads keep working while another window has focus (and under xvfb, where focus is odd).
  SDL_SetHint(SDL_HINT_JOYSTICK_ALLOW_BACKGROUND_EVENTS, "1");
  // A game should not stop the screensaver from the library's side; leave the user's setting.
  SDL_SetHint(SDL_HINT_VIDEO_ALLOW_SCREENSAVER, "1");
  const char* x11 = std::getenv("DISPLAY");
  const char* wl = std::getenv("WAYLAND_DISPLAY");
  const char* forced = std::getenv("SDL_VIDEODRIVER");
  bool has_display = (x11 && *x11) || (wl && *wl);
  bool forced_driver = forced && *forced;
  // Without a display SDL quietly falls back to its "offscreen" driver: a window nobody can see.
  // Say so instead (SDL_VIDEODRIVER=offscreen/kmsdrm still opts in explicitly).
  if (!has_display && !forced_driver) {
    g_refs = 0;
    throw PlatformError(ErrorCode::NoDisplay, "no display: neither DISPLAY nor WAYLAND_DISPLAY is set");
  }
  if (SDL_Init(SDL_INIT_VIDEO | SDL_INIT_EVENTS | SDL_INIT_GAMECONTROLLER) != 0) {
    std::string why = SDL_GetError();
    g_refs = 0;
    if (!forced_driver) {
      throw PlatformError(ErrorCode::NoDisplay, "cannot open the display (DISPLAY=" + std::string(x11 ? x11 : "<unset>") +
                                                    "): " + why);
    }
    throw PlatformError(ErrorCode::Internal, "SDL_Init failed with SDL_VIDEODRIVER=" + std::string(forced) + ": " + why);
  }
  // Key events only; text input (IME) would turn letters into text events.
  SDL_StopTextInput();
}

SdlContext::~SdlContext() {
  if (--g_refs == 0) SDL_Quit();
}

bool SdlContext::active() { return g_refs > 0; }

}  // namespace wl::platform
