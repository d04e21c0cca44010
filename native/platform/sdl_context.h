// Process-wide SDL initialisation, shared by every Window (SDL's video, event and controller
// subsystems are global). Reference counted so the last window to close shuts SDL down.
#pragma once

namespace wl::platform {

class SdlContext {
 public:
  // Initialises video + events + game controllers. Throws PlatformError(NoDisplay) when no
  // display can be opened, naming the DISPLAY/WAYLAND_DISPLAY situation.
  SdlContext();
  ~SdlContext();
  SdlContext(const SdlContext&) = delete;
  SdlContext& operator=(const SdlContext&) = delete;

  // True while at least one SdlContext is alive (synthetic-input helpers need SDL running).
  static bool active();
};

}  // namespace wl::platform
