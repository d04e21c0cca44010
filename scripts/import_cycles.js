#!/usr/bin/env node
// Fails on any import cycle among the TypeScript files under a directory (default src/): run by
// scripts/lint.sh, tested by test/import_cycles.test.ts. Every import counts, `import type` and
// `export ... from` included (a type-only cycle still ties the files' meanings together), as do
// dynamic imports of a literal path. Only relative specifiers are followed; `./x.js` names
// `./x.ts` (NodeNext resolution). Prints each cycle as a chain of paths and exits 1; exits 0
// when there is none.
//   node scripts/import_cycles.js [DIR]
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Every .ts file under `dir` (declaration files excluded). */
function tsFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

// `import ... from 'x'`, `import 'x'`, `export ... from 'x'` (across lines), `import('x')`.
const SPECIFIER = /(?:^|[;\s}])(?:import|export)\s[^;'"]*?from\s*['"]([^'"]+)['"]|(?:^|[;\s])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;

/** Comments removed (strings kept), so commented-out imports do not count. */
function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

/** The files `file` imports, among `known`. */
function importsOf(file, known) {
  const text = stripComments(readFileSync(file, 'utf8'));
  const out = new Set();
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec || !spec.startsWith('.')) continue;
    const base = resolve(dirname(file), spec);
    const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
    const hit = candidates.find((c) => known.has(c) && existsSync(c));
    if (hit) out.add(hit);
  }
  return [...out];
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
export function findCycles(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const cycles = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(scc);
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return cycles;
}

/** One concrete cycle through a component's first file, for the message. */
function chain(graph, scc) {
  const members = new Set(scc);
  const start = [...scc].sort()[0];
  const seen = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = seen.get(u)) path.splice(1, 0, u);
        return [...path, start];
      }
      if (!seen.has(w)) {
        seen.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

const dir = resolve(process.argv[2] ?? 'src');
const files = tsFiles(dir);
const known = new Set(files);
const graph = new Map(files.map((f) => [f, importsOf(f, known)]));
const cycles = findCycles(graph);
const rel = (p) => relative(process.cwd(), p);
if (cycles.length) {
  console.log(`import cycles in ${rel(dir) || '.'}: ${cycles.length}`);
  for (const scc of cycles) {
    console.log(`  ${chain(graph, scc).map(rel).join(' -> ')}`);
    if (scc.length > 2) console.log(`    (all files in this cycle: ${scc.map(rel).sort().join(', ')})`);
  }
  process.exit(1);
}
console.log(`no import cycles in ${rel(dir) || '.'} (${files.length} files)`);
