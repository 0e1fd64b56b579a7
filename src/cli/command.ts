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
  /** verify --trust: the index (or a key file it names) does not verify with the pinned index key. */
  indexSignature: 11,
  /** verify --trust: the index is older than one seen before or pinned. */
  rolledBack: 12,
  /** verify --trust: the index's signature expired. */
  indexExpired: 13,
  /** verify --trust: the key that signed is revoked. */
  keyRevoked: 14,
  /** verify --trust: no key in the index signed it. */
  keyUnknown: 15,
} as const;

/** What each exit code means, as README's table and `countersign --help` say it (test/cli/exit-codes.test.ts keeps them in step). */
export const EXIT_MEANINGS: ReadonlyArray<readonly [number, string]> = [
  [EXIT.ok, 'ok'],
  [EXIT.error, 'error (anything not below)'],
  [EXIT.usage, 'bad input or configuration (a corrupt trust index included)'],
  [EXIT.notFound, 'unknown id (promotion, chart release, key workflow)'],
  [EXIT.rejected, 'rejected (in verify: a check failed)'],
  [EXIT.expired, 'expired'],
  [EXIT.failed, 'failed'],
  [EXIT.refused, 'refused: a request, a vote or a re-open the worker would not accept'],
  [EXIT.unavailable, 'unavailable: Temporal, the registry, KMS, a trust URL or a tool'],
  [EXIT.indexSignature, 'trust index or root signature invalid: edited, unsigned, not by the index key pinned or named by the root, or a root short of its signatures'],
  [EXIT.rolledBack, 'trust index or root rolled back: older than a version seen or pinned'],
  [EXIT.indexExpired, 'trust index or root expired'],
  [EXIT.keyRevoked, 'key revoked'],
  [EXIT.keyUnknown, 'key unknown: no key in the trust index signed it'],
];

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
