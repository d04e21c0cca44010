// wl_struct_size: the sizes of the public structs, so hand-written mirrors in other languages
// (train/world.py, train/eval.py) can check themselves against this build when they load it.
#include <cstring>

#include "worldloop/wl_cache.h"
#include "worldloop/wl_common.h"
#include "worldloop/wl_model.h"
#include "worldloop/wl_world.h"

extern "C" size_t wl_struct_size(const char* name) {
  if (!name) return 0;
  struct Entry {
    const char* name;
    size_t size;
  };
  static const Entry kStructs[] = {
      {"wl_world_config", sizeof(wl_world_config)},
      {"wl_explore_config", sizeof(wl_explore_config)},
      {"wl_camera", sizeof(wl_camera)},
      {"wl_point_cache_config", sizeof(wl_point_cache_config)},
      {"wl_model_options", sizeof(wl_model_options)},
      {"wl_model_dims", sizeof(wl_model_dims)},
      {"wl_model_memory", sizeof(wl_model_memory)},
  };
  for (const Entry& e : kStructs) {
    if (std::strcmp(e.name, name) == 0) return e.size;
  }
  return 0;
}
