/** `worldloop render`: runs an action script (or the exploration policy) in the truth world and
 * writes PNG frames to a folder or an MP4 through ffmpeg. */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { parseSize } from '../size.js';
import { InvalidArgumentError, UnsupportedError, WorldloopError } from '../../errors.js';
import { Explorer, World, worldLayout } from '../../world.js';
import { loadActionScript, scriptSteps, type ScriptStep } from '../../loop/action_script.js';
import { PngSink } from '../../record/frame_export.js';

const help = `usage: worldloop render --seed N (--script FILE.json | --explore) --out DIR|FILE.mp4
                        [--frames N] [--size WxH] [--fps F] [--explore-seed N]

Runs the ground-truth world for a seed and writes what it shows: PNG frames into a folder
(frame_000000.png, ... plus actions.jsonl with each frame's action and pose), or an H.264 MP4
when the output ends in .mp4 (needs ffmpeg on PATH). Frame t is what the world showed before
action t, the convention training data uses.

  --seed N          world seed (default 1)
  --script FILE     JSON action script, the grammar play and truth take: {"segments": [
                    {"frames": 40, "action": {"move": 1}}, {"frames": 18, "turn": 1,
                    "events": ["light"]}, {"frames": 1, "reset": true}, {"frames": 5,
                    "place": "lamp"}, {"frames": 9, "setLight": {"level": 0.4}}]}
                    (docs/runtime.md, "Headless")
  --explore         let the exploration policy play instead of a script
  --explore-seed N  seed of the policy (default: the world seed)
  --frames N        frames to write (default: the script's length, or 300 with --explore)
  --size WxH        frame size, 16x16..1024x1024 (default 128x128)
  --fps F           MP4 frame rate (default 30)
  --out PATH        folder for PNGs, or a .mp4 file

examples:
  worldloop render --seed 7 --explore --frames 600 --out runs/seed7.mp4 --size 320x180
  worldloop render --seed 3 --script walk.json --out runs/walk/`;

/** Streams raw RGB frames into ffmpeg; rejects with a clear error if ffmpeg is missing. */
class Mp4Writer {
  private proc;
  private failed: Error | undefined;
  private stderr = '';
  private done: Promise<number>;
  private closed = false;
  private wake: (() => void) | undefined;
  constructor(path: string, width: number, height: number, fps: number) {
    this.proc = spawn(
      'ffmpeg',
      ['-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps),
        '-i', '-', '-vf', 'scale=trunc(iw/2)*2:trunc(ih/2)*2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', path],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    this.proc.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.done = new Promise((resolve) => {
      this.proc.on('error', (err: NodeJS.ErrnoException) => {
        this.failed = err.code === 'ENOENT'
          ? new UnsupportedError('render: ffmpeg was not found on PATH; install ffmpeg, or pass a folder to --out to write PNG frames')
          : err;
        resolve(-1);
      });
      this.proc.on('close', (code) => {
        this.closed = true;
        this.wake?.();
        resolve(code ?? -1);
      });
    });
    this.proc.stdin.on('error', () => undefined); // reported through 'close' / 'error'
  }
  async write(rgb: Uint8Array): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.closed) throw new WorldloopError('WL_IO', `render: ffmpeg exited early: ${this.stderr.trim()}`);
    if (!this.proc.stdin.write(Buffer.from(rgb))) {
      // Back-pressure: wait until ffmpeg has taken the data (or has gone away).
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.proc.stdin.once('drain', resolve);
      });
      this.wake = undefined;
    }
    if (this.failed) throw this.failed;
  }
  async close(): Promise<void> {
    this.proc.stdin.end();
    const code = await this.done;
    if (this.failed) throw this.failed;
    if (code !== 0) throw new WorldloopError('WL_IO', `render: ffmpeg failed (exit ${code}): ${this.stderr.trim()}`);
  }
}

const MAX_RENDER_FRAMES = 1_000_000;

const command: Command = {
  name: 'render',
  summary: 'run an action script or the explorer in the truth world; write PNGs or MP4',
  help,
  async run(argv) {
    const a = parseArgs('render', argv, {
      seed: { kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER },
      script: { kind: 'string' },
      explore: { kind: 'boolean' },
      'explore-seed': { kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER },
      frames: { kind: 'int', min: 1, max: MAX_RENDER_FRAMES },
      size: { kind: 'string' },
      fps: { kind: 'number', min: 1, max: 240 },
      out: { kind: 'string' },
    });
    if (a.positionals.length) throw new InvalidArgumentError(`render: unexpected argument '${a.positionals[0]}' (see: worldloop render --help)`);
    const out = a.flags.out as string | undefined;
    if (!out) throw new InvalidArgumentError('render: --out DIR|FILE.mp4 is required (see: worldloop render --help)');
    const scriptPath = a.flags.script as string | undefined;
    if (!!scriptPath === !!a.flags.explore) throw new InvalidArgumentError('render: give exactly one of --script FILE or --explore');
    const seed = (a.flags.seed as number | undefined) ?? 1;
    const [width, height] = parseSize('render', a.flags.size as string | undefined, [128, 128]);

    const layout = worldLayout();
    // Checked whole before the first frame, as play and truth check it (channels, ranges).
    const segments = scriptPath ? loadActionScript(scriptPath) : undefined;
    const steps: Iterator<ScriptStep> | undefined = segments && scriptSteps(segments, layout, scriptPath);
    const scriptFrames = segments?.reduce((n, seg) => n + seg.frames, 0);
    if (scriptFrames !== undefined && scriptFrames > MAX_RENDER_FRAMES && a.flags.frames === undefined) {
      throw new InvalidArgumentError(`render: ${scriptPath} has ${scriptFrames} frames; render writes at most ${MAX_RENDER_FRAMES} (pass --frames)`);
    }
    const frames = (a.flags.frames as number | undefined) ?? scriptFrames ?? 300;
    const world = new World(seed, { width, height });
    const explorer = a.flags.explore ? new Explorer((a.flags['explore-seed'] as number | undefined) ?? seed) : undefined;
    let action = new Float32Array(layout.channels.length);
    const mp4 = out.toLowerCase().endsWith('.mp4') ? new Mp4Writer(out, width, height, (a.flags.fps as number | undefined) ?? 30) : undefined;
    const png = mp4 ? undefined : new PngSink(out);
    const log: string[] = [];
    try {
      for (let t = 0; t < frames; t++) {
        if (steps) {
          const step = t < scriptFrames! ? steps.next().value : undefined;
          if (step) {
            // Edits land before frame t is shown (reset, then light, then place), as in the loop.
            if (step.reset) world.reset(seed);
            if (step.light) world.setLight(step.light.level, step.light.tint);
            if (step.place) world.spawn(step.place);
            action = step.action;
          } else if (t === scriptFrames) {
            // A script shorter than --frames holds its last segment's axes, without its events.
            action = action.slice();
            layout.channels.forEach((c, j) => { if (c.kind === 'event') action[j] = 0; });
          }
        } else {
          explorer!.next(world, action);
        }
        const pose = world.pose();
        if (mp4) await mp4.write(world.rgb);
        else {
          await png!.write({ width, height, rgb: world.rgb, index: t });
          log.push(JSON.stringify({ t, action: Array.from(action, (v) => Math.round(v * 1e4) / 1e4), pose: [pose.x, pose.y, pose.yaw] }));
        }
        world.step(action);
      }
      if (mp4) await mp4.close();
      else writeFileSync(join(out, 'actions.jsonl'), log.join('\n') + '\n');
    } finally {
      explorer?.close();
      world.close();
    }
    console.log(`render: wrote ${frames} frames (${width}x${height}, seed ${seed}) to ${out}`);
    return 0;
  },
};
export default command;
