/**
 * The point cache (native/core/cache/point_cache.h, docs/memory-model.md "The point cache"): a
 * bounded store of world points seen in frames with depth, merged on a voxel grid, that renders
 * any camera with a z-buffer. Frames go in with their depth and camera (the truth world gives
 * both: World.depth, World.camera()); render() gives the image, its depth and a validity mask.
 */
import { addon } from '../native.js';
import type { CameraData, NativePointCache, PointCacheConfig } from '../addon_types.js';
import { callNative as native, WorldloopError } from '../errors.js';

export type { CameraData, PointCacheConfig } from '../addon_types.js';


/** What render() gives: RGB8, depth (Infinity where nothing landed) and mask (255 = valid). */
export interface CacheView {
  rgb: Uint8Array;
  depth: Float32Array;
  mask: Uint8Array;
}

export class PointCache {
  private handle: NativePointCache | undefined;

  constructor(config: PointCacheConfig = {}) {
    const A = addon();
    this.handle = native(() => new A.PointCache(config));
  }

  private get h(): NativePointCache {
    if (!this.handle) throw new WorldloopError('WL_INVALID_ARGUMENT', 'point cache is closed');
    return this.handle;
  }

  /** Adds a frame (RGB8 and per-pixel z, Infinity = nothing there) seen by `camera`. */
  insert(camera: CameraData, rgb: Uint8Array, depth: Float32Array): void {
    native(() => this.h.insert(camera, rgb, depth));
  }

  /** Renders every point into `camera`; pass `into` to reuse buffers of the camera's size. */
  render(camera: CameraData, into?: CacheView): CacheView {
    const n = camera.width * camera.height;
    const out = into ?? { rgb: new Uint8Array(n * 3), depth: new Float32Array(n), mask: new Uint8Array(n) };
    native(() => this.h.render(camera, out.rgb, out.depth, out.mask));
    return out;
  }

  /** Points held now. */
  get size(): number {
    return native(() => this.h.count());
  }

  /** Points evicted by the memory cap so far. */
  get evicted(): number {
    return native(() => this.h.evicted());
  }

  clear(): void {
    native(() => this.h.clear());
  }

  /** The whole cache as bytes (settings, clock, points; versioned, checksummed): restore() on any
   * cache gives one that renders bit-identically (docs/memory-model.md, "Saving the cache"). */
  snapshot(): Uint8Array {
    return native(() => this.h.snapshot());
  }

  /** Replaces this cache by a snapshot (its settings too); a bad one throws FormatError naming the
   * problem and changes nothing. */
  restore(snapshot: Uint8Array): void {
    native(() => this.h.restore(snapshot));
  }

  close(): void {
    if (this.handle) this.handle.close();
    this.handle = undefined;
  }
}
