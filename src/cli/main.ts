/** `worldloop` CLI entry: dispatches to one subcommand per file in ./commands/. */
import type { Command, CommandLoader } from './command.js';
import { WorldloopError } from '../errors.js';
import { EXIT_CODES_HELP, EXIT_USAGE, exitCodeFor } from './exit_codes.js';

// Registry: each command module default-exports a Command. Add new commands here.
const loaders: Record<string, CommandLoader> = {
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
  serve: () => import('./commands/serve.js'),
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
  let cmd = (await load()).default;
  let args = rest;
  let full = name;
  // A group (`worldloop eval <name> ...`) runs the named command with the rest.
  const sub = args[0];
  if (cmd.subcommands && sub !== undefined && !sub.startsWith('-')) {
    const loadSub = cmd.subcommands.loaders[sub];
    if (!loadSub) {
      console.error(`worldloop ${name}: unknown ${cmd.subcommands.label.replace(/s$/, '')} '${sub}'. Run 'worldloop ${name} --help' for the list.`);
      return EXIT_USAGE;
    }
    cmd = (await loadSub()).default;
    args = args.slice(1);
    full = `${name} ${sub}`;
  }
  if (args.includes('--help') || args.includes('-h')) {
    console.log(await helpOf(cmd));
    return 0;
  }
  try {
    return await cmd.run(args);
  } catch (err) {
    if (err instanceof WorldloopError) {
      console.error(`worldloop ${full}: ${err.message}`);
      return exitCodeFor(err);
    }
    throw err;
  }
}

/** A command's --help: its text, a group's list of commands, and the exit statuses. */
async function helpOf(cmd: Command): Promise<string> {
  let text = cmd.help;
  if (cmd.subcommands) {
    const entries = Object.entries(cmd.subcommands.loaders);
    const subs = await Promise.all(entries.map(([, l]) => l().then((m) => m.default)));
    const width = Math.max(...entries.map(([n]) => n.length)) + 2;
    text += `\n\n${cmd.subcommands.label}:\n` + entries.map(([n], i) => `  ${n.padEnd(width)}${subs[i]!.summary}`).join('\n');
  }
  return text.includes('exit status:') ? text : `${text}\n\n${EXIT_CODES_HELP}`;
}
