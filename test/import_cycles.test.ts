// No import cycles in src/ (issue 21): scripts/import_cycles.js, which scripts/lint.sh also runs,
// passes on the tree and fails on a cycle, type-only and `export ... from` imports included.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(__dirname, '..');
const script = join(root, 'scripts', 'import_cycles.js');
const check = (dir: string) => spawnSync(process.execPath, [script, dir], { cwd: root, encoding: 'utf8' });

describe('import cycles', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'wl-cycles-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('src/ has none', () => {
    const r = check('src');
    expect(r.stdout + r.stderr).toMatch(/no import cycles in src/);
    expect(r.status).toBe(0);
  });

  it('finds a cycle through type-only imports and re-exports, and names its files', () => {
    const dir = join(tmp, 'cycle');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'a.ts'), "import type { B } from './sub/b.js';\nexport type A = B | 1;\n");
    writeFileSync(join(dir, 'sub', 'b.ts'), "export { c as B } from '../c.js';\n");
    writeFileSync(join(dir, 'c.ts'), "import {\n  type A,\n} from './a.js';\nexport type c = A[];\n");
    writeFileSync(join(dir, 'leaf.ts'), "// import { x } from './a.js';\nimport { y } from 'node:fs';\nexport const z = y;\n");
    const r = check(dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/import cycles in .*: 1/);
    expect(r.stdout).toMatch(/a\.ts -> .*sub\/b\.ts -> .*c\.ts -> .*a\.ts/);
    expect(r.stdout).not.toMatch(/leaf\.ts/);
  });

  it('passes a tree without cycles, dynamic imports followed', () => {
    const dir = join(tmp, 'acyclic');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a.ts'), "export const load = () => import('./b.js');\n");
    writeFileSync(join(dir, 'b.ts'), "export const b = 1;\n");
    expect(check(dir).status).toBe(0);
    writeFileSync(join(dir, 'b.ts'), "export const b = () => import('./a.js');\n");
    expect(check(dir).status).toBe(1);
  });
});
