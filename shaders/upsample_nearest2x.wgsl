// upsample_nearest2x: x [N, C, H, W] -> y [N, C, 2H, 2W], each output pixel copies its source.
struct Params {
  planes: u32, // N * C
  h: u32,
  w: u32,
  x: u32,
  y: u32,
}
@group(0) @binding(0) var<storage, read_write> arena: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let ow = 2u * p.w;
  let per = 4u * p.h * p.w;
  let total = p.planes * per;
  for (var i = gid.x; i < total; i += nwg.x * 256u) {
    let plane = i / per;
    let r = i - plane * per;
    let oy = r / ow;
    let ox = r - oy * ow;
    arena[p.y + i] = arena[p.x + (plane * p.h + oy / 2u) * p.w + ox / 2u];
  }
}
