/** One CLI subcommand: its own file under src/cli/commands/, registered in src/cli/main.ts. */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full --help text (usage, flags, defaults, examples). */
  help: string;
  /** A command that groups others (`worldloop eval <name>`): main runs `<command> <name> ...` as
   * the named one, and lists them under `label` in the group's --help. */
  subcommands?: { label: string; loaders: Record<string, CommandLoader> };
  run(argv: string[]): Promise<number>;
}

/** Loads a command's module on demand, so `worldloop <command>` loads only what it runs. */
export type CommandLoader = () => Promise<{ default: Command }>;
