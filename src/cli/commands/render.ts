/** `worldloop render`: runs an action script (or the exploration policy) in the truth world and
 * writes PNG frames to a folder or an MP4 through ffmpeg. */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { parseSize } from '../size.js';
import { InvalidArgumentError, UnsupportedError, WorldloopError } from '../../errors.js';
import { encodePng } from '../../image/png.js';
import { Explorer, World, worldLayout } from '../../world.js';
import { parseWorldScript, type WorldScript } from '../../world_script.js';
import { readJsonFile } from '../../input_file.js';

const help = `usage: worldloop render --seed N (--script FILE.json | --explore) --out DIR|FILE.mp4
                        [--frames N] [--size WxH] [--fps F] [--explore-seed N]

Runs the ground-truth world for a seed and writes what it shows: PNG frames into a folder
(frame_00000.png, ... plus actions.jsonl with each frame's action and pose), or an H.264 MP4
when the output ends in .mp4 (needs ffmpeg on PATH). Frame t is what the world showed before
action t, the convention training data uses.

  --seed N          world seed (default 1)
  --script FILE     JSON action script: {"segments": [{"frames": 40, "move": 1}, {"frames": 18,
                    "turn": 1, "light": true}, {"frames": 5, "spawn": "lamp"}, ...]}
                    (fields: frames, move, strafe, turn, light, spawn, setLight; docs/world.md)
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
      frames: { kind: 'int', min: 1, max: 1_000_000 },
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

    let script: WorldScript | undefined;
    if (scriptPath) {
      script = parseWorldScript(readJsonFile(scriptPath, 'world script'), scriptPath);
    }
    const frames = (a.flags.frames as number | undefined) ?? script?.frames ?? 300;
    const world = new World(seed, { width, height });
    const explorer = a.flags.explore ? new Explorer((a.flags['explore-seed'] as number | undefined) ?? seed) : undefined;
    const action = new Float32Array(worldLayout().channels.length);
    const mp4 = out.toLowerCase().endsWith('.mp4') ? new Mp4Writer(out, width, height, (a.flags.fps as number | undefined) ?? 30) : undefined;
    if (!mp4) mkdirSync(out, { recursive: true });
    const log: string[] = [];
    try {
      for (let t = 0; t < frames; t++) {
        if (script) {
          // A script shorter than --frames holds its last segment's axes.
          const st = Math.min(t, script.frames - 1);
          for (const ev of t < script.frames ? script.eventsAt(st) : []) {
            if (ev.type === 'setLight') world.setLight(ev.level, ev.tint);
            else world.spawn(ev.kind);
          }
          script.actionAt(st, action);
          if (t >= script.frames) action[3] = action[4] = 0;
        } else {
          explorer!.next(world, action);
        }
        const pose = world.pose();
        if (mp4) await mp4.write(world.rgb);
        else {
          writeFileSync(join(out, `frame_${String(t).padStart(5, '0')}.png`), encodePng(width, height, world.rgb));
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
