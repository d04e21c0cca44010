// attention: multi-head self-attention over T tokens, qkv [N, 3C, T] (q = channels [0, C),
// k = [C, 2C), v = [2C, 3C)) -> y [N, C, T]; head h uses channels [h d, (h + 1) d), d = C / heads:
// softmax(q k^T / sqrt(d)) v.
//
// One workgroup per (world, head, block of 4 query tokens), the 4 queries carried as the lanes of
// vec4s: the invocations score the keys (a strided share each) into workgroup memory, reduce max
// and sum, then each computes a strided share of the d output channels. Four queries per workgroup
// share every key and value load and every barrier (software adapters pay per barrier and per
// workgroup). T is at most MAX_T (the backend checks).
struct Params {
  n: u32,
  c: u32,
  t: u32,
  heads: u32,
  qkv: u32,
  y: u32,
}
@group(0) @binding(0) var<storage, read_write> arena: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

const WG: u32 = 64u;
const MAX_T: u32 = 512u;
var<workgroup> prob: array<vec4f, MAX_T>; // [key][query lane]
var<workgroup> red: array<vec4f, WG>;

fn reduce_max(lid: u32, v: vec4f) -> vec4f {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] = max(red[lid], red[lid + s]);
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn reduce_sum(lid: u32, v: vec4f) -> vec4f {
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

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let t = p.t;
  let blocks = (t + 3u) / 4u;
  let id = wid.x + wid.y * nwg.x; // (world * heads + head) * blocks + block
  if (id >= p.n * p.heads * blocks) {
    return;
  }
  let i0 = (id % blocks) * 4u;
  let wh = id / blocks;
  let head = wh % p.heads;
  let world = wh / p.heads;
  let d = p.c / p.heads;
  let q = p.qkv + world * 3u * p.c * t + head * d * t;
  let k = q + p.c * t;
  let v = k + p.c * t;
  let scale = 1.0 / sqrt(f32(d));
  // Lanes past the last token repeat it (their results are not written).
  let qi = min(vec4u(i0, i0 + 1u, i0 + 2u, i0 + 3u), vec4u(t - 1u));

  var mx = vec4f(-3.0e38);
  for (var j = lid; j < t; j += WG) {
    var dot = vec4f(0.0);
    for (var cc = 0u; cc < d; cc++) {
      let row = q + cc * t;
      let qv = vec4f(arena[row + qi.x], arena[row + qi.y], arena[row + qi.z], arena[row + qi.w]);
      dot += qv * arena[k + cc * t + j];
    }
    let s = dot * scale;
    prob[j] = s;
    mx = max(mx, s);
  }
  let m = reduce_max(lid, mx);
  var sum = vec4f(0.0);
  for (var j = lid; j < t; j += WG) {
    let e = exp(prob[j] - m);
    prob[j] = e;
    sum += e;
  }
  let total = reduce_sum(lid, sum); // its barriers also publish prob
  let out = p.y + world * p.c * t + head * d * t;
  for (var cc = lid; cc < d; cc += WG) {
    var acc = vec4f(0.0);
    let row = v + cc * t;
    for (var j = 0u; j < t; j++) {
      acc += prob[j] * arena[row + j];
    }
    let o = acc / total;
    let orow = out + cc * t;
    for (var r = 0u; r < 4u; r++) {
      if (i0 + r < t) {
        arena[orow + i0 + r] = o[r];
      }
    }
  }
}
