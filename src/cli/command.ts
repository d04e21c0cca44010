/** One CLI subcommand: its own file under src/cli/commands/, registered in src/cli/main.ts. */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full --help text (usage, flags, defaults, examples). */
  help: string;
  run(argv: string[]): Promise<number>;
}
