// wl_struct_size: the C ABI reports the size of each public struct by name (what train/world.py
// and train/eval.py compare their ctypes mirrors with), and 0 for anything else.
#include "check.h"
#include "worldloop/wl_common.h"
#include "worldloop/wl_model.h"
#include "worldloop/wl_world.h"

TEST(struct_sizes_match_the_headers) {
  CHECK(wl_struct_size("wl_world_config") == sizeof(wl_world_config));
  CHECK(wl_struct_size("wl_explore_config") == sizeof(wl_explore_config));
  CHECK(wl_struct_size("wl_model_options") == sizeof(wl_model_options));
  CHECK(wl_struct_size("wl_model_dims") == sizeof(wl_model_dims));
  CHECK(wl_struct_size("wl_model_memory") == sizeof(wl_model_memory));
}

TEST(unknown_names_are_zero) {
  CHECK(wl_struct_size(nullptr) == 0);
  CHECK(wl_struct_size("") == 0);
  CHECK(wl_struct_size("wl_world") == 0);  // opaque handle: no size to mirror
  CHECK(wl_struct_size("wl_world_config ") == 0);
}

TEST_MAIN()
