// conv2d as an implicit GEMM: out[co, px] = sum_kk w[kk, co] * col[kk, px] (+ bias[co])
// (+ residual), where kk runs over (ci, ky, kx) and px over every output pixel of every world
// (so batched worlds fill the tiles too), col being the input patch gathered on the fly with
// zero padding.
//
// A workgroup of 256 invocations, TY along output channels x TX = 256 / TY along pixels,
// computes a tile of TM = TY RM output channels x TN = TX RN pixels: invocation (tx, ty) owns
// channels ty + TY i (i < RM) and pixels tx + TX j (j < RN), so neighbouring invocations write
// neighbouring pixels. The reduction runs in slices of TK: each slice's weights [TK, TM] and input
// patch [TK, TN] are loaded once into workgroup memory by the whole workgroup, then every
// invocation accumulates its RM x RN outputs in vec4s (four channels per vector when RM = 4, four
// pixels when RM = 1): no private arrays, which software adapters keep in memory. The backend
// picks the tile by shape (webgpu_backend.ts convTile): 64 x 64 for wide layers, 64 x 16 for the
// 4x4 levels, 32 x 128, 16 x 256 and 4 x 256 for the decoder's few-channel, large-plane layers.
//
// Weights are packed by the backend as [Kp, COp] (Kp = cin k k rounded up to 16, COp = cout
// rounded up to 64, zero-filled) so weight loads need no bounds checks and read contiguous rows.
//
// gn_silu_conv2d is this kernel with flag 4: gn_silu_conv2d.wgsl (appended to this file) applies
// group norm + SiLU to every input value as it is loaded, from the coefficients group_norm.wgsl's
// stats pass left; the normalised tensor is never written. Padding positions stay 0: they are the
// padding of the normalised tensor. (One pipeline per tile serves both ops: on software adapters
// each conv pipeline takes seconds to compile, and the flag is a uniform branch.)
override TY: u32 = 16u; // invocations along output channels: 4, 8 or 16
override RM: u32 = 4u; // channels per invocation: 1 or 4
override RN: u32 = 4u; // pixels per invocation: 1 or 4 (4 when RM = 1)
override TK: u32 = 16u; // reduction slice: 8 or 16 (TK TN <= 2048, TK TM <= 1024)
override TX: u32 = 256u / TY;
override TM: u32 = TY * RM;
override TN: u32 = TX * RN;

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
  flags: u32, // 1 bias, 2 residual, 4 group norm + SiLU on load; the kernel size k from bit 8
  cout_padded: u32,
}
@group(0) @binding(0) var<storage, read_write> arena: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

var<workgroup> ws: array<f32, 1024>; // [TK][TM]
var<workgroup> xs: array<f32, 2048>; // [TK][TN]

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
  let ks = p.flags >> 8u;
  let gn_silu = (p.flags & 4u) != 0u;
  let kk2 = ks * ks;
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

  let tx = lid % TX;
  let ty = lid / TX;
  // RM = 4: acc_j holds channels ty + TY i (lanes i) at pixel tx + TX j.
  // RM = 1: acc0 holds channel ty at pixels tx + TX j (lanes j).
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);

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
        let ky = r / ks;
        let kx = r - ky * ks;
        let iy = iy0 + i32(ky);
        let ix = ix0 + i32(kx);
        if (iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w)) {
          v = arena[xbase + ci * hw + u32(iy) * p.w + u32(ix)];
          if (gn_silu) {
            v = gn_silu_input(v, world, ci);
          }
        }
      }
      xs[kk * TN + lpx] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let wr = kk * TM + ty;
      let xr = kk * TN + tx;
      if (RM == 4u) {
        let a = vec4f(ws[wr], ws[wr + TY], ws[wr + 2u * TY], ws[wr + 3u * TY]);
        acc0 += a * xs[xr];
        if (RN == 4u) {
          acc1 += a * xs[xr + TX];
          acc2 += a * xs[xr + 2u * TX];
          acc3 += a * xs[xr + 3u * TX];
        }
      } else {
        acc0 += ws[wr] * vec4f(xs[xr], xs[xr + TX], xs[xr + 2u * TX], xs[xr + 3u * TX]);
      }
    }
    workgroupBarrier();
  }

  var acc = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  for (var j = 0u; j < RN; j++) {
    let px = p0 + tx + TX * j;
    if (px >= np) {
      continue;
    }
    let pw = px / ohw;
    let pr = px - pw * ohw;
    for (var i = 0u; i < RM; i++) {
      let co = m0 + ty + TY * i;
      if (co < p.cout) {
        let o = (pw * p.cout + co) * ohw + pr;
        var v = select(acc[0][j], acc[j][i], RM == 4u);
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
