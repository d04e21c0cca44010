/**
 * The ground-truth world in TypeScript: `World` (one native world: step, pose, events,
 * snapshots), `Explorer` (the seeded exploration policy, shared with Python through the C ABI)
 * and `TruthWorld`, the FrameSource the game loop drives. Frames are views on the native frame
 * buffer: stepping allocates nothing; copy a frame if you need to keep it.
 */
import { addon } from './native.js';
import type { CameraData, ExploreConfig, NativeExplorer, NativeWorld, WorldConfig } from './addon_types.js';
export type { CameraData } from './addon_types.js';
import { callNative as native, InvalidArgumentError, WorldloopError } from './errors.js';
import type { ActionChannel, ActionSpace, Frame, FrameSource, StageTimes } from './source.js';
import { checkLightSetting, type LightPreset, type LightSetting, type LightState } from './lighting.js';
import { OBJECT_KINDS, type ObjectKind } from './object_kind.js';
import { WORLD_TICK_HZ } from './tick_rate.js';

export type { ExploreConfig, WorldConfig } from './addon_types.js';

export { OBJECT_KINDS, type ObjectKind } from './object_kind.js';
export type { LightPreset } from './lighting.js';

/** What the world publishes as data: the action vector, object kinds, light presets, defaults. */
export interface WorldLayout {
  /** Changes whenever the same seed and actions would render differently. */
  worldVersion: number;
  channels: ActionChannel[];
  objects: string[];
  lightPresets: LightPreset[];
  defaults: { moveSpeed: number; strafeSpeed: number; turnSpeedDeg: number; width: number; height: number; mapSize: number };
}

export interface Pose {
  x: number;
  y: number;
  yaw: number;
}

export interface WorldInfo {
  seed: number;
  frame_index: number;
  width: number;
  height: number;
  map_size: number;
  pose: [number, number, number];
  light: { level: number; tint: [number, number, number]; preset: string | null };
  rooms: number;
  floor_cells: number;
  placed_objects: number;
  spawned_objects: number;
  [key: string]: unknown;
}


let layoutCache: WorldLayout | undefined;
/** The world's action layout and related data (parsed once from the native library). */
export function worldLayout(): WorldLayout {
  if (layoutCache) return layoutCache;
  const raw = JSON.parse(native(() => addon().worldActionLayout())) as {
    world_version: number;
    channels: ActionChannel[];
    objects: string[];
    light_presets: LightPreset[];
    defaults: { move_speed: number; strafe_speed: number; turn_speed_deg: number; width: number; height: number; map_size: number };
  };
  layoutCache = {
    worldVersion: raw.world_version,
    channels: raw.channels,
    objects: raw.objects,
    lightPresets: raw.light_presets,
    defaults: {
      moveSpeed: raw.defaults.move_speed,
      strafeSpeed: raw.defaults.strafe_speed,
      turnSpeedDeg: raw.defaults.turn_speed_deg,
      width: raw.defaults.width,
      height: raw.defaults.height,
      mapSize: raw.defaults.map_size,
    },
  };
  return layoutCache;
}

/** The action space of the truth world: move, strafe, turn (axes), light, spawn (events). */
export function worldActionSpace(): ActionSpace {
  return { channels: worldLayout().channels.map((c) => ({ ...c })) };
}

/** Index of a channel by name in the world's action vector (throws for unknown names). */
export function channelIndex(name: string): number {
  const i = worldLayout().channels.findIndex((c) => c.name === name);
  if (i < 0) throw new InvalidArgumentError(`unknown action channel '${name}'`);
  return i;
}

export function objectKindIndex(kind: ObjectKind | number): number {
  if (typeof kind === 'number') return kind; // range checked natively, with a clear error
  const i = OBJECT_KINDS.indexOf(kind);
  if (i < 0) {
    throw new InvalidArgumentError(`unknown object kind '${String(kind)}' (known: ${OBJECT_KINDS.join(', ')})`);
  }
  return i;
}

/** One native world. Close it when done (the frame view is detached then). */
export class World {
  readonly width: number;
  readonly height: number;
  private handle: NativeWorld | undefined;
  private rgbView: Uint8Array | undefined;
  private depthView: Float32Array | undefined;

  constructor(seed: number | bigint, config: WorldConfig = {}) {
    const A = addon();
    this.handle = native(() => new A.World(seed, config));
    this.width = this.handle.width;
    this.height = this.handle.height;
  }

  /** @internal The native world (for Explorer.next); throws once closed. */
  get h(): NativeWorld {
    if (!this.handle) throw new WorldloopError('WL_INVALID_ARGUMENT', 'world is closed');
    return this.handle;
  }

  /** RGB8 view of the current frame (the same view every call; overwritten by step/reset). */
  get rgb(): Uint8Array {
    if (!this.rgbView) this.rgbView = new Uint8Array(native(() => this.h.frame()));
    return this.rgbView;
  }

  /** Per-pixel z of the current frame in cells: the distance along the view direction to the
   * surface shown (walls, floor, ceiling, sprites), Infinity where the sky shows. The same view
   * every call, overwritten with the frame (docs/world.md, "Camera model"). */
  get depth(): Float32Array {
    if (!this.depthView) this.depthView = new Float32Array(native(() => this.h.depth()));
    return this.depthView;
  }

  /** The current frame's camera: pinhole intrinsics, the pose and [R | t] (a fresh object). */
  camera(): CameraData {
    return native(() => this.h.camera());
  }

  get frameIndex(): number {
    return native(() => this.h.frameIndex());
  }

  /** One tick: action = [move, strafe, turn, light, spawn] (see worldLayout()). */
  step(action: Float32Array): void {
    native(() => this.h.step(action));
  }

  reset(seed: number | bigint): void {
    native(() => this.h.reset(seed));
  }

  pose(out?: Float32Array): Pose {
    const p = native(() => this.h.pose(out));
    return { x: p[0]!, y: p[1]!, yaw: p[2]! };
  }

  setPose(x: number, y: number, yaw: number): void {
    native(() => this.h.setPose(x, y, yaw));
  }

  /** Global light: level in [0,1], tint RGB in [0,1]. */
  setLight(level: number, tint: [number, number, number] = [1, 1, 1]): void {
    native(() => this.h.setLight(level, tint[0], tint[1], tint[2]));
  }

  /** Spawns an object in front of the player; false if a wall left no room. */
  spawn(kind: ObjectKind | number): boolean {
    const k = objectKindIndex(kind);
    return native(() => this.h.spawn(k));
  }

  /**
   * Draws an object of `kind` over `rgb` (a frame of this world's size) as this world would show
   * it `depth` cells ahead of the camera and `lateral` to its right, lit by this world's global
   * light and `localLight` (light-map units, 1 = 128; areas have 0.4..1). Walls are not tested.
   * The world does not change. `mask` (width*height bytes), when given, gets 255 where the object
   * covers. Nothing is drawn nearer than 0.3 cells or beyond the fog.
   */
  drawObject(kind: ObjectKind | number, at: { depth: number; lateral: number; localLight: number }, rgb: Uint8Array, mask?: Uint8Array): void {
    const k = objectKindIndex(kind);
    native(() => this.h.drawObject(k, at.depth, at.lateral, at.localLight, rgb, mask));
  }

  snapshot(): Uint8Array {
    return native(() => this.h.snapshot());
  }

  restore(snapshot: Uint8Array): void {
    native(() => this.h.restore(snapshot));
  }

  /** The grid: cells[y * size + x] = 1 for walls, 0 for floor. */
  map(): { size: number; cells: Uint8Array } {
    const cells = native(() => this.h.map());
    return { size: Math.round(Math.sqrt(cells.length)), cells };
  }

  info(): WorldInfo {
    return JSON.parse(native(() => this.h.info())) as WorldInfo;
  }

  close(): void {
    if (this.handle) this.handle.close();
    this.handle = undefined;
    this.rgbView = undefined;
    this.depthView = undefined;
  }
}

/** The seeded exploration policy (same code as Python's batch generator uses). */
export class Explorer {
  private handle: NativeExplorer | undefined;
  constructor(seed: number | bigint, config: ExploreConfig = {}) {
    const A = addon();
    this.handle = native(() => new A.Explorer(seed, config));
  }
  /** Writes the next action for the world's current state into `out` (allocated if omitted). */
  next(world: World, out: Float32Array = new Float32Array(worldLayout().channels.length)): Float32Array {
    native(() => {
      if (!this.handle) throw new WorldloopError('WL_INVALID_ARGUMENT', 'explorer is closed');
      this.handle.next(world.h, out);
    });
    return out;
  }
  close(): void {
    if (this.handle) this.handle.close();
    this.handle = undefined;
  }
}

export interface TruthWorldOptions {
  seed?: number;
  config?: WorldConfig;
}

/** The ground-truth world as a FrameSource, for the game loop, recorder and CLI. */
export class TruthWorld implements FrameSource {
  readonly kind = 'truth' as const;
  readonly tickHz = WORLD_TICK_HZ;
  readonly actionSpace: ActionSpace;
  readonly width: number;
  readonly height: number;
  readonly world: World;
  private seed: number;
  private frame: Frame;

  constructor(options: TruthWorldOptions = {}) {
    this.seed = options.seed ?? 1;
    this.world = new World(this.seed, options.config ?? {});
    this.width = this.world.width;
    this.height = this.world.height;
    this.actionSpace = worldActionSpace();
    this.frame = { width: this.width, height: this.height, rgb: this.world.rgb, index: 0 };
  }

  get label(): string {
    return `truth world, seed ${this.seed}, ${this.width}x${this.height}`;
  }

  async reset(seed?: number): Promise<Frame> {
    if (seed !== undefined) this.seed = seed;
    this.world.reset(this.seed);
    this.frame.index = 0;
    return this.frame;
  }

  async step(action: Float32Array): Promise<{ frame: Frame; stages: StageTimes }> {
    const t0 = performance.now();
    this.world.step(action);
    const stages: StageTimes = { world: performance.now() - t0 };
    this.frame.index = this.world.frameIndex;
    return { frame: this.frame, stages };
  }

  pose(): Pose {
    return this.world.pose();
  }

  light(): LightState {
    const l = this.world.info().light;
    const preset = l.preset === null ? -1 : worldLayout().lightPresets.findIndex((p) => p.name === l.preset);
    return { level: l.level, tint: [l.tint[0], l.tint[1], l.tint[2]], preset };
  }

  async setLight(setting: LightSetting): Promise<Frame> {
    const s = checkLightSetting(setting.level, setting.tint, 'setLight');
    this.world.setLight(s.level, s.tint);
    return this.current();
  }

  objectKinds(): readonly ObjectKind[] {
    return OBJECT_KINDS;
  }

  /** Places an object of `kind` in front of the player (the world's spawn: 1 cell ahead, nearer
   * when a wall is in the way); `placed` is false when a wall left no room. */
  async placeObject(kind: ObjectKind): Promise<{ frame: Frame; placed: boolean }> {
    const placed = this.world.spawn(kind);
    return { frame: this.current(), placed };
  }

  /** The current frame without stepping (e.g. after setLight/spawn, which re-render). */
  current(): Frame {
    this.frame.index = this.world.frameIndex;
    return this.frame;
  }

  close(): void {
    this.world.close();
  }
}
