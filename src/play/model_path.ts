/** Where the model file a command opens comes from: the default model, or a path as given. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../native.js';

export const DEFAULT_MODEL = 'models/default.safetensors';

/** The default model is found relative to the package, so `worldloop play` works from any
 * directory; every other path is taken as given (relative to the working directory). */
export function resolveModelPath(path: string): string {
  if (path === DEFAULT_MODEL && !existsSync(path)) return join(projectRoot(), DEFAULT_MODEL);
  return path;
}
