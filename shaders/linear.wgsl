// linear (nn.Linear layout): y[r, o] = sum_i x[r, i] * w[o, i] + b[o].
// A workgroup of 64 invocations computes one output: each sums a strided part of the dot product,
// then a tree reduction adds the parts (rows of w are read contiguously by the workgroup).
struct Params {
  n: u32,
  inputs: u32,
  outputs: u32,
  x: u32,
  w: u32,
  b: u32,
  y: u32,
  has_b: u32,
}
@group(0) @binding(0) var<storage, read_write> arena: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

const WG: u32 = 64u;
var<workgroup> part: array<f32, WG>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  // Outputs beyond the per-dimension workgroup limit fold into y.
  let id = wid.x + wid.y * nwg.x;
  if (id >= p.n * p.outputs) {
    return;
  }
  let r = id / p.outputs;
  let o = id - r * p.outputs;
  var acc = 0.0;
  for (var i = lid; i < p.inputs; i += WG) {
    acc += arena[p.x + r * p.inputs + i] * arena[p.w + o * p.inputs + i];
  }
  part[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      part[lid] += part[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    var v = part[0];
    if (p.has_b != 0u) {
      v += arena[p.b + o];
    }
    arena[p.y + id] = v;
  }
}
