/**
 * The one way a world is opened — for play, truth, save, load, replay, bench and the evals: the
 * ground-truth world for a seed, or a model world (a model file loaded here, or a model the
 * caller loaded once for many worlds) starting from the truth world's view for a seed, from an
 * image, or from a save. By default the world comes with the runtime play runs around it
 * (play_world.ts); `bare` opens the world alone.
 */
import { TruthWorld } from '../world.js';
import { loadModel, type BackendName, type Model } from '../model.js';
import { ModelWorld, type OpeningProvider } from '../model_world.js';
import { modelSourceId, truthSourceId } from '../record/source_identity.js';
import { DEFAULT_MEMORY, MemoryStore, type MemoryConfig } from '../memory/memory_store.js';
import type { AnchorConfig } from '../memory/revisit_anchor.js';
import type { ViewPose } from '../memory/view_overlap.js';
import { imageOpening } from '../opening_image.js';
import { FormatError, WorldloopError } from '../errors.js';
import { checkSaveSource, readSave, restoreSave } from '../save/world_save.js';
import type { SaveFile } from '../save/format.js';
import { assemblePlayWorld, type OpenedWorld, type PlayWorld } from './play_world.js';
import { DEFAULT_MODEL, resolveModelPath } from './model_path.js';
import { truthOpening, truthStart } from './truth_start.js';

/** A model already loaded (by a caller that runs many worlds on it); the world never closes it. */
export interface LoadedModel {
  model: Model;
  /** The model file's identity, sha256:… (record/source_identity.ts). */
  sourceId: string;
}

export interface OpenWorldOptions {
  /** Truth or model; a save (`load`) says which itself. */
  kind?: 'truth' | 'model';
  /** World seed (default 1; a save has its own). */
  seed?: number;
  /** Continue this save file (worldloop save / F5) instead of starting from the seed. */
  load?: string;
  /** Model file (default: for a save, the file it names, else the default model). */
  modelPath?: string;
  /** Run on this loaded model instead of loading a file. */
  model?: LoadedModel;
  backend?: BackendName;
  threads?: number;
  /** Denoising steps per frame (default: the model's, or the save's). */
  steps?: number;
  /** Start a model world from this PNG/JPEG instead of the truth world's view for the seed. */
  startImage?: string;
  memory?: Partial<Omit<MemoryConfig, 'latentSize'>>;
  storeEvery?: number;
  /** Revisit anchoring (src/memory/revisit_anchor.ts): on by default; false turns it off. */
  anchor?: boolean | Partial<AnchorConfig>;
  /** Feed retrieved views to the model's memory slots (default on; a replay follows the recording). */
  memorySlots?: boolean;
  /** The world alone, as the loop's source: no pose estimate, memory, anchoring or save keys
   * (what `worldloop bench` measures, and what replays of recordings made without them rebuild). */
  bare?: boolean;
}

/** Opens a world: with the runtime play runs around it, or (`bare`) the world alone. */
export function openWorld(o: OpenWorldOptions & { bare: true }): Promise<OpenedWorld>;
export function openWorld(o: OpenWorldOptions & { bare?: false }): Promise<PlayWorld>;
export async function openWorld(o: OpenWorldOptions): Promise<OpenedWorld | PlayWorld> {
  if (o.load !== undefined) {
    if (o.bare) throw new WorldloopError('WL_INVALID_ARGUMENT', 'a save continues with the runtime it was made with; it cannot open bare');
    return loadWorld(o.load, o);
  }
  const seed = o.seed ?? 1;
  if (o.kind === 'truth') {
    if (o.startImage) throw new WorldloopError('WL_INVALID_ARGUMENT', 'a truth world starts from its seed; --start-image needs a model');
    const world = new TruthWorld({ seed });
    if (o.bare) return { source: world, world, sourceId: truthSourceId(seed), backend: 'truth', seed, observers: [], close: async () => world.close() };
    const st = truthStart(seed);
    return assemblePlayWorld({ world, sourceId: truthSourceId(seed), backend: 'truth', seed, startPose: st.pose, walls: st.walls, settings: {} });
  }
  const image = o.startImage;
  const m = await openModelWorld(o, {
    seed,
    ...(o.steps !== undefined ? { steps: o.steps } : {}),
    ...(image
      ? { opening: (model: Model) => imageOpening(image, model.dims.frameWidth, model.dims.frameHeight, model.dims.context).opening }
      : {}),
  });
  if (o.bare) {
    return {
      source: m.world,
      world: m.world,
      sourceId: m.sourceId,
      backend: m.model.info.backend,
      seed,
      steps: m.world.steps,
      model: m.model,
      ...(m.modelPath !== undefined ? { modelPath: m.modelPath } : {}),
      observers: [],
      close: async () => {
        m.world.close();
        await m.release();
      },
    };
  }
  const memory = new MemoryStore({ ...(o.memory ?? {}), latentSize: m.model.latentSize });
  // An image has no place in the truth world's map: its views are placed relative to the origin
  // and the pose estimate knows no walls.
  const st = image ? undefined : truthStart(seed);
  const startPose = st ? st.pose : { x: 0, y: 0, yaw: 0 };
  return assemblePlayWorld({
    world: m.world,
    sourceId: m.sourceId,
    backend: m.model.info.backend,
    seed,
    model: m.model,
    ...(m.modelPath !== undefined ? { modelPath: m.modelPath } : {}),
    memory,
    startPose,
    ...(st ? { walls: st.walls } : {}),
    ...runtimeParts(o),
    settings: { ...(m.modelPath !== undefined ? { model: m.modelPath } : {}), ...(image ? { startImage: image } : {}) },
    release: m.release,
  });
}

/** The runtime switches, as assemblePlayWorld takes them. */
function runtimeParts(o: OpenWorldOptions) {
  return {
    ...(o.storeEvery !== undefined ? { storeEvery: o.storeEvery } : {}),
    ...(o.anchor !== undefined ? { anchor: o.anchor } : {}),
    ...(o.memorySlots !== undefined ? { memorySlots: o.memorySlots } : {}),
  };
}

/** A model world on the caller's model or on a model file loaded here (closed again by
 * `release`, and at once when the world cannot be made). Its opening frames are the truth
 * world's for the seed unless `opening` says otherwise. */
async function openModelWorld(
  o: OpenWorldOptions,
  w: { seed: number; steps?: number; opening?: (model: Model) => OpeningProvider },
): Promise<{ sourceId: string; model: Model; modelPath?: string; world: ModelWorld; release: () => Promise<void> }> {
  let loaded: { sourceId: string; model: Model; modelPath?: string; release: () => Promise<void> };
  if (o.model) {
    loaded = { ...o.model, release: async () => undefined };
  } else {
    const modelPath = o.modelPath ?? DEFAULT_MODEL;
    const path = resolveModelPath(modelPath);
    const [sourceId, model] = await Promise.all([
      modelSourceId(path),
      loadModel(path, { backend: o.backend ?? 'auto', ...(o.threads !== undefined ? { threads: o.threads } : {}) }),
    ]);
    loaded = { sourceId, model, modelPath, release: () => model.close() };
  }
  const model = loaded.model;
  try {
    const k = model.dims.context;
    const world = new ModelWorld(model, {
      seed: w.seed,
      ...(w.steps !== undefined ? { steps: w.steps } : {}),
      opening: w.opening ? w.opening(model) : (seed) => truthOpening(seed, k, model.dims.frameWidth, model.dims.frameHeight),
    });
    return { ...loaded, world };
  } catch (err) {
    await loaded.release();
    throw err;
  }
}

function savedStartPose(save: SaveFile): ViewPose | undefined {
  const p = save.header.settings.startPose as ViewPose | undefined;
  return p && [p.x, p.y, p.yaw].every((v) => typeof v === 'number' && Number.isFinite(v)) ? p : undefined;
}

/** A memory store with the settings a save was made with (entries are loaded by restoreSave). */
function savedMemoryStore(save: SaveFile, latentSize: number, where: string): MemoryStore {
  const m = save.header.memory;
  const cfg: Partial<MemoryConfig> = {};
  if (m) {
    for (const k of Object.keys(DEFAULT_MEMORY) as (keyof typeof DEFAULT_MEMORY)[]) {
      if (typeof m[k] === 'number') cfg[k] = m[k] as number;
    }
  }
  try {
    return new MemoryStore({ ...cfg, latentSize });
  } catch (err) {
    throw new FormatError(`${where}: header.memory: ${(err as Error).message}`, { cause: err });
  }
}

/** A world continued from a save file: restored now; the loop's first reset of its source shows
 * the saved frame instead of starting over. The save decides the kind, seed and steps; the
 * model file is `modelPath`, else the one the save names, else the default model. */
async function loadWorld(savePath: string, o: OpenWorldOptions): Promise<PlayWorld> {
  const save = readSave(savePath);
  const h = save.header;
  const fromImage = typeof h.settings.startImage === 'string';
  const st = fromImage ? undefined : truthStart(h.seed);
  const startPose = savedStartPose(save) ?? st?.pose ?? { x: 0, y: 0, yaw: 0 };
  const walls = st ? { walls: st.walls } : {};
  if (h.kind === 'truth') {
    const world = new TruthWorld({ seed: h.seed, config: { width: h.settings.width, height: h.settings.height } });
    try {
      checkSaveSource(save, truthSourceId(h.seed), savePath);
      const pw = assemblePlayWorld({ world, sourceId: h.sourceId, backend: 'truth', seed: h.seed, startPose, ...walls, settings: {} });
      const frame = restoreSave(save, world, { tracker: pw.tracker }, savePath);
      pw.source.resumeWith(() => frame);
      return pw;
    } catch (err) {
      world.close();
      throw err;
    }
  }
  const hinted = typeof h.settings.model === 'string' ? h.settings.model : undefined;
  const m = await openModelWorld(o.model ? o : { ...o, modelPath: o.modelPath ?? hinted ?? DEFAULT_MODEL }, {
    seed: h.seed,
    ...(h.settings.steps !== undefined ? { steps: h.settings.steps } : {}),
  });
  try {
    checkSaveSource(save, m.sourceId, savePath);
    const memory = savedMemoryStore(save, m.model.latentSize, savePath);
    const pw = assemblePlayWorld({
      world: m.world,
      sourceId: m.sourceId,
      backend: m.model.info.backend,
      seed: h.seed,
      model: m.model,
      ...(m.modelPath !== undefined ? { modelPath: m.modelPath } : {}),
      memory,
      startPose,
      ...walls,
      ...runtimeParts(o),
      settings: { ...(m.modelPath !== undefined ? { model: m.modelPath } : {}), ...(fromImage ? { startImage: h.settings.startImage } : {}) },
      release: m.release,
    });
    const frame = restoreSave(save, m.world, { memory, tracker: pw.tracker }, savePath);
    pw.source.resumeWith(() => frame);
    return pw;
  } catch (err) {
    m.world.close();
    await m.release();
    throw err;
  }
}
