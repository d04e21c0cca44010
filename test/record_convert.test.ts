// A truth recording becomes training episodes (`python3 -m train convert`, train/recordings.py):
// the recorder here writes it, the Python converter replays it through the same world and checks
// every frame's CRC. Resets, light settings and placed objects each start a new episode, since
// the action vector does not explain the change they make.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeRecording, encodeRecording, FLAG_LIGHT, FLAG_PLACE, FLAG_RESET } from '../src/record/format.js';
import { runCli as cli } from './helpers/cli.js';

const root = join(__dirname, '..');
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

function py(args: string[]) {
  const r = spawnSync(python, args, { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, text: `${r.stdout}${r.stderr}` };
}

describe('recording -> training episodes', () => {
  it('converts a truth recording with a reset, a light setting and a placed object, and refuses bad ones by name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-convert-'));
    const script = join(dir, 'script.json');
    writeFileSync(script, JSON.stringify([
      { frames: 6, move: 1 },
      { frames: 5, turn: 1, setLight: { level: 0.4, tint: [1, 0.6, 0.3] } },
      { frames: 4, move: 0.5, place: 'crate' },
      { frames: 3, reset: true, strafe: 1 },
    ]));
    const rec = join(dir, 'walk.wlrec');
    let r = await cli(['truth', '--headless', '--seed', '4', '--script', script, '--record', rec]);
    expect(r.code).toBe(0);
    const recording = decodeRecording(readFileSync(rec));
    expect(Array.from(recording.flags).filter((f) => f & (FLAG_LIGHT | FLAG_PLACE | FLAG_RESET)).length).toBe(3);

    const out = join(dir, 'episodes');
    const conv = py(['-m', 'train', 'convert', rec, '--out', out]);
    expect(conv.text).not.toMatch(/Error|Traceback/);
    expect(conv.code).toBe(0);
    // Four episodes (6, 5, 4 and 3 actions), each frame t the one shown before action t, and the
    // recorded actions in order.
    const check = py(['-c', `
import glob, json, numpy as np
eps = [dict(np.load(p, allow_pickle=False)) for p in sorted(glob.glob(${JSON.stringify(join(out, '*.npz'))}))]
print(json.dumps({"lengths": [len(e["actions"]) for e in eps], "frames": [len(e["frames"]) for e in eps],
                  "actions": np.concatenate([e["actions"] for e in eps]).round(4).tolist()}))`]);
    expect(check.code).toBe(0);
    const got = JSON.parse(check.text.trim().split('\n').pop()!) as { lengths: number[]; frames: number[]; actions: number[][] };
    expect(got.lengths).toEqual([6, 5, 4, 3]);
    expect(got.frames).toEqual([6, 5, 4, 3]);
    const a = recording.channels;
    expect(got.actions).toEqual(Array.from({ length: recording.frames }, (_, i) =>
      Array.from(recording.actions.slice(i * a, (i + 1) * a), (v) => Math.round(v * 1e4) / 1e4)));

    // Another world version, a kind the world does not have, and a light list that does not
    // match the flags: each refused with the file and the field named (re-encoded, valid CRC).
    const bad = (name: string, header: object) => {
      const p = join(dir, name);
      writeFileSync(p, encodeRecording({ ...recording, header: { ...recording.header, ...header } }));
      return py(['-m', 'train', 'convert', p, '--out', join(dir, 'bad')]);
    };
    r = bad('future.wlrec', { worldVersion: 999 });
    expect(r.code).not.toBe(0);
    expect(r.text).toMatch(/future\.wlrec: recorded with ground-truth world version 999, but this library's world is version \d+/);
    r = bad('sofa.wlrec', { placedObjects: ['sofa'] });
    expect(r.code).not.toBe(0);
    expect(r.text).toMatch(/sofa\.wlrec: header\.placedObjects\[0\] = "sofa" is not an object kind/);
    r = bad('lights.wlrec', { lightSettings: [] });
    expect(r.code).not.toBe(0);
    expect(r.text).toMatch(/lights\.wlrec: 1 steps set the light but header\.lightSettings has 0 entries/);
  }, 180_000);
});
