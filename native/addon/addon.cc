#include "bindings.h"

#include "worldloop/wl_common.h"

namespace wl::addon {

static const char* StatusName(int status) {
  switch (status) {
    case WL_ERR_INVALID_ARGUMENT: return "WL_INVALID_ARGUMENT";
    case WL_ERR_IO: return "WL_IO";
    case WL_ERR_FORMAT: return "WL_FORMAT";
    case WL_ERR_UNSUPPORTED: return "WL_UNSUPPORTED";
    case WL_ERR_OUT_OF_MEMORY: return "WL_OUT_OF_MEMORY";
    default: return "WL_INTERNAL";
  }
}

void ThrowLastError(Napi::Env env, int status) {
  Napi::Error err = Napi::Error::New(env, wl_last_error());
  err.Set("code", Napi::String::New(env, StatusName(status)));
  throw err;
}

void RegisterCommon(Napi::Env env, Napi::Object exports) {
  exports.Set("version", Napi::String::New(env, wl_version()));
  exports.Set("hasSdl", Napi::Boolean::New(env, WL_HAVE_SDL != 0));
  exports.Set("hasCuda", Napi::Boolean::New(env, WL_HAVE_CUDA != 0));
}

}  // namespace wl::addon

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  wl::addon::RegisterCommon(env, exports);
  wl::addon::RegisterModel(env, exports);
  wl::addon::RegisterWorld(env, exports);
  wl::addon::RegisterCache(env, exports);
  wl::addon::RegisterWindow(env, exports);
  return exports;
}

NODE_API_MODULE(worldloop, Init)
