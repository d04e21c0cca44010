/**
 * The world play runs: a source (truth or model) with the runtime around it — the pose estimate
 * and path, the spatial memory store and the revisit anchoring (model worlds), the observers that
 * keep them current, and saving and loading during play. `assemblePlayWorld` puts it together
 * around an opened world; `openWorld` (open_world.ts) opens one for every command.
 */
import type { Frame, FrameSource } from '../source.js';
import { worldLayout, type TruthWorld } from '../world.js';
import type { Model } from '../model.js';
import { ModelWorld } from '../model_world.js';
import type { StepObserver } from '../loop/game_loop.js';
import type { MemoryStore } from '../memory/memory_store.js';
import { PoseTracker } from '../memory/pose_tracker.js';
import { DEFAULT_STORE_EVERY, MemoryObserver } from '../memory/memory_observer.js';
import { MemoryInputBuilder } from '../memory/memory_retrieval.js';
import { RevisitAnchor, type AnchorConfig } from '../memory/revisit_anchor.js';
import type { ViewPose } from '../memory/view_overlap.js';
import { WorldloopError } from '../errors.js';
import { captureSave, checkRestorable, checkSaveSource, readSave, restoreSave, writeSave } from '../save/world_save.js';
import { PersistentSource } from './persistent_source.js';
import { placeDepth } from '../object_placement.js';
import type { RecordedRuntime } from '../record/format.js';
import type { WallGrid } from './truth_start.js';

/** A world as opened, before any runtime: what the loop drives and what a recording names. */
export interface OpenedWorld {
  /** What the loop drives. */
  source: FrameSource;
  /** The world itself (TruthWorld or ModelWorld). */
  world: TruthWorld | ModelWorld;
  /** "truth:<seed>" or "sha256:<hex of the model file>". */
  sourceId: string;
  backend: string;
  seed: number;
  /** Denoising steps per frame (model worlds). */
  steps?: number;
  model?: Model;
  modelPath?: string;
  /** What the loop must tell of each step (bookkeeping of the runtime; none for a bare world). */
  observers: StepObserver[];
  /** Closes the world, and the model when the world opened it. */
  close(): Promise<void>;
}

export interface PlayWorld extends OpenedWorld {
  /** What the loop drives: the world, plus waiting for steps and restoring on reset. */
  source: PersistentSource;
  memory?: MemoryStore;
  /** Re-grounds frames on remembered views when the player comes back (model worlds). */
  anchor?: RevisitAnchor;
  tracker: PoseTracker;
  startPose: ViewPose;
  /** The seed's wall grid (the pose tracker collides with it; the map panel draws it). */
  walls?: WallGrid;
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
}

/** The runtime around a model world, as recordings keep it (record/format.ts owns the fields and
 * their checks). */
export type ModelRuntimeSettings = RecordedRuntime;

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
  PlayWorld,
  'world' | 'sourceId' | 'backend' | 'seed' | 'model' | 'modelPath' | 'memory' | 'startPose' | 'walls'
> & {
  storeEvery?: number;
  settings: Record<string, unknown>;
  /** Revisit anchoring for a model world with a memory store (default on). */
  anchor?: boolean | Partial<AnchorConfig>;
  /** Feed retrieved views to a model's memory slots (default on; the eval turns it off). */
  memorySlots?: boolean;
  /** Closes what the world's opener owns (the model it loaded); run after the world is closed. */
  release?: () => Promise<void>;
};

/** A world with its pose estimate, memory, anchoring and observers (openWorld builds every world
 * play runs with it, the evals' included, so they measure what play runs). */
export function assemblePlayWorld(p: AssembleParts): PlayWorld {
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
      world.setAnchorProvider((target, action, maxSteps) => {
        const found = a.find(memory, tracker.pose(), target, action, maxSteps);
        return found ? { latent: found.entry.latent, actions: found.actions, viewTime: found.entry.time } : undefined;
      }, a.config.maxSteps);
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
    ...(world instanceof ModelWorld ? { steps: world.steps } : {}),
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
      await p.release?.();
    },
  };
}
