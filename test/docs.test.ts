// The docs' shape, kept by a test: the README stays a user's page (≤ 120 lines), every relative
// link in README.md and docs/ points at a file that exists, measured state lives in one dated
// docs/status.md, and experiment logs are dated notes under docs/notes/.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { projectRoot } from '../src/native.js';

const root = projectRoot();

function markdownFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...markdownFiles(p));
    else if (name.endsWith('.md')) out.push(p);
  }
  return out;
}

/** Targets of inline links and images, `[text](target)`, outside code spans and fences. */
function linkTargets(markdown: string): string[] {
  const text = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
}

describe('docs', () => {
  it('README.md is at most 120 lines', () => {
    const lines = readFileSync(join(root, 'README.md'), 'utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    expect(lines.length).toBeLessThanOrEqual(120);
  });

  it('every relative link in README.md and docs/ resolves to a file', () => {
    const files = [join(root, 'README.md'), ...markdownFiles(join(root, 'docs'))];
    const broken: string[] = [];
    for (const file of files) {
      for (const target of linkTargets(readFileSync(file, 'utf8'))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue; // URLs, anchors
        const path = resolve(dirname(file), decodeURIComponent(target.split('#')[0]!));
        if (!existsSync(path)) broken.push(`${relative(root, file)}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('measured state is one dated page; notes are dated', () => {
    expect(readFileSync(join(root, 'docs', 'status.md'), 'utf8')).toMatch(/^# Status, \d{4}-\d{2}-\d{2}\n/);
    const notes = readdirSync(join(root, 'docs', 'notes')).filter((n) => n.endsWith('.md'));
    expect(notes.length).toBeGreaterThan(0);
    for (const n of notes) expect(n).toMatch(/^\d{4}-\d{2}-\d{2}-[a-z0-9-]+\.md$/);
  });
});
