/**
 * Reading the files a user hands the CLI (models are read by the engine): one place that checks
 * the path is a regular file of a sane size, and one JSON reader for the JSON formats (bindings,
 * action scripts, world scripts) so every one of them names the file, tolerates a UTF-8 byte
 * order mark (editors on Windows write one), and says where the JSON breaks.
 */
import { readFileSync, statSync } from 'node:fs';
import { FormatError, InputFileError } from './errors.js';

/** JSON input files larger than this are refused before reading (real ones are kilobytes). */
export const MAX_JSON_FILE_BYTES = 16 * 1024 * 1024;

/** Reads a whole input file; `what` names the kind in the error ("save", "action script"). */
export function readInputFile(path: string, what: string, maxBytes: number): Buffer {
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > maxBytes) throw new Error(`${st.size} bytes is more than the ${maxBytes}-byte limit for a ${what}`);
    return readFileSync(path);
  } catch (err) {
    throw new InputFileError(`cannot read ${what} '${path}': ${(err as Error).message}`, { cause: err });
  }
}

/** Reads and parses a JSON input file (UTF-8, an optional byte order mark). */
export function readJsonFile(path: string, what: string): unknown {
  const bytes = readInputFile(path, what, MAX_JSON_FILE_BYTES);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FormatError(`${path}: ${what} is not UTF-8 text`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FormatError(`${path}: ${what} is not valid JSON (${(err as Error).message})`);
  }
}
