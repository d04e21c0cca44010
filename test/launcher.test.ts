// The installed command is bin/worldloop.js run through its shebang, which also caps V8's young
// generation (resident memory stays flat over long sessions: docs/runtime.md). The shebang uses
// `env -S`; if the system's env could not split it, the command would not start at all.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const launcher = join(__dirname, '..', 'bin', 'worldloop.js');

describe('launcher', () => {
  it('starts as an executable through its shebang, with the young generation capped', () => {
    expect(readFileSync(launcher, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env -S node --max-semi-space-size=1');
    const r = spawnSync(launcher, ['--help'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/usage: worldloop/i);
  });
});
