/** `worldloop eval cache-oracle`: the point cache's ceiling on the revisit loops, from true frames and depth. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../../command.js';
import { parseArgs } from '../../args.js';
import { parseSize } from '../../size.js';
import { InvalidArgumentError, WorldloopError } from '../../../errors.js';
import { DEFAULT_HORIZONS, runCacheOracle } from '../../../eval/cache_oracle.js';
import { contactSheet } from '../../../image/contact_sheet.js';
import { encodePng } from '../../../image/png.js';
import { machineName } from '../../../profiler/machine.js';

const help = `usage: worldloop eval cache-oracle [--seeds N] [--away N[,N...]] [--horizons H[,H...]] [--size WxH]
                              [--voxel V] [--max-points N] [--policy newest|closest] [--stride N] [--out DIR]

The oracle ceiling of a 3D cache (docs/memory-model.md, "The point cache"): on the revisit eval's
loops (held-out seeds 2^40+i; walk away with the exploration policy, retrace to exactly the first
pose), the truth world's frames go into a point cache with their true depth and camera. At
horizon h the cache holds frames 0..t-h and renders the pose of frame t; that render is compared
with truth frame t. No model is involved: this is what a cache-conditioned generator could at
best copy from its cache, and how much it would still have to make up (the invalid pixels).

  --seeds N         loops per distance (default 4; a seed without a wall-free loop is skipped)
  --away LIST       frames away, comma-separated (default 200; e.g. 200,1800)
  --horizons LIST   frames between the newest cached frame and the one rendered (default 1,8,32)
  --size WxH        frame size (default 128x128, the shipped model's)
  --voxel V         cache voxel side in cells (default 1/64 = 0.015625)
  --max-points N    cache memory cap in points (default 2000000)
  --policy P        newest | closest: which observation of a voxel is kept (default newest)
  --max-footprint N a point covers at most N pixels a side when splatted (default 8)
  --stride N        score every N-th frame of a loop (default 1; the return frame always)
  --threads N       threads for the cache's splat (default 1)
  --out DIR         also write DIR/cache_oracle.json and DIR/cache_oracle_sheet.png (per loop, at
                    the far end of the walk and at the return: truth, then each horizon's cache
                    render and validity mask)

Prints one progress line per loop (stderr) and one JSON line per distance (stdout): for every
horizon, over all scored frames and for the return frame alone, the share of pixels the cache
covers (valid; valid_surface counts only pixels that are not sky), PSNR and mean absolute error
on the valid pixels, the share of valid pixels whose cached depth is within 2 % of the truth
(depth_agree), and beside them PSNR of the true frame h frames earlier over the whole frame
(copy_last_psnr_db: what a generator has without a cache). A 200-frame loop takes a few seconds on this project's 2-core CPU.

example: worldloop eval cache-oracle --seeds 6 --away 200,1800 --out runs/cache-oracle`;

function list(flag: string, v: string): number[] {
  const parts = v.split(',').map((x) => x.trim());
  return parts.map((x) => {
    const n = Number(x);
    if (x === '' || !Number.isInteger(n)) throw new InvalidArgumentError(`cache-oracle: --${flag} must be a comma-separated list of integers; got '${v}'`);
    return n;
  });
}

const command: Command = {
  name: 'cache-oracle',
  summary: 'the point cache fed true frames and depth: how much of the truth it renders on the revisit loops',
  help,
  async run(argv) {
    const a = parseArgs('eval cache-oracle', argv, {
      seeds: { kind: 'int', min: 1, max: 1000 },
      away: { kind: 'string' },
      horizons: { kind: 'string' },
      size: { kind: 'string' },
      voxel: { kind: 'number', min: 1e-4, max: 16 },
      'max-points': { kind: 'int', min: 1, max: 2 ** 31 - 1 },
      policy: { kind: 'string', choices: ['newest', 'closest', 'first'] },
      'max-footprint': { kind: 'number', min: 1, max: 64 },
      stride: { kind: 'int', min: 1, max: 100000 },
      threads: { kind: 'int', min: 1, max: 256 },
      out: { kind: 'string' },
    });
    if (a.positionals.length) throw new InvalidArgumentError(`cache-oracle: unexpected argument '${a.positionals[0]}' (see: worldloop eval cache-oracle --help)`);
    const aways = list('away', (a.flags.away as string | undefined) ?? '200');
    for (const n of aways) if (n < 3 || n > 100_000) throw new InvalidArgumentError(`cache-oracle: --away takes frame counts in 3..100000; got ${n}`);
    const horizons = list('horizons', (a.flags.horizons as string | undefined) ?? DEFAULT_HORIZONS.join(','));
    for (const h of horizons) if (h < 1 || h > 10_000) throw new InvalidArgumentError(`cache-oracle: --horizons takes frame counts in 1..10000; got ${h}`);
    const [width, height] = parseSize('cache-oracle', a.flags.size as string | undefined, [128, 128]);
    const out = a.flags.out as string | undefined;
    if (out) {
      try {
        mkdirSync(out, { recursive: true });
      } catch (err) {
        throw new WorldloopError('WL_IO', `cache-oracle: cannot create --out '${out}': ${(err as Error).message}`);
      }
    }
    const lines: string[] = [];
    const r = await runCacheOracle(
      {
        seeds: (a.flags.seeds as number | undefined) ?? 4,
        aways,
        horizons,
        width,
        height,
        stride: (a.flags.stride as number | undefined) ?? 1,
        cache: {
          voxel: (a.flags.voxel as number | undefined) ?? 1 / 64,
          maxPoints: (a.flags['max-points'] as number | undefined) ?? 2_000_000,
          policy: ((a.flags.policy as string | undefined) ?? 'newest') as 'newest' | 'closest' | 'first',
          threads: (a.flags.threads as number | undefined) ?? 1,
          maxFootprint: (a.flags['max-footprint'] as number | undefined) ?? 8,
        },
      },
      (l) => console.error(`cache-oracle: ${l}`),
      (rep) => {
        const line = JSON.stringify({ ...rep, machine: machineName() });
        lines.push(line);
        console.log(line);
        if (out) writeFileSync(join(out, 'cache_oracle.json'), lines.join('\n') + '\n');
      },
    );
    if (out) {
      if (r.tiles.length) {
        const sheet = contactSheet(r.tiles, { columns: r.columns });
        writeFileSync(join(out, 'cache_oracle_sheet.png'), encodePng(sheet.width, sheet.height, sheet.rgb, 3));
      }
      console.error(`cache-oracle: wrote ${join(out, 'cache_oracle.json')}${r.tiles.length ? ` and ${join(out, 'cache_oracle_sheet.png')}` : ''}`);
    }
    if (!r.reports.some((rep) => (rep.seeds as number) > 0)) {
      console.error('cache-oracle: no seed had a wall-free loop; try more --seeds or a shorter --away');
      return 1;
    }
    return 0;
  },
};
export default command;
