/**
 * Running a play world (play_world.ts) through a session — window or headless, with F5/F9 saving
 * and loading and the memory map in the HUD — then writing what was asked for: the save, the map
 * panel and the memory sheet. What play, truth, save and load run.
 */
import { writeFileSync } from 'node:fs';
import { runSession, type SessionOptions } from '../loop/session.js';
import type { PlayWorld } from './play_world.js';
import { drawMemoryMap, type MemoryMapInput } from '../designer/memory_map.js';
import { memoryContactSheet } from '../designer/memory_sheet.js';
import { encodePng } from '../image/png.js';
import { WorldloopError } from '../errors.js';
import { tickHzOf } from '../tick_rate.js';

/** Where F5 saves and F9 loads during play unless told otherwise. */
export const DEFAULT_QUICKSAVE = 'quick.wlsave';

/** How the session runs: rate, window or headless input, recording, trace (the session flags). */
export type PlaySessionSettings = Omit<
  SessionOptions,
  'source' | 'sourceId' | 'backend' | 'steps' | 'observers' | 'recordSettings' | 'log' | 'hudPanel' | 'onCommand' | 'output'
>;

export interface PlayOutputs {
  saveTo?: string;
  quicksave: string;
  /** Only open the world (its opening frames, or the loaded save); run no steps. */
  openOnly?: boolean;
  force: boolean;
  map?: string;
  sheet?: string;
}

function writePng(path: string, what: string, width: number, height: number, rgb: Uint8Array): void {
  try {
    writeFileSync(path, encodePng(width, height, rgb, 3));
  } catch (err) {
    throw new WorldloopError('WL_IO', `cannot write ${what} '${path}': ${(err as Error).message}`);
  }
}

/** The map panel's contents now: stored views, path, player, and what retrieval would pick. */
function mapInput(pw: PlayWorld, retrieve: number): MemoryMapInput {
  const player = pw.tracker.pose();
  const entries = pw.memory?.entries() ?? [];
  const now = pw.lastFrame()?.index ?? 0;
  const last = pw.anchor?.last;
  const anchor = last && last.target === now ? entries.indexOf(last.entry) : -1;
  return {
    entries,
    path: pw.tracker.path(),
    player,
    now,
    highlight: pw.memory ? pw.memory.retrieve(player, now, retrieve).map((r) => r.index) : [],
    ...(anchor >= 0 ? { anchor } : {}),
    ...(pw.walls ? { walls: pw.walls } : {}),
    title: `${entries.length} views` + (pw.anchor ? ` · ${pw.anchor.anchored} anchored` : ''),
  };
}

/** Runs the session, then writes what was asked for. */
export async function runPlay(pw: PlayWorld, f: PlaySessionSettings, out: PlayOutputs, log: (l: string) => void): Promise<void> {
  const steps = pw.steps;
  if (out.openOnly) {
    // Nothing to play: just open the world (its opening frames, or the loaded save) and keep it.
    const first = await pw.source.reset(pw.seed);
    for (const o of pw.observers) o.sessionStarted?.(first);
  } else await runSession({
    ...f,
    seed: pw.seed,
    source: pw.source,
    sourceId: pw.sourceId,
    backend: pw.backend,
    ...(steps !== undefined ? { steps } : {}),
    observers: pw.observers,
    ...(pw.runtime ? { recordSettings: { runtime: pw.runtime } } : {}),
    log,
    // Re-grounding a revisited place runs a bridge of extra denoiser steps.
    ...(pw.anchor ? { paceTries: ['--no-anchor (re-grounding on remembered views runs extra denoiser steps)'] } : {}),
    hudPanel: (c) => drawMemoryMap(c, mapInput(pw, 4)),
    onCommand: async (cmd, loop) => {
      try {
        if (cmd === 'quicksave') {
          const bytes = await pw.quickSave(out.quicksave, { fps: f.fps ?? tickHzOf(pw.source) });
          log(`saved: ${out.quicksave} (${bytes} bytes, frame ${pw.lastFrame()?.index ?? 0})`);
        } else if (cmd === 'quickload') {
          pw.prepareLoad(out.quicksave);
          loop.requestReset();
          log(`loading: ${out.quicksave}`);
        }
      } catch (err) {
        // A failed save or a bad file must not end the session: say why and play on.
        log(`${cmd} failed: ${(err as Error).message}`);
      }
    },
  });
  if (pw.anchor) {
    const last = pw.anchor.last;
    log(
      `revisit anchoring: ${pw.anchor.anchored} frame${pw.anchor.anchored === 1 ? '' : 's'} re-grounded on remembered views` +
        (last ? ` (last: frame ${last.target}, on the view from frame ${last.viewTime}, ${last.steps === 1 ? 'one step' : `${last.steps} steps`} away)` : ''),
    );
  }
  if (out.saveTo) {
    const bytes = pw.save(out.saveTo, { fps: f.fps ?? tickHzOf(pw.source) });
    const mem = pw.memory ? `, ${pw.memory.size} memory views` : '';
    log(`saved: ${out.saveTo} (${bytes} bytes, frame ${pw.lastFrame()?.index ?? 0}${mem})`);
  }
  if (out.map) {
    const size = 256;
    const canvas = { width: size, height: size, channels: 3 as const, pixels: new Uint8Array(size * size * 3) };
    drawMemoryMap(canvas, mapInput(pw, 8));
    writePng(out.map, 'map', size, size, canvas.pixels);
    log(`map: ${out.map}`);
  }
  if (out.sheet) {
    if (!pw.model || !pw.memory) throw new WorldloopError('WL_USAGE', '--memory-sheet needs a model world (the truth world keeps no latents)');
    const sheet = await memoryContactSheet(pw.model, pw.memory);
    writePng(out.sheet, 'memory sheet', sheet.width, sheet.height, sheet.rgb);
    log(`memory sheet: ${out.sheet} (${Math.min(64, pw.memory.size)} views)`);
  }
}
