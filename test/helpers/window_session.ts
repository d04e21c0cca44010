// A truth-world play session in a real window (xvfb under npm test), as `worldloop truth` runs
// it: keys go in through windowTesting.pushKey, and the session ends on Escape.
import type { PlayWorld } from '../../src/play/play_world.js';

export interface WindowSession {
  world: PlayWorld;
  /** Resolves when the session has ended (push Escape first). */
  done: Promise<unknown>;
}

/** Opens a play truth world for `seed` and runs it in a 128x128 window at 60 FPS. */
export async function startTruthWindowSession(
  seed: number,
  opts: { quicksave: string; shotsDir: string; hud?: boolean; log?: (line: string) => void },
): Promise<WindowSession> {
  const { hasDisplay } = await import('../../src/window.js');
  if (!hasDisplay()) throw new Error('needs an X display: run under xvfb-run (npm test does)');
  const { openWorld } = await import('../../src/play/open_world.js');
  const { runPlay } = await import('../../src/play/run_play.js');
  const world = await openWorld({ kind: 'truth', seed });
  const done = runPlay(
    world,
    {
      seed, fps: 60, frames: 0, headless: false, hud: opts.hud ?? false, shotsDir: opts.shotsDir, realtime: true,
      window: { width: 128, height: 128, linear: false, vsync: false, fullscreen: false, renderer: 'auto' },
    },
    { quicksave: opts.quicksave, force: false },
    opts.log ?? (() => undefined),
  );
  return { world, done };
}
