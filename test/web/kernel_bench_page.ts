// Kernel timing page: the default model's heaviest op calls on the WebGPU backend, each recorded
// `reps` times and flushed once, best of three rounds; wall-clock ms per call (the adapter's, e.g. SwiftShader's).
// Driven by test/web/kernel_bench.test.ts (WL_WEB_KERNEL_BENCH=1): ?reps=N&only=<label part>;
// results in window.benchResults.
import type { ConvShape, OpCall } from '../../src/web/backend.js';
import { requestWebGpuBackend } from '../../src/web/webgpu_backend.js';

declare global {
  interface Window {
    benchResults?: { label: string; ms: number }[];
    benchAdapter?: string;
    benchError?: string;
  }
}

interface BenchCase {
  label: string;
  call: OpCall;
  /** floats of the input and output regions; conv weights get their packed size in between */
  x: number;
  y: number;
  conv?: ConvShape;
}

function conv(label: string, s: ConvShape, fused: boolean): BenchCase {
  const oh = Math.floor((s.h + 2 * s.pad - s.k) / s.stride) + 1;
  const x = s.n * s.cin * s.h * s.w;
  const y = s.n * s.cout * oh * oh;
  const gs = { n: s.n, c: s.cin, hw: s.h * s.w, groups: 8, eps: 1e-5 };
  const call: OpCall = fused
    ? { op: 'gn_silu_conv2d', gs, gp: { silu: true }, cs: s, x: 0, w: 0, bias: 0, y: 0 }
    : { op: 'conv2d', s, x: 0, w: 0, bias: 0, y: 0 };
  return { label, call, x, y, conv: s };
}

async function main(): Promise<void> {
  const q = new URLSearchParams(location.search);
  const reps = Number(q.get('reps') ?? '5');
  const only = q.get('only');
  const be = await requestWebGpuBackend();
  const c = (n: number, cin: number, h: number, cout: number, k = 3, stride = 1): ConvShape => ({
    n, cin, h, w: h, cout, k, stride, pad: k === 3 ? 1 : 0,
  });
  const attention = (label: string, n: number, ch: number, t: number): BenchCase => ({
    label,
    call: { op: 'attention', s: { n, c: ch, t, heads: 4 }, qkv: 0, y: 0 },
    x: n * 3 * ch * t,
    y: n * ch * t,
  });
  const all: BenchCase[] = [
    conv('conv 72->64 16x16', c(1, 72, 16, 64), false),
    conv('gn_silu_conv 64->64 16x16', c(1, 64, 16, 64), true),
    conv('gn_silu_conv 128->128 8x8', c(1, 128, 8, 128), true),
    conv('gn_silu_conv 192->192 4x4', c(1, 192, 4, 192), true),
    conv('conv 384->192 4x4', c(1, 384, 4, 192), false),
    conv('conv 128->384 8x8 k1', c(1, 128, 8, 384, 1), false),
    conv('gn_silu_conv 128->128 16x16', c(1, 128, 16, 128), true),
    conv('gn_silu_conv 64->64 32x32', c(1, 64, 32, 64), true),
    conv('gn_silu_conv 32->32 64x64', c(1, 32, 64, 32), true),
    conv('gn_silu_conv 16->16 128x128', c(1, 16, 128, 16), true),
    conv('conv 32->16 128x128', c(1, 32, 128, 16), false),
    conv('gn_silu_conv 16->3 128x128', c(1, 16, 128, 3), true),
    conv('gn_silu_conv 192->192 4x4 n8', c(8, 192, 4, 192), true),
    attention('attention 128 t64 h4', 1, 128, 64),
    attention('attention 192 t16 h4', 1, 192, 16),
  ];
  const cases = all.filter((k) => !only || k.label.includes(only));
  const wFloats = (k: BenchCase): number => (k.conv ? be.convPackedFloats(k.conv.cout, k.conv.cin, k.conv.k) : 0);
  let arena = 0;
  for (const k of cases) arena = Math.max(arena, k.x + wFloats(k) + (k.conv?.cout ?? 0) + k.y);
  await be.allocate(arena);
  const results: { label: string; ms: number }[] = [];
  for (const k of cases) {
    const w = k.x;
    const bias = w + wFloats(k);
    const y = bias + (k.conv?.cout ?? 0);
    const call = { ...k.call, y } as OpCall;
    if (call.op === 'conv2d' || call.op === 'gn_silu_conv2d') Object.assign(call, { w, bias });
    be.upload(0, new Float32Array(k.x).map(() => Math.random() - 0.5));
    be.run(call); // warm-up
    await be.flush();
    // The best of three rounds: the machines this runs on are shared.
    let best = Infinity;
    for (let round = 0; round < 3; round++) {
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) be.run(call);
      await be.flush();
      best = Math.min(best, (performance.now() - t0) / reps);
    }
    results.push({ label: k.label, ms: best });
  }
  be.destroy();
  window.benchAdapter = be.adapter;
  window.benchResults = results;
}

main().catch((e: unknown) => {
  window.benchError = e instanceof Error ? e.message : String(e);
});
