/** `worldloop` CLI entry: dispatches to one subcommand per file in ./commands/. */
import type { Command } from './command.js';
import { WorldloopError } from '../errors.js';
import { EXIT_CODES_HELP, EXIT_USAGE, exitCodeFor } from './exit_codes.js';

// Registry: each command module default-exports a Command. Add new commands here.
const loaders: Record<string, () => Promise<{ default: Command }>> = {
  play: () => import('./commands/play.js'),
  truth: () => import('./commands/truth.js'),
  replay: () => import('./commands/replay.js'),
  bench: () => import('./commands/bench.js'),
  info: () => import('./commands/info.js'),
  keys: () => import('./commands/keys.js'),
  eval: () => import('./commands/eval.js'),
  render: () => import('./commands/render.js'),
  sheet: () => import('./commands/sheet.js'),
  save: () => import('./commands/save.js'),
  load: () => import('./commands/load.js'),
  revisit: () => import('./commands/revisit.js'),
};

const USAGE = 'usage: worldloop <command> [flags]   (worldloop <command> --help for details)\n';

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const cmds = await Promise.all(Object.values(loaders).map((l) => l().then((m) => m.default)));
    console.log(USAGE + 'commands:\n' + cmds.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n') + '\n\n' + EXIT_CODES_HELP);
    return name ? 0 : EXIT_USAGE;
  }
  const load = loaders[name];
  if (!load) {
    console.error(`worldloop: unknown command '${name}'. Run 'worldloop --help' for the list.`);
    return EXIT_USAGE;
  }
  const cmd = (await load()).default;
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.help.includes('exit status:') ? cmd.help : `${cmd.help}\n\n${EXIT_CODES_HELP}`);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof WorldloopError) {
      console.error(`worldloop ${name}: ${err.message}`);
      return exitCodeFor(err);
    }
    throw err;
  }
}
