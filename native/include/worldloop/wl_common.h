/* worldloop C ABI — shared conventions.
 *
 * Every fallible call returns a wl_status (0 = ok). On failure, wl_last_error() returns a
 * human-readable message for the calling thread (valid until that thread's next wl_* call),
 * naming what was wrong and where (file, tensor, field). Handles are opaque and come in
 * create/free pairs; freeing NULL is a no-op. */
#ifndef WORLDLOOP_WL_COMMON_H
#define WORLDLOOP_WL_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define WL_API __declspec(dllexport)
#else
#define WL_API __attribute__((visibility("default")))
#endif

typedef enum wl_status {
  WL_OK = 0,
  WL_ERR_INVALID_ARGUMENT = 1, /* a caller-supplied value is out of range / NaN / null */
  WL_ERR_IO = 2,               /* file could not be opened or read */
  WL_ERR_FORMAT = 3,           /* untrusted input (model file, save, recording) is malformed */
  WL_ERR_UNSUPPORTED = 4,      /* valid request this build or machine cannot serve (e.g. no GPU) */
  WL_ERR_OUT_OF_MEMORY = 5,
  WL_ERR_INTERNAL = 6
} wl_status;

/* Message for the last failed call on this thread ("" if none). */
WL_API const char* wl_last_error(void);

/* Library version string, e.g. "0.1.0". */
WL_API const char* wl_version(void);

/* sizeof() of a public struct of this ABI, by its C name ("wl_world_config", "wl_explore_config",
 * "wl_camera", "wl_point_cache_config", "wl_model_options", "wl_model_dims", "wl_model_memory"); 0
 * for any other name or NULL. Bindings that mirror the structs by hand (Python ctypes in train/)
 * compare their sizes at load. */
WL_API size_t wl_struct_size(const char* name);

#ifdef __cplusplus
}
#endif
#endif
