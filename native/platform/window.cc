#include "platform/window.h"

#include <SDL.h>

#include <cstring>

#include "platform/platform_error.h"

namespace wl::platform {

static constexpr int kMaxSide = 16384;

static void check_size(const char* what, int w, int h) {
  if (w < 1 || h < 1 || w > kMaxSide || h > kMaxSide) {
    throw PlatformError(ErrorCode::InvalidArgument, std::string(what) + " size " + std::to_string(w) +
                                                        "x" + std::to_string(h) + " is outside 1.." +
                                                        std::to_string(kMaxSide));
  }
}

static std::string sdl_error(const char* what) { return std::string(what) + ": " + SDL_GetError(); }

Window::Window(const WindowOptions& o) {
  check_size("window", o.width, o.height);
  if (o.renderer != "auto" && o.renderer != "software") {
    throw PlatformError(ErrorCode::InvalidArgument,
                        "renderer must be 'auto' or 'software', got '" + o.renderer + "'");
  }
  Uint32 wflags = SDL_WINDOW_ALLOW_HIGHDPI;
  if (o.resizable) wflags |= SDL_WINDOW_RESIZABLE;
  if (o.fullscreen) wflags |= SDL_WINDOW_FULLSCREEN_DESKTOP;
  wflags |= o.hidden ? SDL_WINDOW_HIDDEN : SDL_WINDOW_SHOWN;
  window_ = SDL_CreateWindow(o.title.c_str(), SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, o.width,
                             o.height, wflags);
  if (!window_) throw PlatformError(ErrorCode::Internal, sdl_error("SDL_CreateWindow"));

  Uint32 rflags = o.vsync ? SDL_RENDERER_PRESENTVSYNC : 0;
  if (o.renderer == "auto") {
    renderer_ = SDL_CreateRenderer(window_, -1, rflags | SDL_RENDERER_ACCELERATED);
  }
  // No GPU (xvfb, servers): SDL's software renderer draws into the window surface.
  if (!renderer_) renderer_ = SDL_CreateRenderer(window_, -1, rflags | SDL_RENDERER_SOFTWARE);
  if (!renderer_) {
    std::string why = sdl_error("SDL_CreateRenderer");
    SDL_DestroyWindow(window_);
    throw PlatformError(ErrorCode::Internal, why);
  }
  SDL_RendererInfo ri;
  vsync_ = SDL_GetRendererInfo(renderer_, &ri) == 0 && (ri.flags & SDL_RENDERER_PRESENTVSYNC);
  // Upload frames in a 32-bit format the renderer uses natively: SDL would otherwise convert
  // RGB24 on every update (an extra pass and allocation-free path lost).
  frame_format_ = SDL_PIXELFORMAT_RGB24;
  for (Uint32 i = 0; i < ri.num_texture_formats; i++) {
    Uint32 f = ri.texture_formats[i];
    if (f == SDL_PIXELFORMAT_ARGB8888 || f == SDL_PIXELFORMAT_RGB888 || f == SDL_PIXELFORMAT_ABGR8888 ||
        f == SDL_PIXELFORMAT_BGR888) {
      frame_format_ = f;
      break;
    }
  }
  linear_ = o.linear;
  pads_.open_all();
  SDL_SetRenderDrawColor(renderer_, 0, 0, 0, 255);
  SDL_RenderClear(renderer_);
  SDL_RenderPresent(renderer_);
}

Window::~Window() {
  if (overlay_) SDL_DestroyTexture(overlay_);
  if (frame_) SDL_DestroyTexture(frame_);
  if (renderer_) SDL_DestroyRenderer(renderer_);
  if (window_) SDL_DestroyWindow(window_);
}

void Window::ensure_texture(SDL_Texture*& tex, int& tw, int& th, uint32_t format, int w, int h, bool blend) {
  if (tex && tw == w && th == h) return;
  if (tex) SDL_DestroyTexture(tex);
  tex = SDL_CreateTexture(renderer_, format, SDL_TEXTUREACCESS_STREAMING, w, h);
  if (!tex) throw PlatformError(ErrorCode::Internal, sdl_error("SDL_CreateTexture"));
  tw = w;
  th = h;
  SDL_SetTextureBlendMode(tex, blend ? SDL_BLENDMODE_BLEND : SDL_BLENDMODE_NONE);
  SDL_SetTextureScaleMode(tex, linear_ ? SDL_ScaleModeLinear : SDL_ScaleModeNearest);
}

// Locks a streaming texture for writing; unlocks when it goes out of scope.
class TextureLock {
 public:
  explicit TextureLock(SDL_Texture* tex) : tex_(tex) {
    if (SDL_LockTexture(tex, nullptr, &pixels_, &pitch_) != 0) {
      throw PlatformError(ErrorCode::Internal, sdl_error("SDL_LockTexture"));
    }
  }
  ~TextureLock() { SDL_UnlockTexture(tex_); }
  uint8_t* row(int y) const { return static_cast<uint8_t*>(pixels_) + size_t(y) * size_t(pitch_); }

 private:
  SDL_Texture* tex_;
  void* pixels_ = nullptr;
  int pitch_ = 0;
};

// Copies rows of the same pixel layout (the texture's pitch may be wider than ours).
static void upload_rows(SDL_Texture* tex, const uint8_t* src, int h, size_t row_bytes, size_t stride) {
  TextureLock lock(tex);
  for (int y = 0; y < h; y++) std::memcpy(lock.row(y), src + size_t(y) * stride, row_bytes);
}

// Expands RGB8 rows into a 32-bit texture. Byte positions of R, G, B within each 4-byte pixel
// follow the format's memory order on a little-endian machine.
static void upload_rgb_as_32(SDL_Texture* tex, uint32_t format, const uint8_t* src, int w, int h, size_t stride) {
  // ARGB8888/RGB888 are B,G,R,X in memory; ABGR8888/BGR888 are R,G,B,X.
  const bool bgr = format == SDL_PIXELFORMAT_ARGB8888 || format == SDL_PIXELFORMAT_RGB888;
  const int ri = bgr ? 2 : 0, bi = bgr ? 0 : 2;
  TextureLock lock(tex);
  for (int y = 0; y < h; y++) {
    const uint8_t* s = src + size_t(y) * stride;
    uint8_t* d = lock.row(y);
    for (int x = 0; x < w; x++, s += 3, d += 4) {
      d[ri] = s[0];
      d[1] = s[1];
      d[bi] = s[2];
      d[3] = 255;
    }
  }
}

void Window::present(const uint8_t* rgb, int w, int h, size_t stride) {
  check_size("frame", w, h);
  if (!rgb) throw PlatformError(ErrorCode::InvalidArgument, "frame pixels are null");
  if (stride < size_t(w) * 3) throw PlatformError(ErrorCode::InvalidArgument, "frame stride is smaller than width*3");
  const double tick_ms = 1000.0 / double(SDL_GetPerformanceFrequency());
  Uint64 t0 = SDL_GetPerformanceCounter();
  ensure_texture(frame_, frame_w_, frame_h_, frame_format_, w, h, false);
  if (frame_format_ == SDL_PIXELFORMAT_RGB24) {
    upload_rows(frame_, rgb, h, size_t(w) * 3, stride);
  } else {
    upload_rgb_as_32(frame_, frame_format_, rgb, w, h, stride);
  }
  Uint64 t1 = SDL_GetPerformanceCounter();
  render_current();
  Uint64 t2 = SDL_GetPerformanceCounter();
  SDL_RenderPresent(renderer_);
  Uint64 t3 = SDL_GetPerformanceCounter();
  timings_ = {double(t1 - t0) * tick_ms, double(t2 - t1) * tick_ms, double(t3 - t2) * tick_ms};
}

void Window::set_overlay(const uint8_t* rgba, int w, int h) {
  if (!rgba) {
    overlay_on_ = false;
    return;
  }
  check_size("overlay", w, h);
  // ABGR8888 is R,G,B,A in memory order on little-endian machines.
  ensure_texture(overlay_, overlay_w_, overlay_h_, SDL_PIXELFORMAT_RGBA32, w, h, true);
  upload_rows(overlay_, rgba, h, size_t(w) * 4, size_t(w) * 4);
  overlay_on_ = true;
}

void Window::render_current() {
  int ow = 0, oh = 0;
  SDL_GetRendererOutputSize(renderer_, &ow, &oh);
  viewport_ = frame_ ? letterbox(frame_w_, frame_h_, ow, oh, !linear_) : Rect{};
  // The opaque frame overwrites every pixel when it fills the output; clear only for bars (a
  // full clear is a whole-window fill on CPU renderers).
  if (!frame_ || viewport_.x > 0 || viewport_.y > 0 || viewport_.w < ow || viewport_.h < oh) {
    SDL_SetRenderDrawColor(renderer_, 0, 0, 0, 255);
    SDL_RenderClear(renderer_);
  }
  if (!frame_) return;
  SDL_Rect dst{viewport_.x, viewport_.y, viewport_.w, viewport_.h};
  if (SDL_RenderCopy(renderer_, frame_, nullptr, &dst) != 0) {
    throw PlatformError(ErrorCode::Internal, sdl_error("SDL_RenderCopy"));
  }
  if (overlay_on_ && overlay_) {
    SDL_Rect od{dst.x, dst.y, dst.w, int(int64_t(overlay_h_) * dst.w / overlay_w_)};
    SDL_RenderCopy(renderer_, overlay_, nullptr, &od);
  }
}

static const char* mouse_button_name(Uint8 b) {
  switch (b) {
    case SDL_BUTTON_LEFT: return "left";
    case SDL_BUTTON_MIDDLE: return "middle";
    case SDL_BUTTON_RIGHT: return "right";
    case SDL_BUTTON_X1: return "x1";
    case SDL_BUTTON_X2: return "x2";
    default: return "other";
  }
}

std::vector<Event> Window::poll_events() {
  std::vector<Event> out;
  SDL_Event e;
  while (SDL_PollEvent(&e)) {
    Event ev;
    switch (e.type) {
      case SDL_QUIT:
        ev.type = Event::Type::Quit;
        break;
      case SDL_KEYDOWN:
      case SDL_KEYUP:
        ev.type = e.type == SDL_KEYDOWN ? Event::Type::KeyDown : Event::Type::KeyUp;
        ev.name = SDL_GetScancodeName(e.key.keysym.scancode);
        ev.repeat = e.key.repeat != 0;
        if (ev.name.empty()) continue;  // a scancode SDL has no name for: nothing can bind it
        break;
      case SDL_MOUSEMOTION:
        ev.type = Event::Type::MouseMotion;
        ev.dx = float(e.motion.xrel);
        ev.dy = float(e.motion.yrel);
        break;
      case SDL_MOUSEBUTTONDOWN:
      case SDL_MOUSEBUTTONUP:
        ev.type = e.type == SDL_MOUSEBUTTONDOWN ? Event::Type::MouseButtonDown : Event::Type::MouseButtonUp;
        ev.name = mouse_button_name(e.button.button);
        break;
      case SDL_MOUSEWHEEL:
        ev.type = Event::Type::MouseWheel;
        ev.dx = e.wheel.preciseX;
        ev.dy = e.wheel.preciseY;
        break;
      case SDL_WINDOWEVENT:
        switch (e.window.event) {
          case SDL_WINDOWEVENT_SIZE_CHANGED:
            ev.type = Event::Type::WindowResized;
            ev.width = e.window.data1;
            ev.height = e.window.data2;
            break;
          case SDL_WINDOWEVENT_FOCUS_GAINED: ev.type = Event::Type::WindowFocusGained; break;
          case SDL_WINDOWEVENT_FOCUS_LOST: ev.type = Event::Type::WindowFocusLost; break;
          case SDL_WINDOWEVENT_EXPOSED: ev.type = Event::Type::WindowExposed; break;
          default: continue;
        }
        break;
      case SDL_CONTROLLERDEVICEADDED: {
        std::string name;
        int id = pads_.open(e.cdevice.which, &name);
        if (id < 0) continue;
        ev.type = Event::Type::GamepadAdded;
        ev.gamepad = id;
        ev.gamepad_name = name;
        break;
      }
      case SDL_CONTROLLERDEVICEREMOVED:
        if (!pads_.close(e.cdevice.which)) continue;
        ev.type = Event::Type::GamepadRemoved;
        ev.gamepad = e.cdevice.which;
        break;
      case SDL_CONTROLLERBUTTONDOWN:
      case SDL_CONTROLLERBUTTONUP: {
        const char* bn = SDL_GameControllerGetStringForButton(SDL_GameControllerButton(e.cbutton.button));
        if (!bn) continue;
        ev.type = e.type == SDL_CONTROLLERBUTTONDOWN ? Event::Type::GamepadButtonDown : Event::Type::GamepadButtonUp;
        ev.name = bn;
        ev.gamepad = e.cbutton.which;
        break;
      }
      default:
        continue;
    }
    out.push_back(std::move(ev));
  }
  return out;
}

Screenshot Window::screenshot() {
  // The back buffer is undefined after SDL_RenderPresent, so draw the current state again and
  // read it before presenting.
  render_current();
  Screenshot s;
  SDL_GetRendererOutputSize(renderer_, &s.width, &s.height);
  s.rgb.resize(size_t(s.width) * s.height * 3);
  if (SDL_RenderReadPixels(renderer_, nullptr, SDL_PIXELFORMAT_RGB24, s.rgb.data(), s.width * 3) != 0) {
    throw PlatformError(ErrorCode::Internal, sdl_error("SDL_RenderReadPixels"));
  }
  SDL_RenderPresent(renderer_);
  return s;
}

void Window::set_fullscreen(bool on) {
  if (SDL_SetWindowFullscreen(window_, on ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0) != 0) {
    throw PlatformError(ErrorCode::Internal, sdl_error("SDL_SetWindowFullscreen"));
  }
}

bool Window::set_vsync(bool on) {
  if (SDL_RenderSetVSync(renderer_, on ? 1 : 0) != 0) return false;
  vsync_ = on;
  return true;
}

void Window::set_linear(bool on) {
  linear_ = on;
  SDL_ScaleMode m = on ? SDL_ScaleModeLinear : SDL_ScaleModeNearest;
  if (frame_) SDL_SetTextureScaleMode(frame_, m);
  if (overlay_) SDL_SetTextureScaleMode(overlay_, m);
}

void Window::resize(int w, int h) {
  check_size("window", w, h);
  SDL_SetWindowSize(window_, w, h);
}

void Window::set_title(const std::string& title) { SDL_SetWindowTitle(window_, title.c_str()); }

bool Window::set_relative_mouse(bool on) {
  relative_mouse_ = SDL_SetRelativeMouseMode(on ? SDL_TRUE : SDL_FALSE) == 0 && on;
  return relative_mouse_ == on;
}

RendererInfo Window::info() const {
  RendererInfo r;
  SDL_RendererInfo ri;
  if (SDL_GetRendererInfo(renderer_, &ri) == 0) {
    r.name = ri.name ? ri.name : "";
    r.software = (ri.flags & SDL_RENDERER_SOFTWARE) != 0;
    r.texture_format = SDL_GetPixelFormatName(frame_format_);
  }
  const char* vd = SDL_GetCurrentVideoDriver();
  r.video_driver = vd ? vd : "";
  r.vsync = vsync_;
  SDL_GetWindowSize(window_, &r.window_w, &r.window_h);
  SDL_GetRendererOutputSize(renderer_, &r.output_w, &r.output_h);
  r.viewport = viewport_;
  r.fullscreen = (SDL_GetWindowFlags(window_) & SDL_WINDOW_FULLSCREEN) != 0;
  r.linear = linear_;
  r.relative_mouse = relative_mouse_;
  return r;
}

}  // namespace wl::platform
