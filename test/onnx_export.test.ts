// The ONNX export that `npm run bench` compares the engine against (train/bench_cpu.py onnx) loads
// and computes what PyTorch does in onnxruntime-node, for a memory model too (its export once held
// a Where of float and double that onnxruntime refused).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const FIX = join(ROOT, 'native', 'tests', 'fixtures');

interface Flat { shape: number[]; data: number[] }
interface Check {
  denoise: { inputs: Record<string, Flat>; output: Flat };
  decode: { inputs: Record<string, Flat>; output: Flat };
}

describe('ONNX export for the runtime comparison', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wl-onnx-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const file of ['tiny_model.safetensors', 'tiny_memory_model.safetensors']) {
    it(`${file}: both graphs load and match PyTorch`, async () => {
      const out = join(dir, file);
      execFileSync('/usr/bin/python3', ['-m', 'train.bench_cpu', 'onnx', '--model', join(FIX, file), '--out-dir', out], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const check = JSON.parse(readFileSync(join(out, 'check.json'), 'utf8')) as Check;
      const ort = await import('onnxruntime-node');
      for (const graph of ['denoise', 'decode'] as const) {
        const session = await ort.InferenceSession.create(join(out, `${graph}.onnx`));
        const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
        for (const [name, v] of Object.entries(check[graph].inputs)) {
          feeds[name] = new ort.Tensor('float32', Float32Array.from(v.data), v.shape);
        }
        const result = await session.run(feeds);
        const got = result[session.outputNames[0]!]!.data as Float32Array;
        const want = check[graph].output.data;
        expect(got.length).toBe(want.length);
        let maxErr = 0;
        let maxRef = 0;
        for (let i = 0; i < want.length; i++) {
          maxErr = Math.max(maxErr, Math.abs(got[i]! - want[i]!));
          maxRef = Math.max(maxRef, Math.abs(want[i]!));
        }
        expect(maxRef).toBeGreaterThan(0.01); // a non-trivial output, or the comparison proves nothing
        expect(maxErr).toBeLessThan(1e-4 * Math.max(1, maxRef));
      }
    }, 120_000);
  }
});
