/** `worldloop sheet`: a contact-sheet PNG of the truth world across seeds and lighting. */
import { writeFileSync } from 'node:fs';
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { parseSize } from '../size.js';
import { InvalidArgumentError } from '../../errors.js';
import { contactSheet, type Tile } from '../../image/contact_sheet.js';
import { encodePng } from '../../image/png.js';
import { Explorer, World, worldLayout } from '../../world.js';

const help = `usage: worldloop sheet --seeds A,B,C --out sheet.png [--lights all|day,night,...]
                       [--size WxH] [--walk N]

Renders each seed's world after the exploration policy has walked it for --walk ticks, once per
light preset, and lays the frames out as a grid (one row per seed, one column per preset) with
captions. For looking at what the world (and so the training data) looks like.

  --seeds LIST    comma-separated world seeds (required), e.g. 1,2,3 or 1-6
  --lights LIST   light presets, comma-separated, or 'all' (default all): ${'${presets}'}
  --size WxH      tile size (default 128x128)
  --walk N        explorer ticks before the shot (default 120)
  --out FILE      PNG to write`;

function parseSeeds(raw: string): number[] {
  const seeds: number[] = [];
  for (const part of raw.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new InvalidArgumentError(`sheet: --seeds takes integers or ranges like 1-6; got '${part}'`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b - a > 256) throw new InvalidArgumentError(`sheet: seed range '${part}' must be ascending and at most 256 long`);
    for (let s = a; s <= b; s++) seeds.push(s);
  }
  if (seeds.length > 256) throw new InvalidArgumentError('sheet: at most 256 seeds');
  return seeds;
}

const command: Command = {
  name: 'sheet',
  summary: 'contact-sheet PNG of the truth world across seeds and light presets',
  get help() {
    // Preset names come from the native library; --help still works when it is not built.
    let presets = 'day, warm, dusk, night, alarm, toxic';
    try {
      presets = worldLayout().lightPresets.map((p) => p.name).join(', ');
    } catch {
      /* keep the built-in list */
    }
    return help.replace('${presets}', presets);
  },
  async run(argv) {
    const a = parseArgs('sheet', argv, {
      seeds: { kind: 'string' },
      lights: { kind: 'string' },
      size: { kind: 'string' },
      walk: { kind: 'int', min: 0, max: 100_000 },
      out: { kind: 'string' },
    });
    if (a.positionals.length) throw new InvalidArgumentError(`sheet: unexpected argument '${a.positionals[0]}' (see: worldloop sheet --help)`);
    if (!a.flags.seeds) throw new InvalidArgumentError('sheet: --seeds is required (see: worldloop sheet --help)');
    const out = a.flags.out as string | undefined;
    if (!out) throw new InvalidArgumentError('sheet: --out FILE.png is required');
    const seeds = parseSeeds(a.flags.seeds as string);
    const [width, height] = parseSize('sheet', a.flags.size as string | undefined, [128, 128]);
    const presets = worldLayout().lightPresets;
    const wanted = ((a.flags.lights as string | undefined) ?? 'all').split(',').map((s) => s.trim());
    const lights = wanted.includes('all') ? presets : wanted.map((n) => {
      const p = presets.find((q) => q.name === n);
      if (!p) throw new InvalidArgumentError(`sheet: unknown light preset '${n}' (known: ${presets.map((q) => q.name).join(', ')}, all)`);
      return p;
    });
    const walk = (a.flags.walk as number | undefined) ?? 120;
    const tiles: Tile[] = [];
    const action = new Float32Array(worldLayout().channels.length);
    for (const seed of seeds) {
      const world = new World(seed, { width, height });
      const explorer = new Explorer(seed, { pLight: 0, pSpawn: 0 });
      try {
        for (let t = 0; t < walk; t++) {
          explorer.next(world, action);
          world.step(action);
        }
        for (const p of lights) {
          world.setLight(p.level, p.tint);
          tiles.push({ width, height, rgb: Uint8Array.from(world.rgb), label: `${seed} ${p.name}` });
        }
      } finally {
        explorer.close();
        world.close();
      }
    }
    const sheet = contactSheet(tiles, { columns: lights.length });
    writeFileSync(out, encodePng(sheet.width, sheet.height, sheet.rgb));
    console.log(`sheet: wrote ${seeds.length} seeds x ${lights.length} light presets (${sheet.width}x${sheet.height}) to ${out}`);
    return 0;
  },
};
export default command;
