/**
 * Contact sheet of what the memory store holds: each stored latent decoded to a frame and
 * captioned with its frame index and position, oldest first — for people to check what the
 * world "remembers" of a place (e.g. that a spawned object is in the stored views).
 */
import type { Model } from '../model.js';
import type { MemoryStore } from '../memory/memory_store.js';
import { contactSheet, type Tile } from '../image/contact_sheet.js';
import type { RgbImage } from '../image/png.js';
import { InvalidArgumentError } from '../errors.js';

export interface MemorySheetOptions {
  /** At most this many views (evenly spaced over the store, oldest first; default 64). */
  maxViews?: number;
  columns?: number;
  /** Only these entry indices (e.g. a retrieval), in this order. */
  indices?: readonly number[];
}

export async function memoryContactSheet(model: Model, memory: MemoryStore, o: MemorySheetOptions = {}): Promise<RgbImage> {
  if (memory.config.latentSize !== model.latentSize) {
    throw new InvalidArgumentError(`memory sheet: store latents have ${memory.config.latentSize} values; the model's have ${model.latentSize}`);
  }
  const all = memory.entries();
  let order = o.indices ? [...o.indices] : all.map((_, i) => i).sort((a, b) => all[a]!.time - all[b]!.time);
  if (order.length === 0) throw new InvalidArgumentError('memory sheet: the memory store is empty');
  const max = o.maxViews ?? 64;
  if (order.length > max) order = Array.from({ length: max }, (_, i) => order[Math.floor((i * order.length) / max)]!);
  const { frameWidth: w, frameHeight: h } = model.dims;
  const tiles: Tile[] = [];
  for (const i of order) {
    const e = all[i];
    if (!e) throw new InvalidArgumentError(`memory sheet: no entry ${i} (the store holds ${all.length})`);
    const rgb = (await model.decode(e.latent)).slice();
    // Captions are 4 px per character: small frames get the frame index only.
    const label = w >= 96 ? `${e.time} ${e.pose.x.toFixed(1)},${e.pose.y.toFixed(1)}` : `${e.time}`;
    tiles.push({ width: w, height: h, rgb, label });
  }
  return contactSheet(tiles, { ...(o.columns !== undefined ? { columns: o.columns } : {}) });
}
