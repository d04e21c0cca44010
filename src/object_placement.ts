/**
 * Placing an object of a chosen kind in a world. The truth world does it natively (its spawn).
 * A model world only learned the spawn *event*, whose kind the model picks itself. So the runtime
 * paints the object into what the model reads instead: for each context frame, the pose it was seen
 * from is worked out backwards from the context actions, and the truth renderer draws the kind's
 * sprite where the object would stand in that frame (wl_world_draw_object). Each frame is then
 * encoded again. The model goes on from a world that has the object in it, as it goes on from a
 * relit one (src/lighting.ts). Measured against the truth world's spawn by `worldloop eval place-object`
 * (docs/persistence.md, "Placing an object"). No Node imports: the browser page works out the
 * views with the same code (src/web/page/page_world.ts).
 */
import { FormatError, InvalidArgumentError } from './errors.js';
import type { ActionSpace } from './source.js';
import { OBJECT_KINDS, type ObjectKind } from './object_kind.js';
import { PoseTracker, type MotionSpeeds } from './memory/pose_tracker.js';

/** Cells ahead of the player where an object is placed: the truth world's first choice. */
export const PLACE_DEPTH = 1.0;
/** The truth world's choices in order (World::place_spawn): nearer when a wall is in the way. */
export const PLACE_DEPTHS: readonly number[] = [1.0, 0.75, 0.5];
/** Half the side of the square around an object that must be clear of walls. */
const PLACE_CLEARANCE = 0.15;

/** Local light an object painted into a model world is lit with (light-map units, 1 = 128). A
 * model world has no light map; areas have 0.4..1 of ambient light, and this is their middle. */
export const PLACE_LOCAL_LIGHT = 0.75;

/** Where the object stands as seen from one context frame: cells ahead and to the right. */
export interface ObjectView {
  depth: number;
  lateral: number;
}

/**
 * The object kinds a model may have placed in its world: the manifest's `objects.kinds` (the
 * kinds its training worlds spawned) that this runtime can draw; a kind it cannot draw (a model
 * from a newer world) is left out rather than refusing the model (`worldloop info` names it).
 * Models exported before the manifest listed kinds, whose action space has the truth world's
 * spawn event, were trained on the truth world and get its kinds; any other model gets none.
 */
/** What of a manifest (src/model.ts's Manifest, or one parsed from its text) the kinds come from. */
export interface ManifestObjects {
  objects?: unknown;
}

export function objectKindsOf(m: ManifestObjects, space: ActionSpace): ObjectKind[] {
  return objectKindsFrom(listedObjectKinds(m), space);
}

/** objectKindsOf for a manifest's `objects.kinds` as read (undefined: the manifest has none). */
export function objectKindsFrom(listed: readonly string[] | undefined, space: ActionSpace): ObjectKind[] {
  if (listed === undefined) {
    return space.channels.some((c) => c.name === 'spawn' && c.kind === 'event') ? [...OBJECT_KINDS] : [];
  }
  return listed.filter((k): k is ObjectKind => (OBJECT_KINDS as readonly string[]).includes(k));
}

/** The manifest's `objects.kinds` as written (undefined when it has none). The engine validated
 * its shape; a hand-made manifest object is checked here too. */
export function listedObjectKinds(m: ManifestObjects): string[] | undefined {
  const listed = (m.objects as { kinds?: unknown } | undefined)?.kinds;
  if (listed === undefined) return undefined;
  if (!Array.isArray(listed) || listed.some((k) => typeof k !== 'string')) {
    throw new FormatError('manifest: objects.kinds must be an array of object kind names');
  }
  return listed as string[];
}

/** Checks a kind against a world's list; the error names the kinds there are. */
export function checkObjectKind(kind: unknown, kinds: readonly ObjectKind[], where: string): ObjectKind {
  if (kinds.length === 0) throw new InvalidArgumentError(`${where}: this world has no object kinds to place`);
  if (!(kinds as readonly unknown[]).includes(kind)) {
    throw new InvalidArgumentError(`${where}: unknown object kind ${JSON.stringify(kind)} (this world has ${kinds.join(', ')})`);
  }
  return kind as ObjectKind;
}

/**
 * The kind a place key asks for among a world's `kinds`: the key's own kind if the world has it,
 * or for 'next' (gamepad B) the kind after the one placed last (`lastPlaced`: its index in
 * OBJECT_KINDS, -1 before the first) in the runtime's order; undefined when the world has none
 * (the key then does nothing, as a light key does in a world without light). Play's loop and the
 * browser page both choose with it.
 */
export function placeKeyKind(key: ObjectKind | 'next', kinds: readonly ObjectKind[], lastPlaced: number): ObjectKind | undefined {
  if (kinds.length === 0) return undefined;
  if (key !== 'next') return kinds.includes(key) ? key : undefined;
  for (let i = 1; i <= OBJECT_KINDS.length; i++) {
    const k = OBJECT_KINDS[(lastPlaced + i) % OBJECT_KINDS.length]!;
    if (kinds.includes(k)) return k;
  }
  return undefined;
}

/**
 * Where the truth world would put an object in front of `pose` on this wall grid (cells[y*size+x]
 * = 1 for walls): the first of PLACE_DEPTHS whose square of ±0.15 cells touches no wall, or
 * undefined when none is clear (the truth world then places nothing). Mirrors
 * World::place_spawn; a test checks the two agree.
 */
export function placeDepth(pose: { x: number; y: number; yaw: number }, walls: { size: number; cells: Uint8Array }): number | undefined {
  const wall = (x: number, y: number) => x < 0 || y < 0 || x >= walls.size || y >= walls.size || walls.cells[y * walls.size + x] !== 0;
  const c = Math.fround(Math.cos(pose.yaw));
  const s = Math.fround(Math.sin(pose.yaw));
  for (const d of PLACE_DEPTHS) {
    const x = Math.fround(pose.x + c * d);
    const y = Math.fround(pose.y + s * d);
    let clear = true;
    for (const ox of [-PLACE_CLEARANCE, PLACE_CLEARANCE]) {
      for (const oy of [-PLACE_CLEARANCE, PLACE_CLEARANCE]) {
        if (wall(Math.floor(Math.fround(x + ox)), Math.floor(Math.fround(y + oy)))) clear = false;
      }
    }
    if (clear) return d;
  }
  return undefined;
}

/**
 * For K context frames (oldest first) and the K actions that led into them (`actions[j]` made
 * frame j, as a model world keeps them), where an object `depth` cells straight ahead of the
 * newest frame stands in each frame. The frames' poses are the pose tracker's dead reckoning
 * from the oldest one (the truth world's motion); walls are not known, so a step that was blocked
 * counts as taken.
 */
export function contextObjectViews(
  actions: Float32Array,
  k: number,
  space: ActionSpace,
  speeds: MotionSpeeds,
  depth = PLACE_DEPTH,
): ObjectView[] {
  const A = space.channels.length;
  if (actions.length !== k * A) throw new InvalidArgumentError(`context actions: ${actions.length} values is not ${k} actions of ${A}`);
  const tracker = new PoseTracker(space, { speeds, start: { x: 0, y: 0, yaw: 0 } });
  const poses = [tracker.pose()];
  for (let j = 1; j < k; j++) {
    tracker.update(actions.subarray(j * A, (j + 1) * A));
    poses.push(tracker.pose());
  }
  const now = poses[k - 1]!;
  const ox = now.x + Math.cos(now.yaw) * depth;
  const oy = now.y + Math.sin(now.yaw) * depth;
  return poses.map((p, j) => {
    // The newest frame sees it exactly where it was put.
    if (j === k - 1) return { depth, lateral: 0 };
    const c = Math.cos(p.yaw);
    const s = Math.sin(p.yaw);
    return { depth: (ox - p.x) * c + (oy - p.y) * s, lateral: -(ox - p.x) * s + (oy - p.y) * c };
  });
}
