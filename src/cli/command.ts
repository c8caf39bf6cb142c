// What a `stickylb <command>` is. Types only: main.ts loads the commands on demand and each
// command's file imports this, so neither imports the other.
export interface Command {
  /** One line for the command list. */
  summary: string;
  /** Runs with the arguments after the command's name; resolves to the exit code. */
  run(args: string[]): Promise<number>;
}
