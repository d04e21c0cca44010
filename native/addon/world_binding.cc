#include "bindings.h"

namespace wl::addon {
void RegisterWorld(Napi::Env, Napi::Object) {}
}  // namespace wl::addon
