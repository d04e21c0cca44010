// N-API surface of the ground-truth world: World and Explorer classes over the wl_world_* C
// ABI. The frame crosses as an external ArrayBuffer over the world's own frame buffer (created
// once, detached on close), so stepping allocates nothing in JS.
#include <cmath>
#include <string>

#include "bindings.h"
#include "worldloop/wl_world.h"

namespace wl::addon {
namespace {

uint64_t ToSeed(const Napi::Env& env, const Napi::Value& v, const char* what) {
  if (v.IsBigInt()) {
    bool lossless = false;
    const uint64_t s = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw Napi::RangeError::New(env, std::string(what) + ": seed must fit in 64 unsigned bits");
    return s;
  }
  if (v.IsNumber()) {
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= 9007199254740991.0) || std::floor(d) != d) {
      throw Napi::RangeError::New(env, std::string(what) + ": seed must be an integer in [0, 2^53) or a BigInt");
    }
    return uint64_t(d);
  }
  throw Napi::TypeError::New(env, std::string(what) + ": seed must be a number or BigInt");
}

double NumberField(const Napi::Env& env, const Napi::Object& o, const char* key, double fallback) {
  if (!o.Has(key)) return fallback;
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("world config: ") + key + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

// JS config uses camelCase; out-of-range values are caught by the C ABI's validation.
wl_world_config ToConfig(const Napi::Env& env, const Napi::Value& v) {
  wl_world_config c;
  wl_world_default_config(&c);
  if (v.IsUndefined() || v.IsNull()) return c;
  if (!v.IsObject()) throw Napi::TypeError::New(env, "world config must be an object");
  const Napi::Object o = v.As<Napi::Object>();
  auto i32 = [&](const char* key, int32_t fallback) {
    const double d = NumberField(env, o, key, fallback);
    if (!(d >= -2147483648.0 && d <= 2147483647.0) || std::floor(d) != d) {
      throw Napi::RangeError::New(env, std::string("world config: ") + key + " must be an integer");
    }
    return int32_t(d);
  };
  c.width = i32("width", c.width);
  c.height = i32("height", c.height);
  c.map_size = i32("mapSize", c.map_size);
  c.max_spawned = i32("maxSpawned", c.max_spawned);
  c.fov_deg = float(NumberField(env, o, "fovDeg", c.fov_deg));
  c.move_speed = float(NumberField(env, o, "moveSpeed", c.move_speed));
  c.strafe_speed = float(NumberField(env, o, "strafeSpeed", c.strafe_speed));
  c.turn_speed_deg = float(NumberField(env, o, "turnSpeedDeg", c.turn_speed_deg));
  c.player_radius = float(NumberField(env, o, "playerRadius", c.player_radius));
  c.fog_distance = float(NumberField(env, o, "fogDistance", c.fog_distance));
  return c;
}

wl_explore_config ToExploreConfig(const Napi::Env& env, const Napi::Value& v) {
  wl_explore_config c;
  wl_explore_default_config(&c);
  if (v.IsUndefined() || v.IsNull()) return c;
  if (!v.IsObject()) throw Napi::TypeError::New(env, "explore config must be an object");
  const Napi::Object o = v.As<Napi::Object>();
  auto f = [&](const char* key, float& field) { field = float(NumberField(env, o, key, field)); };
  auto i = [&](const char* key, int32_t& field) {
    const double d = NumberField(env, o, key, field);
    if (!(d >= 0 && d <= 1e6) || std::floor(d) != d) throw Napi::RangeError::New(env, std::string("explore config: ") + key + " must be an integer in [0, 1e6]");
    field = int32_t(d);
  };
  f("pStop", c.p_stop);
  f("pLook", c.p_look);
  f("pBump", c.p_bump);
  f("pRevisit", c.p_revisit);
  f("pLight", c.p_light);
  f("pSpawn", c.p_spawn);
  f("pBackstep", c.p_backstep);
  f("speedMin", c.speed_min);
  f("speedMax", c.speed_max);
  f("jitter", c.jitter);
  i("stopMin", c.stop_min);
  i("stopMax", c.stop_max);
  i("lookMin", c.look_min);
  i("lookMax", c.look_max);
  i("bumpMin", c.bump_min);
  i("bumpMax", c.bump_max);
  f("pRandom", c.p_random);
  i("randomMin", c.random_min);
  i("randomMax", c.random_max);
  f("pIdle", c.p_idle);
  i("idleMin", c.idle_min);
  i("idleMax", c.idle_max);
  return c;
}

float ToFloat(const Napi::Env& env, const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(what) + " must be a number");
  return float(v.As<Napi::Number>().DoubleValue());
}

}  // namespace

Napi::Object CameraToJs(Napi::Env env, const wl_camera& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("width", c.width);
  o.Set("height", c.height);
  o.Set("fx", c.fx);
  o.Set("fy", c.fy);
  o.Set("cx", c.cx);
  o.Set("cy", c.cy);
  o.Set("eyeHeight", c.eye_height);
  o.Set("x", c.x);
  o.Set("y", c.y);
  o.Set("yaw", c.yaw);
  auto m = Napi::Float32Array::New(env, 12);
  for (int i = 0; i < 12; ++i) m[i] = c.world_to_camera[i];
  o.Set("worldToCamera", m);
  return o;
}

wl_camera CameraFromJs(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsObject()) throw Napi::TypeError::New(env, std::string(what) + ": camera must be an object");
  const Napi::Object o = v.As<Napi::Object>();
  wl_camera c{};
  auto num = [&](const char* key) {
    const Napi::Value x = o.Get(key);
    if (!x.IsNumber()) throw Napi::TypeError::New(env, std::string(what) + ": camera." + key + " must be a number");
    return x.As<Napi::Number>().DoubleValue();
  };
  auto int_field = [&](const char* key) {
    const double d = num(key);
    if (!(d >= 1 && d <= 16384) || std::floor(d) != d) {
      throw Napi::RangeError::New(env, std::string(what) + ": camera." + key + " must be an integer in 1..16384");
    }
    return int32_t(d);
  };
  c.width = int_field("width");
  c.height = int_field("height");
  c.fx = float(num("fx"));
  c.fy = float(num("fy"));
  c.cx = float(num("cx"));
  c.cy = float(num("cy"));
  const Napi::Value m = o.Get("worldToCamera");
  if (!m.IsTypedArray() || m.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
      m.As<Napi::TypedArray>().ElementLength() != 12) {
    throw Napi::TypeError::New(env, std::string(what) + ": camera.worldToCamera must be a Float32Array of 12 ([R | t] row-major)");
  }
  auto mf = m.As<Napi::Float32Array>();
  for (int i = 0; i < 12; ++i) c.world_to_camera[i] = mf[i];
  return c;
}

namespace {

class WorldWrap : public Napi::ObjectWrap<WorldWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "World",
                       {InstanceMethod<&WorldWrap::Frame>("frame"), InstanceMethod<&WorldWrap::Depth>("depth"),
                        InstanceMethod<&WorldWrap::Camera>("camera"), InstanceMethod<&WorldWrap::Step>("step"),
                        InstanceMethod<&WorldWrap::Reset>("reset"), InstanceMethod<&WorldWrap::Pose>("pose"),
                        InstanceMethod<&WorldWrap::SetPose>("setPose"), InstanceMethod<&WorldWrap::SetLight>("setLight"),
                        InstanceMethod<&WorldWrap::Spawn>("spawn"), InstanceMethod<&WorldWrap::DrawObject>("drawObject"),
                        InstanceMethod<&WorldWrap::Snapshot>("snapshot"),
                        InstanceMethod<&WorldWrap::Restore>("restore"), InstanceMethod<&WorldWrap::Map>("map"),
                        InstanceMethod<&WorldWrap::Info>("info"), InstanceMethod<&WorldWrap::FrameIndex>("frameIndex"),
                        InstanceMethod<&WorldWrap::Close>("close")});
  }

  WorldWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WorldWrap>(info) {
    Napi::Env env = info.Env();
    const uint64_t seed = ToSeed(env, info[0], "World");
    const wl_world_config cfg = ToConfig(env, info[1]);
    const wl_status st = wl_world_create(seed, &cfg, &world_);
    if (st != WL_OK) ThrowLastError(env, st);
    width_ = cfg.width;
    height_ = cfg.height;
    Napi::Object self = info.This().As<Napi::Object>();
    self.Set("width", Napi::Number::New(env, width_));
    self.Set("height", Napi::Number::New(env, height_));
  }
  ~WorldWrap() override { wl_world_free(world_); }

  wl_world* handle(const Napi::Env& env) const {
    if (!world_) throw Napi::Error::New(env, "world is closed");
    return world_;
  }

 private:
  // The same ArrayBuffer every call: a view on the world's frame, overwritten by step().
  Napi::Value Frame(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    wl_world* w = handle(env);
    if (frame_ref_.IsEmpty()) {
      auto ab = Napi::ArrayBuffer::New(env, const_cast<uint8_t*>(wl_world_frame(w)), size_t(width_) * height_ * 3);
      frame_ref_ = Napi::Persistent(ab);
    }
    return frame_ref_.Value();
  }

  // The same ArrayBuffer every call: a view on the world's depth buffer (float32 per pixel).
  Napi::Value Depth(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    wl_world* w = handle(env);
    if (depth_ref_.IsEmpty()) {
      auto ab = Napi::ArrayBuffer::New(env, const_cast<float*>(wl_world_depth(w)), size_t(width_) * height_ * sizeof(float));
      depth_ref_ = Napi::Persistent(ab);
    }
    return depth_ref_.Value();
  }

  Napi::Value Camera(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    wl_camera c;
    const wl_status st = wl_world_camera(handle(env), &c);
    if (st != WL_OK) ThrowLastError(env, st);
    return CameraToJs(env, c);
  }

  Napi::Value Step(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    wl_world* w = handle(env);
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw Napi::TypeError::New(env, "step: action must be a Float32Array");
    }
    auto a = info[0].As<Napi::Float32Array>();
    const wl_status st = wl_world_step(w, a.Data(), a.ElementLength());
    if (st != WL_OK) ThrowLastError(env, st);
    return env.Undefined();
  }

  Napi::Value Reset(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const wl_status st = wl_world_reset(handle(env), ToSeed(env, info[0], "reset"));
    if (st != WL_OK) ThrowLastError(env, st);
    return env.Undefined();
  }

  // pose(out?: Float32Array(3)) -> the array written (x, y, yaw).
  Napi::Value Pose(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Float32Array out;
    if (info.Length() > 0 && !info[0].IsUndefined()) {
      if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
          info[0].As<Napi::Float32Array>().ElementLength() < 3) {
        throw Napi::TypeError::New(env, "pose: out must be a Float32Array of length >= 3");
      }
      out = info[0].As<Napi::Float32Array>();
    } else {
      out = Napi::Float32Array::New(env, 3);
    }
    const wl_status st = wl_world_pose(handle(env), out.Data());
    if (st != WL_OK) ThrowLastError(env, st);
    return out;
  }

  Napi::Value SetPose(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const wl_status st = wl_world_set_pose(handle(env), ToFloat(env, info[0], "setPose: x"),
                                           ToFloat(env, info[1], "setPose: y"), ToFloat(env, info[2], "setPose: yaw"));
    if (st != WL_OK) ThrowLastError(env, st);
    return env.Undefined();
  }

  Napi::Value SetLight(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const wl_status st = wl_world_set_light(handle(env), ToFloat(env, info[0], "setLight: level"),
                                            ToFloat(env, info[1], "setLight: r"), ToFloat(env, info[2], "setLight: g"),
                                            ToFloat(env, info[3], "setLight: b"));
    if (st != WL_OK) ThrowLastError(env, st);
    return env.Undefined();
  }

  Napi::Value Spawn(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const double k = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : NAN;
    if (!(k >= -2147483648.0 && k <= 2147483647.0) || std::floor(k) != k) {
      throw Napi::TypeError::New(env, "spawn: kind must be an integer");
    }
    int32_t placed = 0;
    const wl_status st = wl_world_spawn(handle(env), int32_t(k), &placed);
    if (st != WL_OK) ThrowLastError(env, st);
    return Napi::Boolean::New(env, placed != 0);
  }

  // drawObject(kind, depth, lateral, localLight, rgb: Uint8Array, mask?: Uint8Array): draws in place.
  Napi::Value DrawObject(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const double k = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : NAN;
    if (!(k >= -2147483648.0 && k <= 2147483647.0) || std::floor(k) != k) {
      throw Napi::TypeError::New(env, "drawObject: kind must be an integer");
    }
    auto bytes = [&](const Napi::Value& v, const char* what) {
      if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
        throw Napi::TypeError::New(env, std::string("drawObject: ") + what + " must be a Uint8Array");
      }
      return v.As<Napi::Uint8Array>();
    };
    auto rgb = bytes(info[4], "rgb");
    uint8_t* mask = nullptr;
    size_t mask_size = 0;
    if (info.Length() > 5 && !info[5].IsUndefined()) {
      auto m = bytes(info[5], "mask");
      mask = m.Data();
      mask_size = m.ByteLength();
    }
    const wl_status st = wl_world_draw_object(handle(env), int32_t(k), ToFloat(env, info[1], "drawObject: depth"),
                                              ToFloat(env, info[2], "drawObject: lateral"),
                                              ToFloat(env, info[3], "drawObject: localLight"), rgb.Data(),
                                              rgb.ByteLength(), mask, mask_size);
    if (st != WL_OK) ThrowLastError(env, st);
    return env.Undefined();
  }

  Napi::Value Snapshot(const Napi::CallbackInfo& info) {
    wl_world* w = handle(info.Env());
    return BytesOf(info.Env(),
                   [w](uint8_t* b, size_t cap, size_t* n) { return wl_world_snapshot(w, b, cap, n); });
  }

  Napi::Value Restore(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto a = TypedArg<Napi::Uint8Array>(env, info[0], napi_uint8_array, "restore: snapshot");
    const wl_status st = wl_world_restore(handle(env), a.Data(), a.ByteLength());
    if (st != WL_OK) ThrowLastError(env, st);
    return env.Undefined();
  }

  Napi::Value Map(const Napi::CallbackInfo& info) {
    wl_world* w = handle(info.Env());
    return BytesOf(info.Env(),
                   [w](uint8_t* b, size_t cap, size_t* n) { return wl_world_map(w, b, cap, n); });
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), wl_world_info_json(handle(info.Env())));
  }

  Napi::Value FrameIndex(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), double(wl_world_frame_index(handle(info.Env()))));
  }

  // Frees the world now; the frame ArrayBuffer is detached first so no view can read freed
  // memory.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    for (Napi::Reference<Napi::ArrayBuffer>* ref : {&frame_ref_, &depth_ref_}) {
      if (ref->IsEmpty()) continue;
      Napi::ArrayBuffer ab = ref->Value();
      if (!ab.IsDetached()) ab.Detach();
      ref->Reset();
    }
    wl_world_free(world_);
    world_ = nullptr;
    return info.Env().Undefined();
  }

  wl_world* world_ = nullptr;
  int width_ = 0, height_ = 0;
  Napi::Reference<Napi::ArrayBuffer> frame_ref_, depth_ref_;
};

class ExplorerWrap : public Napi::ObjectWrap<ExplorerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Explorer", {InstanceMethod<&ExplorerWrap::Next>("next"), InstanceMethod<&ExplorerWrap::Close>("close")});
  }
  ExplorerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ExplorerWrap>(info) {
    Napi::Env env = info.Env();
    const uint64_t seed = ToSeed(env, info[0], "Explorer");
    const wl_explore_config cfg = ToExploreConfig(env, info[1]);
    const wl_status st = wl_explorer_create(seed, &cfg, &ex_);
    if (st != WL_OK) ThrowLastError(env, st);
  }
  ~ExplorerWrap() override { wl_explorer_free(ex_); }

 private:
  // next(world, out: Float32Array(5)): writes the next action into out.
  Napi::Value Next(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!ex_) throw Napi::Error::New(env, "explorer is closed");
    if (!info[0].IsObject() || !info[0].As<Napi::Object>().InstanceOf(WorldConstructor(env))) {
      throw Napi::TypeError::New(env, "next: first argument must be a World");
    }
    WorldWrap* w = WorldWrap::Unwrap(info[0].As<Napi::Object>());
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw Napi::TypeError::New(env, "next: out must be a Float32Array");
    }
    auto out = info[1].As<Napi::Float32Array>();
    const wl_status st = wl_explorer_next(ex_, w->handle(env), out.Data(), out.ElementLength());
    if (st != WL_OK) ThrowLastError(env, st);
    return env.Undefined();
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    wl_explorer_free(ex_);
    ex_ = nullptr;
    return info.Env().Undefined();
  }
  static Napi::Function WorldConstructor(Napi::Env env);
  wl_explorer* ex_ = nullptr;
};

Napi::FunctionReference* g_world_ctor = nullptr;
Napi::Function ExplorerWrap::WorldConstructor(Napi::Env env) { return g_world_ctor->Value(); }

}  // namespace

void RegisterWorld(Napi::Env env, Napi::Object exports) {
  Napi::Function world = WorldWrap::Define(env);
  g_world_ctor = new Napi::FunctionReference(Napi::Persistent(world));  // lives as long as the addon
  exports.Set("World", world);
  exports.Set("Explorer", ExplorerWrap::Define(env));
  exports.Set("worldActionLayout", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                return Napi::String::New(info.Env(), wl_world_action_layout_json());
              }));
}

}  // namespace wl::addon
