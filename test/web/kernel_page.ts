// The kernel parity page (bundled by test/web/kernels.test.ts): runs every fixture case of
// native/tests/web_op_fixtures.cc on the WebGPU backend and compares its outputs with ref::'s.
//
// Each case's tensors get their own region of one arena (conv weights in the backend's packed
// size); outputs are filled with NaN first, so an element a kernel never writes cannot pass.
// The results go to window.kernelResults; a failure to start goes to window.kernelError.
import type { OpCall, Slot } from '../../src/web/backend.js';
import { requestWebGpuBackend, type WebGpuBackend } from '../../src/web/webgpu_backend.js';

export interface FixtureTensor {
  name: string;
  role: 'in' | 'weight' | 'world' | 'out';
  type: 'f32' | 'u8';
  count: number;
  offset: number;
  cout?: number;
  cin?: number;
  k?: number;
}

export interface FixtureCase {
  name: string;
  op: string;
  tensors: FixtureTensor[];
  [param: string]: unknown;
}

export interface CaseResult {
  name: string;
  /** max over outputs of |got - ref| / max(1, |ref|); Infinity for NaN/Inf or a differing byte. */
  err: number;
  /** where the worst element is and what it holds */
  worst: string;
  ms: number;
}

export interface KernelTimes {
  /** whether the adapter has timestamp queries */
  timed: boolean;
  /** GPU ms per label */
  labels: Record<string, number>;
}

declare global {
  interface Window {
    kernelResults?: CaseResult[];
    kernelTimes?: KernelTimes;
    kernelError?: string;
  }
}

/** max |got - ref| / max(1, |ref|) over a tensor (Infinity when got holds NaN or Inf). */
function floatError(want: Float32Array, got: Float32Array): { err: number; at: number } {
  let err = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    const e = Number.isFinite(g) ? Math.abs(g - w) / Math.max(1, Math.abs(w)) : Infinity;
    if (e > err || at < 0) {
      err = e;
      at = i;
    }
  }
  return { err, at };
}

async function runCase(be: WebGpuBackend, c: FixtureCase, bin: ArrayBuffer): Promise<CaseResult> {
  const slots = new Map<string, Slot>();
  const worlds = new Map<string, Float32Array>();
  let next = 0;
  for (const t of c.tensors) {
    if (t.role === 'world') {
      worlds.set(t.name, new Float32Array(bin, t.offset, t.count));
      continue;
    }
    slots.set(t.name, next);
    const floats = t.role === 'weight' ? be.convPackedFloats(t.cout!, t.cin!, t.k!) : t.count;
    next += Math.ceil(floats / 64) * 64;
  }
  const slot = (name: string): Slot => {
    const s = slots.get(name);
    if (s === undefined) throw new Error(`${c.name}: no tensor ${name}`);
    return s;
  };
  const opt = (name: string): Slot | undefined => slots.get(name);
  const world = (name: string): Float32Array => worlds.get(name)!;
  const rgb = c.op === 'rgb_f32_to_u8' || c.op === 'rgb_u8_to_f32';
  const { n, h, w } = c as unknown as { n: number; h: number; w: number };

  for (const t of c.tensors) {
    if (t.role === 'world') continue;
    if (t.role === 'out') {
      be.upload(slot(t.name), new Float32Array(t.count).fill(NaN));
    } else if (t.role === 'weight') {
      be.uploadConvWeight(t.cout!, t.cin!, t.k!, new Float32Array(bin, t.offset, t.count), slot(t.name));
    } else if (t.type === 'f32') {
      be.upload(slot(t.name), new Float32Array(bin, t.offset, t.count));
    }
  }
  const t0 = performance.now();
  const call = (() => {
    const p = c as unknown as Record<string, never>;
    switch (c.op) {
      case 'conv2d':
        return { op: 'conv2d', s: p.s, x: slot('x'), w: slot('w'), bias: opt('bias'), residual: opt('residual'), y: slot('y') };
      case 'group_norm':
        return {
          op: 'group_norm',
          s: p.s,
          x: slot('x'),
          p: { gamma: opt('gamma'), beta: opt('beta'), scale: opt('scale'), shift: opt('shift'), silu: p.silu },
          y: slot('y'),
        };
      case 'gn_silu_conv2d':
        return {
          op: 'gn_silu_conv2d',
          gs: p.gs,
          gp: { gamma: opt('gamma'), beta: opt('beta'), scale: opt('scale'), shift: opt('shift'), silu: true },
          cs: p.cs,
          x: slot('x'),
          w: slot('w'),
          bias: opt('bias'),
          residual: opt('residual'),
          y: slot('y'),
        };
      case 'silu':
        return { op: 'silu', n: p.n, x: slot('x'), y: slot('y') };
      case 'add':
        return { op: 'add', n: p.n, a: slot('a'), b: slot('b'), y: slot('y') };
      case 'linear':
        return { op: 'linear', n: p.n, in: p.in, out: p.out, x: slot('x'), w: slot('w'), b: opt('b'), y: slot('y') };
      case 'concat_channels':
        return { op: 'concat_channels', n: p.n, ca: p.ca, cb: p.cb, hw: p.hw, a: slot('a'), b: slot('b'), y: slot('y') };
      case 'upsample_nearest2x':
        return { op: 'upsample_nearest2x', n: p.n, c: p.c, h: p.h, w: p.w, x: slot('x'), y: slot('y') };
      case 'attention':
        return { op: 'attention', s: p.s, qkv: slot('qkv'), y: slot('y') };
      case 'scale_add':
        return {
          op: 'scale_add',
          batch: p.batch,
          per: p.per,
          a: world('a'),
          x: slot('x'),
          c: worlds.get('c'),
          z: opt('z'),
          y: slot('y'),
        };
      case 'fourier':
        return { op: 'fourier', batch: p.batch, half: p.half, t: world('t'), freqs: slot('freqs'), y: slot('y') };
      case 'rgb_u8_to_f32':
      case 'rgb_f32_to_u8':
        return null; // through the transfers
      default:
        throw new Error(`${c.name}: no web op ${c.op}`);
    }
  })() as OpCall | null;

  let err = 0;
  let worst = '';
  if (c.op === 'rgb_u8_to_f32') {
    const x = c.tensors.find((t) => t.name === 'x')!;
    be.uploadRgbU8(n, h, w, new Uint8Array(bin, x.offset, x.count), slot('y'));
  } else if (call) {
    be.run(call);
  }
  for (const t of c.tensors) {
    if (t.role !== 'out') continue;
    if (rgb && t.type === 'u8') {
      const got = await be.downloadRgbU8(n, h, w, slot('x'));
      const want = new Uint8Array(bin, t.offset, t.count);
      const i = want.findIndex((v, j) => v !== got[j]);
      if (i >= 0) {
        err = Infinity;
        worst = `${t.name}[${i}] = ${got[i]}, ref ${want[i]}`;
      }
      continue;
    }
    const got = await be.download(slot(t.name), t.count);
    const want = new Float32Array(bin, t.offset, t.count);
    const e = floatError(want, got);
    if (e.err >= err) {
      err = e.err;
      worst = `${t.name}[${e.at}] = ${got[e.at]}, ref ${want[e.at]}`;
    }
  }
  return { name: c.name, err, worst, ms: performance.now() - t0 };
}

/**
 * GPU times per label (timestamp queries): a conv labelled "conv" and an attention labelled
 * "attention", each run twice with a download between (two submissions), then gpuTimes().
 */
async function labelledTimes(be: WebGpuBackend): Promise<KernelTimes> {
  if (!be.timesGpu) return { timed: false, labels: {} };
  const s = { n: 1, cin: 64, h: 16, w: 16, cout: 64, k: 3, stride: 1, pad: 1 };
  const w = 64 * 16 * 16;
  const y = w + be.convPackedFloats(64, 64, 3);
  await be.gpuTimes(); // drop what the cases left
  for (let i = 0; i < 2; i++) {
    be.setLabel('conv');
    be.run({ op: 'conv2d', s, x: 0, w, y });
    be.setLabel('attention');
    be.run({ op: 'attention', s: { n: 1, c: 128, t: 64, heads: 4 }, qkv: 0, y });
    await be.download(y, 1);
  }
  const times = await be.gpuTimes();
  return { timed: true, labels: Object.fromEntries(times ?? []) };
}

async function main(): Promise<void> {
  const [cases, bin] = await Promise.all([
    fetch('/cases.json').then((r) => r.json() as Promise<{ cases: FixtureCase[] }>),
    fetch('/cases.bin').then((r) => r.arrayBuffer()),
  ]);
  const t0 = performance.now();
  const be = await requestWebGpuBackend();
  console.log(`backend ready (shaders compiled) in ${(performance.now() - t0).toFixed(0)} ms`);
  let arena = 0;
  for (const c of cases.cases) {
    let floats = 0;
    for (const t of c.tensors)
      floats += Math.ceil((t.role === 'weight' ? be.convPackedFloats(t.cout!, t.cin!, t.k!) : t.count) / 64) * 64;
    arena = Math.max(arena, floats);
  }
  await be.allocate(arena);
  const results: CaseResult[] = [];
  const only = new URLSearchParams(location.search).get('only');
  for (const c of cases.cases) {
    if (only && !c.name.includes(only)) continue;
    try {
      results.push(await runCase(be, c, bin));
    } catch (e) {
      results.push({ name: c.name, err: Infinity, worst: `threw: ${(e as Error).message}`, ms: 0 });
    }
  }
  window.kernelTimes = await labelledTimes(be);
  be.destroy();
  window.kernelResults = results;
}

main().catch((e: unknown) => {
  window.kernelError = e instanceof Error ? e.message : String(e);
});
