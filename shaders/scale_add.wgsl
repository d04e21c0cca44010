// scale_add, the sampler's per-world affine step, for up to 120 worlds per call (the backend
// splits larger batches): y[b, i] = a[b] * x[b, i] + c[b] * z[b, i], or a[b] * x[b, i] without z.
// y may alias x or z (each element is read, then written, by one invocation).
struct Params {
  batch: u32,
  per: u32,
  x: u32,
  z: u32,
  y: u32,
  has_z: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
  _pad3: u32,
  _pad4: u32,
  _pad5: u32,
  _pad6: u32,
  _pad7: u32,
  _pad8: u32,
  _pad9: u32,
  // a[b] at [b], c[b] at [batch + b] (uniform arrays have a 16-byte stride: 4 floats each)
  host: array<vec4f, 60>,
}
@group(0) @binding(0) var<storage, read_write> arena: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

fn host_value(i: u32) -> f32 {
  return p.host[i / 4u][i % 4u];
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let total = p.batch * p.per;
  for (var i = gid.x; i < total; i += nwg.x * 256u) {
    let b = i / p.per;
    var v = host_value(b) * arena[p.x + i];
    if (p.has_z != 0u) {
      v += host_value(p.batch + b) * arena[p.z + i];
    }
    arena[p.y + i] = v;
  }
}
