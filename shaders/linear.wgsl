// linear (nn.Linear layout): y[r, o] = sum_i x[r, i] * w[o, i] + b[o].
// One invocation per output value: the networks' linears are small (the conditioning MLP and the
// ResBlocks' scale/shift projections, a few hundred outputs of a few hundred inputs), where a
// workgroup reduction per output spent most of its time in barriers (10% of a frame on
// SwiftShader) and a plain loop reads each weight row once, from cache on a GPU.
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

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let total = p.n * p.outputs;
  for (var id = gid.x; id < total; id += nwg.x * 64u) {
    let r = id / p.outputs;
    let o = id - r * p.outputs;
    let xr = p.x + r * p.inputs;
    let wr = p.w + o * p.inputs;
    var acc = 0.0;
    for (var i = 0u; i < p.inputs; i++) {
      acc += arena[xr + i] * arena[wr + i];
    }
    if (p.has_b != 0u) {
      acc += arena[p.b + o];
    }
    arena[p.y + id] = acc;
  }
}
