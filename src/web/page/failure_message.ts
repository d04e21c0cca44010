/**
 * What the page says when it cannot play: the error, then what to try. The backend's own errors
 * already say what is missing (src/web/webgpu_backend.ts); this adds the page's advice per case,
 * so a player without WebGPU, without an adapter or with too small a GPU knows what to do.
 */
export type FailureKind = 'no-webgpu' | 'no-adapter' | 'memory' | 'model-file' | 'network' | 'other';

export interface PageFailure {
  kind: FailureKind;
  /** One heading line. */
  title: string;
  /** The error's own message. */
  detail: string;
  /** What to try, one line each. */
  tryLines: string[];
}

const JS_HINT = 'or run the plain JavaScript backend instead (slow, but needs no GPU): add ?backend=js to the address';

export function describeFailure(err: unknown, backend: string): PageFailure {
  const detail = err instanceof Error ? err.message : String(err);
  const name = err instanceof Error ? err.name : '';
  if (/navigator\.gpu is missing/.test(detail)) {
    return {
      kind: 'no-webgpu',
      title: 'This browser has no WebGPU',
      detail,
      tryLines: [
        'use Chrome or Edge 113 or newer (Safari 26, or Firefox 141 on Windows, also have it)',
        'open the page from http://127.0.0.1 or http://localhost (WebGPU needs a secure context), not from another address over http',
        'on Linux, Chrome may need chrome://flags/#enable-unsafe-webgpu',
        JS_HINT,
      ],
    };
  }
  if (/found no GPU adapter/.test(detail)) {
    return {
      kind: 'no-adapter',
      title: 'WebGPU found no GPU adapter',
      detail,
      tryLines: ['turn hardware acceleration on in the browser settings', 'check chrome://gpu for a blocklisted GPU; update the graphics driver', JS_HINT],
    };
  }
  if (/GPU memory in one buffer|has not got .* free/.test(detail)) {
    return {
      kind: 'memory',
      title: 'The model does not fit this GPU',
      detail,
      tryLines: ['close other tabs or programs using the GPU', 'serve a smaller model: worldloop serve --model SMALLER.safetensors', JS_HINT],
    };
  }
  if (name === 'ModelFileError') {
    return { kind: 'model-file', title: 'The model file was refused', detail, tryLines: ['serve another model file (worldloop serve --model PATH)'] };
  }
  if (/HTTP \d+|Failed to fetch|NetworkError/.test(detail)) {
    return { kind: 'network', title: 'Could not fetch from the server', detail, tryLines: ['check that worldloop serve is still running, then reload'] };
  }
  return { kind: 'other', title: `The page stopped (${backend} backend)`, detail, tryLines: ['reload the page; if it happens again, the browser console has the stack'] };
}
