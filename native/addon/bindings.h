// Each concept registers its own N-API surface from its own file; addon.cc just calls them.
#pragma once
#include <napi.h>

#include <string>

#include "worldloop/wl_world.h"

namespace wl::addon {
void RegisterCommon(Napi::Env env, Napi::Object exports);  // addon.cc
void RegisterModel(Napi::Env env, Napi::Object exports);   // model_binding.cc
void RegisterWorld(Napi::Env env, Napi::Object exports);   // world_binding.cc
void RegisterWindow(Napi::Env env, Napi::Object exports);  // window_binding.cc
void RegisterCache(Napi::Env env, Napi::Object exports);   // cache_binding.cc

// wl_camera <-> {width, height, fx, fy, cx, cy, eyeHeight, x, y, yaw, worldToCamera}
// (world_binding.cc).
Napi::Object CameraToJs(Napi::Env env, const wl_camera& c);
wl_camera CameraFromJs(Napi::Env env, const Napi::Value& v, const char* what);

// Throws a JS Error whose `code` is the wl_status name and message is wl_last_error().
[[noreturn]] void ThrowLastError(Napi::Env env, int status);

// `v` as a typed array of `type` (Uint8Array or Float32Array), else a TypeError naming `what`.
template <class T>
T TypedArg(Napi::Env env, const Napi::Value& v, napi_typedarray_type type, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) {
    throw Napi::TypeError::New(
        env, std::string(what) +
                 (type == napi_uint8_array ? " must be a Uint8Array" : " must be a Float32Array"));
  }
  return v.As<T>();
}

// The C ABI's two-call byte getters (the size asked with a NULL buffer, then the fill) as one
// Uint8Array. call(buffer, capacity, &size) returns the wl_status.
template <class Call>
Napi::Uint8Array BytesOf(Napi::Env env, Call call) {
  size_t n = 0;
  int st = call(nullptr, 0, &n);
  if (st != WL_OK) ThrowLastError(env, st);
  auto buf = Napi::Uint8Array::New(env, n);
  st = call(buf.Data(), n, &n);
  if (st != WL_OK) ThrowLastError(env, st);
  return buf;
}
}  // namespace wl::addon
