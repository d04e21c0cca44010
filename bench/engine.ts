/**
 * Engine vs baselines on the CPU, same weights, same thread count, same run (issue 2's benchmark):
 *   ours (C++ engine through the TS API), onnxruntime-node (the same networks exported to ONNX), and
 *   PyTorch CPU (train/bench_cpu.py, when /usr/bin/python3 has torch).
 * One "frame" = N Euler steps of the EDM denoiser + decode to RGB8. Prints JSON lines and a final
 * {"bench":"ratios",...} line: medians over --rounds rounds (default 3) that alternate the runtimes,
 * each ratio taken within its round. Random weights cost the same as trained ones (dense f32 compute).
 *
 *   node dist/bench/engine.js [--threads 2] [--steps 2] [--frames 40] [--rounds 3] [--model file.safetensors]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../src/model.js';
import { projectRoot } from '../src/native.js';
import { emitTiming } from '../src/profiler/result_line.js';
import { machineName } from '../src/profiler/machine.js';
import { parseScriptArgs } from '../src/cli/args.js';
import { summarize } from '../src/profiler/stats.js';

const PY = '/usr/bin/python3';

const args = parseScriptArgs(
  'engine',
  'Usage: node dist/bench/engine.js [--threads 2] [--steps 2] [--frames 40] [--rounds 3] [--model file.safetensors]\n' +
    'Engine vs onnxruntime-node vs PyTorch CPU on the same weights, same threads, same run, in alternating\n' +
    'rounds; the ratios are medians of the per-round ratios (JSON lines).',
  {
    threads: { kind: 'int', min: 1 },
    steps: { kind: 'int', min: 1 },
    frames: { kind: 'int', min: 1 },
    rounds: { kind: 'int', min: 1 },
    model: { kind: 'string' },
  },
);

function hasTorch(): boolean {
  try {
    execFileSync(PY, ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function timeIt(n: number, warmup: number, fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

function karras(steps: number, smin: number, smax: number, rho: number): number[] {
  const lo = smin ** (1 / rho);
  const hi = smax ** (1 / rho);
  const s: number[] = [];
  for (let i = 0; i < steps; i++) s.push((hi + (steps > 1 ? i / (steps - 1) : 0) * (lo - hi)) ** rho);
  return [...s, 0];
}

async function main(): Promise<void> {
  const threads = (args.flags.threads as number | undefined) ?? 2;
  const steps = (args.flags.steps as number | undefined) ?? 2;
  const frames = (args.flags.frames as number | undefined) ?? 40;
  const rounds = (args.flags.rounds as number | undefined) ?? 3;
  const root = projectRoot();
  const dir = join(root, 'build', 'bench-models');
  mkdirSync(dir, { recursive: true });
  const torch = hasTorch();
  let modelPath = args.flags.model as string | undefined;
  if (!modelPath) {
    modelPath = join(dir, 'default-random.safetensors');
    if (!existsSync(modelPath)) {
      if (!torch) throw new Error(`no ${modelPath} and no PyTorch to make it; pass --model`);
      execFileSync(PY, ['-m', 'train', 'export-random', '--out', modelPath], { cwd: root, stdio: 'inherit' });
    }
  }

  // ---- ours ----
  const model = await loadModel(modelPath, { backend: 'cpu', threads });
  const name = model.info.manifest.name;
  const d = model.dims;
  const L = model.latentSize;
  const ctx = new Float32Array(d.context * L).map(() => (Math.random() - 0.5));
  const acts = new Float32Array(d.context * d.actionDim);
  const seeds = new BigUint64Array(1);
  const fr = new BigUint64Array(1);
  const twoCalls = async () => {
    fr[0]++;
    const z = await model.sample({ contextLatents: ctx, contextActions: acts, steps, seeds, frames: fr });
    await model.decode(z);
  };
  // What play uses: one native call per frame (wl_model_step).
  const oneCall = async () => {
    fr[0]++;
    await model.step({ contextLatents: ctx, contextActions: acts, steps, seeds, frames: fr });
  };
  for (let i = 0; i < 3; i++) {
    await twoCalls();
    await oneCall();
  }
  // The two ways alternate frame by frame (which goes first alternates too), so a change in
  // machine load hits both alike; their ratio is the median of the per-frame ratios.
  const runOurs = async (round: number): Promise<{ two: number; step: number }> => {
    const ours: number[] = [];
    const stepMs: number[] = [];
    const stepOverTwo: number[] = [];
    for (let i = 0; i < frames; i++) {
      const order = i % 2 === 0 ? [twoCalls, oneCall] : [oneCall, twoCalls];
      const ms = new Map<() => Promise<void>, number>();
      for (const fn of order) {
        const t0 = performance.now();
        await fn();
        ms.set(fn, performance.now() - t0);
      }
      ours.push(ms.get(twoCalls)!);
      stepMs.push(ms.get(oneCall)!);
      stepOverTwo.push(ms.get(oneCall)! / ms.get(twoCalls)!);
    }
    emitTiming('frame', 'worldloop-cpu', name, ours, { threads, steps, isa: model.info.isa, conv: model.info.conv, calls: 'sample+decode', round });
    emitTiming('frame', 'worldloop-cpu', name, stepMs, { threads, steps, isa: model.info.isa, conv: model.info.conv, calls: 'step', round,
      step_over_two_calls_median: +summarize(stepOverTwo).median.toFixed(3) });
    return { two: summarize(ours).median, step: summarize(stepMs).median };
  };

  // ---- onnxruntime-node ----
  let runOnnx: ((round: number) => Promise<number>) | null = null;
  if (torch) {
    const onnxDir = join(dir, 'onnx');
    const meta = JSON.parse(
      execFileSync(PY, ['-m', 'train.bench_cpu', 'onnx', '--model', modelPath, '--out-dir', onnxDir], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'ignore'],
      }).toString().trim().split('\n').pop()!,
    );
    const ort = await import('onnxruntime-node');
    const opts = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' as const };
    try {
      const den = await ort.InferenceSession.create(meta.denoise, opts);
      const dec = await ort.InferenceSession.create(meta.decode, opts);
      const sig = karras(steps, meta.edm.sigma_min, meta.edm.sigma_max, meta.edm.rho);
      const sd = meta.edm.sigma_data as number;
      const shape = [1, d.latentChannels, d.latentHeight, d.latentWidth];
      const x = new Float32Array(L);
      const rgb = new Uint8Array(d.frameHeight * d.frameWidth * 3);
      const t = (v: Float32Array, sh: number[]) => new ort.Tensor('float32', v, sh);
      const ctxT = t(ctx, [1, d.context, d.latentChannels, d.latentHeight, d.latentWidth]);
      const actT = t(acts, [1, d.context, d.actionDim]);
      const zero = t(new Float32Array(1), [1]);
      runOnnx = async (round: number) => {
        const onnx = await timeIt(frames, round === 0 ? 3 : 1, async () => {
          for (let i = 0; i < L; i++) x[i] = (Math.random() - 0.5) * sig[0]!;
          for (let i = 0; i < steps; i++) {
            const s = sig[i]!;
            const r = await den.run({
              x: t(x, shape),
              c_skip: t(Float32Array.of((sd * sd) / (s * s + sd * sd)), [1]),
              c_out: t(Float32Array.of((s * sd) / Math.sqrt(s * s + sd * sd)), [1]),
              c_in: t(Float32Array.of(1 / Math.sqrt(s * s + sd * sd)), [1]),
              c_noise: t(Float32Array.of(Math.log(s) / 4), [1]),
              context: ctxT,
              actions: actT,
              ctx_sigma: zero,
            });
            const D = r.denoised!.data as Float32Array;
            const dt = sig[i + 1]! - s;
            for (let j = 0; j < L; j++) x[j] = x[j]! + (dt * (x[j]! - D[j]!)) / s;
          }
          for (let j = 0; j < L; j++) x[j] = x[j]! / meta.latent_scale;
          const out = (await dec.run({ z: t(x, shape) })).frame!.data as Float32Array;
          const hw = d.frameHeight * d.frameWidth;
          for (let p = 0; p < hw; p++) {
            for (let c = 0; c < 3; c++) {
              const v = Math.round((out[c * hw + p]! + 1) * 127.5);
              rgb[p * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
            }
          }
        });
        emitTiming('frame', 'onnxruntime-node-cpu', name, onnx, { threads, steps, round });
        return summarize(onnx).median;
      };
    } catch (e) {
      // e.g. a memory model's export that onnxruntime refuses: say so and keep the other rows.
      console.log(JSON.stringify({ bench: 'note', message: `onnxruntime-node cannot run ${modelPath}: ${String(e).split('\n')[0]}` }));
    }
  } else {
    console.log(JSON.stringify({ bench: 'note', message: 'PyTorch not installed for /usr/bin/python3: ONNX and PyTorch baselines skipped' }));
  }

  // ---- PyTorch CPU ----
  const runTorch = (round: number): number | undefined => {
    const lines = execFileSync(
      PY,
      ['-m', 'train.bench_cpu', 'torch', '--model', modelPath, '--threads', String(threads),
        '--steps', String(steps), '--frames', String(Math.max(5, Math.min(frames, 15)))],
      { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] },
    ).toString().trim().split('\n');
    let median: number | undefined;
    for (const l of lines) {
      const j = JSON.parse(l);
      console.log(JSON.stringify({ ...j, round }));
      if (j.bench === 'frame') median = j.median_ms;
    }
    return median;
  };

  // Rounds alternate the runtimes (ours, onnxruntime, PyTorch, then again), and each ratio is
  // taken within a round, so one noisy stretch of a shared machine cannot decide the result:
  // the reported ratio is the median over rounds.
  const onnxOverOurs: number[] = [];
  const torchOverOurs: number[] = [];
  const oursMs: number[] = [];
  const oursStepMs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const ours = await runOurs(round);
    oursMs.push(ours.two);
    oursStepMs.push(ours.step);
    if (runOnnx) onnxOverOurs.push((await runOnnx(round)) / ours.two);
    if (torch) {
      const tm = runTorch(round);
      if (tm !== undefined) torchOverOurs.push(tm / ours.two);
    }
  }
  const { isa, conv } = model.info;
  await model.close();

  const med = (v: number[]) => (v.length ? +summarize(v).median.toFixed(2) : null);
  console.log(JSON.stringify({
    bench: 'ratios', machine: machineName(), model: name, threads, steps, rounds, isa, conv,
    ours_median_ms: med(oursMs),
    ours_step_median_ms: med(oursStepMs),
    onnx_over_ours: med(onnxOverOurs),
    torch_over_ours: med(torchOverOurs),
    onnx_over_ours_per_round: onnxOverOurs.map((r) => +r.toFixed(2)),
    torch_over_ours_per_round: torchOverOurs.map((r) => +r.toFixed(2)),
    target_frame_ms: 33, stretch_frame_ms: 16.7,
  }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
