// N-API surface of wl_model_*: a Model class whose heavy calls run on the libuv thread pool
// (Napi::AsyncWorker) and resolve promises. Input/output buffers are typed arrays the TS layer
// allocated once; the worker keeps references to them until it completes, so nothing is copied.
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "bindings.h"
#include "worldloop/wl_model.h"

namespace wl::addon {
namespace {

// Raw pointer + length view over a typed array argument, validated for type and size.
template <class T, napi_typedarray_type Kind>
T* TypedArg(const Napi::CallbackInfo& info, size_t index, size_t min_elems, const char* what) {
  Napi::Env env = info.Env();
  if (index >= info.Length() || !info[index].IsTypedArray() ||
      info[index].As<Napi::TypedArray>().TypedArrayType() != Kind) {
    Napi::TypeError::New(env, std::string(what) + ": wrong typed array type")
        .ThrowAsJavaScriptException();
    return nullptr;
  }
  auto arr = info[index].As<Napi::TypedArray>();
  if (arr.ElementLength() < min_elems) {
    Napi::RangeError::New(env, std::string(what) + ": needs " + std::to_string(min_elems) +
                                   " elements, got " + std::to_string(arr.ElementLength()))
        .ThrowAsJavaScriptException();
    return nullptr;
  }
  auto* base = static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
  return reinterpret_cast<T*>(base);
}

class Model;

// Runs one native call off the JS thread; holds JS references to the buffers it touches.
class ModelWorker : public Napi::AsyncWorker {
 public:
  using Fn = std::function<wl_status()>;
  ModelWorker(Napi::Env env, Napi::Object self, std::vector<Napi::Value> keep, Fn fn)
      : Napi::AsyncWorker(env, "wl_model"),
        deferred_(Napi::Promise::Deferred::New(env)),
        fn_(std::move(fn)) {
    refs_.reserve(keep.size() + 1);
    refs_.push_back(Napi::Persistent(self));
    for (auto& v : keep) {
      if (v.IsObject()) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
    }
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    status_ = fn_();
    if (status_ != WL_OK) message_ = wl_last_error();
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (status_ == WL_OK) {
      deferred_.Resolve(env.Undefined());
      return;
    }
    Napi::Error err = Napi::Error::New(env, message_);
    err.Set("code", Napi::String::New(env, CodeName(status_)));
    deferred_.Reject(err.Value());
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  static const char* CodeName(wl_status s) {
    switch (s) {
      case WL_ERR_INVALID_ARGUMENT: return "WL_INVALID_ARGUMENT";
      case WL_ERR_IO: return "WL_IO";
      case WL_ERR_FORMAT: return "WL_FORMAT";
      case WL_ERR_UNSUPPORTED: return "WL_UNSUPPORTED";
      case WL_ERR_OUT_OF_MEMORY: return "WL_OUT_OF_MEMORY";
      default: return "WL_INTERNAL";
    }
  }
  Napi::Promise::Deferred deferred_;
  Fn fn_;
  std::vector<Napi::ObjectReference> refs_;
  wl_status status_ = WL_OK;
  std::string message_;
};

class Model : public Napi::ObjectWrap<Model> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "NativeModel",
        {InstanceMethod("info", &Model::Info), InstanceMethod("dims", &Model::Dims),
         InstanceMethod("sample", &Model::Sample), InstanceMethod("step", &Model::Step),
         InstanceMethod("sampleWithNoise", &Model::SampleWithNoise),
         InstanceMethod("denoise", &Model::Denoise), InstanceMethod("decode", &Model::Decode),
         InstanceMethod("decodeF32", &Model::DecodeF32), InstanceMethod("encode", &Model::Encode),
         InstanceMethod("close", &Model::Close)});
  }

  // new NativeModel(external) — constructed only by loadModel's completion.
  explicit Model(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Model>(info) {
    if (info.Length() == 1 && info[0].IsExternal()) {
      model_ = info[0].As<Napi::External<wl_model>>().Data();
      wl_model_dims_get(model_, &dims_);
    }
  }
  ~Model() override { wl_model_free(model_); }

 private:
  wl_model* Live(Napi::Env env) {
    if (!model_) throw Napi::Error::New(env, "model is closed");
    if (busy_) throw Napi::Error::New(env, "model is busy: await the previous call first");
    return model_;
  }
  size_t LatentFloats(int b) const {
    return size_t(b) * dims_.latent_channels * dims_.latent_h * dims_.latent_w;
  }
  // Optional trailing memory arguments (memLatents F32 [B,M,C,h,w], memPoses F32 [B,M,P],
  // memMask F32 [B,M]) starting at `first`; absent or undefined -> no memory (NULL).
  // What the worker needs (plain pointers); `keep` holds the JS arrays alive on the JS side.
  struct MemoryView {
    bool present = false;
    wl_model_memory mem{nullptr, nullptr, nullptr};
    const wl_model_memory* get() const { return present ? &mem : nullptr; }
  };
  struct MemoryArgs {
    MemoryView view;
    std::vector<Napi::Value> keep;
  };
  MemoryArgs MemoryArg(const Napi::CallbackInfo& info, size_t first, int b) {
    MemoryArgs out;
    if (info.Length() <= first || info[first].IsUndefined() || info[first].IsNull()) return out;
    if (dims_.memory_slots == 0)
      throw Napi::TypeError::New(
          info.Env(), "memory: this model has no memory slots (manifest denoiser.memory)");
    const size_t bm = size_t(b) * dims_.memory_slots;
    out.view.mem.latents =
        TypedArg<float, napi_float32_array>(info, first, bm * LatentFloats(1), "memory.latents");
    out.view.mem.poses = TypedArg<float, napi_float32_array>(
        info, first + 1, bm * dims_.memory_pose_dim, "memory.poses");
    out.view.mem.mask = TypedArg<float, napi_float32_array>(info, first + 2, bm, "memory.mask");
    out.view.present = true;
    out.keep = {info[first], info[first + 1], info[first + 2]};
    return out;
  }
  // The denoiser's context: latents [B,K,C,h,w] at `first`, actions [B,K,A] at `first + 1`.
  struct ContextArgs {
    const float* latents;
    const float* actions;
  };
  ContextArgs ContextArg(const Napi::CallbackInfo& info, size_t first, int b) {
    const size_t k = dims_.context;
    return {TypedArg<float, napi_float32_array>(info, first, LatentFloats(b) * k, "contextLatents"),
            TypedArg<float, napi_float32_array>(info, first + 1, size_t(b) * k * dims_.action_dim,
                                                "contextActions")};
  }
  // Philox keys per world: seeds U64 [B] at `first`, frames U64 [B] at `first + 1`.
  struct NoiseKeys {
    const uint64_t* seeds;
    const uint64_t* frames;
  };
  NoiseKeys NoiseKeysArg(const Napi::CallbackInfo& info, size_t first, int b) {
    return {TypedArg<uint64_t, napi_biguint64_array>(info, first, b, "seeds"),
            TypedArg<uint64_t, napi_biguint64_array>(info, first + 1, b, "frames")};
  }
  // Optional F64 timing output of at least `count` entries; undefined/null/absent -> NULL.
  double* OptionalStepMs(const Napi::CallbackInfo& info, size_t i, size_t count) {
    if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return nullptr;
    return TypedArg<double, napi_float64_array>(info, i, count, "stepMs");
  }
  Napi::Value ArgOrUndefined(const Napi::CallbackInfo& info, size_t i) {
    return info.Length() > i ? info[i] : info.Env().Undefined();
  }
  static std::vector<Napi::Value> Join(std::vector<Napi::Value> a,
                                       const std::vector<Napi::Value>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }
  int BatchArg(const Napi::CallbackInfo& info, size_t i) {
    int b = info[i].As<Napi::Number>().Int32Value();
    if (b < 1 || b > dims_.max_batch) {
      throw Napi::RangeError::New(info.Env(), "batch " + std::to_string(b) + " outside 1.." +
                                                  std::to_string(dims_.max_batch) +
                                                  " (raise maxBatch at load)");
    }
    return b;
  }
  Napi::Value Run(const Napi::CallbackInfo& info, std::vector<Napi::Value> keep,
                  ModelWorker::Fn fn) {
    busy_ = true;
    auto* self = this;
    auto* w = new ModelWorker(info.Env(), info.This().As<Napi::Object>(), std::move(keep),
                              [self, fn = std::move(fn)]() {
                                wl_status s = fn();
                                self->busy_ = false;
                                return s;
                              });
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    if (!model_) throw Napi::Error::New(info.Env(), "model is closed");
    return Napi::String::New(info.Env(), wl_model_info_json(model_));
  }
  Napi::Value Dims(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("latentChannels", dims_.latent_channels);
    o.Set("latentHeight", dims_.latent_h);
    o.Set("latentWidth", dims_.latent_w);
    o.Set("frameHeight", dims_.frame_h);
    o.Set("frameWidth", dims_.frame_w);
    o.Set("context", dims_.context);
    o.Set("actionDim", dims_.action_dim);
    o.Set("defaultSteps", dims_.default_steps);
    o.Set("maxBatch", dims_.max_batch);
    o.Set("memorySlots", dims_.memory_slots);
    o.Set("memoryPoseDim", dims_.memory_pose_dim);
    return o;
  }
  // sample(batch, ctxLatents F32, ctxActions F32, seeds U64, frames U64, steps, out F32, stepMs F64
  //        [, memLatents, memPoses, memMask])
  Napi::Value Sample(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    wl_model* m = Live(env);
    int b = BatchArg(info, 0);
    int steps = info[5].As<Napi::Number>().Int32Value();
    const ContextArgs ctx = ContextArg(info, 1, b);
    const NoiseKeys keys = NoiseKeysArg(info, 3, b);
    auto* out = TypedArg<float, napi_float32_array>(info, 6, LatentFloats(b), "out");
    double* ms = OptionalStepMs(info, 7, steps > 0 ? steps : dims_.default_steps);
    MemoryArgs mem = MemoryArg(info, 8, b);
    if (env.IsExceptionPending()) return env.Undefined();
    const MemoryView mv = mem.view;
    return Run(
        info,
        Join({info[1], info[2], info[3], info[4], info[6], ArgOrUndefined(info, 7)}, mem.keep),
        [=]() {
          return wl_model_sample(m, b, ctx.latents, ctx.actions, mv.get(), keys.seeds, keys.frames,
                                 steps, out, ms);
        });
  }
  // step(batch, ctxLatents F32, ctxActions F32, seeds U64, frames U64, steps, outLatent F32,
  //      outRgb U8, stepMs F64 [steps + 1] [, memLatents, memPoses, memMask]) — sample + decode
  // in one native call (wl_model_step).
  Napi::Value Step(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    wl_model* m = Live(env);
    int b = BatchArg(info, 0);
    int steps = info[5].As<Napi::Number>().Int32Value();
    const ContextArgs ctx = ContextArg(info, 1, b);
    const NoiseKeys keys = NoiseKeysArg(info, 3, b);
    auto* out = TypedArg<float, napi_float32_array>(info, 6, LatentFloats(b), "outLatent");
    auto* rgb = TypedArg<uint8_t, napi_uint8_array>(
        info, 7, size_t(b) * dims_.frame_h * dims_.frame_w * 3, "outRgb");
    double* ms = OptionalStepMs(info, 8, (steps > 0 ? steps : dims_.default_steps) + 1);
    MemoryArgs mem = MemoryArg(info, 9, b);
    if (env.IsExceptionPending()) return env.Undefined();
    const MemoryView mv = mem.view;
    return Run(info,
               Join({info[1], info[2], info[3], info[4], info[6], info[7], ArgOrUndefined(info, 8)},
                    mem.keep),
               [=]() {
                 return wl_model_step(m, b, ctx.latents, ctx.actions, mv.get(), keys.seeds,
                                      keys.frames, steps, out, rgb, ms);
               });
  }
  Napi::Value SampleWithNoise(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    wl_model* m = Live(env);
    int b = BatchArg(info, 0);
    int steps = info[3].As<Napi::Number>().Int32Value();
    if (steps < 1 || steps > 8) throw Napi::RangeError::New(env, "steps must be 1..8");
    const ContextArgs ctx = ContextArg(info, 1, b);
    auto* noise =
        TypedArg<float, napi_float32_array>(info, 4, LatentFloats(b) * (steps + 1), "noise");
    auto* out = TypedArg<float, napi_float32_array>(info, 5, LatentFloats(b), "out");
    MemoryArgs mem = MemoryArg(info, 6, b);
    if (env.IsExceptionPending()) return env.Undefined();
    const MemoryView mv = mem.view;
    return Run(info, Join({info[1], info[2], info[4], info[5]}, mem.keep), [=]() {
      return wl_model_sample_with_noise(m, b, ctx.latents, ctx.actions, mv.get(), steps, noise,
                                        out);
    });
  }
  Napi::Value Denoise(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    wl_model* m = Live(env);
    int b = BatchArg(info, 0);
    auto* noisy = TypedArg<float, napi_float32_array>(info, 1, LatentFloats(b), "noisy");
    auto* sigma = TypedArg<float, napi_float32_array>(info, 2, b, "sigma");
    const ContextArgs ctx = ContextArg(info, 3, b);
    auto* out = TypedArg<float, napi_float32_array>(info, 5, LatentFloats(b), "out");
    MemoryArgs mem = MemoryArg(info, 6, b);
    if (env.IsExceptionPending()) return env.Undefined();
    const MemoryView mv = mem.view;
    return Run(info, Join({info[1], info[2], info[3], info[4], info[5]}, mem.keep), [=]() {
      return wl_model_denoise(m, b, noisy, sigma, ctx.latents, ctx.actions, mv.get(), out);
    });
  }
  // decode(batch, latent F32, rgb U8)
  Napi::Value Decode(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    wl_model* m = Live(env);
    int b = BatchArg(info, 0);
    auto* lat = TypedArg<float, napi_float32_array>(info, 1, LatentFloats(b), "latent");
    auto* rgb = TypedArg<uint8_t, napi_uint8_array>(
        info, 2, size_t(b) * dims_.frame_h * dims_.frame_w * 3, "rgb");
    if (env.IsExceptionPending()) return env.Undefined();
    return Run(info, {info[1], info[2]}, [=]() { return wl_model_decode(m, b, lat, rgb); });
  }
  // decodeF32(batch, latent F32, out F32 [B,3,H,W])
  Napi::Value DecodeF32(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    wl_model* m = Live(env);
    int b = BatchArg(info, 0);
    auto* lat = TypedArg<float, napi_float32_array>(info, 1, LatentFloats(b), "latent");
    auto* out = TypedArg<float, napi_float32_array>(
        info, 2, size_t(b) * 3 * dims_.frame_h * dims_.frame_w, "out");
    if (env.IsExceptionPending()) return env.Undefined();
    return Run(info, {info[1], info[2]}, [=]() { return wl_model_decode_f32(m, b, lat, out); });
  }
  // encode(batch, rgb U8, latent F32)
  Napi::Value Encode(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    wl_model* m = Live(env);
    int b = BatchArg(info, 0);
    auto* rgb = TypedArg<uint8_t, napi_uint8_array>(
        info, 1, size_t(b) * dims_.frame_h * dims_.frame_w * 3, "rgb");
    auto* lat = TypedArg<float, napi_float32_array>(info, 2, LatentFloats(b), "latent");
    if (env.IsExceptionPending()) return env.Undefined();
    return Run(info, {info[1], info[2]}, [=]() { return wl_model_encode(m, b, rgb, lat); });
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (busy_) throw Napi::Error::New(info.Env(), "model is busy: await the previous call first");
    wl_model_free(model_);
    model_ = nullptr;
    return info.Env().Undefined();
  }

  wl_model* model_ = nullptr;
  wl_model_dims dims_{};
  std::atomic<bool> busy_{false};
};

// Loads on the libuv pool; resolves with a NativeModel.
class LoadWorker : public Napi::AsyncWorker {
 public:
  LoadWorker(Napi::Env env, std::string path, wl_model_options opts, Napi::FunctionReference* ctor)
      : Napi::AsyncWorker(env, "wl_model_load"),
        deferred_(Napi::Promise::Deferred::New(env)),
        path_(std::move(path)),
        opts_(opts),
        ctor_(ctor) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    status_ = wl_model_load(path_.c_str(), &opts_, &model_);
    if (status_ != WL_OK) message_ = wl_last_error();
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (status_ != WL_OK) {
      Napi::Error err = Napi::Error::New(env, message_);
      const char* code = status_ == WL_ERR_FORMAT             ? "WL_FORMAT"
                         : status_ == WL_ERR_IO               ? "WL_IO"
                         : status_ == WL_ERR_UNSUPPORTED      ? "WL_UNSUPPORTED"
                         : status_ == WL_ERR_INVALID_ARGUMENT ? "WL_INVALID_ARGUMENT"
                         : status_ == WL_ERR_OUT_OF_MEMORY    ? "WL_OUT_OF_MEMORY"
                                                              : "WL_INTERNAL";
      err.Set("code", Napi::String::New(env, code));
      deferred_.Reject(err.Value());
      return;
    }
    deferred_.Resolve(ctor_->New({Napi::External<wl_model>::New(env, model_)}));
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  wl_model_options opts_;
  Napi::FunctionReference* ctor_;
  wl_model* model_ = nullptr;
  wl_status status_ = WL_OK;
  std::string message_;
};

Napi::FunctionReference* g_model_ctor = nullptr;

// loadModel(path, backend: 0|1|2, threads, maxBatch) -> Promise<NativeModel>
Napi::Value LoadModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString()) {
    throw Napi::TypeError::New(env, "loadModel(path, backend, threads, maxBatch)");
  }
  wl_model_options opts;
  wl_model_options_default(&opts);
  opts.backend = static_cast<wl_backend>(info[1].As<Napi::Number>().Int32Value());
  opts.threads = info[2].As<Napi::Number>().Int32Value();
  opts.max_batch = info[3].As<Napi::Number>().Int32Value();
  auto* w = new LoadWorker(env, info[0].As<Napi::String>().Utf8Value(), opts, g_model_ctor);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace

void RegisterModel(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = Model::Define(env);
  g_model_ctor = new Napi::FunctionReference(Napi::Persistent(ctor));
  exports.Set("NativeModel", ctor);
  exports.Set("loadModel", Napi::Function::New(env, LoadModel));
}

}  // namespace wl::addon
