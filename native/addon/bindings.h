// Each concept registers its own N-API surface from its own file; addon.cc just calls them.
#pragma once
#include <napi.h>

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
}  // namespace wl::addon
