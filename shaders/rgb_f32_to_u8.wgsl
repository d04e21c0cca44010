// rgb_f32_to_u8: planar floats x [N, 3, H, W] in [-1, 1] -> interleaved RGB8 [N, H, W, 3] in the
// byte buffer (4 bytes per u32, little endian), exactly as the engine rounds: clamp((x + 1) *
// 127.5, 0, 255) rounded half away from zero, NaN -> 0.
//
// NaN and infinities are told apart by their bits, not by comparisons: WGSL lets a compiler
// assume no float is NaN or infinite. Clamping x to [-1, 1] first gives the engine's clamp of
// (x + 1) * 127.5 (x > 1 makes it >= 255, x < -1 makes it <= 0) without an overflow.
struct Params {
  n: u32,
  hw: u32,
  x: u32,
}
@group(0) @binding(0) var<storage, read_write> arena: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read_write> bytes: array<u32>;

fn to_byte(x: f32) -> u32 {
  let bits = bitcast<u32>(x);
  let magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) {
    return 0u; // NaN
  }
  if (magnitude == 0x7f800000u) {
    return select(255u, 0u, (bits >> 31u) != 0u); // +inf -> 255, -inf -> 0
  }
  let v = (clamp(x, -1.0, 1.0) + 1.0) * 127.5;
  let f = floor(v);
  // Half away from zero (v >= 0): WGSL's round() rounds half to even. v - f is exact.
  return u32(f) + select(0u, 1u, v - f >= 0.5);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let per = 3u * p.hw;
  let total = p.n * per; // bytes
  let words = (total + 3u) / 4u;
  for (var wi = gid.x; wi < words; wi += nwg.x * 256u) {
    var word = 0u;
    for (var k = 0u; k < 4u; k++) {
      let b = wi * 4u + k;
      if (b < total) {
        let img = b / per;
        let r = b - img * per;
        let px = r / 3u;
        let c = r - px * 3u;
        word |= to_byte(arena[p.x + (img * 3u + c) * p.hw + px]) << (8u * k);
      }
    }
    bytes[wi] = word;
  }
}
