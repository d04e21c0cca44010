// N-API surface of the point cache (worldloop/wl_cache.h): one PointCache class. Calls are
// synchronous: an insert or a render of a 128x128 frame takes milliseconds, less than handing the
// work to the libuv pool would save.
#include <cmath>
#include <string>

#include "bindings.h"
#include "worldloop/wl_cache.h"

namespace wl::addon {
namespace {

class PointCacheWrap : public Napi::ObjectWrap<PointCacheWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PointCache",
                       {InstanceMethod<&PointCacheWrap::Insert>("insert"),
                        InstanceMethod<&PointCacheWrap::Render>("render"),
                        InstanceMethod<&PointCacheWrap::Count>("count"),
                        InstanceMethod<&PointCacheWrap::Evicted>("evicted"),
                        InstanceMethod<&PointCacheWrap::Clear>("clear"),
                        InstanceMethod<&PointCacheWrap::Snapshot>("snapshot"),
                        InstanceMethod<&PointCacheWrap::Restore>("restore"),
                        InstanceMethod<&PointCacheWrap::Close>("close")});
  }

  // new PointCache({maxPoints, voxel, policy: 'newest'|'closest'|'first', maxDepth, nearZ,
  // maxFootprint, threads})
  PointCacheWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PointCacheWrap>(info) {
    Napi::Env env = info.Env();
    wl_point_cache_config c;
    wl_point_cache_default_config(&c);
    if (!info[0].IsUndefined() && !info[0].IsNull()) {
      if (!info[0].IsObject())
        throw Napi::TypeError::New(env, "PointCache: config must be an object");
      const Napi::Object o = info[0].As<Napi::Object>();
      auto num = [&](const char* key, double fallback) {
        const Napi::Value v = o.Get(key);
        if (v.IsUndefined()) return fallback;
        if (!v.IsNumber())
          throw Napi::TypeError::New(env, std::string("PointCache: ") + key + " must be a number");
        return v.As<Napi::Number>().DoubleValue();
      };
      auto integer = [&](const char* key, double fallback, double lo, double hi) {
        const double d = num(key, fallback);
        if (!(d >= lo && d <= hi) || std::floor(d) != d) {
          throw Napi::RangeError::New(
              env, std::string("PointCache: ") + key + " must be an integer in " +
                       std::to_string(int64_t(lo)) + ".." + std::to_string(int64_t(hi)));
        }
        return d;
      };
      c.max_points = int64_t(integer("maxPoints", double(c.max_points), 1, 2147483647.0));
      c.threads = int32_t(integer("threads", c.threads, 1, 256));
      c.voxel = float(num("voxel", c.voxel));
      c.max_depth = float(num("maxDepth", c.max_depth));
      c.near_z = float(num("nearZ", c.near_z));
      c.max_footprint = float(num("maxFootprint", c.max_footprint));
      const Napi::Value pol = o.Get("policy");
      if (!pol.IsUndefined()) {
        const std::string p = pol.IsString() ? pol.As<Napi::String>().Utf8Value() : "";
        if (p == "newest")
          c.policy = WL_CACHE_NEWEST;
        else if (p == "closest")
          c.policy = WL_CACHE_CLOSEST;
        else if (p == "first")
          c.policy = WL_CACHE_FIRST;
        else
          throw Napi::TypeError::New(env,
                                     "PointCache: policy must be 'newest', 'closest' or 'first'");
      }
    }
    const wl_status st = wl_point_cache_create(&c, &cache_);
    if (st != WL_OK) ThrowLastError(env, st);
  }
  ~PointCacheWrap() override { wl_point_cache_free(cache_); }

 private:
  wl_point_cache* handle(Napi::Env env) const {
    if (!cache_) throw Napi::Error::New(env, "point cache is closed");
    return cache_;
  }

  // insert(camera, rgb: Uint8Array, depth: Float32Array)
  Napi::Value Insert(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    wl_point_cache* c = handle(env);
    const wl_camera cam = CameraFromJs(env, info[0], "insert");
    auto rgb = TypedArg<Napi::Uint8Array>(env, info[1], napi_uint8_array, "insert: rgb");
    auto depth = TypedArg<Napi::Float32Array>(env, info[2], napi_float32_array, "insert: depth");
    const wl_status st = wl_point_cache_insert(c, &cam, rgb.Data(), rgb.ByteLength(), depth.Data(),
                                               depth.ElementLength());
    if (st != WL_OK) ThrowLastError(env, st);
    return env.Undefined();
  }

  // render(camera, rgb: Uint8Array, depth?: Float32Array, mask?: Uint8Array)
  Napi::Value Render(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    wl_point_cache* c = handle(env);
    const wl_camera cam = CameraFromJs(env, info[0], "render");
    auto rgb = TypedArg<Napi::Uint8Array>(env, info[1], napi_uint8_array, "render: rgb");
    float* depth = nullptr;
    size_t depth_n = 0;
    uint8_t* mask = nullptr;
    size_t mask_n = 0;
    if (info.Length() > 2 && !info[2].IsUndefined()) {
      auto d = TypedArg<Napi::Float32Array>(env, info[2], napi_float32_array, "render: depth");
      depth = d.Data();
      depth_n = d.ElementLength();
    }
    if (info.Length() > 3 && !info[3].IsUndefined()) {
      auto m = TypedArg<Napi::Uint8Array>(env, info[3], napi_uint8_array, "render: mask");
      mask = m.Data();
      mask_n = m.ByteLength();
    }
    const wl_status st =
        wl_point_cache_render(c, &cam, rgb.Data(), rgb.ByteLength(), depth, depth_n, mask, mask_n);
    if (st != WL_OK) ThrowLastError(env, st);
    return env.Undefined();
  }

  Napi::Value Count(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), double(wl_point_cache_count(handle(info.Env()))));
  }
  Napi::Value Evicted(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), double(wl_point_cache_evicted(handle(info.Env()))));
  }
  Napi::Value Clear(const Napi::CallbackInfo& info) {
    const wl_status st = wl_point_cache_clear(handle(info.Env()));
    if (st != WL_OK) ThrowLastError(info.Env(), st);
    return info.Env().Undefined();
  }
  Napi::Value Snapshot(const Napi::CallbackInfo& info) {
    wl_point_cache* c = handle(info.Env());
    return BytesOf(info.Env(), [c](uint8_t* b, size_t cap, size_t* n) {
      return wl_point_cache_snapshot(c, b, cap, n);
    });
  }
  Napi::Value Restore(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto b = TypedArg<Napi::Uint8Array>(env, info[0], napi_uint8_array, "restore: snapshot");
    const wl_status st = wl_point_cache_restore(handle(env), b.Data(), b.ByteLength());
    if (st != WL_OK) ThrowLastError(env, st);
    return env.Undefined();
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    wl_point_cache_free(cache_);
    cache_ = nullptr;
    return info.Env().Undefined();
  }

  wl_point_cache* cache_ = nullptr;
};

}  // namespace

void RegisterCache(Napi::Env env, Napi::Object exports) {
  exports.Set("PointCache", PointCacheWrap::Define(env));
}

}  // namespace wl::addon
