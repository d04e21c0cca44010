#include "cache/point_cache.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>
#include <string>

#include "capi/error.h"

namespace wl {

namespace {
// Voxel coordinates are packed as three 21-bit fields: +-2^20 voxels per axis (16,384 cells at
// the default 1/64 voxel), far more than any level.
constexpr int64_t kVoxelRange = int64_t(1) << 20;
}  // namespace

PointCache::PointCache(const PointCacheConfig& cfg, int threads) : cfg_(cfg) {
  if (cfg.max_points < 1 || cfg.max_points > (int64_t(1) << 31) - 1) {
    throw Error(
        WL_ERR_INVALID_ARGUMENT,
        "point cache: max_points = " + std::to_string(cfg.max_points) + " is outside 1..2^31-1");
  }
  if (!(std::isfinite(cfg.voxel) && cfg.voxel >= 1e-4f && cfg.voxel <= 16.f)) {
    throw Error(WL_ERR_INVALID_ARGUMENT, "point cache: voxel must be in 1e-4..16");
  }
  if (cfg.policy != CachePolicy::Newest && cfg.policy != CachePolicy::Closest &&
      cfg.policy != CachePolicy::First) {
    throw Error(WL_ERR_INVALID_ARGUMENT,
                "point cache: policy must be newest (0), closest (1) or first (2)");
  }
  if (!(cfg.max_depth > 0.f))
    throw Error(WL_ERR_INVALID_ARGUMENT, "point cache: max_depth must be > 0");
  check_splat_params(cfg.splat, "point cache");
  if (threads < 1 || threads > 256) {
    throw Error(WL_ERR_INVALID_ARGUMENT,
                "point cache: threads = " + std::to_string(threads) + " is outside 1..256");
  }
  if (threads > 1) pool_ = std::make_unique<ThreadPool>(threads);
}

OpCtx PointCache::ctx(size_t scratch_floats) {
  if (scratch_.size() < scratch_floats) scratch_.resize(scratch_floats);
  OpCtx c;
  c.pool = pool_.get();
  c.isa = Isa::Portable;  // the reprojection ops do not dispatch on the ISA
  c.scratch = scratch_.data();
  c.scratch_floats = scratch_.size();
  return c;
}

bool PointCache::voxel_key(const float* p, uint64_t* key) const {
  uint64_t k = 0;
  for (int a = 0; a < 3; ++a) {
    const float q = std::floor(p[a] / cfg_.voxel);
    if (!(q > -float(kVoxelRange) && q < float(kVoxelRange))) return false;  // NaN too
    k = (k << 21) | (uint64_t(int64_t(q) + kVoxelRange) & ((uint64_t(1) << 21) - 1));
  }
  *key = k;
  return true;
}

void PointCache::insert(const PinholeCamera& cam, const uint8_t* rgb, const float* depth) {
  check_camera(cam, "point cache insert");
  if (!rgb || !depth)
    throw Error(WL_ERR_INVALID_ARGUMENT, "point cache insert: rgb and depth must not be null");
  const size_t pixels = size_t(cam.width) * cam.height;
  frame_xyz_.resize(pixels * 3);
  frame_size_.resize(pixels);
  fast::unproject(ctx(0), cam, depth, frame_xyz_.data(), frame_size_.data());
  ++clock_;
  for (size_t p = 0; p < pixels; ++p) {
    const float z = depth[p];
    if (!(z > 0.f && z <= cfg_.max_depth)) continue;
    uint64_t key;
    const float* pt = frame_xyz_.data() + p * 3;
    if (!voxel_key(pt, &key)) continue;
    // A point stands for at least its voxel: merged neighbours must still cover the surface.
    const float sz = std::max(frame_size_[p], cfg_.voxel);
    auto it = index_.find(key);
    if (it != index_.end()) {
      const uint32_t i = it->second;
      stamp_[i] = clock_;
      if (cfg_.policy == CachePolicy::First) continue;
      if (cfg_.policy == CachePolicy::Closest && z > seen_depth_[i]) continue;
      std::memcpy(&xyz_[size_t(i) * 3], pt, 12);
      size_[i] = sz;
      std::memcpy(&rgb_[size_t(i) * 3], rgb + p * 3, 3);
      seen_depth_[i] = z;
      continue;
    }
    index_.emplace(key, uint32_t(size_.size()));
    xyz_.insert(xyz_.end(), pt, pt + 3);
    size_.push_back(sz);
    rgb_.insert(rgb_.end(), rgb + p * 3, rgb + p * 3 + 3);
    seen_depth_.push_back(z);
    stamp_.push_back(clock_);
  }
  if (size() > cfg_.max_points) evict();
}

void PointCache::evict() {
  const int64_t n = size();
  const int64_t keep = std::max<int64_t>(1, cfg_.max_points - cfg_.max_points / 8);
  // Least recently seen first; equal stamps by index (deterministic).
  std::vector<uint32_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return stamp_[a] < stamp_[b]; });
  std::vector<uint8_t> drop(static_cast<size_t>(n), 0);
  for (int64_t k = 0; k < n - keep; ++k) drop[order[size_t(k)]] = 1;
  size_t o = 0;
  for (size_t i = 0; i < size_t(n); ++i) {
    if (drop[i]) continue;
    if (o != i) {
      std::memcpy(&xyz_[o * 3], &xyz_[i * 3], 12);
      std::memcpy(&rgb_[o * 3], &rgb_[i * 3], 3);
      size_[o] = size_[i];
      seen_depth_[o] = seen_depth_[i];
      stamp_[o] = stamp_[i];
    }
    ++o;
  }
  evicted_ += n - int64_t(o);
  xyz_.resize(o * 3);
  rgb_.resize(o * 3);
  size_.resize(o);
  seen_depth_.resize(o);
  stamp_.resize(o);
  rebuild_index();
}

void PointCache::rebuild_index() {
  index_.clear();
  const size_t n = xyz_.size() / 3;
  index_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t key;
    if (!voxel_key(&xyz_[i * 3], &key)) {
      throw Error(WL_ERR_INVALID_ARGUMENT,
                  "point cache: point " + std::to_string(i) + " is outside the voxel grid");
    }
    if (!index_.emplace(key, uint32_t(i)).second) {
      throw Error(WL_ERR_INVALID_ARGUMENT, "point cache: points " + std::to_string(index_[key]) +
                                               " and " + std::to_string(i) + " share a voxel");
    }
  }
}

void PointCache::render(const PinholeCamera& cam, uint8_t* rgb, float* depth, uint8_t* mask) {
  check_camera(cam, "point cache render");
  if (!rgb) throw Error(WL_ERR_INVALID_ARGUMENT, "point cache render: rgb must not be null");
  const size_t pixels = size_t(cam.width) * cam.height;
  if (!depth) {
    render_depth_.resize(pixels);
    depth = render_depth_.data();
  }
  if (!mask) {
    render_mask_.resize(pixels);
    mask = render_mask_.data();
  }
  fast::splat(ctx(fast::splat_scratch_floats(cam.width, cam.height)), cam, cfg_.splat, size(),
              xyz_.data(), size_.data(), rgb_.data(), rgb, depth, mask);
}

void PointCache::clear() {
  xyz_.clear();
  size_.clear();
  rgb_.clear();
  seen_depth_.clear();
  stamp_.clear();
  index_.clear();
  clock_ = 0;
  evicted_ = 0;
}

void PointCache::restore(int64_t n, const float* xyz, const float* sizes, const uint8_t* rgb,
                         const float* seen_depth, const uint64_t* stamps, uint64_t clock) {
  if (n < 0 || n > cfg_.max_points) {
    throw Error(WL_ERR_INVALID_ARGUMENT, "point cache restore: " + std::to_string(n) +
                                             " points, the cap is " +
                                             std::to_string(cfg_.max_points));
  }
  for (int64_t i = 0; i < n; ++i) {
    for (int a = 0; a < 3; ++a) {
      if (!std::isfinite(xyz[i * 3 + a]))
        throw Error(WL_ERR_INVALID_ARGUMENT,
                    "point cache restore: point " + std::to_string(i) + " is not finite");
    }
    if (!(sizes[i] > 0.f && std::isfinite(sizes[i])) ||
        !(seen_depth[i] > 0.f && std::isfinite(seen_depth[i]))) {
      throw Error(WL_ERR_INVALID_ARGUMENT,
                  "point cache restore: point " + std::to_string(i) + " has a bad size or depth");
    }
    if (stamps[i] > clock)
      throw Error(WL_ERR_INVALID_ARGUMENT, "point cache restore: point " + std::to_string(i) +
                                               " is stamped after the clock");
  }
  PointCache scratch(cfg_,
                     1);  // validate the voxel index on a copy first: a bad save changes nothing
  scratch.xyz_.assign(xyz, xyz + n * 3);
  scratch.rebuild_index();
  xyz_ = std::move(scratch.xyz_);
  index_ = std::move(scratch.index_);
  size_.assign(sizes, sizes + n);
  rgb_.assign(rgb, rgb + n * 3);
  seen_depth_.assign(seen_depth, seen_depth + n);
  stamp_.assign(stamps, stamps + n);
  clock_ = clock;
}

namespace {
constexpr char kMagic[8] = {'W', 'L', 'P', 'C', 'A', 'C', 'H', 'E'};
constexpr uint32_t kSnapshotVersion = 1;

uint64_t fnv1a64(const uint8_t* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

struct Writer {
  std::vector<uint8_t>& out;
  template <class T>
  void put(const T& v) {
    const auto* b = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), b, b + sizeof(T));
  }
  void bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  }
};

struct Reader {
  const uint8_t* p;
  size_t n, at = 0;
  void need(size_t k, const char* what) const {
    if (k > n - at)
      throw Error(WL_ERR_FORMAT, std::string("point cache snapshot: truncated at ") + what);
  }
  template <class T>
  T get(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p + at, sizeof(T));
    at += sizeof(T);
    return v;
  }
  const uint8_t* take(size_t k, const char* what) {
    need(k, what);
    const uint8_t* r = p + at;
    at += k;
    return r;
  }
};
}  // namespace

std::vector<uint8_t> PointCache::snapshot() const {
  std::vector<uint8_t> out;
  const size_t n = size_.size();
  out.reserve(80 + n * 31 + 8);
  Writer w{out};
  w.bytes(kMagic, 8);
  w.put(kSnapshotVersion);
  w.put(uint32_t(0));
  w.put(int64_t(cfg_.max_points));
  w.put(cfg_.voxel);
  w.put(int32_t(cfg_.policy));
  w.put(cfg_.max_depth);
  w.put(cfg_.splat.near_z);
  w.put(cfg_.splat.max_footprint);
  w.put(uint32_t(0));
  w.put(uint64_t(clock_));
  w.put(int64_t(evicted_));
  w.put(int64_t(n));
  w.bytes(xyz_.data(), n * 12);
  w.bytes(size_.data(), n * 4);
  w.bytes(seen_depth_.data(), n * 4);
  w.bytes(stamp_.data(), n * 8);
  w.bytes(rgb_.data(), n * 3);
  w.put(fnv1a64(out.data(), out.size()));
  return out;
}

void PointCache::restore_snapshot(const uint8_t* data, size_t size) {
  if (!data) throw Error(WL_ERR_INVALID_ARGUMENT, "point cache snapshot: data is null");
  auto bad = [](const std::string& m) -> Error {
    return Error(WL_ERR_FORMAT, "point cache snapshot: " + m);
  };
  if (size < 8 || std::memcmp(data, kMagic, 8) != 0)
    throw bad("not a point cache snapshot (bad magic)");
  if (size < 16) throw bad("truncated at the version");
  uint64_t sum;
  std::memcpy(&sum, data + size - 8, 8);
  if (size < 16 + 8 || fnv1a64(data, size - 8) != sum)
    throw bad("checksum mismatch (the bytes are corrupted or truncated)");
  Reader r{data, size - 8};
  r.take(8, "magic");
  const uint32_t version = r.get<uint32_t>("version");
  if (version != kSnapshotVersion) {
    throw bad("version " + std::to_string(version) + " is not supported (this build reads " +
              std::to_string(kSnapshotVersion) + ")");
  }
  r.get<uint32_t>("reserved");
  PointCacheConfig c;
  c.max_points = r.get<int64_t>("max_points");
  c.voxel = r.get<float>("voxel");
  const int32_t policy = r.get<int32_t>("policy");
  if (policy < 0 || policy > 2)
    throw bad("policy " + std::to_string(policy) +
              " is none of newest (0), closest (1), first (2)");
  c.policy = CachePolicy(policy);
  c.max_depth = r.get<float>("max_depth");
  c.splat.near_z = r.get<float>("near_z");
  c.splat.max_footprint = r.get<float>("max_footprint");
  r.get<uint32_t>("reserved");
  const uint64_t clock = r.get<uint64_t>("clock");
  const int64_t evicted = r.get<int64_t>("evicted");
  const int64_t n = r.get<int64_t>("point count");
  if (n < 0 || n > c.max_points || evicted < 0)
    throw bad("point count " + std::to_string(n) + " or evicted count is out of range");
  const size_t un = size_t(n);
  if (r.n - r.at != un * 31) {
    throw bad("holds " + std::to_string(r.n - r.at) + " bytes of points, " + std::to_string(n) +
              " points need " + std::to_string(un * 31));
  }
  std::vector<float> xyz(un * 3), sizes(un), seen(un);
  std::vector<uint64_t> stamps(un);
  std::vector<uint8_t> rgb(un * 3);
  std::memcpy(xyz.data(), r.take(un * 12, "positions"), un * 12);
  std::memcpy(sizes.data(), r.take(un * 4, "sizes"), un * 4);
  std::memcpy(seen.data(), r.take(un * 4, "depths"), un * 4);
  std::memcpy(stamps.data(), r.take(un * 8, "stamps"), un * 8);
  std::memcpy(rgb.data(), r.take(un * 3, "colours"), un * 3);
  try {
    // Validates the settings and every point on a scratch cache; only then is this one replaced.
    PointCache fresh(c, 1);
    fresh.restore(n, xyz.data(), sizes.data(), rgb.data(), seen.data(), stamps.data(), clock);
    cfg_ = fresh.cfg_;
    xyz_ = std::move(fresh.xyz_);
    size_ = std::move(fresh.size_);
    rgb_ = std::move(fresh.rgb_);
    seen_depth_ = std::move(fresh.seen_depth_);
    stamp_ = std::move(fresh.stamp_);
    index_ = std::move(fresh.index_);
    clock_ = clock;
    evicted_ = evicted;
  } catch (const Error& e) {
    throw bad(e.what());
  }
}

}  // namespace wl
