// N-API surface of the SDL window (native/platform): marshals arguments and results only.
// Exposes `Window` (a class; all methods on the JS main thread) and `windowTesting` (synthetic
// keyboard/mouse events and virtual gamepads for tests).
#include "bindings.h"

#if WL_HAVE_SDL
#include <memory>

#include "platform/platform_error.h"
#include "platform/synthetic_input.h"
#include "platform/window.h"
#endif

namespace wl::addon {

#if WL_HAVE_SDL
namespace {

using platform::PlatformError;

[[noreturn]] void ThrowPlatform(Napi::Env env, const PlatformError& e) {
  Napi::Error err = Napi::Error::New(env, e.what());
  err.Set("code", Napi::String::New(env, e.code_name()));
  throw err;
}

[[noreturn]] void ThrowArg(Napi::Env env, const std::string& msg) {
  Napi::TypeError err = Napi::TypeError::New(env, msg);
  err.Set("code", Napi::String::New(env, "WL_INVALID_ARGUMENT"));
  throw err;
}

// Runs body, turning platform errors into JS errors with their code.
template <class F>
auto Guard(Napi::Env env, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const PlatformError& e) {
    ThrowPlatform(env, e);
  }
}

int IntArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsNumber()) ThrowArg(info.Env(), std::string(what) + " must be a number");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (v != static_cast<double>(static_cast<int>(v))) ThrowArg(info.Env(), std::string(what) + " must be an integer");
  return static_cast<int>(v);
}

bool BoolArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsBoolean()) ThrowArg(info.Env(), std::string(what) + " must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString()) ThrowArg(info.Env(), std::string(what) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

Napi::Uint8Array BytesArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowArg(info.Env(), std::string(what) + " must be a Uint8Array");
  }
  return info[i].As<Napi::Uint8Array>();
}

platform::WindowOptions ParseOptions(Napi::Env env, const Napi::Value& v) {
  platform::WindowOptions o;
  if (v.IsUndefined()) return o;
  if (!v.IsObject()) ThrowArg(env, "window options must be an object");
  Napi::Object obj = v.As<Napi::Object>();
  auto get = [&](const char* k) { return obj.Get(k); };
  auto num = [&](const char* k, int& dst) {
    Napi::Value x = get(k);
    if (x.IsUndefined()) return;
    if (!x.IsNumber()) ThrowArg(env, std::string("window option '") + k + "' must be a number");
    dst = x.As<Napi::Number>().Int32Value();
  };
  auto flag = [&](const char* k, bool& dst) {
    Napi::Value x = get(k);
    if (x.IsUndefined()) return;
    if (!x.IsBoolean()) ThrowArg(env, std::string("window option '") + k + "' must be a boolean");
    dst = x.As<Napi::Boolean>().Value();
  };
  auto str = [&](const char* k, std::string& dst) {
    Napi::Value x = get(k);
    if (x.IsUndefined()) return;
    if (!x.IsString()) ThrowArg(env, std::string("window option '") + k + "' must be a string");
    dst = x.As<Napi::String>().Utf8Value();
  };
  str("title", o.title);
  num("width", o.width);
  num("height", o.height);
  flag("vsync", o.vsync);
  flag("linear", o.linear);
  flag("fullscreen", o.fullscreen);
  flag("resizable", o.resizable);
  flag("hidden", o.hidden);
  str("renderer", o.renderer);
  return o;
}

class WindowWrap : public Napi::ObjectWrap<WindowWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Window",
                       {
                           InstanceMethod<&WindowWrap::Present>("present"),
                           InstanceMethod<&WindowWrap::SetOverlay>("setOverlay"),
                           InstanceMethod<&WindowWrap::PresentTimings>("presentTimings"),
                           InstanceMethod<&WindowWrap::PollEvents>("pollEvents"),
                           InstanceMethod<&WindowWrap::GetGamepads>("gamepads"),
                           InstanceMethod<&WindowWrap::SetDeadzones>("setDeadzones"),
                           InstanceMethod<&WindowWrap::AddMappings>("addControllerMappings"),
                           InstanceMethod<&WindowWrap::Screenshot>("screenshot"),
                           InstanceMethod<&WindowWrap::SetFullscreen>("setFullscreen"),
                           InstanceMethod<&WindowWrap::SetVsync>("setVsync"),
                           InstanceMethod<&WindowWrap::SetLinear>("setLinear"),
                           InstanceMethod<&WindowWrap::Resize>("resize"),
                           InstanceMethod<&WindowWrap::SetTitle>("setTitle"),
                           InstanceMethod<&WindowWrap::SetRelativeMouse>("setRelativeMouse"),
                           InstanceMethod<&WindowWrap::Info>("info"),
                           InstanceMethod<&WindowWrap::Close>("close"),
                       });
  }

  explicit WindowWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WindowWrap>(info) {
    platform::WindowOptions o = ParseOptions(info.Env(), info.Length() > 0 ? info[0] : info.Env().Undefined());
    Guard(info.Env(), [&] {
      win_ = std::make_unique<platform::Window>(o);
      return 0;
    });
  }

 private:
  platform::Window& win(Napi::Env env) {
    if (!win_) ThrowArg(env, "window is closed");
    return *win_;
  }

  // present(rgb: Uint8Array, width, height)
  Napi::Value Present(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Uint8Array px = BytesArg(info, 0, "frame");
    int w = IntArg(info, 1, "width"), h = IntArg(info, 2, "height");
    if (w < 1 || h < 1 || px.ByteLength() < size_t(w) * size_t(h) * 3) {
      ThrowArg(env, "frame has " + std::to_string(px.ByteLength()) + " bytes; " + std::to_string(w) + "x" +
                        std::to_string(h) + " RGB needs " + std::to_string(size_t(std::max(w, 0)) * std::max(h, 0) * 3));
    }
    Guard(env, [&] {
      win(env).present(px.Data(), w, h, size_t(w) * 3);
      return 0;
    });
    return env.Undefined();
  }

  Napi::Value PresentTimings(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const auto& t = win(env).last_present();
    Napi::Object o = Napi::Object::New(env);
    o.Set("uploadMs", t.upload_ms);
    o.Set("drawMs", t.draw_ms);
    o.Set("flipMs", t.flip_ms);
    return o;
  }

  // setOverlay(rgba: Uint8Array | null, width, height)
  Napi::Value SetOverlay(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() > 0 && info[0].IsNull()) {
      win(env).set_overlay(nullptr, 0, 0);
      return env.Undefined();
    }
    Napi::Uint8Array px = BytesArg(info, 0, "overlay");
    int w = IntArg(info, 1, "width"), h = IntArg(info, 2, "height");
    if (w < 1 || h < 1 || px.ByteLength() < size_t(w) * size_t(h) * 4) {
      ThrowArg(env, "overlay has " + std::to_string(px.ByteLength()) + " bytes; too few for " +
                        std::to_string(w) + "x" + std::to_string(h) + " RGBA");
    }
    Guard(env, [&] {
      win(env).set_overlay(px.Data(), w, h);
      return 0;
    });
    return env.Undefined();
  }

  Napi::Value PollEvents(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto events = Guard(env, [&] { return win(env).poll_events(); });
    Napi::Array arr = Napi::Array::New(env, events.size());
    for (size_t i = 0; i < events.size(); i++) {
      const auto& e = events[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("type", platform::event_type_name(e.type));
      using T = platform::Event::Type;
      switch (e.type) {
        case T::KeyDown:
        case T::KeyUp:
          o.Set("key", e.name);
          o.Set("repeat", e.repeat);
          break;
        case T::MouseMotion:
        case T::MouseWheel:
          o.Set("dx", e.dx);
          o.Set("dy", e.dy);
          break;
        case T::MouseButtonDown:
        case T::MouseButtonUp:
          o.Set("button", e.name);
          break;
        case T::WindowResized:
          o.Set("width", e.width);
          o.Set("height", e.height);
          break;
        case T::GamepadAdded:
          o.Set("gamepad", e.gamepad);
          o.Set("name", e.gamepad_name);
          break;
        case T::GamepadRemoved:
          o.Set("gamepad", e.gamepad);
          break;
        case T::GamepadButtonDown:
        case T::GamepadButtonUp:
          o.Set("gamepad", e.gamepad);
          o.Set("button", e.name);
          break;
        default:
          break;
      }
      arr.Set(uint32_t(i), o);
    }
    return arr;
  }

  Napi::Value GetGamepads(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto pads = win(env).gamepads().snapshot();
    Napi::Array arr = Napi::Array::New(env, pads.size());
    for (size_t i = 0; i < pads.size(); i++) {
      const auto& p = pads[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("id", p.id);
      o.Set("name", p.name);
      Napi::Object axes = Napi::Object::New(env);
      axes.Set("leftx", p.left_x);
      axes.Set("lefty", p.left_y);
      axes.Set("rightx", p.right_x);
      axes.Set("righty", p.right_y);
      axes.Set("lefttrigger", p.left_trigger);
      axes.Set("righttrigger", p.right_trigger);
      o.Set("axes", axes);
      Napi::Array b = Napi::Array::New(env, p.buttons_down.size());
      for (size_t j = 0; j < p.buttons_down.size(); j++) b.Set(uint32_t(j), p.buttons_down[j]);
      o.Set("buttons", b);
      arr.Set(uint32_t(i), o);
    }
    return arr;
  }

  // setDeadzones(stick, trigger)
  Napi::Value SetDeadzones(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) ThrowArg(env, "setDeadzones(stick, trigger) takes two numbers");
    platform::Deadzones d;
    d.stick = info[0].As<Napi::Number>().FloatValue();
    d.trigger = info[1].As<Napi::Number>().FloatValue();
    Guard(env, [&] {
      win(env).gamepads().set_deadzones(d);
      return 0;
    });
    return env.Undefined();
  }

  Napi::Value AddMappings(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string path = StringArg(info, 0, "mappings file");
    int n = Guard(env, [&] { return win(env).gamepads().add_mappings_file(path); });
    return Napi::Number::New(env, n);
  }

  Napi::Value Screenshot(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto s = Guard(env, [&] { return win(env).screenshot(); });
    Napi::Object o = Napi::Object::New(env);
    o.Set("width", s.width);
    o.Set("height", s.height);
    Napi::Uint8Array px = Napi::Uint8Array::New(env, s.rgb.size());
    std::copy(s.rgb.begin(), s.rgb.end(), px.Data());
    o.Set("rgb", px);
    return o;
  }

  Napi::Value SetFullscreen(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    bool on = BoolArg(info, 0, "fullscreen");
    Guard(env, [&] {
      win(env).set_fullscreen(on);
      return 0;
    });
    return env.Undefined();
  }

  Napi::Value SetVsync(const Napi::CallbackInfo& info) {
    bool on = BoolArg(info, 0, "vsync");
    return Napi::Boolean::New(info.Env(), win(info.Env()).set_vsync(on));
  }

  Napi::Value SetLinear(const Napi::CallbackInfo& info) {
    win(info.Env()).set_linear(BoolArg(info, 0, "linear"));
    return info.Env().Undefined();
  }

  Napi::Value Resize(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int w = IntArg(info, 0, "width"), h = IntArg(info, 1, "height");
    Guard(env, [&] {
      win(env).resize(w, h);
      return 0;
    });
    return env.Undefined();
  }

  Napi::Value SetTitle(const Napi::CallbackInfo& info) {
    win(info.Env()).set_title(StringArg(info, 0, "title"));
    return info.Env().Undefined();
  }

  Napi::Value SetRelativeMouse(const Napi::CallbackInfo& info) {
    bool on = BoolArg(info, 0, "relative mouse");
    return Napi::Boolean::New(info.Env(), win(info.Env()).set_relative_mouse(on));
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto r = win(env).info();
    Napi::Object o = Napi::Object::New(env);
    o.Set("renderer", r.name);
    o.Set("software", r.software);
    o.Set("videoDriver", r.video_driver);
    o.Set("textureFormat", r.texture_format);
    o.Set("vsync", r.vsync);
    o.Set("windowWidth", r.window_w);
    o.Set("windowHeight", r.window_h);
    o.Set("outputWidth", r.output_w);
    o.Set("outputHeight", r.output_h);
    Napi::Object vp = Napi::Object::New(env);
    vp.Set("x", r.viewport.x);
    vp.Set("y", r.viewport.y);
    vp.Set("width", r.viewport.w);
    vp.Set("height", r.viewport.h);
    o.Set("viewport", vp);
    o.Set("fullscreen", r.fullscreen);
    o.Set("linear", r.linear);
    o.Set("relativeMouse", r.relative_mouse);
    return o;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    win_.reset();
    return info.Env().Undefined();
  }

  std::unique_ptr<platform::Window> win_;
};

Napi::Object MakeTesting(Napi::Env env) {
  namespace syn = platform::synthetic;
  Napi::Object t = Napi::Object::New(env);
  t.Set("pushKey", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
          std::string key = StringArg(info, 0, "key");
          bool down = BoolArg(info, 1, "down");
          Guard(info.Env(), [&] { syn::push_key(key, down); return 0; });
        }));
  t.Set("pushMouseMotion", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
          if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) ThrowArg(info.Env(), "pushMouseMotion(dx, dy) takes two numbers");
          float dx = info[0].As<Napi::Number>().FloatValue(), dy = info[1].As<Napi::Number>().FloatValue();
          Guard(info.Env(), [&] { syn::push_mouse_motion(dx, dy); return 0; });
        }));
  t.Set("pushQuit", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
          Guard(info.Env(), [&] { syn::push_quit(); return 0; });
        }));
  t.Set("attachVirtualGamepad", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
          int id = Guard(info.Env(), [&] { return syn::attach_virtual_gamepad(); });
          return Napi::Number::New(info.Env(), id);
        }));
  t.Set("setVirtualAxis", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
          int id = IntArg(info, 0, "gamepad id");
          std::string axis = StringArg(info, 1, "axis");
          if (info.Length() < 3 || !info[2].IsNumber()) ThrowArg(info.Env(), "axis value must be a number");
          float v = info[2].As<Napi::Number>().FloatValue();
          Guard(info.Env(), [&] { syn::set_virtual_axis(id, axis, v); return 0; });
        }));
  t.Set("setVirtualButton", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
          int id = IntArg(info, 0, "gamepad id");
          std::string b = StringArg(info, 1, "button");
          bool down = BoolArg(info, 2, "down");
          Guard(info.Env(), [&] { syn::set_virtual_button(id, b, down); return 0; });
        }));
  t.Set("detachVirtualGamepad", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
          int id = IntArg(info, 0, "gamepad id");
          Guard(info.Env(), [&] { syn::detach_virtual_gamepad(id); return 0; });
        }));
  return t;
}

}  // namespace
#endif

void RegisterWindow(Napi::Env env, Napi::Object exports) {
#if WL_HAVE_SDL
  exports.Set("Window", WindowWrap::Define(env));
  exports.Set("windowTesting", MakeTesting(env));
#else
  (void)env;
  (void)exports;
#endif
}

}  // namespace wl::addon
