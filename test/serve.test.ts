// `worldloop serve` (src/serve/web_server.ts, src/cli/commands/serve.ts): the fixed routes and what
// each answers, 404 for anything else (traversal included), 405 for methods other than GET/HEAD,
// the Host check on loopback, the opening frames against the truth world's, POST /place (the
// object painting the browser page asks for) and its refusals, and the command's flag errors,
// loopback default and port-in-use failure.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { projectRoot } from '../src/native.js';
import { truthOpening } from '../src/play/truth_start.js';
import { modelSourceId } from '../src/record/source_identity.js';
import { isLoopbackHost, startWebServer, type RunningWebServer } from '../src/serve/web_server.js';
import { ObjectPainter } from '../src/object_painter.js';
import { encodePlaceRequest, PLACE_LIMITS, type PlaceRequest } from '../src/web/page/place_request.js';

const ROOT = projectRoot();
const MODEL = join(ROOT, 'native', 'tests', 'fixtures', 'tiny_model.safetensors');
const BIN = join(ROOT, 'bin', 'worldloop.js');

/** A raw request (no URL normalisation by a client), for traversal and odd methods. */
function request(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: Uint8Array): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function withMutedConsole<T>(fn: () => Promise<T>): Promise<{ value: T; text: string }> {
  const said: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a) => void said.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a) => void said.push(a.join(' ')));
  try {
    return { value: await fn(), text: said.join('\n') };
  } finally {
    vi.restoreAllMocks();
  }
}

describe('worldloop serve: the server', () => {
  let server: RunningWebServer;
  const pageDir = mkdtempSync(join(tmpdir(), 'wl-serve-page-'));

  beforeAll(async () => {
    writeFileSync(join(pageDir, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(pageDir, 'page.js'), 'console.log(1)');
    server = await startWebServer({ modelPath: MODEL, port: 0, pageDir, seed: 9 });
  });

  afterAll(async () => {
    await server.close();
    rmSync(pageDir, { recursive: true, force: true });
  });

  it('listens on loopback by default and answers the page, the script, the info and the model', async () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    const page = await request(server.port, 'GET', '/?backend=js&seed=3');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body.toString()).toContain('<title>t</title>');
    expect((await request(server.port, 'GET', '/page.js')).headers['content-type']).toMatch(/javascript/);
    const info = JSON.parse((await request(server.port, 'GET', '/world.json')).body.toString()) as Record<string, unknown>;
    expect(info).toMatchObject({ modelName: 'tiny_model.safetensors', sourceId: await modelSourceId(MODEL), seed: 9 });
    const model = await request(server.port, 'GET', '/model.safetensors');
    expect(model.status).toBe(200);
    expect(model.body.equals(Buffer.from(await import('node:fs').then((f) => f.readFileSync(MODEL))))).toBe(true);
    const head = await request(server.port, 'HEAD', '/model.safetensors');
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBe(model.body.length);
    expect(head.body.length).toBe(0);
  });

  it('serves the truth world opening for a seed, and refuses bad parameters', async () => {
    const r = await request(server.port, 'GET', '/opening?seed=4&k=2&width=32&height=32');
    expect(r.status).toBe(200);
    expect(r.body.equals(Buffer.concat(await truthOpening(4, 2, 32, 32)))).toBe(true);
    for (const q of ['seed=4&k=2&width=32', 'seed=-1&k=2&width=32&height=32', 'seed=4&k=999&width=32&height=32', 'seed=4&k=2&width=32&height=99999',
      'seed=1e3&k=2&width=32&height=32', 'seed=4&k=2&width=32&height=32&x=1']) {
      const bad = await request(server.port, 'GET', `/opening?${q}`);
      expect(bad.status, q).toBe(400);
      expect(bad.body.toString()).toMatch(/\/opening takes seed/);
    }
  });

  it('404 for anything else, traversal included; 405 for other methods; 403 for a foreign Host', async () => {
    for (const p of ['/index.html', '/package.json', '/../package.json', '/%2e%2e/package.json', '/..%2fpackage.json', '//etc/passwd', '/dist/web/page.js', '/model.safetensors/x', '/shaders/conv2d.wgsl']) {
      const r = await request(server.port, 'GET', p);
      expect(r.status, p).toBe(404);
      expect(r.body.toString()).not.toMatch(/"name": "worldloop"|root:/);
    }
    for (const m of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
      const r = await request(server.port, m, '/');
      expect(r.status, m).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
    }
    const foreign = await request(server.port, 'GET', '/', { host: 'attacker.example:80' });
    expect(foreign.status).toBe(403);
    expect((await request(server.port, 'GET', '/', { host: `localhost:${server.port}` })).status).toBe(200);
  });

  it('POST /place paints the object as ModelWorld does; bad requests are 400/413, other methods 405, other origins 403', async () => {
    const opening = await truthOpening(4, 2, 32, 32);
    const req: PlaceRequest = {
      kind: 'lamp', seed: 4, width: 32, height: 32, light: { level: 0.6, tint: [1, 0.8, 0.55] },
      views: [{ depth: 1.3, lateral: 0.2 }, { depth: 1, lateral: 0 }], frames: Buffer.concat(opening),
    };
    const r = await request(server.port, 'POST', '/place', { 'content-type': 'application/octet-stream' }, encodePlaceRequest(req));
    expect(r.status, r.body.toString()).toBe(200);
    const want = Buffer.concat(opening);
    const painter = new ObjectPainter(32, 32);
    const draw = painter.begin(4, req.light);
    req.views.forEach((v, i) => draw('lamp', v, want.subarray(i * 3072, (i + 1) * 3072)));
    painter.close();
    expect(r.body.equals(want)).toBe(true);
    expect(r.body.equals(Buffer.concat(opening))).toBe(false); // the lamp is in the frames
    // Our own page's origin is fine; another site's is refused.
    expect((await request(server.port, 'POST', '/place', { origin: `http://127.0.0.1:${server.port}` }, encodePlaceRequest(req))).status).toBe(200);
    const foreign = await request(server.port, 'POST', '/place', { origin: 'https://attacker.example' }, encodePlaceRequest(req));
    expect(foreign.status).toBe(403);
    expect((await request(server.port, 'POST', '/place', { host: 'attacker.example' }, encodePlaceRequest(req))).status).toBe(403);

    const head = (h: object) => new TextEncoder().encode(`${JSON.stringify(h)}\n`);
    const frames = req.frames;
    const cases: [string, Uint8Array, RegExp][] = [
      ['unknown kind', encodePlaceRequest({ ...req, kind: 'dragon' as never }), /unknown object kind "dragon" \(the kinds are pillar, barrel, plant, lamp, crate, orb\)/],
      ['no JSON line', frames, /must start with a line of JSON/],
      ['not JSON', Buffer.concat([Buffer.from('{kind: lamp}\n'), frames]), /the first line is not a JSON object/],
      ['too few frame bytes', encodePlaceRequest(req).subarray(0, 100 + frames.length / 2), /after the JSON line come 2 frames of 32x32x3 = 6144 bytes; got/],
      ['bad light', encodePlaceRequest({ ...req, light: { level: 3, tint: [1, 1, 1] } }), /light level must be a number in \[0, 1\], got 3/],
      ['bad view', encodePlaceRequest({ ...req, views: [{ depth: Infinity, lateral: 0 }, { depth: 1, lateral: 0 }] }), /views\[0\] must be/],
      ['bad seed', Buffer.concat([head({ ...req, frames: undefined, seed: -1 }), frames]), /seed must be an integer in 0..4294967295, got -1/],
      ['unknown field', Buffer.concat([head({ ...req, frames: undefined, extra: 1 }), frames]), /unknown field "extra"/],
    ];
    for (const [what, body, msg] of cases) {
      const bad = await request(server.port, 'POST', '/place', {}, body);
      expect(bad.status, what).toBe(400);
      expect(bad.body.toString(), what).toMatch(msg);
    }
    const big = await request(server.port, 'POST', '/place', { 'content-length': String(PLACE_LIMITS.maxBodyBytes + 1) }, new Uint8Array(10));
    expect(big.status).toBe(413);
    expect(big.body.toString()).toMatch(/\/place: the body has \d+ bytes; at most \d+/);
    for (const m of ['GET', 'HEAD', 'PUT']) {
      const wrong = await request(server.port, m, '/place');
      expect(wrong.status, m).toBe(405);
      expect(wrong.headers.allow).toBe('POST');
    }
  });

  it('isLoopbackHost', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '192.168.1.2', '::', 'example.com', '127.0.0.1.evil.com']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('a missing page build or model is a clear error', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'wl-serve-empty-'));
    mkdirSync(join(empty, 'x'));
    await expect(startWebServer({ modelPath: MODEL, pageDir: empty })).rejects.toThrow(/the page is not built: .*index\.html is missing \(run npm run build:ts/);
    await expect(startWebServer({ modelPath: join(empty, 'nope.safetensors'), pageDir })).rejects.toThrow(/no model at '.*nope\.safetensors'/);
    rmSync(empty, { recursive: true, force: true });
  });
});

describe('worldloop serve: the command', () => {
  it('flag errors exit 2 naming the problem; a missing model exits 3', async () => {
    const cases: [string[], number, RegExp][] = [
      [['serve', '--port', 'x'], 2, /--port must be an integer; got 'x'/],
      [['serve', '--port', '70000'], 2, /--port must be in \[0, 65535\]/],
      [['serve', '--bogus'], 2, /unknown flag --bogus/],
      [['serve', '--host', '0.0.0.0'], 2, /--host 0\.0\.0\.0 serves beyond this machine; add --public/],
      [['serve', 'extra'], 2, /unexpected argument 'extra'/],
      [['serve', '--model', '/nonexistent/m.safetensors', '--port', '0'], 3, /no model at '\/nonexistent\/m\.safetensors'/],
    ];
    for (const [argv, code, msg] of cases) {
      const r = await withMutedConsole(() => main(argv));
      expect(r.value, argv.join(' ')).toBe(code);
      expect(r.text, argv.join(' ')).toMatch(msg);
    }
    const help = await withMutedConsole(() => main(['serve', '--help']));
    expect(help.value).toBe(0);
    expect(help.text).toMatch(/usage: worldloop serve/);
  });

  it('a port in use is a clear error with a non-zero exit', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await withMutedConsole(() => main(['serve', '--model', MODEL, '--port', String(port)]));
      expect(r.value).toBe(1);
      expect(r.text).toMatch(new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use: pick another with --port`));
    } finally {
      blocker.close();
    }
  });

  it('the installed command prints a loopback URL, answers on it and stops on SIGTERM with status 0', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--model', MODEL, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 30_000);
      child.stdout.on('data', () => {
        const m = /at (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const r = await request(Number(new URL(url).port), 'GET', '/world.json');
    expect(r.status).toBe(200);
    const exit = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });

  it('is listed by worldloop --help', () => {
    const r = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/serve\s+serve the browser play page/);
  });
});
