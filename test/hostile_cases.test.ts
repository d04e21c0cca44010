// The hostile files of issue 20, one by one: the ten that used to hang for ever (huge finite
// poses in saves, huge finite actions in model-world recordings), run by the launcher in their
// own processes with a hang timeout, and the values that slipped through or were reported
// without a file name or with the usage-error status. Exit statuses: src/cli/exit_codes.ts.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/native.js';
import { decodeRecording, encodeRecording, type Recording } from '../src/record/format.js';
import { decodeSave, encodeSave } from '../src/save/format.js';
import { runCli } from './helpers/cli.js';
import { runLauncher, type LauncherRun } from './helpers/launcher.js';

const ROOT = projectRoot();
const TINY = join(ROOT, 'native', 'tests', 'fixtures', 'tiny_model.safetensors');
/** Generous: these are refused before a frame is made; a run still going then is a hang. */
const HANG_MS = 30_000;

function launcher(args: string[]): Promise<LauncherRun> {
  return runLauncher(ROOT, args, HANG_MS);
}

let dir = '';
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wl-hostile-cases-'));
  for (const args of [
    ['save', join(dir, 'truth.wlsave'), '--truth', '--frames', '4'],
    ['save', join(dir, 'model.wlsave'), '--model', TINY, '--backend', 'cpu', '--frames', '4'],
    ['play', '--headless', '--model', TINY, '--backend', 'cpu', '--frames', '6', '--record', join(dir, 'model.wlrec')],
    ['truth', '--headless', '--frames', '6', '--record', join(dir, 'truth.wlrec')],
  ]) {
    const r = await runCli(args);
    expect(r.code, r.text).toBe(0);
  }
}, 120_000);

/** The save at `base` with its header edited and its SHA-256 recomputed. */
function editSave(base: string, out: string, edit: (h: Record<string, unknown>) => void): string {
  const bytes = new Uint8Array(readFileSync(join(dir, base)));
  const dv = new DataView(bytes.buffer);
  const hlen = dv.getUint32(12, true);
  const h = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + hlen))) as Record<string, unknown>;
  edit(h);
  const json = new TextEncoder().encode(JSON.stringify(h));
  const pad = (n: number) => (4 - (n % 4)) % 4;
  const body = bytes.subarray(16 + hlen + pad(hlen), bytes.length - 32);
  const o = new Uint8Array(16 + json.length + pad(json.length) + body.length + 32);
  o.set(bytes.subarray(0, 12));
  new DataView(o.buffer).setUint32(12, json.length, true);
  o.set(json, 16);
  o.set(body, 16 + json.length + pad(json.length));
  o.set(createHash('sha256').update(o.subarray(0, o.length - 32)).digest(), o.length - 32);
  const path = join(dir, out);
  writeFileSync(path, o);
  expect(() => decodeSave(o, path)).toBeDefined();
  return path;
}

/** The recording at `base` with its actions edited (written with the encoder: CRC recomputed). */
function editRecording(base: string, out: string, edit: (r: Recording) => void): string {
  const rec = decodeRecording(new Uint8Array(readFileSync(join(dir, base))));
  edit(rec);
  const path = join(dir, out);
  writeFileSync(path, encodeRecording(rec));
  return path;
}

/** Raw recording bytes with the header edited and the CRC recomputed. */
function editRecordingHeader(base: string, out: string, edit: (h: Record<string, unknown>) => void): string {
  const rec = decodeRecording(new Uint8Array(readFileSync(join(dir, base))));
  edit(rec.header as unknown as Record<string, unknown>);
  const path = join(dir, out);
  const bytes = encodeRecording(rec);
  new DataView(bytes.buffer).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)) >>> 0, true);
  writeFileSync(path, bytes);
  return path;
}

describe('the ten files that hung', () => {
  const cases: { name: string; make: () => string; args: (f: string) => string[]; says: RegExp }[] = [];
  for (const kind of ['truth', 'model'] as const) {
    for (const [label, v] of [['2^53+1', 2 ** 53 + 1], ['2^64', 2 ** 64], ['1e308', 1e308]] as const) {
      cases.push({
        name: `${kind} save, header.pose.x = ${label}`,
        make: () => editSave(`${kind}.wlsave`, `${kind}-pose-${label}.wlsave`, (h) => ((h.pose as Record<string, number>).x = v)),
        args: (f) => ['load', f, '--headless', '--frames', '3', '--model', TINY, '--backend', 'cpu'],
        says: /header\.pose must be \{x, y, yaw\} with x and y in \[-1000000, 1000000\]/,
      });
    }
  }
  const huge: [string, (a: Float32Array) => void][] = [
    ['strafe = 6.4e30 at frame 2', (a) => (a[2 * 3 + 1] = 6.4e30)],
    ['every action 1e30', (a) => a.fill(1e30)],
    ['turn = 1e30 at frame 0', (a) => (a[2] = 1e30)],
    ['move = -2^64 at frame 5', (a) => (a[5 * 3] = -(2 ** 64))],
  ];
  for (const [label, edit] of huge) {
    cases.push({
      name: `model recording, ${label}`,
      make: () => editRecording('model.wlrec', `model-${label.replace(/\W+/g, '_')}.wlrec`, (r) => edit(r.actions)),
      args: (f) => ['replay', f, '--model', TINY],
      says: /frame \d+, channel (move|strafe|turn): action \S+ is outside \[-1, 1\]/,
    });
  }

  it('are refused with exit 3, the file and the field named (times printed)', async () => {
    expect(cases.length).toBe(10);
    const lines: string[] = [];
    for (const c of cases) {
      const file = c.make();
      const r = await launcher(c.args(file));
      lines.push(`${c.name}: exit ${r.code} in ${r.ms.toFixed(0)} ms`);
      expect(r.timedOut, c.name).toBe(false);
      expect(r.code, `${c.name}: ${r.text}`).toBe(3);
      expect(r.text).toContain(file);
      expect(r.text).toMatch(c.says);
      expect(r.text).not.toMatch(/loaded:/);
    }
    console.log(lines.join('\n'));
  }, 600_000);
});

describe('values that slipped through', () => {
  it('saves: fps, start pose, memory fields, and a model save without light or memory', async () => {
    const edits: [string, (h: Record<string, unknown>) => void, RegExp][] = [
      ['model', (h) => ((h.settings as Record<string, unknown>).fps = 0), /header\.settings\.fps must be a number in \[1, 240\]; got 0/],
      ['model', (h) => ((h.settings as Record<string, unknown>).fps = -1), /settings\.fps/],
      ['truth', (h) => ((h.settings as Record<string, unknown>).startPose = null), /header\.settings\.startPose must be/],
      ['truth', (h) => ((h.settings as Record<string, unknown>).startPose = 'here'), /header\.settings\.startPose must be/],
      ['model', (h) => ((h.memory as Record<string, unknown>).binSize = null), /header\.memory\.binSize must be a finite number; got null/],
      ['model', (h) => ((h.memory as Record<string, unknown>).range = 'far'), /header\.memory\.range must be a finite number/],
      ['model', (h) => delete h.memory, /memory sections but no header\.memory/],
      ['model', (h) => delete h.light, /header\.light is missing/],
      ['model', (h) => (h.pose = { x: 1, y: 1, yaw: 1e30 }), /header\.pose/],
    ];
    for (const [i, [kind, edit, says]] of edits.entries()) {
      const f = editSave(`${kind}.wlsave`, `slip-${i}.wlsave`, edit);
      const r = await runCli(['load', f, '--headless', '--frames', '1', '--model', TINY, '--backend', 'cpu']);
      expect(r.code, r.text).toBe(3);
      expect(r.text).toContain(f);
      expect(r.text).toMatch(says);
    }
  });

  it('saves: context actions outside their range and latents far outside an encoder\'s', async () => {
    const base = decodeSave(new Uint8Array(readFileSync(join(dir, 'model.wlsave'))));
    const cases: [string, number, RegExp][] = [
      ['context_actions', 6.4e30, /section 'context_actions': value 0 \(context frame 0, move\) = 6\.4\d*e\+30 is outside \[-1, 1\]/],
      ['context_latents', 1e30, /section 'context_latents': value 0 = 1\.0\d*e\+30 is outside \[-10000, 10000\]/],
    ];
    for (const [section, v, says] of cases) {
      const sections = new Map(base.sections);
      const values = (sections.get(section) as Float32Array).slice();
      values[0] = v;
      sections.set(section, values);
      const { sections: _list, ...header } = base.header;
      void _list;
      const f = join(dir, `ctx-${section}.wlsave`);
      writeFileSync(f, encodeSave(header, sections));
      const r = await runCli(['load', f, '--headless', '--frames', '1', '--model', TINY, '--backend', 'cpu']);
      expect(r.code, r.text).toBe(3);
      expect(r.text).toContain(f);
      expect(r.text).toMatch(says);
    }
  });

  it('recordings: width, height, fps, backend, and a truth recording relabelled as a model', async () => {
    const edits: [string, (h: Record<string, unknown>) => void, RegExp][] = [
      ['truth', (h) => ((h.settings as Record<string, unknown>).fps = 0.5), /header\.settings\.fps must be a number in \[1, 240\]; got 0\.5/],
      ['truth', (h) => ((h.settings as Record<string, unknown>).fps = 2 ** 64), /header\.settings\.fps/],
      ['model', (h) => ((h.settings as Record<string, unknown>).width = 2 ** 64), /header\.settings\.width must be an integer in 1\.\.16384/],
      ['model', (h) => ((h.settings as Record<string, unknown>).height = 64), /header\.settings says 32x64 frames; this source renders 32x32/],
      ['model', (h) => (h.backend = 'quantum'), /header\.backend is "quantum"; a model recording's backend is "cpu" or "cuda"/],
      ['truth', (h) => (h.sourceKind = 'model'), /header\.backend is "truth"; a model recording's backend is "cpu" or "cuda"/],
    ];
    for (const [i, [kind, edit, says]] of edits.entries()) {
      const f = editRecordingHeader(`${kind}.wlrec`, `slip-${i}.wlrec`, edit);
      const r = await runCli(['replay', f, '--model', TINY]);
      expect(r.code, r.text).toBe(3);
      expect(r.text).toContain(f);
      expect(r.text).toMatch(says);
    }
  });

  it('an out-of-range action in a truth recording names the file and frame (exit 3, not the usage code)', async () => {
    const f = editRecording('truth.wlrec', 'truth-move.wlrec', (r) => (r.actions[3 * r.channels] = 1e30));
    const r = await runCli(['replay', f]);
    expect(r.code, r.text).toBe(3);
    expect(r.text).toMatch(new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: frame 3, channel move: action 1\\.0000000150474662e\\+30 is outside \\[-1, 1\\]`));
  });

  it('a model world refuses out-of-range actions as the truth world does', async () => {
    const { loadModel } = await import('../src/model.js');
    const { ModelWorld } = await import('../src/model_world.js');
    const m = await loadModel(TINY, { backend: 'cpu', threads: 1 });
    try {
      const w = new ModelWorld(m, { opening: async () => Array.from({ length: m.dims.context }, () => new Uint8Array(32 * 32 * 3)) });
      await w.reset(1);
      await expect(w.step(Float32Array.of(0, 6.4e30, 0))).rejects.toThrow(/action\[1\] \(strafe\) = 6\.4\d*e\+30 is outside \[-1, 1\]/);
      await expect(w.step(Float32Array.of(NaN, 0, 0))).rejects.toThrow(/action\[0\] \(move\) = NaN is not a finite number in \[-1, 1\]/);
      await w.step(Float32Array.of(1, -1, 0.5));
      expect(w.frameIndex).toBe(1);
      w.close();
    } finally {
      await m.close();
    }
  });
});

describe('pose tracker', () => {
  it('a huge turn wraps in bounded steps, and a pose beyond the bound is refused', async () => {
    const { PoseTracker, MAX_POSE_COORD } = await import('../src/memory/pose_tracker.js');
    const space = { channels: ['move', 'strafe', 'turn'].map((name) => ({ name, min: -1, max: 1, kind: 'axis' as const })) };
    const walls = { size: 8, cells: new Uint8Array(64) };
    const t = new PoseTracker(space, { speeds: { moveSpeed: 0.1, strafeSpeed: 0.1, turnSpeedDeg: 3 }, start: { x: 4, y: 4, yaw: 0 }, walls });
    t.update(Float32Array.of(0, 6.4e30, 1e30)); // used to spin for ever in the yaw wrap
    const p = t.pose();
    expect(p.yaw).toBeGreaterThanOrEqual(-Math.PI);
    expect(p.yaw).toBeLessThan(Math.PI + 1e-6);
    expect(() => t.set({ x: 2 ** 53 + 1, y: 0, yaw: 0 })).toThrow(new RegExp(`\\|x\\|, \\|y\\| <= ${MAX_POSE_COORD}`));
  });
});

describe('model files', () => {
  /** The tiny model with one tensor's bytes replaced (F32, F16 or BF16 as stored). */
  function withTensor(out: string, pick: (name: string, i: number) => boolean, value: 'nan' | 'inf' | 'zero'): { path: string; name: string } {
    const b = new Uint8Array(readFileSync(TINY));
    const dv = new DataView(b.buffer);
    const hlen = Number(dv.getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + hlen))) as Record<string, { dtype: string; data_offsets: [number, number] }>;
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    const name = names.find(pick)!;
    const t = header[name]!;
    const w = t.dtype === 'F32' ? 4 : 2;
    for (let at = 8 + hlen + t.data_offsets[0]; at < 8 + hlen + t.data_offsets[1]; at += w) {
      if (w === 4) dv.setFloat32(at, value === 'nan' ? NaN : value === 'inf' ? Infinity : 0, true);
      else dv.setUint16(at, value === 'nan' ? 0x7fff : value === 'inf' ? (t.dtype === 'F16' ? 0x7c00 : 0x7f80) : 0, true);
    }
    const path = join(dir, out);
    writeFileSync(path, b);
    return { path, name };
  }

  it('NaN weights: info lists the tensor (exit 3); play refuses naming the file and tensor', async () => {
    const { path, name } = withTensor('nan.safetensors', (n) => n.startsWith('denoiser.') && n.endsWith('.weight'), 'nan');
    let r = await runCli(['info', path]);
    expect(r.code, r.text).toBe(3);
    expect(r.text).toContain(`weights    NOT FINITE in 1 tensor: ${name}:`);
    r = await runCli(['play', '--headless', '--model', path, '--backend', 'cpu', '--frames', '2']);
    expect(r.code, r.text).toBe(3);
    expect(r.text).toContain(`${path}: 1 tensor holds non-finite weights (${name}: `);
    const inf = withTensor('inf.safetensors', (n) => n.startsWith('autoencoder.decoder.'), 'inf');
    r = await runCli(['play', '--headless', '--model', inf.path, '--backend', 'cpu', '--frames', '2']);
    expect(r.code, r.text).toBe(3);
    expect(r.text).toContain(inf.name);
  });

  it('trailing bytes and holes in the data section are refused', async () => {
    const b = new Uint8Array(readFileSync(TINY));
    const trailing = join(dir, 'trailing.safetensors');
    writeFileSync(trailing, Buffer.concat([b, new Uint8Array(1 << 20)]));
    const r = await runCli(['info', trailing]);
    expect(r.code, r.text).toBe(3);
    expect(r.text).toMatch(/1048576 bytes after the last tensor's data/);
    copyFileSync(TINY, join(dir, 'copy.safetensors'));
  });
});

describe('bindings and scripts', () => {
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('--bindings is read in headless runs: a missing file, a directory and bad contents are refused', async () => {
    mkdirSync(join(dir, 'a-dir'), { recursive: true });
    const bad: [string, RegExp][] = [
      [join(dir, 'missing.json'), /cannot read bindings file '.*missing\.json'/],
      [join(dir, 'a-dir'), /cannot read bindings file '.*a-dir': not a regular file/],
      [write('b1.json', '{"actions": {"jump": {"keys": {"J": 1}}}}'), /actions\.jump: unknown action channel "jump"/],
      [write('b2.json', '{"actions": {"__proto__": {"keys": {"J": 1}}}}'), /actions\.__proto__: unknown action channel/],
      [write('b3.json', '{"actions": {"move": {"keys": {"Wx": 1}}}}'), /actions\.move\.keys\.Wx: unknown key name "Wx"/],
      [write('b4.json', '{"actions": {"move": {"keys": {"W": 1e308}}}}'), /actions\.move\.keys\.W must be a number in \[-1000, 1000\]/],
      [write('b5.json', '{"commands": {"quit": ["NoSuchKey"]}}'), /commands\.quit: unknown key name "NoSuchKey"/],
    ];
    for (const [f, says] of bad) {
      for (const args of [['truth', '--headless', '--frames', '1', '--bindings', f], ['keys', '--bindings', f]]) {
        const r = await runCli(args);
        expect(r.code, `${args.join(' ')}: ${r.text}`).toBe(3);
        expect(r.text).toContain(f);
        expect(r.text).toMatch(says);
      }
    }
    const ok = write('b-ok.json', '\ufeff{"actions": {"move": {"keys": {"Left Shift": 1}}}}');
    expect((await runCli(['truth', '--headless', '--frames', '1', '--bindings', ok])).code).toBe(0);
  });

  it('action scripts: BOM accepted, [] refused as render refuses it, event 0.5 refused, errors name the file', async () => {
    const run = (f: string) => runCli(['truth', '--headless', '--script', f, '--frames', '2']);
    expect((await run(write('s-bom.json', '\ufeff[{"frames": 2, "move": 1}]'))).code).toBe(0);
    const bad: [string, RegExp][] = [
      [write('s-empty.json', '[]'), /has no segments/],
      [write('s-event.json', '[{"frames": 1, "spawn": 0.5}]'), /segments\[0\]: spawn=0\.5: an event channel takes 0 or 1/],
      [write('s-range.json', '[{"frames": 1}, {"frames": 1, "turn": 2}]'), /segments\[1\]: turn=2 is outside \[-1, 1\]/],
      [write('s-proto.json', '[{"frames": 1, "action": {"__proto__": 1}}]'), /channel '__proto__' is not in this world's action space/],
      [write('s-json.json', '[{"frames": 1,'), /action script is not valid JSON/],
    ];
    for (const [f, says] of bad) {
      const r = await run(f);
      expect(r.code, r.text).toBe(3);
      expect(r.text).toContain(`${f}: `);
      expect(r.text).toMatch(says);
    }
    const r = await runCli(['render', '--script', write('w-empty.json', '[]'), '--frames', '1', '--out', join(dir, 'r')]);
    expect(r.code).toBe(3);
    expect(r.text).toMatch(/w-empty\.json: has no segments/);
  });

  it('--help of every command documents the exit statuses', async () => {
    for (const c of ['play', 'replay', 'load', 'info', 'keys', 'render']) {
      const r = await runCli([c, '--help']);
      expect(r.text, c).toMatch(/exit status: 0 (success|bit-exact); 1 runtime failure.*; 2 usage error.*3 bad input file/s);
    }
  });
});
