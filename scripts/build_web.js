#!/usr/bin/env node
// Bundles the browser play page (src/web/page/main.ts and what it imports: src/web, the engine's
// input mapping and recording writer) with esbuild into dist/web/page.js, the WGSL kernels of
// shaders/ inlined as text (the loader the browser tests use), and writes dist/web/index.html.
// Run by `npm run build:ts`; `worldloop serve` serves both files.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [join(root, 'src', 'web', 'page', 'main.ts')],
  outfile: join(out, 'page.js'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  loader: { '.wgsl': 'text' },
  sourcemap: true,
  logLevel: 'warning',
});

const style = [
  'body { font: 14px system-ui, sans-serif; margin: 1.5em; background: #111; color: #ddd; }',
  '#view { width: 512px; height: 512px; image-rendering: pixelated; background: #000; display: block; margin: 0.5em 0; }',
  '#stage { position: relative; width: 512px; }',
  '#hud { position: absolute; top: 0; left: 0; margin: 0; padding: 4px 6px; background: rgba(0,0,0,.6); color: #fff; font: 12px monospace; pointer-events: none; }',
  '#failure { border: 1px solid #c44; padding: 0.5em 1em; background: #2a1111; max-width: 48em; }',
  '#failure .detail { font-family: monospace; }',
  '#keys, #note { max-width: 48em; color: #aaa; }',
  '#bench { font: 12px monospace; }',
].join('\n');
writeFileSync(
  join(out, 'index.html'),
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>worldloop</title>
<style>
${style}
</style>
</head>
<body>
<noscript>The worldloop page needs JavaScript.</noscript>
<script type="module" src="/page.js"></script>
</body>
</html>
`,
);
