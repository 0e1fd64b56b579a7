import { parseArgs } from 'node:util';
import { inSpan, startTracing } from '../telemetry/tracing';
import { CountersignError } from '../errors';
import { COMMON_HELP, COMMON_OPTIONS, EXIT, EXIT_MEANINGS, write, type Command, type CommandIo } from './command';
import { checkArgumentLimits } from './limits';
import { consoleCommand } from './commands/console';
import { evidenceCommand } from './commands/evidence';
import { COSIGN_COMMANDS } from './commands/cosign';
import { demoCommand } from './commands/demo';
import { devDownCommand, devStatusCommand, devUpCommand } from './commands/dev';
import { devSigstoreCommand } from './commands/dev-sigstore';
import { HELM_COMMANDS } from './commands/helm';
import { keysGenerateCommand } from './commands/keys';
import { TRUST_COMMANDS } from './commands/trust';
import { keysRootCommand } from './commands/root';
import { approveCommand, listCommand, promoteCommand, rejectCommand, reopenCommand, statusCommand } from './commands/promotions';
import { workerCommand } from './commands/worker';

export const COMMANDS: Command[] = [
  demoCommand,
  promoteCommand,
  statusCommand,
  listCommand,
  approveCommand,
  rejectCommand,
  reopenCommand,
  consoleCommand,
  evidenceCommand,
  keysGenerateCommand,
  ...TRUST_COMMANDS,
  keysRootCommand,
  ...COSIGN_COMMANDS,
  ...HELM_COMMANDS,
  devUpCommand,
  devDownCommand,
  devStatusCommand,
  devSigstoreCommand,
  workerCommand,
];

/** Error codes to the README's exit codes; anything else is 1. */
const EXIT_BY_CODE: Partial<Record<string, number>> = {
  BAD_INPUT: EXIT.usage,
  BAD_REFERENCE: EXIT.usage,
  BAD_CONFIG: EXIT.usage,
  UNKNOWN_TARGET: EXIT.usage,
  TRUST_UNKNOWN: EXIT.usage,
  UNKNOWN_PROMOTION: EXIT.notFound,
  APPROVAL_REFUSED: EXIT.refused,
  EVIDENCE_STALE: EXIT.refused,
  EVIDENCE_UNKNOWN: EXIT.refused,
  REQUEST_INVALID: EXIT.refused,
  REQUEST_UNSIGNED: EXIT.refused,
  REQUEST_BAD_SIGNATURE: EXIT.refused,
  REQUEST_UNKNOWN_SIGNER: EXIT.refused,
  REQUEST_EXPIRED: EXIT.refused,
  REQUEST_REPLAYED: EXIT.refused,
  REQUEST_OUT_OF_SCOPE: EXIT.refused,
  REJECTED_BEFORE: EXIT.refused,
  STACK_ERROR: EXIT.unavailable,
  TOOL_MISSING: EXIT.unavailable,
  REGISTRY_UNREACHABLE: EXIT.unavailable,
  KMS_UNAVAILABLE: EXIT.unavailable,
  TRUST_UNREACHABLE: EXIT.unavailable,
  TRUST_INDEX_CORRUPT: EXIT.usage,
  TRUSTED_ROOT_INVALID: EXIT.usage,
  SIGNING_CONFIG_INVALID: EXIT.usage,
  TRUST_INDEX_SIGNATURE_INVALID: EXIT.indexSignature,
  TRUST_INDEX_ROLLED_BACK: EXIT.rolledBack,
  TRUST_INDEX_EXPIRED: EXIT.indexExpired,
  TRUST_ROOT_SIGNATURE_INVALID: EXIT.indexSignature,
  TRUST_ROOT_ROLLED_BACK: EXIT.rolledBack,
  TRUST_ROOT_EXPIRED: EXIT.indexExpired,
};

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'countersign: promote software artifacts through build, attest, sign, verify, approval and production signing.',
    '',
    'Usage: countersign <command> [options]   (countersign <command> --help for details)',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Exit codes:',
    ...EXIT_MEANINGS.map(([code, meaning]) => `  ${String(code).padStart(2)}  ${meaning}`),
  ].join('\n');
}

function commandHelp(command: Command): string {
  const options = { ...command.optionHelp, ...COMMON_HELP };
  const flags = Object.entries(options).map(([name, text]) => {
    const spec = command.options[name] ?? COMMON_OPTIONS[name];
    const short = spec?.short ? `-${spec.short}, ` : '    ';
    const head = `  ${short}--${name}${spec?.type === 'string' ? ' VALUE' : ''}`;
    // A flag too long for the column gets its text on the next line rather than running into it.
    return head.length > 30 ? `${head}\n${' '.repeat(32)}${text}` : head.padEnd(32) + text;
  });
  return [`${command.summary}`, '', `Usage: ${command.usage}`, '', 'Options:', ...flags, ...(command.details ? ['', command.details] : [])].join('\n');
}

/** Finds the command named by the first one or two words. */
function findCommand(argv: string[]): { command?: Command; rest: string[] } {
  const two = argv.slice(0, 2).join(' ');
  const byTwo = COMMANDS.find((c) => c.name === two);
  if (byTwo) return { command: byTwo, rest: argv.slice(2) };
  const byOne = COMMANDS.find((c) => c.name === argv[0]);
  return { command: byOne, rest: argv.slice(1) };
}

export async function main(argv: string[], io: CommandIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    write(argv.length === 0 ? io.stderr : io.stdout, usage());
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  const { command, rest } = findCommand(argv);
  if (!command) {
    const group = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `));
    if (group.length === 0) {
      write(io.stderr, `unknown command "${argv[0]}"\n\n${usage()}`);
      return EXIT.usage;
    }
    const width = Math.max(...group.map((c) => c.name.length));
    const list = [`Usage: countersign ${argv[0]} <command> [options]   (countersign ${argv[0]} <command> --help for details)`, '', 'Commands:', ...group.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`)].join('\n');
    const asked = argv.length === 2 && (argv[1] === '--help' || argv[1] === '-h');
    if (asked) {
      write(io.stdout, list);
      return EXIT.ok;
    }
    const sub = argv.slice(1).find((a) => !a.startsWith('-'));
    write(io.stderr, `${sub === undefined ? `give a ${argv[0]} command` : `unknown ${argv[0]} command "${sub}"`}\n\n${list}`);
    return EXIT.usage;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...COMMON_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
  } catch (err) {
    write(io.stderr, `${(err as Error).message}\n\n${commandHelp(command)}`);
    return EXIT.usage;
  }
  if (parsed.values.help) {
    write(io.stdout, commandHelp(command));
    return EXIT.ok;
  }
  // OTEL_* in the environment: this command is the root span of its trace (docs/operations.md, Traces).
  const tracing = startTracing('countersign-cli', io.env);
  try {
    checkArgumentLimits(parsed);
    return await inSpan(`countersign ${command.name}`, { 'countersign.command': command.name }, () => command.run(parsed as never, io));
  } catch (err) {
    return reportError(err, io, Boolean(parsed.values.json));
  } finally {
    await tracing?.spanProcessor.forceFlush().catch(() => undefined);
  }
}

function reportError(err: unknown, io: CommandIo, json: boolean): number {
  const code = err instanceof CountersignError ? err.code : 'INTERNAL';
  const message = err instanceof Error ? err.message : String(err);
  if (json) write(io.stdout, JSON.stringify({ error: { code, message } }, null, 2));
  write(io.stderr, `error: ${message}`);
  if (!(err instanceof CountersignError) && io.env.COUNTERSIGN_DEBUG && err instanceof Error) write(io.stderr, err.stack ?? '');
  return EXIT_BY_CODE[code] ?? EXIT.error;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(EXIT.error);
    },
  );
}
