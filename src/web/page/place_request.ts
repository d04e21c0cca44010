/**
 * The browser page's request to paint a placed object (POST /place of `worldloop serve`): the page
 * has no truth renderer, so it sends the frames to paint and the server draws the object into them
 * as ModelWorld.placeObject does (src/object_painter.ts), sending the frames back.
 *
 * Body: one line of JSON (`PlaceHeader`, UTF-8, ending in "\n"), then the N = views.length frames,
 * RGB8 [height, width, 3] each, one after another. Answer: the N frames painted, in the same
 * layout. The body is untrusted: decodePlaceRequest checks every field and its size, and says
 * what is wrong (PlaceRequestError carries the HTTP status: 400, or 413 when too large). No Node
 * or DOM imports: the page encodes with it, the server decodes.
 */
import { checkLightSetting, type LightSetting } from '../../lighting.js';
import { OBJECT_KINDS, type ObjectKind } from '../../object_kind.js';
import type { ObjectView } from '../../object_placement.js';

export interface PlaceHeader {
  kind: ObjectKind;
  /** The world's seed: the truth world of this seed paints (its textures). */
  seed: number;
  width: number;
  height: number;
  /** The light the model world tracks (the object is lit by it). */
  light: LightSetting;
  /** Where the object stands as seen from each frame, one per frame. */
  views: ObjectView[];
}

export interface PlaceRequest extends PlaceHeader {
  /** N frames RGB8, one after another. */
  frames: Uint8Array;
}

/** Bounds of a /place body. The server does not parse the model, so they are generous: a model's
 * K context frames plus the shown one at up to 512x512 (the default model: 5 of 128x128). */
export const PLACE_LIMITS = { maxFrames: 65, maxSide: 512, maxHeaderBytes: 16384, maxBodyBytes: 16384 + 65 * 512 * 512 * 3 } as const;
/** |depth| and |lateral| beyond this many cells are not a view of an object near the player. */
const MAX_VIEW_CELLS = 256;

export class PlaceRequestError extends Error {
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
    this.name = 'PlaceRequestError';
  }
}

export function encodePlaceRequest(r: PlaceRequest): Uint8Array {
  const header: PlaceHeader = { kind: r.kind, seed: r.seed, width: r.width, height: r.height, light: { level: r.light.level, tint: [...r.light.tint] }, views: r.views.map((v) => ({ depth: v.depth, lateral: v.lateral })) };
  const head = new TextEncoder().encode(`${JSON.stringify(header)}\n`);
  const out = new Uint8Array(head.length + r.frames.length);
  out.set(head);
  out.set(r.frames, head.length);
  return out;
}

export function decodePlaceRequest(body: Uint8Array): PlaceRequest {
  const bad = (msg: string) => new PlaceRequestError(400, `/place: ${msg}`);
  if (body.length > PLACE_LIMITS.maxBodyBytes) throw new PlaceRequestError(413, `/place: the body has ${body.length} bytes; at most ${PLACE_LIMITS.maxBodyBytes}`);
  const nl = body.subarray(0, PLACE_LIMITS.maxHeaderBytes + 1).indexOf(10);
  if (nl < 0) throw bad(`the body must start with a line of JSON (at most ${PLACE_LIMITS.maxHeaderBytes} bytes) ending in a newline`);
  let h: Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body.subarray(0, nl)));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    h = v as Record<string, unknown>;
  } catch (e) {
    throw bad(`the first line is not a JSON object (${(e as Error).message})`);
  }
  const known = ['kind', 'seed', 'width', 'height', 'light', 'views'];
  const extra = Object.keys(h).filter((k) => !known.includes(k));
  if (extra.length) throw bad(`unknown field ${JSON.stringify(extra[0])} (the fields are ${known.join(', ')})`);
  if (!(OBJECT_KINDS as readonly unknown[]).includes(h.kind)) throw bad(`unknown object kind ${JSON.stringify(h.kind)} (the kinds are ${OBJECT_KINDS.join(', ')})`);
  const int = (name: string, min: number, max: number): number => {
    const v = h[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(`${name} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
    return v;
  };
  const seed = int('seed', 0, 0xffffffff);
  const width = int('width', 8, PLACE_LIMITS.maxSide);
  const height = int('height', 8, PLACE_LIMITS.maxSide);
  const l = h.light as { level?: unknown; tint?: unknown } | null;
  if (typeof l !== 'object' || l === null) throw bad('light must be {"level": 0..1, "tint": [r, g, b]}');
  let light: LightSetting;
  try {
    light = checkLightSetting(l.level as number, l.tint as number[], 'light');
  } catch (e) {
    throw bad((e as Error).message);
  }
  const vs = h.views;
  if (!Array.isArray(vs) || vs.length < 1 || vs.length > PLACE_LIMITS.maxFrames) throw bad(`views must be an array of 1..${PLACE_LIMITS.maxFrames} {"depth", "lateral"}, one per frame`);
  const views = vs.map((v: unknown, i): ObjectView => {
    const o = v as { depth?: unknown; lateral?: unknown } | null;
    const cell = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && Math.abs(x) <= MAX_VIEW_CELLS;
    if (typeof o !== 'object' || o === null || !cell(o.depth) || !cell(o.lateral)) throw bad(`views[${i}] must be {"depth", "lateral"}, numbers within ±${MAX_VIEW_CELLS} cells`);
    return { depth: o.depth as number, lateral: o.lateral as number };
  });
  const frames = body.subarray(nl + 1);
  const need = views.length * width * height * 3;
  if (frames.length !== need) throw bad(`after the JSON line come ${views.length} frames of ${width}x${height}x3 = ${need} bytes; got ${frames.length}`);
  return { kind: h.kind as ObjectKind, seed, width, height, light, views, frames };
}

/** Asks the server at `url` (its /place route) to paint; the painted frames, or an Error that
 * says why not (the server's message). */
export async function requestPlacement(url: string, r: PlaceRequest): Promise<Uint8Array> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: encodePlaceRequest(r) as Uint8Array<ArrayBuffer> });
  if (!res.ok) throw new Error(`the server could not paint the object: HTTP ${res.status}: ${(await res.text()).trim()}`);
  const out = new Uint8Array(await res.arrayBuffer());
  if (out.length !== r.frames.length) throw new Error(`the server sent ${out.length} bytes of painted frames; expected ${r.frames.length}`);
  return out;
}
