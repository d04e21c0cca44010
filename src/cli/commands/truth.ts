/** `worldloop truth`: the ground-truth world in the same loop and window as a model. */
import type { Command } from '../command.js';
import { parseArgs } from '../args.js';
import { SESSION_FLAGS, SESSION_HELP, sessionFlags } from '../session_flags.js';
import { openTruth } from '../../loop/open_source.js';
import { runSession } from '../../loop/session.js';

const help = `usage: worldloop truth [--seed N] [--fps N] [--headless] [flags]

Plays the procedural ground-truth world (the C++ raycaster the models learn from) in the game
loop: same window, bindings, HUD, profiler, recording and replay as 'play'.
${SESSION_HELP}

examples:
  worldloop truth --seed 7 --hud
  worldloop truth --headless --script walk.json --record walk.wlrec --trace walk.trace.json`;

const command: Command = {
  name: 'truth',
  summary: 'play the ground-truth world (window or headless)',
  help,
  async run(argv) {
    const a = parseArgs('truth', argv, SESSION_FLAGS);
    const f = sessionFlags('truth', a);
    const opened = await openTruth(f.seed);
    try {
      await runSession({ ...f, source: opened.source, sourceId: opened.sourceId, backend: opened.backend, log: (l) => console.log(l) });
    } finally {
      await opened.close();
    }
    return 0;
  },
};
export default command;
