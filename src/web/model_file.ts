// A model file as the page reads it: the validated safetensors container (safetensors.ts) and the
// manifest stored in its __metadata__.worldloop (manifest.ts), with the engine's checks and error
// messages (native/core/model/safetensors.cc, manifest.cc). Everything throws ModelFileError.

import { checkArenaBudget, MANIFEST_METADATA_KEY, parseManifest } from './manifest.js';
import type { WebManifest } from './manifest.js';
import { ModelFileError } from './model_file_error.js';
import { SafetensorsFile } from './safetensors.js';
import type { ParseOptions } from './safetensors.js';

export { ModelFileError } from './model_file_error.js';
export { SafetensorsFile, bf16ToF32, f16ToF32, shapeString } from './safetensors.js';
export type { DType, TensorInfo, ParseOptions } from './safetensors.js';
export { parseManifest, estimateArenaBytes, MANIFEST_LIMITS } from './manifest.js';
export type { WebManifest, ActionKind } from './manifest.js';

export interface ModelFile {
  readonly file: SafetensorsFile;
  readonly manifest: WebManifest;
}

/** The manifest of an opened file; errors are prefixed with the file's name. */
export function manifestFromFile(file: SafetensorsFile): WebManifest {
  const text = file.metadata.get(MANIFEST_METADATA_KEY);
  if (text === undefined) {
    throw new ModelFileError(`${file.displayName}: __metadata__ has no "${MANIFEST_METADATA_KEY}" manifest (not a worldloop model file?)`);
  }
  return parseManifest(text, `${file.displayName}: manifest`);
}

/** Parses and validates a model file: container, manifest and the activation-memory estimate. */
export function parseModelFile(bytes: ArrayBuffer | Uint8Array, opts: Omit<ParseOptions, 'allowed'> = {}): ModelFile {
  const file = SafetensorsFile.parse(bytes, { ...opts, allowed: 'float' });
  const manifest = manifestFromFile(file);
  checkArenaBudget(manifest, 1, undefined, file.displayName);
  return { file, manifest };
}
