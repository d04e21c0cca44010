/**
 * What `worldloop save` and `worldloop load` share: the memory/designer flags, and running a
 * persistent world through a session, then writing the save, map panel and memory sheet.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FlagSpec, ParsedArgs } from './args.js';
import type { SessionFlags } from './session_flags.js';
import { runSession } from '../loop/session.js';
import type { PersistentWorld } from '../save/persistent_world.js';
import { drawMemoryMap, type MemoryMapInput } from '../designer/memory_map.js';
import { memoryContactSheet } from '../designer/memory_sheet.js';
import { encodePng } from '../image/png.js';
import { WorldloopError } from '../errors.js';
import { MAX_BRIDGE_STEPS } from '../model_world.js';
import { DEFAULT_ANCHOR } from '../memory/revisit_anchor.js';
import { tickHzOf } from '../tick_rate.js';

/** Switches of the runtime around a model world (play, save and load all take them). */
export const RUNTIME_FLAGS: Record<string, FlagSpec> = {
  'no-anchor': { kind: 'boolean' },
  'anchor-steps': { kind: 'int', min: 1, max: MAX_BRIDGE_STEPS },
  'no-memory-slots': { kind: 'boolean' },
};

export const PERSIST_FLAGS: Record<string, FlagSpec> = {
  ...RUNTIME_FLAGS,
  force: { kind: 'boolean' },
  quicksave: { kind: 'string' },
  map: { kind: 'string' },
  'memory-sheet': { kind: 'string' },
  'memory-capacity': { kind: 'int', min: 1, max: 65536 },
  'store-every': { kind: 'int', min: 1, max: 100000 },
};

/** --no-anchor, --anchor-steps and --no-memory-slots as open/load options (anchoring and the
 * memory slots are on unless turned off). */
export function runtimeOptions(a: ParsedArgs): { anchor?: false | { maxSteps: number }; memorySlots?: false } {
  if (a.flags['no-anchor'] === true && a.flags['anchor-steps'] !== undefined) {
    throw new WorldloopError('WL_USAGE', '--anchor-steps sets how far revisit anchoring reaches; it does nothing with --no-anchor');
  }
  return {
    ...(a.flags['no-anchor'] === true ? { anchor: false as const } : {}),
    ...(a.flags['anchor-steps'] !== undefined ? { anchor: { maxSteps: a.flags['anchor-steps'] as number } } : {}),
    ...(a.flags['no-memory-slots'] === true ? { memorySlots: false as const } : {}),
  };
}

export const DEFAULT_QUICKSAVE = 'quick.wlsave';

/** Help lines of RUNTIME_FLAGS, for every command that takes them. */
export const RUNTIME_HELP = `  --no-anchor          do not re-ground frames on remembered views when you come back to a
                       place (revisit anchoring, docs/persistence.md; model worlds)
  --anchor-steps N     how many action steps from a remembered view anchoring reaches, 1..${MAX_BRIDGE_STEPS}
                       (default ${DEFAULT_ANCHOR.maxSteps}; each step past the first costs an anchored frame one
                       more denoiser evaluation)
  --no-memory-slots    do not feed stored views to the model's memory slots (models with
                       memory slots; docs/memory-model.md says when that helps)`;

export const PERSIST_HELP = `save / load in play:
  --quicksave FILE     where F5 saves and F9 loads during play (default ${DEFAULT_QUICKSAVE}); F9
                       only loads a save of the same model file (or truth seed)
designer / memory:
  --memory-capacity N  views the spatial memory keeps (default 1024; model worlds)
  --store-every N      store one view every N frames (default 4)
${RUNTIME_HELP}
  --map FILE.png       write the memory map panel (stored views, path, player) at the end
  --memory-sheet FILE.png  write a contact sheet of the stored views (decoded) at the end
  --force              replace an existing save file (always atomically)`;

export interface PersistOutputs {
  saveTo?: string;
  quicksave: string;
  /** Only open the world (its opening frames, or the loaded save); run no steps. */
  openOnly?: boolean;
  force: boolean;
  map?: string;
  sheet?: string;
}

export function persistOutputs(a: ParsedArgs, saveTo?: string): PersistOutputs {
  return {
    ...(saveTo !== undefined ? { saveTo } : {}),
    quicksave: (a.flags.quicksave as string | undefined) ?? DEFAULT_QUICKSAVE,
    force: a.flags.force === true,
    ...(a.flags.map !== undefined ? { map: a.flags.map as string } : {}),
    ...(a.flags['memory-sheet'] !== undefined ? { sheet: a.flags['memory-sheet'] as string } : {}),
  };
}

/** Refuses to replace an existing save unless --force (checked before any play happens). */
export function checkSaveTarget(command: string, path: string, force: boolean): void {
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new WorldloopError('WL_IO', `${command}: cannot save to '${path}': directory '${dir}' does not exist`);
  }
  if (existsSync(path) && !force) {
    throw new WorldloopError('WL_USAGE', `${command}: '${path}' exists; pass --force to replace it (the old file stays intact if writing fails)`);
  }
}

function writePng(path: string, what: string, width: number, height: number, rgb: Uint8Array): void {
  try {
    writeFileSync(path, encodePng(width, height, rgb, 3));
  } catch (err) {
    throw new WorldloopError('WL_IO', `cannot write ${what} '${path}': ${(err as Error).message}`);
  }
}

/** The map panel's contents now: stored views, path, player, and what retrieval would pick. */
function mapInput(pw: PersistentWorld, retrieve: number): MemoryMapInput {
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
export async function runPersistent(pw: PersistentWorld, f: SessionFlags, out: PersistOutputs, log: (l: string) => void): Promise<void> {
  const steps = pw.world.kind === 'model' ? (pw.world as { steps?: number }).steps : undefined;
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
