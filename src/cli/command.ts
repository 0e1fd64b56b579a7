import type { ParseArgsConfig } from 'node:util';

/** Exit codes; documented in README. */
export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  notFound: 3,
  rejected: 4,
  expired: 5,
  failed: 6,
  refused: 7,
  unavailable: 10,
} as const;

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** One CLI command: its flags, its help, and a plain async function returning an exit code. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Extra help text after the option list. */
  details?: string;
  options: Options;
  /** Short descriptions of each option for --help. */
  optionHelp: Record<string, string>;
  run(args: ParsedArgs, io: CommandIo): Promise<number>;
}

/** Flags every command accepts. */
export const COMMON_OPTIONS: Options = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  config: { type: 'string', short: 'c' },
  address: { type: 'string' },
  namespace: { type: 'string' },
};

export const COMMON_HELP: Record<string, string> = {
  help: 'show this help',
  json: 'print machine-readable JSON on stdout',
  config: 'config file (default ./countersign.yaml, or $COUNTERSIGN_CONFIG)',
  address: 'Temporal frontend host:port (default $TEMPORAL_ADDRESS, the dev stack, or 127.0.0.1:7233)',
  namespace: 'Temporal namespace (default $TEMPORAL_NAMESPACE or "default")',
};

export function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function printJson(io: CommandIo, value: unknown): void {
  write(io.stdout, JSON.stringify(value, null, 2));
}
