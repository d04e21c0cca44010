// gn_silu_conv2d: group norm -> SiLU -> conv without writing the normalised tensor. Appended to
// conv2d.wgsl, which calls gn_silu_input on every input value it loads into workgroup memory when
// its flag 4 is set. group_norm.wgsl's `stats` pass, dispatched just before, has left each (world,
// channel)'s GN, affine gamma/beta and adaptive (1 + scale)/shift folded into one multiply-add in
// the coefficient buffer; this applies it, then SiLU.
@group(0) @binding(2) var<storage, read_write> coef: array<f32>;

fn gn_silu_input(v: f32, world: u32, ci: u32) -> f32 {
  let o = 2u * (world * p.cin + ci);
  let u = v * coef[o] + coef[o + 1u];
  // exp(-u) is clamped below overflow: WGSL lets a compiler assume no infinities.
  return u / (1.0 + exp(min(-u, 88.0)));
}
