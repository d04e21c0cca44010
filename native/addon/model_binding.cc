#include "bindings.h"

namespace wl::addon {
void RegisterModel(Napi::Env, Napi::Object) {}
}  // namespace wl::addon
