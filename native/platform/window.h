// An SDL window that presents RGB8 frames from the world: a streaming texture scaled into a
// letterboxed rectangle (nearest or linear), an optional RGBA overlay on top (the HUD), vsync,
// fullscreen, relative mouse, the event pump and the connected gamepads. One per process is the
// normal case; all calls belong on the thread that created it (SDL rendering is single-threaded).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "platform/event.h"
#include "platform/gamepads.h"
#include "platform/letterbox.h"
#include "platform/sdl_context.h"

struct SDL_Window;
struct SDL_Renderer;
struct SDL_Texture;

namespace wl::platform {

struct WindowOptions {
  std::string title = "worldloop";
  int width = 512, height = 512;
  bool vsync = true;
  bool linear = false;      // scaling filter: false = nearest (crisp pixels), true = linear
  bool fullscreen = false;  // desktop fullscreen
  bool resizable = true;
  bool hidden = false;      // create without showing (benchmarks, tests)
  std::string renderer = "auto";  // "auto" (SDL's best: GPU when present) or "software"
};

struct RendererInfo {
  std::string name;  // SDL render driver: "opengl", "opengles2", "software", ...
  std::string texture_format;  // pixel format frames are converted to for upload
  std::string video_driver;  // SDL video driver: "x11", "wayland", ...
  bool software = false;
  bool vsync = false;
  int window_w = 0, window_h = 0;  // window size in screen coordinates
  int output_w = 0, output_h = 0;  // drawable size in pixels
  Rect viewport;                   // where the last frame was drawn (letterbox)
  bool fullscreen = false;
  bool linear = false;
  bool relative_mouse = false;
};

// Where the last present() spent its time (ms): texture upload, drawing (clear, scaled copy,
// overlay blend) and the flip (SDL_RenderPresent; includes the vsync wait when vsync is on).
struct PresentTimings {
  double upload_ms = 0, draw_ms = 0, flip_ms = 0;
};

struct Screenshot {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // width*height*3
};

class Window {
 public:
  explicit Window(const WindowOptions& opts);
  ~Window();
  Window(const Window&) = delete;
  Window& operator=(const Window&) = delete;

  // Uploads a w×h RGB8 frame (rows `stride` bytes apart) and presents it letterboxed, with the
  // overlay on top when one is set. Blocks for vsync when vsync is on.
  void present(const uint8_t* rgb, int w, int h, size_t stride);
  // RGBA8 overlay drawn over the top of the frame's rectangle (alpha-blended), scaled so its
  // width matches the frame's; it may be shorter than the frame (the HUD box only), which keeps
  // blending cheap. nullptr clears it.
  void set_overlay(const uint8_t* rgba, int w, int h);

  // Drains SDL's queue: window/keyboard/mouse events plus gamepad hot-plug (which this call
  // also acts on by opening/closing controllers).
  std::vector<Event> poll_events();
  Gamepads& gamepads() { return pads_; }

  // Reads back what the window shows (the last frame, letterboxed, with overlay) as RGB8.
  Screenshot screenshot();

  void set_fullscreen(bool on);
  bool set_vsync(bool on);  // returns whether the renderer accepted the change
  void set_linear(bool on);
  void resize(int w, int h);
  void set_title(const std::string& title);
  bool set_relative_mouse(bool on);  // returns whether SDL could capture the mouse

  RendererInfo info() const;
  const PresentTimings& last_present() const { return timings_; }

 private:
  void render_current();
  void ensure_texture(SDL_Texture*& tex, int& tw, int& th, uint32_t format, int w, int h, bool blend);

  SdlContext sdl_;  // first member: SDL is up before and down after everything else
  SDL_Window* window_ = nullptr;
  SDL_Renderer* renderer_ = nullptr;
  SDL_Texture* frame_ = nullptr;
  int frame_w_ = 0, frame_h_ = 0;
  uint32_t frame_format_ = 0;  // a 32-bit format the renderer takes natively (or RGB24 fallback)
  SDL_Texture* overlay_ = nullptr;
  int overlay_w_ = 0, overlay_h_ = 0;
  bool overlay_on_ = false;
  bool linear_ = false;
  bool vsync_ = false;
  bool relative_mouse_ = false;
  Rect viewport_;
  PresentTimings timings_;
  Gamepads pads_;
};

}  // namespace wl::platform
