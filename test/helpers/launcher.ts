// Runs bin/worldloop.js as its own process, the way a shell would, and kills it if it has not
// ended after `hangMs`: the hostile-file tests count such a run as a hang instead of waiting on it.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export interface LauncherRun {
  code: number | null;
  signal: string | null;
  /** stdout and stderr, interleaved as they arrived. */
  text: string;
  ms: number;
  timedOut: boolean;
}

export function runLauncher(root: string, args: string[], hangMs: number, env: NodeJS.ProcessEnv = process.env): Promise<LauncherRun> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(root, 'bin', 'worldloop.js'), ...args], { cwd: root, env });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, hangMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, text, ms: performance.now() - t0, timedOut });
    });
  });
}
