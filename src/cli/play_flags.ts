/**
 * The flags of the commands that open a world for play (play, truth, save, load, replay, bench):
 * the model's, the runtime's switches, the save/designer outputs, and how they become
 * openWorld's options (src/play/open_world.ts) and runPlay's outputs (src/play/run_play.ts).
 */
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FlagSpec, ParsedArgs } from './args.js';
import { WorldloopError } from '../errors.js';
import { MAX_BRIDGE_STEPS } from '../model_world.js';
import { DEFAULT_ANCHOR } from '../memory/revisit_anchor.js';
import { DEFAULT_QUICKSAVE, type PlayOutputs } from '../play/run_play.js';
import type { OpenWorldOptions } from '../play/open_world.js';
import type { BackendName } from '../model.js';

/** Switches of the runtime around a model world (play, save and load all take them). */
export const RUNTIME_FLAGS: Record<string, FlagSpec> = {
  'no-anchor': { kind: 'boolean' },
  'anchor-steps': { kind: 'int', min: 1, max: MAX_BRIDGE_STEPS },
  'no-memory-slots': { kind: 'boolean' },
};

export const PLAY_OUTPUT_FLAGS: Record<string, FlagSpec> = {
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

/** Help lines of RUNTIME_FLAGS, for every command that takes them. */
export const RUNTIME_HELP = `  --no-anchor          do not re-ground frames on remembered views when you come back to a
                       place (revisit anchoring, docs/persistence.md; model worlds)
  --anchor-steps N     how many action steps from a remembered view anchoring reaches, 1..${MAX_BRIDGE_STEPS}
                       (default ${DEFAULT_ANCHOR.maxSteps}; each step past the first costs an anchored frame one
                       more denoiser evaluation)
  --no-memory-slots    do not feed stored views to the model's memory slots (models with
                       memory slots; docs/memory-model.md says when that helps)`;

export const PLAY_OUTPUT_HELP = `save / load in play:
  --quicksave FILE     where F5 saves and F9 loads during play (default ${DEFAULT_QUICKSAVE}); F9
                       only loads a save of the same model file (or truth seed)
designer / memory:
  --memory-capacity N  views the spatial memory keeps (default 1024; model worlds)
  --store-every N      store one view every N frames (default 4)
${RUNTIME_HELP}
  --map FILE.png       write the memory map panel (stored views, path, player) at the end
  --memory-sheet FILE.png  write a contact sheet of the stored views (decoded) at the end
  --force              replace an existing save file (always atomically)`;

export function playOutputs(a: ParsedArgs, saveTo?: string): PlayOutputs {
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


/** The model flags (--model, --backend, --threads, --steps) and the runtime switches as
 * openWorld's options; the command adds what it opens (kind, seed, image or save). */
export function worldOptions(a: ParsedArgs): Omit<OpenWorldOptions, 'bare'> {
  return {
    ...(a.flags.model !== undefined ? { modelPath: a.flags.model as string } : {}),
    backend: (a.flags.backend as BackendName | undefined) ?? 'auto',
    ...(a.flags.threads !== undefined ? { threads: a.flags.threads as number } : {}),
    ...(a.flags.steps !== undefined ? { steps: a.flags.steps as number } : {}),
    ...(a.flags['memory-capacity'] !== undefined ? { memory: { capacity: a.flags['memory-capacity'] as number } } : {}),
    ...(a.flags['store-every'] !== undefined ? { storeEvery: a.flags['store-every'] as number } : {}),
    ...runtimeOptions(a),
  };
}
