/** `worldloop truth`: the ground-truth world in the same loop and window as a model. */
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { SESSION_FLAGS, SESSION_HELP, sessionFlags } from '../session_flags.js';
import { openWorld } from '../../play/open_world.js';
import { DEFAULT_QUICKSAVE, runPlay } from '../../play/run_play.js';

const help = `usage: worldloop truth [--seed N] [--fps N] [--display-fps N] [--headless] [flags]

Plays the procedural ground-truth world (the C++ raycaster the models learn from) in the game
loop: same window, bindings, HUD, profiler, recording and replay as 'play'.
  --quicksave FILE    where F5 saves and F9 loads (default ${DEFAULT_QUICKSAVE}); continue a
                      save later with: worldloop load FILE
${SESSION_HELP}

examples:
  worldloop truth --seed 7 --hud
  worldloop truth --headless --script walk.json --record walk.wlrec --trace walk.trace.json`;

const command: Command = {
  name: 'truth',
  summary: 'play the ground-truth world (window or headless)',
  help,
  async run(argv) {
    const a = parseArgs('truth', argv, { ...SESSION_FLAGS, quicksave: { kind: 'string' } });
    const f = sessionFlags('truth', a);
    // A persistent truth world: pose/path tracking and F5/F9 save/load on top of the same world.
    const pw = await openWorld({ kind: 'truth', seed: f.seed });
    try {
      await runPlay(pw, f, { quicksave: (a.flags.quicksave as string | undefined) ?? DEFAULT_QUICKSAVE, force: false }, (l) => console.log(l));
    } finally {
      await pw.close();
    }
    return 0;
  },
};
export default command;
