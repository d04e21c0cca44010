// Headless Chromium with WebGPU on its software adapter (SwiftShader), for the browser tests.
// Debian's chromium is used as installed by scripts/setup.sh: playwright-core drives it and never
// downloads a browser. Pages must come from http://127.0.0.1 (a secure context): WebGPU is not
// exposed to data: or file: URLs.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// The launcher is shared with bench/web.ts.
export { CHROMIUM_ARGS, CHROMIUM_PATH, launchChromium } from '../../bench/support/headless_chromium.js';

/** A test page (test/web/<file>) bundled by esbuild as the page script, WGSL imports as text. */
export async function bundleTestPage(file: string): Promise<Buffer> {
  const out = await build({
    entryPoints: [join(dirname(fileURLToPath(import.meta.url)), file)],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    loader: { '.wgsl': 'text' },
    logLevel: 'silent',
  });
  return Buffer.from(out.outputFiles[0]!.contents);
}

export interface Route {
  type: string;
  body: Buffer | string;
}

/** Answers a POST's body (e.g. the server's /place: src/serve/place_route.ts). */
export type PostRoute = (body: Buffer) => { status: number; type: string; body: Buffer };

/** A loopback HTTP server for fixed routes ("/" -> Route, and POST routes); unknown paths are 404. */
export async function serveRoutes(
  routes: Map<string, Route>,
  posts: Map<string, PostRoute> = new Map(),
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const post = req.method === 'POST' ? posts.get(path) : undefined;
    if (post) {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const a = post(Buffer.concat(parts));
        res.writeHead(a.status, { 'content-type': a.type }).end(a.body);
      });
      return;
    }
    const r = routes.get(path);
    if (!r) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': r.type }).end(r.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
