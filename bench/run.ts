/**
 * `npm run bench`: every benchmark, one after another (never in parallel: they would measure each
 * other), each printing JSON lines with machine, backend, model and median/p95/p99.
 *   1. C++ per-op GFLOP/s and fraction of peak   (build/bench/bench_ops)
 *   2. C++ per-network ms via the C ABI           (build/bench/bench_model; includes the frame's
 *      per-stage breakdown and the one-call step against two calls)
 *   3. ground-truth world frames/s               (build/bench/bench_world)
 *   4. engine vs onnxruntime-node vs PyTorch CPU  (bench/engine.ts; random and shipped weights,
 *      alternating rounds, medians of per-round ratios)
 * Pass --quick for fewer repetitions. Set WL_BENCH_ONLY=ops,model,world,engine to pick.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../src/native.js';
import { parseScriptArgs } from '../src/cli/args.js';

const root = projectRoot();
const quick =
  parseScriptArgs(
    'run',
    'Usage: npm run bench [-- --quick]\n' +
      'Every benchmark in turn (JSON lines). WL_BENCH_ONLY=ops,model,world,engine picks; WL_BENCH_THREADS=1|2.',
    { quick: { kind: 'boolean' } },
  ).flags.quick === true;
const only = process.env.WL_BENCH_ONLY?.split(',');
const threads = String(Math.min(2, Math.max(1, Number(process.env.WL_BENCH_THREADS ?? 2))));

function run(name: string, cmd: string, args: string[]): void {
  if (only && !only.includes(name)) return;
  if (cmd !== process.execPath && cmd !== '/usr/bin/python3' && !existsSync(cmd)) {
    console.log(JSON.stringify({ bench: 'note', message: `${name}: ${cmd} not built (npm run build)` }));
    return;
  }
  console.error(`# bench ${name}: ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    console.log(JSON.stringify({ bench: 'note', message: `${name} exited with ${r.status}` }));
  }
}

const modelDir = join(root, 'build', 'bench-models');
const model = join(modelDir, 'default-random.safetensors');
if (!existsSync(model) && (!only || only.includes('model') || only.includes('engine'))) {
  spawnSync('mkdir', ['-p', modelDir]);
  spawnSync('/usr/bin/python3', ['-m', 'train', 'export-random', '--out', model], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
const bin = (n: string) => join(root, 'build', 'bench', n);
run('ops', bin('bench_ops'), quick ? ['--quick'] : []);
run('model', bin('bench_model'), ['--model', model, '--threads', threads, '--iters', quick ? '10' : '40']);
run('world', bin('bench_world'), quick ? ['--quick'] : []);
// The engine against the baselines on the random-weight file and on the shipped model (its
// memory path included), each in alternating rounds (bench/engine.ts).
for (const m of [model, join(root, 'models', 'default.safetensors')]) {
  if (!existsSync(m)) continue;
  run('engine', process.execPath, [join(root, 'dist', 'bench', 'engine.js'), '--model', m,
    '--threads', threads, '--frames', quick ? '10' : '40', '--rounds', quick ? '1' : '3']);
}
