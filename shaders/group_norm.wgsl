// group_norm in two passes, `stats` and `apply`; gn_silu_conv2d runs `stats` too.
//
// stats: one workgroup per (world n, group g) computes the group's mean and variance (two passes
// over it: the mean first, then the squared deviations, as nn.GroupNorm's definition reads, so
// near-constant groups far from zero keep their precision), then folds GN, the affine gamma/beta
// and the adaptive (1 + scale)/shift into one multiply-add per channel:
//   y = x * coef[n, c].a + coef[n, c].b
// written to the stats buffer as coef[2 (n C + c)], coef[2 (n C + c) + 1].
// apply: y = x * a + b per element, then SiLU when asked.
struct Params {
  n: u32,
  c: u32,
  hw: u32,
  groups: u32,
  eps: f32,
  x: u32,
  y: u32,
  gamma: u32,
  beta: u32,
  scale: u32,
  shift: u32,
  flags: u32, // 1 gamma, 2 beta, 4 scale, 8 shift, 16 silu
}
@group(0) @binding(0) var<storage, read_write> arena: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read_write> coef: array<f32>;

const WG: u32 = 256u;
var<workgroup> red: array<f32, WG>;

fn reduce_sum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(256)
fn stats(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
         @builtin(num_workgroups) nwg: vec3u) {
  let id = wid.x + wid.y * nwg.x; // n * groups + g
  if (id >= p.n * p.groups) {
    return;
  }
  let world = id / p.groups;
  let g = id - world * p.groups;
  let cpg = p.c / p.groups;
  let count = cpg * p.hw;
  let base = p.x + (world * p.c + g * cpg) * p.hw;
  var s = 0.0;
  for (var i = lid; i < count; i += WG) {
    s += arena[base + i];
  }
  let mean = reduce_sum(lid, s) / f32(count);
  var sq = 0.0;
  for (var i = lid; i < count; i += WG) {
    let d = arena[base + i] - mean;
    sq += d * d;
  }
  let rstd = 1.0 / sqrt(reduce_sum(lid, sq) / f32(count) + p.eps);
  for (var cc = lid; cc < cpg; cc += WG) {
    let ch = g * cpg + cc;
    var a = rstd;
    var b = 0.0;
    if ((p.flags & 1u) != 0u) {
      a *= arena[p.gamma + ch];
    }
    b = -mean * a;
    if ((p.flags & 2u) != 0u) {
      b += arena[p.beta + ch];
    }
    if ((p.flags & 4u) != 0u) {
      let m = 1.0 + arena[p.scale + world * p.c + ch];
      a *= m;
      b *= m;
    }
    if ((p.flags & 8u) != 0u) {
      b += arena[p.shift + world * p.c + ch];
    }
    let o = 2u * (world * p.c + ch);
    coef[o] = a;
    coef[o + 1u] = b;
  }
}

@compute @workgroup_size(256)
fn apply(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let total = p.n * p.c * p.hw;
  for (var i = gid.x; i < total; i += nwg.x * 256u) {
    let nc = i / p.hw;
    var v = arena[p.x + i] * coef[2u * nc] + coef[2u * nc + 1u];
    if ((p.flags & 16u) != 0u) {
      v = v / (1.0 + exp(min(-v, 88.0)));
    }
    arena[p.y + i] = v;
  }
}
