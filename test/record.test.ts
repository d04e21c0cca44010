import { describe, expect, it } from 'vitest';
import { decodeRecording, encodeRecording, FLAG_RESET, type Recording } from '../src/record/format.js';
import { Recorder } from '../src/record/recorder.js';
import { checkRecordingMatches, RecordingInput, ReplayVerifier } from '../src/record/replay.js';
import { GameLoop } from '../src/loop/game_loop.js';
import { FakeClock } from '../src/loop/clock.js';
import { ScriptInput } from '../src/input/script_input.js';
import { randomAction, seededRandom } from '../src/loop/action_script.js';
import { FAKE_SPACE, FakeSource } from './fake_source.js';

const header = {
  format: 'worldloop-recording' as const,
  sourceId: 'truth:7',
  sourceKind: 'truth' as const,
  label: 'fake',
  backend: 'cpu',
  seed: 7,
  settings: { fps: 30, width: 8, height: 8 },
  actionSpace: FAKE_SPACE,
  worldVersion: 3,
};

function randomSteps(n: number, seed: number) {
  const rand = seededRandom(seed);
  return (function* () {
    for (let i = 0; i < n; i++) yield { action: randomAction(FAKE_SPACE, rand, 0.2), reset: i === 20 };
  })();
}

async function recordSession(n: number): Promise<Recording> {
  const clock = new FakeClock();
  const rec = new Recorder(header, FAKE_SPACE.channels.length);
  // Interactive-style run (async stepping, a reset command mid-way) to record from.
  const loop = new GameLoop({ source: new FakeSource(clock, 3), input: new ScriptInput(randomSteps(n, 1)), clock, observers: [rec], seed: 7 });
  await loop.run();
  return decodeRecording(rec.encode());
}

describe('recording format', () => {
  it('round-trips header, flags, actions and frame CRCs', async () => {
    const r = await recordSession(40);
    expect(r.frames).toBe(40);
    expect(r.channels).toBe(5);
    expect(r.header.sourceId).toBe('truth:7');
    expect(r.flags[20]! & FLAG_RESET).toBe(FLAG_RESET);
    expect(r.flags[19]).toBe(0);
    const again = decodeRecording(encodeRecording(r));
    expect(Array.from(again.actions)).toEqual(Array.from(r.actions));
    expect(Array.from(again.frameCrcs)).toEqual(Array.from(r.frameCrcs));
  });

  it('rejects corrupt, truncated and foreign files with clear errors', async () => {
    const bytes = encodeRecording(await recordSession(10));
    const flipped = bytes.slice();
    flipped[bytes.length - 20]! ^= 0x40;
    expect(() => decodeRecording(flipped, 'x.wlrec')).toThrow(/x\.wlrec: checksum mismatch/);
    expect(() => decodeRecording(bytes.subarray(0, bytes.length - 7), 'x.wlrec')).toThrow(/truncated/);
    expect(() => decodeRecording(bytes.subarray(0, 10), 'x.wlrec')).toThrow(/truncated/);
    const extra = new Uint8Array(bytes.length + 3);
    extra.set(bytes);
    expect(() => decodeRecording(extra, 'x.wlrec')).toThrow(/unexpected bytes/);
    const png = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10, ...new Array(40).fill(0)]);
    expect(() => decodeRecording(png, 'x.wlrec')).toThrow(/not a worldloop recording/);
    const v2 = bytes.slice();
    v2[8] = 2;
    expect(() => decodeRecording(v2, 'x.wlrec')).toThrow(/version 2 is not supported/);
    // A huge frame count in a small file is refused before any allocation.
    const lying = bytes.slice();
    const hlen = new DataView(lying.buffer).getUint32(12, true);
    new DataView(lying.buffer).setUint32(16 + hlen, 40_000_000, true);
    expect(() => decodeRecording(lying, 'x.wlrec')).toThrow(/truncated/);
  });

  it('refuses a recording made with another source or action space', async () => {
    const r = await recordSession(5);
    expect(() => checkRecordingMatches(r, 'truth:8', FAKE_SPACE, 3, 'x.wlrec')).toThrow(/recorded with truth:7.*this source is truth:8/);
    expect(() => checkRecordingMatches(r, 'sha256:abcd', FAKE_SPACE, 3)).toThrow(/same seed/);
    const other = { channels: FAKE_SPACE.channels.slice(0, 3) };
    expect(() => checkRecordingMatches(r, 'truth:7', other, 3)).toThrow(/action space/);
    expect(() => checkRecordingMatches(r, 'truth:7', FAKE_SPACE, 3)).not.toThrow();
  });

  it('refuses a recording made by a build whose truth world renders differently', async () => {
    const r = await recordSession(5);
    expect(r.header.worldVersion).toBe(3);
    expect(() => checkRecordingMatches(r, 'truth:7', FAKE_SPACE, 4, 'x.wlrec')).toThrow(
      /x\.wlrec was recorded with ground-truth world version 3, but this build's world is version 4/,
    );
    // Recordings from before the version was stored carry none and are not refused for it.
    const { worldVersion: _, ...older } = r.header;
    expect(() => checkRecordingMatches({ ...r, header: older }, 'truth:7', FAKE_SPACE, 4)).not.toThrow();
    for (const bad of [0, -1, 1.5, '1']) {
      const tampered = encodeRecording({ ...r, header: { ...r.header, worldVersion: bad as number } });
      expect(() => decodeRecording(tampered, 'x.wlrec')).toThrow(/x\.wlrec: header\.worldVersion must be a positive integer/);
    }
  });
});

describe('replay', () => {
  it('reproduces every recorded frame bit-exactly (lockstep)', async () => {
    const r = await recordSession(60);
    const verifier = new ReplayVerifier(r);
    const loop = new GameLoop({ source: new FakeSource(), input: new RecordingInput(r), observers: [verifier], realtime: false, seed: 7 });
    const res = await loop.run();
    expect(res.steps).toBe(60);
    expect(verifier.checked).toBe(60);
    expect(verifier.mismatches).toBe(0);
    expect(verifier.exact).toBe(true);
  });

  it('detects a diverging source and names the first bad frame', async () => {
    const r = await recordSession(30);
    const src = new FakeSource();
    const step = src.step.bind(src);
    src.step = async (a) => {
      const out = await step(a);
      if (out.frame.index === 12) out.frame.rgb[60] ^= 1;
      return out;
    };
    const verifier = new ReplayVerifier(r);
    await new GameLoop({ source: src, input: new RecordingInput(r), observers: [verifier], realtime: false }).run();
    expect(verifier.exact).toBe(false);
    expect(verifier.firstMismatch).toBeDefined();
    expect(verifier.mismatches).toBeGreaterThanOrEqual(1);
  });
});
