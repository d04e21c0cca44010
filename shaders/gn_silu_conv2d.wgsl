// gn_silu_conv2d: group norm -> SiLU -> conv without writing the normalised tensor. Appended to
// conv2d.wgsl: group_norm.wgsl's `stats` pass has left each (world, channel)'s GN, affine and
// adaptive scale/shift folded into one multiply-add in the stats buffer, which the convolution
// applies, followed by SiLU, to every input value as it loads it into workgroup memory.
@group(0) @binding(2) var<storage, read_write> coef: array<f32>;

fn conv_input(v: f32, world: u32, ci: u32) -> f32 {
  let o = 2u * (world * p.cin + ci);
  let u = v * coef[o] + coef[o + 1u];
  return u / (1.0 + exp(min(-u, 88.0)));
}
