// silu: y[i] = x[i] / (1 + exp(-x[i])) over n floats of the arena (y may alias x).
struct Params {
  n: u32,
  x: u32,
  y: u32,
}
@group(0) @binding(0) var<storage, read_write> arena: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  // Grid-stride: the dispatch is capped at the per-dimension workgroup limit.
  for (var i = gid.x; i < p.n; i += nwg.x * 256u) {
    let v = arena[p.x + i];
    // exp(-v) overflows past 88: clamp so no infinity reaches the division (WGSL lets a compiler
    // assume there are none); the result for v < -88 is then ~1e-38 instead of ~0, both round-off.
    arena[p.y + i] = v / (1.0 + exp(min(-v, 88.0)));
  }
}
