/**
 * Loads the N-API addon built by cmake-js (build/Release/worldloop_addon.node). The addon's
 * surface is typed per concept next to its wrapper (model.ts, world.ts, window.ts); this file
 * only finds and loads the binary.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorldloopError } from './errors.js';

/** Repository root (works from src/ under ts and from dist/src/ after tsc). */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new WorldloopError('WL_INTERNAL', 'cannot find the worldloop package root');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyAddon = Record<string, any>;
let cached: AnyAddon | undefined;

export function addon(): AnyAddon {
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
  cached = require(found) as AnyAddon;
  return cached;
}
