/**
 * Frame sinks for video export: MP4 through ffmpeg (raw RGB piped to its stdin) or numbered PNG
 * files. Used by `replay --export` and `render`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePng } from '../image/png.js';
import { InvalidArgumentError, UnsupportedError, WorldloopError } from '../errors.js';
import type { Frame } from '../source.js';

export interface FrameSink {
  write(frame: Frame): Promise<void>;
  close(): Promise<void>;
  readonly frames: number;
}

/** The one name for PNG frame i, for every command that writes frames (`render`, `replay
 * --export`): six digits so a folder lists in frame order up to a million frames (render's cap). */
export function frameFileName(index: number): string {
  return `frame_${String(index).padStart(6, '0')}.png`;
}

export class PngSink implements FrameSink {
  frames = 0;
  constructor(private readonly dir: string) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new WorldloopError('WL_IO', `cannot create '${dir}': ${(err as Error).message}`);
    }
  }
  async write(frame: Frame): Promise<void> {
    const name = join(this.dir, frameFileName(this.frames));
    writeFileSync(name, encodePng(frame.width, frame.height, frame.rgb, 3));
    this.frames++;
  }
  async close(): Promise<void> {}
}

/** H.264 MP4 via ffmpeg; `upscale` enlarges with nearest-neighbour so small frames stay crisp. */
export class Mp4Sink implements FrameSink {
  frames = 0;
  private proc: ChildProcess | undefined;
  private size: { w: number; h: number } | undefined;
  private failed: Error | undefined;
  private stderr = '';
  private exited: Promise<number | null> | undefined;

  constructor(
    private readonly path: string,
    private readonly fps: number,
    private readonly upscale = 4,
  ) {
    if (!(fps > 0)) throw new InvalidArgumentError(`mp4 export: fps must be positive, got ${fps}`);
  }

  private start(w: number, h: number): void {
    const args = ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${w}x${h}`,
      '-r', String(this.fps), '-i', '-'];
    if (this.upscale > 1) args.push('-vf', `scale=${w * this.upscale}:${h * this.upscale}:flags=neighbor`);
    args.push('-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-crf', '18', '-movflags', '+faststart', this.path);
    const proc = spawn('ffmpeg', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    proc.on('error', (err) => {
      this.failed = (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? new UnsupportedError('ffmpeg is not installed (apt-get install ffmpeg), or export PNG frames instead')
        : err;
    });
    proc.stderr!.on('data', (d) => (this.stderr += String(d)));
    proc.stdin!.on('error', (err) => (this.failed ??= err));
    this.exited = new Promise((res) => proc.on('close', (code) => res(code)));
    this.proc = proc;
    this.size = { w, h };
  }

  async write(frame: Frame): Promise<void> {
    if (!this.proc) this.start(frame.width, frame.height);
    if (this.size!.w !== frame.width || this.size!.h !== frame.height) {
      throw new InvalidArgumentError(`mp4 export: frame size changed from ${this.size!.w}x${this.size!.h} to ${frame.width}x${frame.height}`);
    }
    if (this.failed) throw this.failed;
    const ok = this.proc!.stdin!.write(Buffer.from(frame.rgb));
    this.frames++;
    if (!ok) await new Promise<void>((r) => this.proc!.stdin!.once('drain', () => r()));
  }

  async close(): Promise<void> {
    if (!this.proc) return;
    this.proc.stdin!.end();
    const code = await this.exited;
    if (this.failed) throw this.failed;
    if (code !== 0) throw new WorldloopError('WL_IO', `ffmpeg failed (exit ${code}) writing '${this.path}': ${this.stderr.trim()}`);
  }
}

/** Picks a sink from the output path: *.mp4 → ffmpeg, anything else → a directory of PNGs. */
export function sinkFor(path: string, fps: number): FrameSink {
  return path.toLowerCase().endsWith('.mp4') ? new Mp4Sink(path, fps) : new PngSink(path);
}
