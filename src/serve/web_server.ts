/**
 * The HTTP server of `worldloop serve`: the play page (dist/web, built by scripts/build_web.js),
 * the model file, what the page needs to know (/world.json) and the truth world's opening frames
 * (/opening), and it paints objects the page places (POST /place: the page has no truth renderer;
 * src/serve/place_route.ts). Fixed routes only: a path that is not one of them is 404 (so no path
 * reaches the file system, and `..` means nothing), a method other than GET or HEAD is 405 (POST
 * only at /place, which takes nothing else). On a loopback address it also refuses requests whose
 * Host header names another host (a web page elsewhere cannot reach it through DNS rebinding), and
 * a POST whose Origin is another site's.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { InputFileError, InvalidArgumentError, WorldloopError } from '../errors.js';
import { projectRoot } from '../native.js';
import { truthOpening } from '../play/truth_start.js';
import { modelSourceId } from '../record/source_identity.js';
import { worldLayout } from '../world.js';
import { PlaceRequestError } from '../web/page/place_request.js';
import { PlacePainters, readPlaceBody } from './place_route.js';
import { OPENING_LIMITS, ROUTES, type WorldInfo } from '../web/page/world_info.js';

export interface WebServerOptions {
  modelPath: string;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** 0 = any free port. */
  port?: number;
  /** The seed the page opens by default. */
  seed?: number;
  /** Where index.html and page.js are (default: dist/web of the package). */
  pageDir?: string;
}

export interface RunningWebServer {
  url: string;
  host: string;
  port: number;
  info: WorldInfo;
  close(): Promise<void>;
}

/** Addresses that reach only this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function defaultPageDir(): string {
  return join(projectRoot(), 'dist', 'web');
}

interface StaticFile {
  type: string;
  body: Buffer;
}

function readPage(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const [route, name, type] of [
    [ROUTES.page, 'index.html', 'text/html; charset=utf-8'],
    [ROUTES.script, 'page.js', 'text/javascript; charset=utf-8'],
  ] as const) {
    const path = join(dir, name);
    if (!existsSync(path)) {
      throw new WorldloopError('WL_IO', `the page is not built: ${path} is missing (run npm run build:ts, which runs scripts/build_web.js)`);
    }
    files.set(route, { type, body: readFileSync(path) });
  }
  return files;
}

/** The opening query's integers, each within its bound; undefined when one is missing or bad. */
function openingParams(q: URLSearchParams): { seed: number; k: number; width: number; height: number } | undefined {
  const int = (name: string, min: number, max: number): number | undefined => {
    const raw = q.get(name);
    if (raw === null || !/^\d{1,10}$/.test(raw)) return undefined;
    const v = Number(raw);
    return v >= min && v <= max ? v : undefined;
  };
  const seed = int('seed', 0, 0xffffffff);
  const k = int('k', 1, OPENING_LIMITS.maxContext);
  const width = int('width', 8, OPENING_LIMITS.maxSide);
  const height = int('height', 8, OPENING_LIMITS.maxSide);
  if (seed === undefined || k === undefined || width === undefined || height === undefined || q.size !== 4) return undefined;
  return { seed, k, width, height };
}

export async function startWebServer(o: WebServerOptions): Promise<RunningWebServer> {
  const host = o.host ?? '127.0.0.1';
  const port = o.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`serve: port must be an integer in 0..65535; got ${port}`);
  if (!existsSync(o.modelPath)) throw new InputFileError(`no model at '${o.modelPath}': pass --model PATH (a .safetensors model file)`);
  if (!statSync(o.modelPath).isFile()) throw new InputFileError(`model path is not a file: ${o.modelPath}`);
  const page = readPage(o.pageDir ?? defaultPageDir());
  const modelBytes = statSync(o.modelPath).size;
  const info: WorldInfo = {
    modelName: basename(o.modelPath),
    modelBytes,
    sourceId: await modelSourceId(o.modelPath),
    worldVersion: worldLayout().worldVersion,
    seed: o.seed ?? 1,
    lightPresets: [...worldLayout().lightPresets],
    motionSpeeds: { moveSpeed: worldLayout().defaults.moveSpeed, strafeSpeed: worldLayout().defaults.strafeSpeed, turnSpeedDeg: worldLayout().defaults.turnSpeedDeg },
  };
  const infoBody = Buffer.from(JSON.stringify(info));
  const loopback = isLoopbackHost(host);
  // The last few openings: a restart (R) asks for the same seed again.
  const openings = new Map<string, Buffer>();
  const painters = new PlacePainters();

  const server = http.createServer((req, res) => {
    const send = (code: number, type: string, body: Buffer | string, extra: Record<string, string> = {}) => {
      const b = typeof body === 'string' ? Buffer.from(body) : body;
      res.writeHead(code, { 'content-type': type, 'content-length': String(b.length), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...extra });
      res.end(req.method === 'HEAD' ? undefined : b);
    };
    const text = (code: number, msg: string, extra: Record<string, string> = {}) => send(code, 'text/plain; charset=utf-8', `${msg}\n`, extra);
    const isPlace = (req.url ?? '').split('?')[0] === ROUTES.place;
    if (isPlace && req.method !== 'POST') {
      text(405, `${req.method} is not allowed: ${ROUTES.place} answers POST only`, { allow: 'POST' });
      return;
    }
    if (!isPlace && req.method !== 'GET' && req.method !== 'HEAD') {
      text(405, `${req.method} is not allowed: this server answers GET and HEAD (and POST at ${ROUTES.place})`, { allow: 'GET, HEAD' });
      return;
    }
    if (loopback) {
      const h = (req.headers.host ?? '').replace(/:\d+$/, '');
      if (!isLoopbackHost(h)) {
        text(403, `host ${JSON.stringify(req.headers.host ?? '')} refused: this server answers loopback addresses only`);
        return;
      }
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://127.0.0.1');
    } catch {
      text(400, 'bad request line');
      return;
    }
    const path = url.pathname;
    if (isPlace) {
      // A page from another site may send a POST without asking first: only our own page paints.
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}` && origin !== `https://${req.headers.host ?? ''}`) {
        text(403, `origin ${JSON.stringify(origin)} refused: ${ROUTES.place} answers the page this server serves`);
        return;
      }
      readPlaceBody(req).then(
        (body) => {
          const a = painters.answer(body);
          send(a.status, a.type, a.body);
        },
        (err: unknown) => {
          if (err instanceof PlaceRequestError) text(err.status, err.message, { connection: 'close' });
          else text(500, `/place: ${(err as Error).message}`);
        },
      );
      return;
    }
    const file = page.get(path);
    if (file) {
      // The page reads its own query (?backend=js, ?seed=N, ?bench=N).
      send(200, file.type, file.body);
      return;
    }
    if (path === ROUTES.info) {
      send(200, 'application/json', infoBody);
      return;
    }
    if (path === ROUTES.model) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(modelBytes), 'cache-control': 'no-store' });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      const s = createReadStream(o.modelPath);
      s.on('error', () => res.destroy());
      s.pipe(res);
      return;
    }
    if (path === ROUTES.opening) {
      const p = openingParams(url.searchParams);
      if (!p) {
        text(400, `/opening takes seed (0..4294967295), k (1..${OPENING_LIMITS.maxContext}), width and height (8..${OPENING_LIMITS.maxSide}), nothing else`);
        return;
      }
      const key = `${p.seed}/${p.k}/${p.width}x${p.height}`;
      const cached = openings.get(key);
      if (cached) {
        send(200, 'application/octet-stream', cached);
        return;
      }
      truthOpening(p.seed, p.k, p.width, p.height).then(
        (frames) => {
          const body = Buffer.concat(frames);
          if (openings.size >= 4) openings.delete(openings.keys().next().value!);
          openings.set(key, body);
          send(200, 'application/octet-stream', body);
        },
        (err: unknown) => text(500, `the truth world could not render the opening: ${(err as Error).message}`),
      );
      return;
    }
    text(404, `not found: ${path} (this server has ${Object.values(ROUTES).join(', ')})`);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new WorldloopError('WL_IO', `port ${port} on ${host} is in use: pick another with --port (0 picks a free one)`));
      else if (err.code === 'EACCES') reject(new WorldloopError('WL_IO', `no permission to listen on ${host}:${port} (ports below 1024 need privileges): pick another with --port`));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') reject(new WorldloopError('WL_IO', `cannot listen on ${host}: not an address of this machine`));
      else reject(new WorldloopError('WL_IO', `cannot listen on ${host}:${port}: ${err.message}`));
    });
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shown}:${bound}/`,
    host,
    port: bound,
    info,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          painters.close();
          resolve();
        });
      }),
  };
}
