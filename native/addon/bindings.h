// Each concept registers its own N-API surface from its own file; addon.cc just calls them.
#pragma once
#include <napi.h>

namespace wl::addon {
void RegisterCommon(Napi::Env env, Napi::Object exports);  // addon.cc
void RegisterModel(Napi::Env env, Napi::Object exports);   // model_binding.cc
void RegisterWorld(Napi::Env env, Napi::Object exports);   // world_binding.cc
void RegisterWindow(Napi::Env env, Napi::Object exports);  // window_binding.cc

// Throws a JS Error whose `code` is the wl_status name and message is wl_last_error().
[[noreturn]] void ThrowLastError(Napi::Env env, int status);
}  // namespace wl::addon
