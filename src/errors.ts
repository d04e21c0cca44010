/** Typed errors of the worldloop API. `code` mirrors the native wl_status where one exists. */
export type WorldloopErrorCode =
  | 'WL_INVALID_ARGUMENT'
  | 'WL_IO'
  | 'WL_FORMAT'
  | 'WL_UNSUPPORTED'
  | 'WL_OUT_OF_MEMORY'
  | 'WL_INTERNAL'
  | 'WL_NO_ADDON'
  | 'WL_NO_DISPLAY'
  | 'WL_USAGE';

export class WorldloopError extends Error {
  readonly code: WorldloopErrorCode;
  constructor(code: WorldloopErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WorldloopError';
    this.code = code;
  }
}

/** A model, save or recording file is malformed (names the field/tensor and the problem). */
export class FormatError extends WorldloopError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WL_FORMAT', message, options);
    this.name = 'FormatError';
  }
}

/** An input file (model, save, recording, bindings, script, image) cannot be read: missing, a
 * directory, too large, or the read failed. Malformed contents are a FormatError instead. */
export class InputFileError extends WorldloopError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WL_IO', message, options);
    this.name = 'InputFileError';
  }
}

/** A caller-supplied value (flag, shape, action) is invalid. */
export class InvalidArgumentError extends WorldloopError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WL_INVALID_ARGUMENT', message, options);
    this.name = 'InvalidArgumentError';
  }
}

/** A request this build or machine cannot serve (no GPU, no SDL, no display). */
export class UnsupportedError extends WorldloopError {
  constructor(message: string, code: WorldloopErrorCode = 'WL_UNSUPPORTED') {
    super(code, message);
    this.name = 'UnsupportedError';
  }
}

/** Runs an addon call; whatever it throws comes out as the API's typed error (fromNative). */
export function callNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw fromNative(err);
  }
}

/** Converts an error thrown by the addon (which carries `code`) into the typed class. */
export function fromNative(err: unknown): WorldloopError {
  if (err instanceof WorldloopError) return err;
  // The addon validates buffer types/sizes with TypeError/RangeError: those are caller mistakes.
  if (err instanceof TypeError || err instanceof RangeError) {
    return new InvalidArgumentError(err.message, { cause: err });
  }
  const e = err as { code?: string; message?: string };
  const msg = e?.message ?? String(err);
  switch (e?.code) {
    case 'WL_FORMAT':
      return new FormatError(msg, { cause: err });
    case 'WL_INVALID_ARGUMENT':
      return new InvalidArgumentError(msg, { cause: err });
    case 'WL_UNSUPPORTED':
      return new UnsupportedError(msg);
    case 'WL_IO':
    case 'WL_OUT_OF_MEMORY':
    case 'WL_INTERNAL':
      return new WorldloopError(e.code, msg, { cause: err });
    default:
      return new WorldloopError('WL_INTERNAL', msg, { cause: err });
  }
}
