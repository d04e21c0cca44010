/**
 * The N-API addon's surface (native/addon/*.cc), declared once. `native.ts` loads the binary as
 * an `Addon`; the wrappers (model.ts, world.ts, window.ts) call it through these types, so there
 * is no `any` at the boundary. The data shapes that cross it (configs in, dims / events / info
 * out) live here too, and the wrappers re-export them. This module imports nothing, so it can be
 * imported from anywhere without a cycle.
 *
 * Kept true by test/addon_types.test.ts, which compares the method and export names below with
 * those of the built addon. Argument order and typed-array kinds are the binding's
 * (native/addon/model_binding.cc, world_binding.cc, window_binding.cc): a wrong kind throws a
 * TypeError there, a short array a RangeError.
 */

// ---- model (model_binding.cc) ----

/** Geometry of a loaded model (wl_model_dims). */
export interface ModelDims {
  latentChannels: number;
  latentHeight: number;
  latentWidth: number;
  frameHeight: number;
  frameWidth: number;
  context: number;
  actionDim: number;
  defaultSteps: number;
  maxBatch: number;
  /** M memory views the denoiser takes (0 = a model without memory). */
  memorySlots: number;
  /** P floats of relative pose per memory view (0 when memorySlots is 0). */
  memoryPoseDim: number;
}

/** Optional trailing memory arguments: latents [B,M,C,h,w], poses [B,M,P], mask [B,M]. */
export type NativeMemoryArgs = [] | [Float32Array, Float32Array, Float32Array];

/** A loaded model. Every heavy call runs on the libuv pool and resolves when done; one at a time. */
export interface NativeModel {
  /** wl_model_info_json: manifest, params, memory, backend detail (JSON text). */
  info(): string;
  dims(): ModelDims;
  /** N Euler steps: batch, context latents [B,K,C,h,w], context actions [B,K,A], Philox seeds and
   * frames [B], steps (0 = manifest default), out [B,C,h,w], per-step ms (or undefined). */
  sample(batch: number, contextLatents: Float32Array, contextActions: Float32Array, seeds: BigUint64Array,
    frames: BigUint64Array, steps: number, out: Float32Array, stepMs: Float64Array | undefined,
    ...memory: NativeMemoryArgs): Promise<void>;
  /** sample + decode in one call; stepMs gets steps + 1 entries (the last is the decode). */
  step(batch: number, contextLatents: Float32Array, contextActions: Float32Array, seeds: BigUint64Array,
    frames: BigUint64Array, steps: number, outLatent: Float32Array, outRgb: Uint8Array,
    stepMs: Float64Array | undefined, ...memory: NativeMemoryArgs): Promise<void>;
  /** Sampling with caller-given noise [steps + 1, B, C, h, w] (tests, parity). */
  sampleWithNoise(batch: number, contextLatents: Float32Array, contextActions: Float32Array, steps: number,
    noise: Float32Array, out: Float32Array, ...memory: NativeMemoryArgs): Promise<void>;
  /** One denoiser evaluation at noise levels sigma [B]. */
  denoise(batch: number, noisy: Float32Array, sigma: Float32Array, contextLatents: Float32Array,
    contextActions: Float32Array, out: Float32Array, ...memory: NativeMemoryArgs): Promise<void>;
  /** Latents [B,C,h,w] to RGB8 [B,H,W,3]. */
  decode(batch: number, latent: Float32Array, rgb: Uint8Array): Promise<void>;
  /** Latents to f32 RGB [B,3,H,W], before the conversion to bytes (tests). */
  decodeF32(batch: number, latent: Float32Array, out: Float32Array): Promise<void>;
  /** RGB8 [B,H,W,3] to latents [B,C,h,w]. */
  encode(batch: number, rgb: Uint8Array, latent: Float32Array): Promise<void>;
  /** Frees the model; throws while a call is in flight. */
  close(): void;
}

// ---- world (world_binding.cc) ----

/** World configuration; omitted fields take the native defaults (see `worldLayout().defaults`). */
export interface WorldConfig {
  width?: number; // 16..1024, default 128
  height?: number; // 16..1024, default 128
  mapSize?: number; // cells per side, 16..128, default 48
  fovDeg?: number; // 30..120, default 66
  moveSpeed?: number; // cells per tick at move = 1, default 0.12
  strafeSpeed?: number; // default 0.09
  turnSpeedDeg?: number; // degrees per tick at turn = 1, default 5
  playerRadius?: number; // default 0.2
  fogDistance?: number; // default 7
  maxSpawned?: number; // spawned objects kept, default 64
}

/** Exploration policy rates (per tick probabilities) and durations (ticks). */
export interface ExploreConfig {
  pStop?: number;
  pLook?: number;
  pBump?: number;
  pRevisit?: number;
  pLight?: number;
  pSpawn?: number;
  pBackstep?: number;
  speedMin?: number;
  speedMax?: number;
  jitter?: number;
  stopMin?: number;
  stopMax?: number;
  lookMin?: number;
  lookMax?: number;
  bumpMin?: number;
  bumpMax?: number;
  /** Per-tick chance, while walking, of holding a random move/strafe/turn for a few ticks. */
  pRandom?: number;
  randomMin?: number;
  randomMax?: number;
  /** Per-tick chance, while walking, of holding no key at all for a few ticks. */
  pIdle?: number;
  idleMin?: number;
  idleMax?: number;
}

/** A pinhole camera (wl_camera; docs/world.md, "Camera model"). Pixel (i, j) centre (i + 0.5,
 * j + 0.5) shows world point P at u = cx + fx·Xc/Zc, v = cy + fy·Yc/Zc, [Xc Yc Zc] = R·P + t. */
export interface CameraData {
  width: number;
  height: number;
  fx: number;
  fy: number;
  cx: number;
  cy: number;
  /** Eye above the floor (cells). */
  eyeHeight: number;
  /** The pose (as pose()). */
  x: number;
  y: number;
  yaw: number;
  /** [R | t], row-major 3x4: world (map x, map y, height) → camera (right, down, forward). */
  worldToCamera: Float32Array;
}

/** Point cache settings (wl_point_cache_config); omitted fields take the native defaults. */
export interface PointCacheConfig {
  maxPoints?: number;
  voxel?: number;
  policy?: 'newest' | 'closest' | 'first';
  maxDepth?: number;
  nearZ?: number;
  maxFootprint?: number;
  threads?: number;
}

/** The point cache (wl_point_cache). */
export interface NativePointCache {
  insert(camera: CameraData, rgb: Uint8Array, depth: Float32Array): void;
  render(camera: CameraData, rgb: Uint8Array, depth?: Float32Array, mask?: Uint8Array): void;
  count(): number;
  evicted(): number;
  clear(): void;
  /** wl_point_cache_snapshot: settings, clock and points, versioned and checksummed. */
  snapshot(): Uint8Array;
  restore(snapshot: Uint8Array): void;
  close(): void;
}

/** One native world (wl_world). Seeds are integers in [0, 2^64). */
export interface NativeWorld {
  readonly width: number;
  readonly height: number;
  /** The native RGB8 frame buffer (the same buffer every call; overwritten by step/reset). */
  frame(): ArrayBuffer;
  /** The native depth buffer, float32 per pixel (same buffer every call; overwritten with the frame). */
  depth(): ArrayBuffer;
  camera(): CameraData;
  frameIndex(): number;
  step(action: Float32Array): void;
  reset(seed: number | bigint): void;
  /** (x, y, yaw) into `out` (length ≥ 3) or a new array. */
  pose(out?: Float32Array): Float32Array;
  setPose(x: number, y: number, yaw: number): void;
  setLight(level: number, r: number, g: number, b: number): void;
  /** false when a wall left no room. */
  spawn(kind: number): boolean;
  drawObject(kind: number, depth: number, lateral: number, localLight: number, rgb: Uint8Array,
    mask?: Uint8Array): void;
  snapshot(): Uint8Array;
  restore(snapshot: Uint8Array): void;
  /** Wall grid, row-major, 1 = wall. */
  map(): Uint8Array;
  /** wl_world_info_json (JSON text). */
  info(): string;
  close(): void;
}

/** The seeded exploration policy (wl_explorer). */
export interface NativeExplorer {
  /** Writes the next action for `world`'s current state into `out`. */
  next(world: NativeWorld, out: Float32Array): void;
  close(): void;
}

// ---- window (window_binding.cc; absent when built without SDL2) ----

export interface WindowOptions {
  title?: string;
  width?: number;
  height?: number;
  vsync?: boolean;
  /** Scaling filter: false = nearest (crisp pixels, default), true = linear. */
  linear?: boolean;
  fullscreen?: boolean;
  resizable?: boolean;
  /** Create without showing it (benchmarks). */
  hidden?: boolean;
  /** 'auto' = SDL's best renderer (GPU when present), 'software' = SDL's CPU renderer. */
  renderer?: 'auto' | 'software';
}

export type WindowEvent =
  | { type: 'quit' }
  | { type: 'keydown' | 'keyup'; key: string; repeat: boolean }
  | { type: 'mousemotion' | 'wheel'; dx: number; dy: number }
  | { type: 'mousedown' | 'mouseup'; button: string }
  | { type: 'resized'; width: number; height: number }
  | { type: 'focus' | 'blur' | 'exposed' }
  | { type: 'gamepadadded'; gamepad: number; name: string }
  | { type: 'gamepadremoved'; gamepad: number }
  | { type: 'gamepaddown' | 'gamepadup'; gamepad: number; button: string };

export type GamepadAxis = 'leftx' | 'lefty' | 'rightx' | 'righty' | 'lefttrigger' | 'righttrigger';

export interface GamepadState {
  id: number;
  name: string;
  /** Sticks in [-1, 1] (y positive = down), triggers in [0, 1]; deadzones already applied. */
  axes: Record<GamepadAxis, number>;
  buttons: string[];
}

export interface WindowInfo {
  renderer: string;
  software: boolean;
  videoDriver: string;
  /** Pixel format frames are converted to for upload (a native one for the renderer). */
  textureFormat: string;
  vsync: boolean;
  windowWidth: number;
  windowHeight: number;
  outputWidth: number;
  outputHeight: number;
  viewport: { x: number; y: number; width: number; height: number };
  fullscreen: boolean;
  linear: boolean;
  relativeMouse: boolean;
}

export interface Screenshot {
  width: number;
  height: number;
  rgb: Uint8Array;
}

export interface PresentTimings {
  uploadMs: number;
  drawMs: number;
  flipMs: number;
}

/** An SDL window. Throws an Error with code 'WL_NO_DISPLAY' when none can be opened. */
export interface NativeWindow {
  present(rgb: Uint8Array, width: number, height: number): void;
  setOverlay(rgba: Uint8Array | null, width: number, height: number): void;
  presentTimings(): PresentTimings;
  pollEvents(): WindowEvent[];
  gamepads(): GamepadState[];
  setDeadzones(stick: number, trigger: number): void;
  addControllerMappings(path: string): number;
  screenshot(): Screenshot;
  setFullscreen(on: boolean): void;
  setVsync(on: boolean): boolean;
  setLinear(on: boolean): void;
  resize(width: number, height: number): void;
  setTitle(title: string): void;
  setRelativeMouse(on: boolean): boolean;
  info(): WindowInfo;
  close(): void;
}

/** Synthetic input through SDL's own queue (tests). */
export interface NativeWindowTesting {
  pushKey(key: string, down: boolean): void;
  pushMouseMotion(dx: number, dy: number): void;
  pushQuit(): void;
  attachVirtualGamepad(): number;
  setVirtualAxis(id: number, axis: GamepadAxis, value: number): void;
  setVirtualButton(id: number, button: string, down: boolean): void;
  detachVirtualGamepad(id: number): void;
}

// ---- the module (addon.cc) ----

export interface Addon {
  /** wl_version(). */
  readonly version: string;
  readonly hasSdl: boolean;
  readonly hasCuda: boolean;
  /** backend: 0 cpu, 1 cuda, 2 auto; threads 0 = all; resolves on the libuv pool. */
  loadModel(path: string, backend: number, threads: number, maxBatch: number): Promise<NativeModel>;
  /** The model class loadModel instantiates (not constructible from JS). */
  readonly NativeModel: abstract new (...args: never[]) => NativeModel;
  readonly World: new (seed: number | bigint, config: WorldConfig) => NativeWorld;
  readonly Explorer: new (seed: number | bigint, config: ExploreConfig) => NativeExplorer;
  readonly PointCache: new (config?: PointCacheConfig) => NativePointCache;
  /** wl_world_action_layout_json (JSON text). */
  worldActionLayout(): string;
  /** Present only when built with SDL2. */
  readonly Window?: new (options: WindowOptions) => NativeWindow;
  readonly windowTesting?: NativeWindowTesting;
}

/** Method names per native class, for the test that checks this file against the built addon. */
export const NATIVE_METHODS = {
  NativeModel: ['info', 'dims', 'sample', 'step', 'sampleWithNoise', 'denoise', 'decode', 'decodeF32', 'encode', 'close'],
  World: ['frame', 'depth', 'camera', 'frameIndex', 'step', 'reset', 'pose', 'setPose', 'setLight', 'spawn', 'drawObject', 'snapshot',
    'restore', 'map', 'info', 'close'],
  Explorer: ['next', 'close'],
  PointCache: ['insert', 'render', 'count', 'evicted', 'clear', 'snapshot', 'restore', 'close'],
  Window: ['present', 'setOverlay', 'presentTimings', 'pollEvents', 'gamepads', 'setDeadzones', 'addControllerMappings',
    'screenshot', 'setFullscreen', 'setVsync', 'setLinear', 'resize', 'setTitle', 'setRelativeMouse', 'info', 'close'],
} as const satisfies {
  NativeModel: readonly (keyof NativeModel)[];
  World: readonly Exclude<keyof NativeWorld, 'width' | 'height'>[];
  Explorer: readonly (keyof NativeExplorer)[];
  PointCache: readonly (keyof NativePointCache)[];
  Window: readonly (keyof NativeWindow)[];
};

/** Export names of the module and of windowTesting. */
export const ADDON_EXPORTS = ['version', 'hasSdl', 'hasCuda', 'loadModel', 'NativeModel', 'World', 'Explorer',
  'PointCache', 'worldActionLayout', 'Window', 'windowTesting'] as const satisfies readonly (keyof Addon)[];
export const WINDOW_TESTING_FUNCTIONS = ['pushKey', 'pushMouseMotion', 'pushQuit', 'attachVirtualGamepad',
  'setVirtualAxis', 'setVirtualButton', 'detachVirtualGamepad'] as const satisfies readonly (keyof NativeWindowTesting)[];

// Every member of each interface is in its list (the `satisfies` clauses above check the converse).
type Missing<T, L extends readonly unknown[]> = Exclude<keyof T, L[number]>;
type AssertNone<T extends never> = T;
export type _ModelComplete = AssertNone<Missing<NativeModel, typeof NATIVE_METHODS.NativeModel>>;
export type _WorldComplete = AssertNone<Exclude<Missing<NativeWorld, typeof NATIVE_METHODS.World>, 'width' | 'height'>>;
export type _ExplorerComplete = AssertNone<Missing<NativeExplorer, typeof NATIVE_METHODS.Explorer>>;
export type _PointCacheComplete = AssertNone<Missing<NativePointCache, typeof NATIVE_METHODS.PointCache>>;
export type _WindowComplete = AssertNone<Missing<NativeWindow, typeof NATIVE_METHODS.Window>>;
export type _AddonComplete = AssertNone<Missing<Addon, typeof ADDON_EXPORTS>>;
export type _TestingComplete = AssertNone<Missing<NativeWindowTesting, typeof WINDOW_TESTING_FUNCTIONS>>;
