// concat_channels: y[n] = [a[n] (ca channels); b[n] (cb channels)], each channel hw floats.
struct Params {
  n: u32,
  ca: u32,
  cb: u32,
  hw: u32,
  a: u32,
  b: u32,
  y: u32,
}
@group(0) @binding(0) var<storage, read_write> arena: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let per_a = p.ca * p.hw;
  let per_y = (p.ca + p.cb) * p.hw;
  let total = p.n * per_y;
  for (var i = gid.x; i < total; i += nwg.x * 256u) {
    let img = i / per_y;
    let r = i - img * per_y;
    if (r < per_a) {
      arena[p.y + i] = arena[p.a + img * per_a + r];
    } else {
      arena[p.y + i] = arena[p.b + img * (per_y - per_a) + (r - per_a)];
    }
  }
}
