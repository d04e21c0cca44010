/**
 * The page's HUD text (F1), as src/hud/hud.ts's lines are for the window: frames per second,
 * the last step's wall time, and the GPU time of each stage where the adapter has timestamp
 * queries ("no timestamp queries" where it has not; nothing on the JS backend).
 */
export interface HudInput {
  fps: number;
  stepMs: number;
  frameIndex: number;
  seed: number;
  backend: string;
  adapter: string;
  /** GPU ms per stage label of the last frame; null: the adapter has no timestamp queries;
   * undefined: the backend has no GPU. */
  gpuMs: Map<string, number> | null | undefined;
  paused: boolean;
  recorded: number;
}

export function hudLines(h: HudInput): string[] {
  const lines = [
    `FPS ${h.fps.toFixed(1)}  STEP ${h.stepMs.toFixed(1)} MS  FRAME ${h.frameIndex}${h.paused ? '  PAUSED' : ''}`,
    `${h.backend.toUpperCase()}${h.adapter ? ` (${h.adapter})` : ''}  SEED ${h.seed}  RECORDED ${h.recorded}`,
  ];
  if (h.gpuMs === null) lines.push('GPU: no timestamp queries on this adapter');
  else if (h.gpuMs) {
    let total = 0;
    const parts: string[] = [];
    for (const [label, ms] of h.gpuMs) {
      total += ms;
      parts.push(`${label} ${ms.toFixed(1)}`);
    }
    lines.push(`GPU ${total.toFixed(1)} MS: ${parts.join('  ')}`);
  }
  return lines;
}

/** Frames per second over a sliding window of present times (ms); frames slower than the window
 * (a software adapter) still give a rate, from the last two. */
export class FpsCounter {
  private times: number[] = [];
  constructor(private readonly windowMs = 1000) {}
  tick(now: number): number {
    this.times.push(now);
    while (this.times.length > 2 && now - this.times[0]! > this.windowMs) this.times.shift();
    if (this.times.length < 2) return 0;
    return ((this.times.length - 1) * 1000) / (now - this.times[0]!);
  }
}
