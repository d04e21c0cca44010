/**
 * What `worldloop`'s exit status means: one meaning per code, so a script can tell a typo on the
 * command line from a bad file from a failed run.
 */
import { FormatError, InputFileError, type WorldloopError } from '../errors.js';

export const EXIT_OK = 0;
/** The run itself failed: a replay whose frames differ, an output that cannot be written, the
 * engine or a device failing, a model whose outputs are not finite. */
export const EXIT_FAILURE = 1;
/** The command line is wrong: an unknown command or flag, a value out of range. */
export const EXIT_USAGE = 2;
/** An input file (model, save, recording, bindings, script, image) cannot be read or is refused;
 * the message names the file and the field or frame. */
export const EXIT_BAD_INPUT = 3;

export const EXIT_CODES_HELP =
  'exit status: 0 success; 1 runtime failure (e.g. a replay whose frames differ); 2 usage error (a command,\n' +
  'flag or value on the command line); 3 bad input file (missing, unreadable, malformed or out of range; the\n' +
  'message names the file and the field or frame)';

export function exitCodeFor(err: WorldloopError): number {
  if (err instanceof FormatError || err instanceof InputFileError) return EXIT_BAD_INPUT;
  if (err.code === 'WL_USAGE' || err.code === 'WL_INVALID_ARGUMENT') return EXIT_USAGE;
  return EXIT_FAILURE;
}
