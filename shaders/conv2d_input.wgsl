// conv2d's input as it is in the arena (appended to conv2d.wgsl to make the plain convolution).
fn conv_input(v: f32, world: u32, ci: u32) -> f32 {
  return v;
}
