import pino from 'pino';

/**
 * Keys whose values never reach a log line, at any depth and in any case: passphrases and
 * passwords (COUNTERSIGN_*_KEY_PASSWORD), private keys, secrets and tokens (AWS credentials).
 */
export const SECRET_KEY = /pass(word|phrase)|private_?key|secret|token|credential/i;

const CENSOR = '[redacted]';
const MAX_DEPTH = 8;

/** A copy of `value` with every secret-named field censored; the caller's object is untouched. */
export function redactSecrets(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  const proto = Object.getPrototypeOf(value);
  const plain = Array.isArray(value) || proto === Object.prototype || proto === null;
  // Errors, Buffers, Dates and the like go to pino's serializers as they are.
  if (!plain) return value;
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? CENSOR : redactSecrets(v, depth + 1, seen);
  return out;
}

/**
 * pino logger: human-readable in a terminal, JSON lines otherwise (for collectors).
 * Level from COUNTERSIGN_LOG_LEVEL (default info); COUNTERSIGN_LOG_FORMAT=json|pretty forces a format.
 */
export function createLogger(name = 'countersign', destination: NodeJS.WritableStream = process.stderr): pino.Logger {
  const level = process.env.COUNTERSIGN_LOG_LEVEL ?? 'info';
  const format = process.env.COUNTERSIGN_LOG_FORMAT ?? ((destination as { isTTY?: boolean }).isTTY ? 'pretty' : 'json');
  const options: pino.LoggerOptions = { name, level, formatters: { log: (fields) => redactSecrets(fields) as Record<string, unknown> } };
  if (format === 'pretty') {
    // pino-pretty as a stream (not a worker transport) so it also works inside the bundled worker.
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const pretty = require('pino-pretty') as (o: object) => NodeJS.WritableStream;
    return pino(options, pretty({ destination, colorize: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' }));
  }
  return pino(options, destination as pino.DestinationStream);
}
