#include "bindings.h"

namespace wl::addon {
void RegisterWindow(Napi::Env, Napi::Object) {}
}  // namespace wl::addon
