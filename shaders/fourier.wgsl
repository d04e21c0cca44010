// fourier: Fourier features of per-world times, for up to 240 worlds per call (the backend
// splits larger batches): y[b, j] = cos(2 pi t[b] f[j]), y[b, half + j] = sin(2 pi t[b] f[j]).
//
// The argument is rounded as the engine rounds it (PyTorch's f32 `2 * math.pi * t * f`:
// (f32(2 pi) * t) * f). WGSL's sin/cos promise an absolute error of 2^-11 only on [-pi, pi] and
// nothing beyond, so the argument is reduced here by multiples of pi/2 (pi/2 split in three
// parts, Cody and Waite's way, so k * part stays exact for |k| < 2^16) and sin/cos are
// evaluated as Taylor polynomials on [-pi/4, pi/4] (truncation error < 1e-10): the same values,
// to f32 round-off, on every GPU.
struct Params {
  batch: u32,
  half: u32,
  freqs: u32,
  y: u32,
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
  _pad10: u32,
  _pad11: u32,
  // t[b] at [b] (uniform arrays have a 16-byte stride: 4 floats each)
  host: array<vec4f, 60>,
}
@group(0) @binding(0) var<storage, read_write> arena: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

const TWO_PI: f32 = 6.283185307179586;
const TWO_OVER_PI: f32 = 0.6366197723675814;
// pi/2 = HI + MID + LO; HI has 8 significant bits, MID 13.
const PIO2_HI: f32 = 1.5703125;
const PIO2_MID: f32 = 4.837512969970703125e-4;
const PIO2_LO: f32 = 7.549789954891882e-8;

fn sin_poly(r: f32) -> f32 {
  let r2 = r * r;
  // r - r^3/3! + r^5/5! - r^7/7! + r^9/9! - r^11/11!
  let s = 1.0 + r2 * (-1.0 / 6.0 + r2 * (1.0 / 120.0 + r2 * (-1.0 / 5040.0 + r2 * (1.0 / 362880.0 +
      r2 * (-1.0 / 39916800.0)))));
  return r * s;
}

fn cos_poly(r: f32) -> f32 {
  let r2 = r * r;
  // 1 - r^2/2! + r^4/4! - ... + r^12/12!
  return 1.0 + r2 * (-0.5 + r2 * (1.0 / 24.0 + r2 * (-1.0 / 720.0 + r2 * (1.0 / 40320.0 + r2 *
      (-1.0 / 3628800.0 + r2 * (1.0 / 479001600.0))))));
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let total = p.batch * p.half;
  for (var i = gid.x; i < total; i += nwg.x * 64u) {
    let b = i / p.half;
    let j = i - b * p.half;
    let tb = TWO_PI * p.host[b / 4u][b % 4u];
    let arg = tb * arena[p.freqs + j];
    let kf = round(arg * TWO_OVER_PI);
    let r = ((arg - kf * PIO2_HI) - kf * PIO2_MID) - kf * PIO2_LO;
    let s = sin_poly(r);
    let c = cos_poly(r);
    // arg = k pi/2 + r: rotate (cos r, sin r) by the quadrant k mod 4 (two's complement & 3 is
    // the non-negative remainder for negative k too).
    let q = u32(i32(kf)) & 3u;
    var cos_v = c;
    var sin_v = s;
    if (q == 1u) {
      cos_v = -s;
      sin_v = c;
    } else if (q == 2u) {
      cos_v = -c;
      sin_v = -s;
    } else if (q == 3u) {
      cos_v = s;
      sin_v = -c;
    }
    let row = p.y + b * 2u * p.half;
    arena[row + j] = cos_v;
    arena[row + p.half + j] = sin_v;
  }
}
