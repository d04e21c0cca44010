/**
 * Draws placed objects into model frames with the truth renderer: a truth world of the model
 * world's seed, lit by the light the model world tracks, draws the kind's sprite where the object
 * stands as seen from each frame (wl_world_draw_object), with PLACE_LOCAL_LIGHT. ModelWorld's
 * placeObject paints with it, and so does `worldloop serve` for the browser page (POST /place), so
 * the page's placements are the engine's, pixel for pixel.
 */
import type { LightSetting } from './lighting.js';
import { PLACE_LOCAL_LIGHT, type ObjectView } from './object_placement.js';
import { World, type ObjectKind } from './world.js';

/** Draws `kind` at `view` into one RGB8 frame (in place). */
export type ObjectDraw = (kind: ObjectKind, view: ObjectView, rgb: Uint8Array) => void;

export class ObjectPainter {
  /** Made on first use (a native world). */
  private world: World | undefined;
  private seed = 0;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {}

  /** Readies the truth world of `seed` lit as `light` and returns the draw for its frames. */
  begin(seed: number, light: LightSetting): ObjectDraw {
    if (!this.world) this.world = new World(seed, { width: this.width, height: this.height });
    else if (this.seed !== seed) this.world.reset(seed);
    this.seed = seed;
    const world = this.world;
    world.setLight(light.level, light.tint);
    return (kind, view, rgb) => world.drawObject(kind, { depth: view.depth, lateral: view.lateral, localLight: PLACE_LOCAL_LIGHT }, rgb);
  }

  close(): void {
    this.world?.close();
    this.world = undefined;
  }
}
