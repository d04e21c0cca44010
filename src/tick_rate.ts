/**
 * A world's simulation tick versus the rate frames are shown at. One step of a world is one tick
 * of its own time: the truth world moves a fixed distance per step (worldLayout().defaults), and
 * a model learned one step from frames the truth world rendered at its tick. Stepping faster than
 * that tick makes the world run fast, so the tick comes from the world and the display rate is
 * a separate setting (docs/runtime.md, "The game loop").
 */
import { InvalidArgumentError } from './errors.js';

/** The truth world's tick, and so the tick every model trained on its frames steps at. */
export const WORLD_TICK_HZ = 30;

/** The highest rate a loop runs at (the CLI's --fps / --display-fps bound, recordings' range). */
export const MAX_TICK_HZ = 240;

/**
 * A model's tick from its manifest: `training.tick_hz` when the exporter wrote one (none do yet;
 * the field is free-form training metadata, so older engines load such a file unchanged), else
 * the truth world's tick the data was made at.
 */
export function modelTickHz(manifest: { training?: Record<string, unknown> }): number {
  const v = manifest.training?.tick_hz;
  return typeof v === 'number' && Number.isFinite(v) && v >= 1 && v <= MAX_TICK_HZ ? v : WORLD_TICK_HZ;
}

/** A source's own tick (FrameSource.tickHz), defaulting to the truth world's. */
export function tickHzOf(source: { readonly tickHz?: number }): number {
  return source.tickHz ?? WORLD_TICK_HZ;
}

export interface LoopRates {
  /** Steps per second of wall time (what recordings and saves store as `fps`). */
  fps: number;
  /** Presents per second: the loop's tick; at least `fps`. */
  displayFps: number;
  /** Set when `fps` was chosen away from the world's own tick: a line saying so. */
  note?: string;
}

/**
 * Resolves the two rates of a session: the simulation tick is the world's own unless `fps` is
 * given explicitly; the display rate defaults to the simulation tick. A display rate below the
 * tick would hold steps back and slow the world, so it is refused.
 */
export function loopRates(worldHz: number, fps: number | undefined, displayFps: number | undefined): LoopRates {
  const sim = fps ?? worldHz;
  const display = displayFps ?? sim;
  if (display < sim) {
    throw new InvalidArgumentError(`--display-fps ${display} is below the simulation tick ${sim}: it would slow the world down (use --fps to change the tick)`);
  }
  const out: LoopRates = { fps: sim, displayFps: display };
  if (sim !== worldHz) {
    const x = Math.round((sim / worldHz) * 100) / 100;
    out.note = `note: --fps ${sim} steps this world at ${x}x its own tick (${worldHz}/s); --display-fps sets the presentation rate alone`;
  }
  return out;
}
