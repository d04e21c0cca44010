// conv2d as an implicit GEMM: out[co, px] = sum_kk w[kk, co] * col[kk, px] (+ bias[co])
// (+ residual), where kk runs over (ci, ky, kx) and px over every output pixel of every world
// (so batched worlds fill the tiles too), col being the input patch gathered on the fly with
// zero padding.
//
// A workgroup of 16 x 16 invocations computes a tile of TM output channels x TN pixels; the
// reduction runs in slices of TK: each slice's weights [TK, TM] and input patch [TK, TN] are
// loaded once into workgroup memory by the whole workgroup, then every invocation accumulates
// its TM/16 x TN/16 outputs (channels ty + 16 i, pixels tx + 16 j: neighbouring invocations write
// neighbouring pixels). The backend picks TN = 64 for large planes and 16 for the 4x4 levels.
//
// Weights are packed by the backend as [Kp, COp] (Kp = cin k k rounded up to TK, COp = cout
// rounded up to 64, zero-filled) so weight loads need no bounds checks and read contiguous rows.
//
// Input values pass through conv_input(v, world, ci) as they are loaded: conv2d_input.wgsl
// (identity) makes this conv2d, gn_silu_conv2d.wgsl (group norm + SiLU) the fused op. Padding
// positions stay 0: they are the padding of the normalised tensor.
override TN: u32 = 64u; // pixels per tile: 64 or 16
override KS: u32 = 3u; // kernel size (divisions by it become constants)
const TM: u32 = 64u; // output channels per tile
const TK: u32 = 16u; // reduction slice
const RM: u32 = TM / 16u;

struct Params {
  n: u32,
  cin: u32,
  h: u32,
  w: u32,
  cout: u32,
  stride: u32,
  pad: u32,
  oh: u32,
  ow: u32,
  x: u32,
  wt: u32,
  bias: u32,
  residual: u32,
  y: u32,
  flags: u32, // 1 bias, 2 residual
  cout_padded: u32,
}
@group(0) @binding(0) var<storage, read_write> arena: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

var<workgroup> ws: array<f32, 1024>; // [TK][TM]
var<workgroup> xs: array<f32, 1024>; // [TK][TN]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3u) {
  let ohw = p.oh * p.ow;
  let np = p.n * ohw;
  let pixel_tiles = (np + TN - 1u) / TN;
  // Pixel tiles beyond the per-dimension workgroup limit fold into z.
  let pt = wid.x + wid.z * nwg.x;
  if (pt >= pixel_tiles) {
    return;
  }
  let p0 = pt * TN;
  let m0 = wid.y * TM;
  let kk2 = KS * KS;
  let kdim = p.cin * kk2;
  let hw = p.h * p.w;

  // The pixel this invocation gathers for the input patch: the same one in every slice.
  let lpx = lid % TN;
  let lrow = lid / TN;
  let gp = p0 + lpx;
  let valid = gp < np;
  let world = select(0u, gp / ohw, valid);
  let rem = gp - world * ohw;
  let oy = rem / p.ow;
  let ox = rem - oy * p.ow;
  let iy0 = i32(oy * p.stride) - i32(p.pad);
  let ix0 = i32(ox * p.stride) - i32(p.pad);
  let xbase = p.x + world * p.cin * hw;

  let tx = lid % 16u;
  let ty = lid / 16u;
  let rn = TN / 16u;
  var acc: array<f32, 16>; // [RM][rn], rn <= 4

  for (var k0 = 0u; k0 < kdim; k0 += TK) {
    for (var e = lid; e < TK * TM; e += 256u) {
      let kk = e / TM;
      ws[e] = arena[p.wt + (k0 + kk) * p.cout_padded + m0 + (e - kk * TM)];
    }
    for (var kk = lrow; kk < TK; kk += 256u / TN) {
      let kg = k0 + kk;
      var v = 0.0;
      if (valid && kg < kdim) {
        let ci = kg / kk2;
        let r = kg - ci * kk2;
        let ky = r / KS;
        let kx = r - ky * KS;
        let iy = iy0 + i32(ky);
        let ix = ix0 + i32(kx);
        if (iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w)) {
          v = conv_input(arena[xbase + ci * hw + u32(iy) * p.w + u32(ix)], world, ci);
        }
      }
      xs[kk * TN + lpx] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      var a: array<f32, RM>;
      for (var i = 0u; i < RM; i++) {
        a[i] = ws[kk * TM + ty + 16u * i];
      }
      for (var j = 0u; j < rn; j++) {
        let b = xs[kk * TN + tx + 16u * j];
        for (var i = 0u; i < RM; i++) {
          acc[i * 4u + j] += a[i] * b;
        }
      }
    }
    workgroupBarrier();
  }

  for (var j = 0u; j < rn; j++) {
    let px = p0 + tx + 16u * j;
    if (px >= np) {
      continue;
    }
    let pw = px / ohw;
    let pr = px - pw * ohw;
    for (var i = 0u; i < RM; i++) {
      let co = m0 + ty + 16u * i;
      if (co < p.cout) {
        let o = (pw * p.cout + co) * ohw + pr;
        var v = acc[i * 4u + j];
        if ((p.flags & 1u) != 0u) {
          v += arena[p.bias + co];
        }
        if ((p.flags & 2u) != 0u) {
          v += arena[p.residual + o];
        }
        arena[p.y + o] = v;
      }
    }
  }
}
