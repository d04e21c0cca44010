#include "model/layers.h"

#include <set>

#include "capi/error.h"
#include "model/safetensors.h"

namespace wl {

Slot ArenaPlan::take(size_t floats) {
  constexpr size_t kAlign = 16;  // floats = 64 bytes
  const Slot s = top_;
  top_ += (floats + kAlign - 1) / kAlign * kAlign;
  if (top_ > high_) high_ = top_;
  return s;
}

namespace {
uint64_t numel_of(const std::vector<int64_t>& shape) {
  uint64_t n = 1;
  for (int64_t d : shape) n *= uint64_t(d);
  return n;
}
}  // namespace

void WeightTable::check_new(const std::string& name, const std::vector<int64_t>& shape,
                            Part part) {
  for (const Entry& e : entries_)
    if (e.name == name)
      throw Error(WL_ERR_INTERNAL, "weight \"" + name + "\" requested twice");
  // Existence and shape are checked here, before anything is allocated, so a bad file fails fast.
  const TensorInfo* t = file_.find(name);
  if (!t)
    throw Error(WL_ERR_FORMAT, file_.display_name() + ": missing tensor \"" + name +
                                   "\" (expected shape " + shape_string(shape) + ")");
  if (t->shape != shape)
    throw Error(WL_ERR_FORMAT, file_.display_name() + ": tensor \"" + name + "\" has shape " +
                                   shape_string(t->shape) + ", the manifest implies " +
                                   shape_string(shape));
  if (t->nan_count || t->inf_count)
    non_finite_.push_back(name + ": " + std::to_string(t->nan_count) + " NaN, " +
                          std::to_string(t->inf_count) + " Inf");
  // Fourier frequencies are buffers, not parameters (PyTorch's parameter count excludes them).
  const bool is_buffer = name.size() >= 6 && name.compare(name.size() - 6, 6, ".freqs") == 0;
  if (!is_buffer) params_[int(part)] += numel_of(shape);
}

Slot WeightTable::tensor(const std::string& name, const std::vector<int64_t>& shape, Part part,
                         float scale) {
  check_new(name, shape, part);
  const Slot s = plan_.take(numel_of(shape));
  entries_.push_back(Entry{name, shape, s, false, 0, 0, 0, scale});
  return s | kWeightSlot;
}

Slot WeightTable::conv(const std::string& name, int cout, int cin, int k, Part part,
                       float scale) {
  const std::vector<int64_t> shape = {cout, cin, k, k};
  check_new(name, shape, part);
  const Slot s = plan_.take(backend_.conv_packed_floats(cout, cin, k));
  entries_.push_back(Entry{name, shape, s, true, cout, cin, k, scale});
  return s | kWeightSlot;
}

void WeightTable::load(float* base) {  // base = weight region
  std::vector<float> host;
  for (const Entry& e : entries_) {
    host.resize(numel_of(e.shape));
    file_.to_f32(e.name, e.shape, host.data());
    if (e.scale != 1.0f)
      for (float& v : host) v *= e.scale;
    if (e.conv)
      backend_.upload_conv_weight(e.cout, e.cin, e.k, host.data(), base + e.slot);
    else
      backend_.upload(base + e.slot, host.data(), host.size());
  }
}

std::vector<std::string> WeightTable::unused() const {
  std::set<std::string> used;
  for (const Entry& e : entries_) used.insert(e.name);
  std::vector<std::string> out;
  for (const TensorInfo& t : file_.tensors())
    if (!used.count(t.name)) out.push_back(t.name);
  return out;
}

Act plan_act(BuildCtx& b, int c, int h, int w) {
  Act a;
  a.c = c;
  a.h = h;
  a.w = w;
  a.slot = b.plan.take(size_t(b.batch) * a.per());
  return a;
}

ConvShape Conv::shape(int n, int h, int w) const {
  ConvShape s;
  s.n = n;
  s.cin = cin;
  s.h = h;
  s.w = w;
  s.cout = cout;
  s.k = k;
  s.stride = stride;
  s.pad = k / 2;
  return s;
}

Conv plan_conv(BuildCtx& b, const std::string& prefix, int cin, int cout, int k, int stride,
               float w_scale, float b_scale) {
  Conv c;
  c.cin = cin;
  c.cout = cout;
  c.k = k;
  c.stride = stride;
  c.w = b.weights.conv(prefix + ".weight", cout, cin, k, b.part, w_scale);
  c.b = b.weights.tensor(prefix + ".bias", {cout}, b.part, b_scale);
  return c;
}

Norm plan_norm(BuildCtx& b, const std::string& prefix, int c, int groups) {
  Norm n;
  n.c = c;
  n.groups = groups;
  n.gamma = b.weights.tensor(prefix + ".weight", {c}, b.part);
  n.beta = b.weights.tensor(prefix + ".bias", {c}, b.part);
  return n;
}

namespace {

AdaNorm plan_ada(BuildCtx& b, const std::string& prefix, int c, int groups, int cond_dim) {
  AdaNorm a;
  a.c = c;
  a.groups = groups;
  a.cond_dim = cond_dim;
  a.w = b.weights.tensor(prefix + ".linear.weight", {2 * c, cond_dim}, b.part);
  a.b = b.weights.tensor(prefix + ".linear.bias", {2 * c}, b.part);
  a.scale = b.plan.take(size_t(b.batch) * c);
  a.shift = b.plan.take(size_t(b.batch) * c);
  return a;
}

GroupNormShape gn_shape(int n, int c, int h, int w, int groups) {
  GroupNormShape s;
  s.n = n;
  s.c = c;
  s.hw = h * w;
  s.groups = groups;
  s.eps = kGroupNormEps;
  return s;
}

AttentionLayer plan_attention(BuildCtx& b, const std::string& prefix, int c, int h, int w,
                              int groups, int heads) {
  AttentionLayer a;
  a.c = c;
  a.heads = heads;
  a.norm = plan_norm(b, prefix + ".norm", c, groups);
  a.qkv = plan_conv(b, prefix + ".qkv", c, 3 * c, 1, 1);
  a.proj = plan_conv(b, prefix + ".proj", c, c, 1, 1);
  a.normed = plan_act(b, c, h, w);
  a.qkv_out = plan_act(b, 3 * c, h, w);
  a.attn_out = plan_act(b, c, h, w);
  a.out = plan_act(b, c, h, w);
  b.backend.reserve_conv(a.qkv.shape(b.batch, h, w));
  b.backend.reserve_conv(a.proj.shape(b.batch, h, w));
  // Scratch needs grow with the batch, so the max_batch shape bounds every call.
  b.backend.reserve_attention(AttentionShape{b.batch, c, h * w, heads});
  return a;
}

}  // namespace

ResBlockLayer plan_resblock(BuildCtx& b, const std::string& prefix, int cin, int cout, int h,
                            int w, int groups, int cond_dim, int heads) {
  ResBlockLayer r;
  r.cin = cin;
  r.cout = cout;
  r.h = h;
  r.w = w;
  r.adaptive = cond_dim > 0;
  if (r.adaptive) {
    r.ada1 = plan_ada(b, prefix + ".norm1", cin, groups, cond_dim);
    r.ada2 = plan_ada(b, prefix + ".norm2", cout, groups, cond_dim);
  } else {
    r.norm1 = plan_norm(b, prefix + ".norm1", cin, groups);
    r.norm2 = plan_norm(b, prefix + ".norm2", cout, groups);
  }
  r.conv1 = plan_conv(b, prefix + ".conv1", cin, cout, 3, 1);
  r.conv2 = plan_conv(b, prefix + ".conv2", cout, cout, 3, 1);
  r.has_skip = cin != cout;
  if (r.has_skip) {
    r.skip = plan_conv(b, prefix + ".skip", cin, cout, 1, 1);
    r.skip_out = plan_act(b, cout, h, w);
    b.backend.reserve_conv(r.skip.shape(b.batch, h, w));
  }
  r.mid = plan_act(b, cout, h, w);
  r.out = plan_act(b, cout, h, w);
  b.backend.reserve_gn_silu_conv(gn_shape(b.batch, cin, h, w, groups),
                                 r.conv1.shape(b.batch, h, w));
  b.backend.reserve_gn_silu_conv(gn_shape(b.batch, cout, h, w, groups),
                                 r.conv2.shape(b.batch, h, w));
  r.has_attention = heads > 0;
  if (r.has_attention) r.attn = plan_attention(b, prefix + ".attn", cout, h, w, groups, heads);
  return r;
}

void run_ada_linear(const Exec& e, const AdaNorm& a, const float* cond) {
  // The Linear's first c outputs are the scale, the next c the shift: two row ranges of one
  // weight, each written to its own contiguous [n, c] buffer.
  const float* w = e.at(a.w);
  const float* bias = e.at(a.b);
  e.be.linear(e.n, a.cond_dim, a.c, cond, w, bias, e.at(a.scale));
  e.be.linear(e.n, a.cond_dim, a.c, cond, w + size_t(a.c) * a.cond_dim, bias + a.c,
              e.at(a.shift));
}

void run_conv(const Exec& e, const Conv& c, int h, int w, const float* x, float* y,
              const float* residual) {
  e.be.conv2d(c.shape(e.n, h, w), x, e.at(c.w), e.at(c.b), residual, y);
}

namespace {

GroupNormParams norm_params(const Exec& e, const ResBlockLayer& r, int which) {
  GroupNormParams p;
  p.silu = true;
  if (r.adaptive) {
    const AdaNorm& a = which == 1 ? r.ada1 : r.ada2;
    p.scale = e.at(a.scale);
    p.shift = e.at(a.shift);
  } else {
    const Norm& n = which == 1 ? r.norm1 : r.norm2;
    p.gamma = e.at(n.gamma);
    p.beta = e.at(n.beta);
  }
  return p;
}

int groups_of(const ResBlockLayer& r) { return r.adaptive ? r.ada1.groups : r.norm1.groups; }

}  // namespace

void run_resblock(const Exec& e, const ResBlockLayer& r, const float* x) {
  const int g = groups_of(r);
  float* mid = e.at(r.mid);
  float* out = e.at(r.out);
  e.be.gn_silu_conv2d(gn_shape(e.n, r.cin, r.h, r.w, g), norm_params(e, r, 1),
                      r.conv1.shape(e.n, r.h, r.w), x, e.at(r.conv1.w), e.at(r.conv1.b), nullptr,
                      mid);
  const float* residual = x;
  if (r.has_skip) {
    run_conv(e, r.skip, r.h, r.w, x, e.at(r.skip_out));
    residual = e.at(r.skip_out);
  }
  e.be.gn_silu_conv2d(gn_shape(e.n, r.cout, r.h, r.w, g), norm_params(e, r, 2),
                      r.conv2.shape(e.n, r.h, r.w), mid, e.at(r.conv2.w), e.at(r.conv2.b),
                      residual, out);
  if (!r.has_attention) return;
  const AttentionLayer& a = r.attn;
  GroupNormParams np;
  np.gamma = e.at(a.norm.gamma);
  np.beta = e.at(a.norm.beta);
  e.be.group_norm(gn_shape(e.n, a.c, r.h, r.w, a.norm.groups), out, np, e.at(a.normed));
  run_conv(e, a.qkv, r.h, r.w, e.at(a.normed), e.at(a.qkv_out));
  e.be.attention(AttentionShape{e.n, a.c, r.h * r.w, a.heads}, e.at(a.qkv_out), e.at(a.attn_out));
  run_conv(e, a.proj, r.h, r.w, e.at(a.attn_out), e.at(a.out), out);
}

}  // namespace wl
