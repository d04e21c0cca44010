// add: y[i] = a[i] + b[i] over n floats of the arena (y may alias a or b).
struct Params {
  n: u32,
  a: u32,
  b: u32,
  y: u32,
}
@group(0) @binding(0) var<storage, read_write> arena: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  for (var i = gid.x; i < p.n; i += nwg.x * 256u) {
    arena[p.y + i] = arena[p.a + i] + arena[p.b + i];
  }
}
