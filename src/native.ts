/**
 * Loads the N-API addon built by cmake-js (build/Release/worldloop_addon.node). Its whole surface
 * is declared in addon_types.ts (checked against the built binary by test/addon_types.test.ts);
 * the wrappers (model.ts, world.ts, window.ts) use those types. This file only finds and loads
 * the binary.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorldloopError } from './errors.js';
import type { Addon } from './addon_types.js';

/** Repository root (works from src/ under ts and from dist/src/ after tsc). */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new WorldloopError('WL_INTERNAL', 'cannot find the worldloop package root');
}

let cached: Addon | undefined;

export function addon(): Addon {
  if (cached) return cached;
  const override = process.env.WL_ADDON;
  const candidates = override
    ? [override]
    : [
        join(projectRoot(), 'build', 'Release', 'worldloop_addon.node'),
        join(projectRoot(), 'build', 'Debug', 'worldloop_addon.node'),
      ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new WorldloopError(
      'WL_NO_ADDON',
      `native addon not built (looked in ${candidates.join(', ')}); run: npm run build`,
    );
  }
  const require = createRequire(import.meta.url);
  cached = require(found) as Addon;
  return cached;
}
