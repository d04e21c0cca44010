/**
 * Whole-world saves: what a running world is made of, into a save file and back.
 *
 *   kind "truth": the native world snapshot (seed, frame index, pose, light, spawned objects)
 *   kind "model": the model world's context (K latents, K actions), seed and frame index — the
 *                 Philox noise is keyed by (seed, frame, step), so these are all the RNG state
 *   both:         the frame on screen, the runtime's pose estimate and path, the memory store
 *
 * Sections: frame (u8 RGB), world_snapshot (u8, truth), context_latents / context_actions (f32,
 * model), memory_latents (f32), memory_poses / memory_times (f64), path (f64).
 */
import { readInputFile } from '../input_file.js';
import type { Frame, FrameSource } from '../source.js';
import { TruthWorld, World, worldLayout } from '../world.js';
import { checkLightState, type LightState } from '../lighting.js';
import { ModelWorld } from '../model_world.js';
import { FormatError, WorldloopError } from '../errors.js';
import { MAX_LATENT_ABS, MemoryStore } from '../memory/memory_store.js';
import type { PoseTracker } from '../memory/pose_tracker.js';
import { decodeSave, encodeSave, type SaveFile, type SaveHeader, type SectionData } from './format.js';
import { writeFileAtomic, type AtomicFs } from './atomic_write.js';

export const MAX_SAVE_FILE_BYTES = 2 ** 31 - 1;

export interface CaptureInput {
  source: FrameSource;
  sourceId: string;
  backend: string;
  /** The frame on screen now (shown again first when the save is loaded). */
  frame: Frame;
  settings?: Record<string, unknown>;
  memory?: MemoryStore;
  tracker?: PoseTracker;
}

function asTruth(s: FrameSource): TruthWorld | undefined {
  return s instanceof TruthWorld ? s : undefined;
}
function asModel(s: FrameSource): ModelWorld | undefined {
  return s instanceof ModelWorld ? s : undefined;
}

/** Everything in a running world, as a save file (not yet written). */
export function captureSave(c: CaptureInput): SaveFile {
  const { source } = c;
  const sections = new Map<string, SectionData>();
  sections.set('frame', c.frame.rgb.slice());
  let seed: number;
  let frameIndex: number;
  let steps: number | undefined;
  let pose = c.tracker?.pose();
  let light: LightState | undefined;
  const truth = asTruth(source);
  const model = asModel(source);
  if (truth) {
    const info = truth.world.info();
    seed = info.seed;
    frameIndex = info.frame_index;
    sections.set('world_snapshot', truth.world.snapshot().slice());
    pose ??= truth.pose();
  } else if (model) {
    const st = model.state();
    seed = st.seed;
    frameIndex = st.frameIndex;
    steps = model.steps;
    sections.set('context_latents', st.contextLatents);
    sections.set('context_actions', st.contextActions);
    light = st.light;
  } else {
    throw new WorldloopError('WL_UNSUPPORTED', `cannot save a '${source.kind}' source of this type (only TruthWorld and ModelWorld)`);
  }
  if (c.frame.rgb.length !== source.width * source.height * 3) {
    throw new WorldloopError('WL_INVALID_ARGUMENT', `frame has ${c.frame.rgb.length} bytes; the source renders ${source.width}x${source.height}x3`);
  }
  let memory: SaveHeader['memory'];
  if (c.memory) {
    const a = c.memory.toArrays();
    sections.set('memory_latents', a.latents);
    sections.set('memory_poses', a.poses);
    sections.set('memory_times', a.times);
    memory = { ...c.memory.config, count: c.memory.size, changedAt: c.memory.changedAt };
  }
  if (c.tracker) sections.set('path', c.tracker.path());
  const header: Omit<SaveHeader, 'sections'> = {
    format: 'worldloop-save',
    kind: source.kind,
    sourceId: c.sourceId,
    label: source.label,
    backend: c.backend,
    seed,
    frameIndex,
    settings: { ...(c.settings ?? {}), width: source.width, height: source.height, ...(steps !== undefined ? { steps } : {}) },
    actionSpace: { channels: source.actionSpace.channels.map((ch) => ({ ...ch })) },
    ...(pose ? { pose } : {}),
    ...(light ? { light } : {}),
    ...(memory ? { memory } : {}),
    createdAt: new Date().toISOString(),
  };
  const bytes = encodeSave(header, sections);
  // Round-trip through the decoder so the returned object is exactly what a load would see.
  return decodeSave(bytes, 'new save');
}

/** Writes a save atomically: the previous file at `path` survives any failure. */
export function writeSave(path: string, save: SaveFile, fs?: AtomicFs): number {
  const { sections: infos, ...rest } = save.header;
  void infos;
  const bytes = encodeSave(rest, save.sections);
  writeFileAtomic(path, bytes, fs);
  return bytes.length;
}

export function readSave(path: string): SaveFile {
  return decodeSave(readInputFile(path, 'save', MAX_SAVE_FILE_BYTES), path);
}

function section<T extends SectionData>(save: SaveFile, name: string, where: string, ctor: new (...a: never[]) => T): T {
  const s = save.sections.get(name);
  if (!s) throw new FormatError(`${where}: section '${name}' is missing`);
  if (!(s instanceof ctor)) throw new FormatError(`${where}: section '${name}' has the wrong type`);
  return s;
}

/** Refuses a save made by another model file (or another truth seed), naming both. */
export function checkSaveSource(save: SaveFile, sourceId: string, where = 'save'): void {
  if (save.header.sourceId !== sourceId) {
    throw new FormatError(
      `${where}: made by ${save.header.sourceId}, but the world opened to load it is ${sourceId}` +
        (save.header.kind === 'model' ? ' (a different model file; pass --model with the one the save was made with)' : ''),
    );
  }
}

interface Checked {
  rgb: Uint8Array;
  snapshot?: Uint8Array;
  latents?: Float32Array;
  actions?: Float32Array;
  memory?: { latents: Float32Array; poses: Float64Array; times: Float64Array };
  memoryChangedAt?: number;
  light?: LightState;
}

/** Every check restoreSave makes, without changing anything. */
function check(save: SaveFile, source: FrameSource, memory: MemoryStore | undefined, where: string): Checked {
  const h = save.header;
  if (h.kind !== source.kind) throw new FormatError(`${where}: holds a ${h.kind} world; it cannot be loaded into a ${source.kind} world`);
  if (h.settings.width !== source.width || h.settings.height !== source.height) {
    throw new FormatError(`${where}: frames are ${h.settings.width}x${h.settings.height}; this world renders ${source.width}x${source.height}`);
  }
  const names = source.actionSpace.channels.map((c) => c.name).join(',');
  const saved = h.actionSpace.channels.map((c) => c.name).join(',');
  if (names !== saved) throw new FormatError(`${where}: action channels [${saved}] differ from this world's [${names}]`);
  const rgb = section(save, 'frame', where, Uint8Array);
  if (rgb.length !== source.width * source.height * 3) {
    throw new FormatError(`${where}: frame section has ${rgb.length} bytes; ${source.width}x${source.height}x3 = ${source.width * source.height * 3} expected`);
  }
  const out: Checked = { rgb };
  const model = asModel(source);
  if (asTruth(source)) {
    out.snapshot = section(save, 'world_snapshot', where, Uint8Array);
  } else if (model) {
    const lat = section(save, 'context_latents', where, Float32Array);
    const act = section(save, 'context_actions', where, Float32Array);
    const cur = model.state();
    if (lat.length !== cur.contextLatents.length || act.length !== cur.contextActions.length) {
      throw new FormatError(
        `${where}: context holds ${lat.length} latent and ${act.length} action values; this model's context takes ` +
          `${cur.contextLatents.length} and ${cur.contextActions.length}`,
      );
    }
    // What the model conditions on: actions inside their channels' ranges (as a step takes
    // them), latents inside what an encoder gives.
    const channels = source.actionSpace.channels;
    act.forEach((v, i) => {
      const c = channels[i % channels.length]!;
      if (!(v >= c.min && v <= c.max)) {
        throw new FormatError(`${where}: section 'context_actions': value ${i} (context frame ${Math.floor(i / channels.length)}, ${c.name}) = ${v} is outside [${c.min}, ${c.max}]`);
      }
    });
    const far = lat.findIndex((v) => !(Math.abs(v) <= MAX_LATENT_ABS));
    if (far >= 0) throw new FormatError(`${where}: section 'context_latents': value ${far} = ${lat[far]} is outside [-${MAX_LATENT_ABS}, ${MAX_LATENT_ABS}]`);
    out.latents = lat;
    out.actions = act;
    if (h.light !== undefined) {
      try {
        out.light = checkLightState(h.light, worldLayout().lightPresets.length, 'light');
      } catch (err) {
        throw new FormatError(`${where}: ${(err as Error).message}`);
      }
    }
  } else {
    throw new WorldloopError('WL_UNSUPPORTED', `cannot load a save into a '${source.kind}' source of this type`);
  }
  if (memory && h.memory) {
    if (h.memory.latentSize !== memory.config.latentSize) {
      throw new FormatError(`${where}: memory latents have ${h.memory.latentSize} values; this store holds ${memory.config.latentSize}`);
    }
    out.memory = {
      latents: section(save, 'memory_latents', where, Float32Array),
      poses: section(save, 'memory_poses', where, Float64Array),
      times: section(save, 'memory_times', where, Float64Array),
    };
    // Saves from before changedAt existed: treat every stored look as possibly stale.
    out.memoryChangedAt = typeof h.memory.changedAt === 'number' ? h.memory.changedAt : h.frameIndex;
    // Same checks as loading, on a scratch store.
    new MemoryStore({ ...memory.config }).loadArrays(out.memory, `${where}: memory`, out.memoryChangedAt);
  }
  return out;
}

/** Checks that `save` can be restored into `source` (and `memory`) without touching either;
 * throws the FormatError restoreSave would. The truth world's snapshot is tried on a scratch
 * world. */
export function checkRestorable(save: SaveFile, source: FrameSource, memory: MemoryStore | undefined, where = 'save'): void {
  const c = check(save, source, memory, where);
  if (c.snapshot) {
    const scratch = new World(save.header.seed, { width: source.width, height: source.height });
    try {
      scratch.restore(c.snapshot);
    } catch (err) {
      throw new FormatError(`${where}: world snapshot: ${(err as Error).message}`, { cause: err });
    } finally {
      scratch.close();
    }
  }
}

/**
 * Puts a world back as it was saved: the source (a TruthWorld for a truth save, a ModelWorld of
 * the same model for a model save — check the identity with checkSaveSource first), and the
 * memory store and pose tracker when given. Returns the frame that was on screen. Everything is
 * checked before anything changes.
 */
export function restoreSave(save: SaveFile, source: FrameSource, extras: { memory?: MemoryStore; tracker?: PoseTracker } = {}, where = 'save'): Frame {
  const h = save.header;
  const c = check(save, source, extras.memory, where);
  const truth = asTruth(source);
  const model = asModel(source);
  let frame: Frame;
  if (truth && c.snapshot) {
    try {
      truth.world.restore(c.snapshot);
    } catch (err) {
      throw new FormatError(`${where}: world snapshot: ${(err as Error).message}`, { cause: err });
    }
    frame = truth.current();
  } else if (model && c.latents && c.actions) {
    model.restore({ seed: h.seed, frameIndex: h.frameIndex, contextLatents: c.latents, contextActions: c.actions, ...(c.light ? { light: c.light } : {}) });
    frame = { width: source.width, height: source.height, rgb: c.rgb.slice(), index: h.frameIndex };
  } else {
    throw new WorldloopError('WL_UNSUPPORTED', `cannot load a save into a '${source.kind}' source of this type`);
  }
  if (extras.memory) {
    if (c.memory) extras.memory.loadArrays(c.memory, `${where}: memory`, c.memoryChangedAt);
    else extras.memory.clear();
  }
  if (extras.tracker && h.pose) {
    const path = save.sections.get('path');
    extras.tracker.set(h.pose, path instanceof Float64Array ? path : undefined);
  }
  return frame;
}
