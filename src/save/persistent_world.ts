/**
 * A world with its persistence kit: the source (truth or model, from a seed, an image or a
 * save), the runtime's pose estimate and path, the spatial memory store (model worlds), and the
 * observer that keeps them current. What `worldloop save` and `worldloop load` run.
 */
import type { Frame } from '../source.js';
import { TruthWorld, World, worldLayout } from '../world.js';
import { loadModel, type BackendName, type Model } from '../model.js';
import { ModelWorld, type OpeningProvider } from '../model_world.js';
import { DEFAULT_MODEL, resolveModelPath, truthOpening } from '../loop/open_source.js';
import { modelSourceId, truthSourceId } from '../record/source_identity.js';
import type { StepObserver } from '../loop/game_loop.js';
import { DEFAULT_MEMORY, MemoryStore, type MemoryConfig } from '../memory/memory_store.js';
import { PoseTracker } from '../memory/pose_tracker.js';
import { DEFAULT_STORE_EVERY, MemoryObserver } from '../memory/memory_observer.js';
import { MemoryInputBuilder } from '../memory/memory_retrieval.js';
import { RevisitAnchor, type AnchorConfig } from '../memory/revisit_anchor.js';
import type { ViewPose } from '../memory/view_overlap.js';
import { imageOpening } from '../opening_image.js';
import { FormatError, WorldloopError } from '../errors.js';
import { captureSave, checkRestorable, checkSaveSource, readSave, restoreSave, writeSave } from './world_save.js';
import { PersistentSource } from './persistent_source.js';
import { placeDepth } from '../object_placement.js';
import type { SaveFile } from './format.js';
import type { RecordedRuntime } from '../record/format.js';

export interface PersistentWorld {
  /** What the loop drives: the world, plus waiting for steps and restoring on reset. */
  source: PersistentSource;
  /** The world itself (TruthWorld or ModelWorld). */
  world: TruthWorld | ModelWorld;
  sourceId: string;
  backend: string;
  seed: number;
  model?: Model;
  modelPath?: string;
  memory?: MemoryStore;
  /** Re-grounds frames on remembered views when the player comes back (model worlds). */
  anchor?: RevisitAnchor;
  tracker: PoseTracker;
  startPose: ViewPose;
  /** The seed's wall grid (the pose tracker collides with it; the map panel draws it). */
  walls?: WallGrid;
  observers: StepObserver[];
  /** The latest frame the loop produced (kept current by an observer). */
  lastFrame(): Frame | undefined;
  /** How the runtime around the model was set up (memory slots fed, anchoring, store): what a
   * recording keeps so that a replay can rebuild the same world (model worlds only). */
  runtime?: ModelRuntimeSettings;
  /** Writes the world as it is now, atomically. Returns the file size. Call it between steps
   * (after the session, or through quickSave during play). */
  save(path: string, settings?: Record<string, unknown>): number;
  /** Waits for the step in flight, then saves (the in-game save key). */
  quickSave(path: string, settings?: Record<string, unknown>): Promise<number>;
  /** Reads and checks a save of this same world (model file / seed), and arranges for the
   * loop's next reset to restore it (the in-game load key; request the reset after this). */
  prepareLoad(path: string): void;
  close(): Promise<void>;
}

export interface OpenWorldOptions {
  kind: 'truth' | 'model';
  seed?: number;
  modelPath?: string;
  backend?: BackendName;
  threads?: number;
  steps?: number;
  /** Start a model world from this PNG/JPEG instead of the truth world's view for the seed. */
  startImage?: string;
  memory?: Partial<Omit<MemoryConfig, 'latentSize'>>;
  storeEvery?: number;
  /** Revisit anchoring (src/memory/revisit_anchor.ts): on by default; false turns it off. */
  anchor?: boolean | Partial<AnchorConfig>;
  /** Feed retrieved views to the model's memory slots (default on; a replay follows the recording). */
  memorySlots?: boolean;
}

/** The runtime around a model world, as recordings keep it (record/format.ts owns the fields and
 * their checks). */
export type ModelRuntimeSettings = RecordedRuntime;

export interface WallGrid {
  size: number;
  cells: Uint8Array;
}

/** Where the truth world places the player for a seed (a model world opened from that seed
 * starts there too), and the seed's wall grid. */
export function truthStart(seed: number): { pose: ViewPose; walls: WallGrid } {
  const w = new World(seed);
  try {
    return { pose: w.pose(), walls: w.map() };
  } finally {
    w.close();
  }
}

function speeds() {
  const d = worldLayout().defaults;
  return { moveSpeed: d.moveSpeed, strafeSpeed: d.strafeSpeed, turnSpeedDeg: d.turnSpeedDeg };
}

class FrameKeeper implements StepObserver {
  frame: Frame | undefined;
  sessionStarted(first: Frame): void {
    this.frame = { ...first, rgb: first.rgb.slice() };
  }
  stepFinished(frame: Frame): void {
    if (!this.frame || this.frame.rgb.length !== frame.rgb.length) this.frame = { ...frame, rgb: frame.rgb.slice() };
    else {
      this.frame.rgb.set(frame.rgb);
      this.frame.index = frame.index;
    }
  }
}

export type AssembleParts = Pick<
  PersistentWorld,
  'world' | 'sourceId' | 'backend' | 'seed' | 'model' | 'modelPath' | 'memory' | 'startPose' | 'walls'
> & {
  storeEvery?: number;
  settings: Record<string, unknown>;
  /** Revisit anchoring for a model world with a memory store (default on). */
  anchor?: boolean | Partial<AnchorConfig>;
  /** Feed retrieved views to a model's memory slots (default on; the eval turns it off). */
  memorySlots?: boolean;
};

/** A world with its pose estimate, memory, anchoring and observers (what open/load build; the
 * revisit eval builds its worlds with it too, so it measures what play runs). */
export function assemblePersistentWorld(p: AssembleParts): PersistentWorld {
  const tracker = new PoseTracker(p.world.actionSpace, { speeds: speeds(), start: p.startPose, ...(p.walls ? { walls: p.walls } : {}) });
  const keeper = new FrameKeeper();
  const observers: StepObserver[] = [keeper];
  const { world, memory, model } = p;
  const source = new PersistentSource(world);
  let anchor: RevisitAnchor | undefined;
  // Knowing the seed's walls, a model world places objects where the truth world would. The
  // loop places before the tracker takes the step's action, so its pose is the frame's on screen.
  const walls = p.walls;
  if (world instanceof ModelWorld && walls) world.setPlacementDepthProvider(() => placeDepth(tracker.pose(), walls));
  if (memory && model && world instanceof ModelWorld) {
    if (p.anchor !== false) {
      const a = new RevisitAnchor(world.actionSpace, tracker, typeof p.anchor === 'object' ? p.anchor : {});
      anchor = a;
      // The tracker has already taken this step's action: its pose is the frame's.
      world.setAnchorProvider((target, action) => {
        const found = a.find(memory, tracker.pose(), target, action);
        return found ? { latent: found.entry.latent, actions: found.actions, viewTime: found.entry.time } : undefined;
      });
    }
    if (model.dims.memorySlots > 0 && p.memorySlots !== false) {
      // The tracker has already taken this step's action (observers run before the step), so its
      // pose is the pose of the frame being generated — what retrieval is keyed on in training.
      const builder = new MemoryInputBuilder(model.latentSize, { slots: model.dims.memorySlots, poseDim: model.dims.memoryPoseDim });
      world.setMemoryProvider((target) => builder.build(memory, tracker.pose(), target));
    }
    observers.push(
      new MemoryObserver({
        memory,
        tracker,
        startPose: p.startPose,
        latestLatent: () => world.newestLatent(),
        actionSpace: world.actionSpace,
        frameIndex: () => world.frameIndex,
        ...(p.storeEvery !== undefined ? { storeEvery: p.storeEvery } : {}),
      }),
    );
  } else {
    // No latents to remember (truth world), but the pose estimate and path still follow play.
    observers.push({
      stepStarted: (a, reset) => {
        if (reset) tracker.set(p.startPose);
        tracker.update(a);
      },
      resetOutsideStep: () => tracker.set(p.startPose),
    });
  }
  observers.push(source.settleObserver);
  const save = (path: string, settings: Record<string, unknown> = {}) => {
    const frame = keeper.frame;
    if (!frame) throw new WorldloopError('WL_INVALID_ARGUMENT', 'nothing to save yet: the world has not produced a frame');
    const file = captureSave({
      source: world,
      sourceId: p.sourceId,
      backend: p.backend,
      frame,
      settings: { ...p.settings, ...settings, startPose: p.startPose },
      ...(memory ? { memory } : {}),
      tracker,
    });
    return writeSave(path, file);
  };
  return {
    source,
    world,
    sourceId: p.sourceId,
    backend: p.backend,
    seed: p.seed,
    ...(model ? { model } : {}),
    ...(p.modelPath ? { modelPath: p.modelPath } : {}),
    ...(memory ? { memory } : {}),
    ...(anchor ? { anchor } : {}),
    tracker,
    startPose: p.startPose,
    ...(p.walls ? { walls: p.walls } : {}),
    observers,
    lastFrame: () => keeper.frame,
    ...(memory && model
      ? {
          runtime: {
            memorySlots: model.dims.memorySlots > 0 && p.memorySlots !== false,
            anchor: !!anchor,
            ...(anchor ? { anchorSteps: anchor.config.maxSteps } : {}),
            storeEvery: p.storeEvery ?? DEFAULT_STORE_EVERY,
            memoryCapacity: memory.config.capacity,
            ...(typeof p.settings.startImage === 'string' ? { startImage: p.settings.startImage } : {}),
          },
        }
      : {}),
    save,
    async quickSave(path, settings) {
      await source.idle();
      return save(path, settings);
    },
    prepareLoad(path) {
      const file = readSave(path);
      checkSaveSource(file, p.sourceId, path);
      // Validate everything now (sizes, sections) against scratch objects, so a bad file is
      // reported at the key press and the running world is never half-restored.
      checkRestorable(file, world, memory, path);
      source.resumeWith(() => {
        const frame = restoreSave(file, world, { ...(memory ? { memory } : {}), tracker }, path);
        keeper.sessionStarted(frame);
        return frame;
      });
    },
    async close() {
      world.close();
      await model?.close();
    },
  };
}

async function openModelWorld(
  path: string,
  o: { backend?: BackendName; threads?: number; steps?: number; seed: number; opening?: (model: Model) => OpeningProvider },
) {
  path = resolveModelPath(path);
  const [sourceId, model] = await Promise.all([
    modelSourceId(path),
    loadModel(path, { backend: o.backend ?? 'auto', ...(o.threads !== undefined ? { threads: o.threads } : {}) }),
  ]);
  try {
    const k = model.dims.context;
    const world = new ModelWorld(model, {
      seed: o.seed,
      ...(o.steps !== undefined ? { steps: o.steps } : {}),
      opening: o.opening ? o.opening(model) : (seed) => truthOpening(seed, k, model.dims.frameWidth, model.dims.frameHeight),
    });
    return { sourceId, model, world };
  } catch (err) {
    await model.close();
    throw err;
  }
}

/** A fresh world from a seed (or, for a model, from an image). */
export async function openPersistentWorld(o: OpenWorldOptions): Promise<PersistentWorld> {
  const seed = o.seed ?? 1;
  if (o.kind === 'truth') {
    if (o.startImage) throw new WorldloopError('WL_INVALID_ARGUMENT', 'a truth world starts from its seed; --start-image needs a model');
    const world = new TruthWorld({ seed });
    const st = truthStart(seed);
    return assemblePersistentWorld({ world, sourceId: truthSourceId(seed), backend: 'truth', seed, startPose: st.pose, walls: st.walls, settings: {} });
  }
  const modelPath = o.modelPath ?? DEFAULT_MODEL;
  const image = o.startImage;
  const m = await openModelWorld(modelPath, {
    ...o,
    seed,
    ...(image
      ? { opening: (model: Model) => imageOpening(image, model.dims.frameWidth, model.dims.frameHeight, model.dims.context).opening }
      : {}),
  });
  const memory = new MemoryStore({ ...(o.memory ?? {}), latentSize: m.model.latentSize });
  // An image has no place in the truth world's map: its views are placed relative to the origin
  // and the pose estimate knows no walls.
  const st = image ? undefined : truthStart(seed);
  const startPose = st ? st.pose : { x: 0, y: 0, yaw: 0 };
  return assemblePersistentWorld({
    world: m.world,
    sourceId: m.sourceId,
    backend: m.model.info.backend,
    seed,
    model: m.model,
    modelPath,
    memory,
    startPose,
    ...(st ? { walls: st.walls } : {}),
    ...(o.storeEvery !== undefined ? { storeEvery: o.storeEvery } : {}),
    ...(o.anchor !== undefined ? { anchor: o.anchor } : {}),
    ...(o.memorySlots !== undefined ? { memorySlots: o.memorySlots } : {}),
    settings: { model: modelPath, ...(image ? { startImage: image } : {}) },
  });
}

export interface LoadWorldOptions {
  /** Model file for a model save (default: the path stored in the save, then the default model). */
  modelPath?: string;
  backend?: BackendName;
  threads?: number;
  storeEvery?: number;
  /** Revisit anchoring (default on; false turns it off). */
  anchor?: boolean | Partial<AnchorConfig>;
  /** Feed retrieved views to the model's memory slots (default on; memory models only). */
  memorySlots?: boolean;
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

/** A world continued from a save file: restored now; the loop's first reset of `source` shows the
 * saved frame instead of starting over. */
export async function loadPersistentWorld(savePath: string, o: LoadWorldOptions = {}): Promise<PersistentWorld> {
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
      const pw = assemblePersistentWorld({ world, sourceId: h.sourceId, backend: 'truth', seed: h.seed, startPose, ...walls, settings: {} });
      const frame = restoreSave(save, world, { tracker: pw.tracker }, savePath);
      pw.source.resumeWith(() => frame);
      return pw;
    } catch (err) {
      world.close();
      throw err;
    }
  }
  const hinted = typeof h.settings.model === 'string' ? h.settings.model : undefined;
  const modelPath = o.modelPath ?? hinted ?? DEFAULT_MODEL;
  const m = await openModelWorld(modelPath, { ...o, seed: h.seed, ...(h.settings.steps !== undefined ? { steps: h.settings.steps } : {}) });
  try {
    checkSaveSource(save, m.sourceId, savePath);
    const memory = savedMemoryStore(save, m.model.latentSize, savePath);
    const pw = assemblePersistentWorld({
      world: m.world,
      sourceId: m.sourceId,
      backend: m.model.info.backend,
      seed: h.seed,
      model: m.model,
      modelPath,
      memory,
      startPose,
      ...walls,
      ...(o.storeEvery !== undefined ? { storeEvery: o.storeEvery } : {}),
      ...(o.anchor !== undefined ? { anchor: o.anchor } : {}),
      ...(o.memorySlots !== undefined ? { memorySlots: o.memorySlots } : {}),
      settings: { model: modelPath, ...(typeof h.settings.startImage === 'string' ? { startImage: h.settings.startImage } : {}) },
    });
    const frame = restoreSave(save, m.world, { memory, tracker: pw.tracker }, savePath);
    pw.source.resumeWith(() => frame);
    return pw;
  } catch (err) {
    m.world.close();
    await m.model.close();
    throw err;
  }
}
