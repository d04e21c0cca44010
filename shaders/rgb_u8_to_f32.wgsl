// rgb_u8_to_f32: interleaved RGB8 [N, H, W, 3] (the byte buffer, 4 bytes per u32, little
// endian) -> planar floats y [N, 3, H, W] in [-1, 1]: u / 127.5 - 1.
struct Params {
  n: u32,
  hw: u32,
  y: u32,
}
@group(0) @binding(0) var<storage, read_write> arena: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read_write> bytes: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let per = 3u * p.hw;
  let total = p.n * per;
  for (var i = gid.x; i < total; i += nwg.x * 256u) {
    let img = i / per;
    let r = i - img * per;
    let c = r / p.hw;
    let px = r - c * p.hw;
    let b = (img * p.hw + px) * 3u + c;
    let u = (bytes[b / 4u] >> (8u * (b % 4u))) & 0xffu;
    arena[p.y + i] = f32(u) / 127.5 - 1.0;
  }
}
