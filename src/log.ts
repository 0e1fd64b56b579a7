import pino from 'pino';

/** Paths never written to a log line, whatever a caller passes in. */
export const REDACT_PATHS = [
  'password',
  'passphrase',
  'privateKey',
  'privateKeyPem',
  '*.password',
  '*.passphrase',
  '*.privateKey',
  '*.privateKeyPem',
  'env.*PASSWORD*',
];

/**
 * pino logger: human-readable in a terminal, JSON lines otherwise (for collectors).
 * Level from COUNTERSIGN_LOG_LEVEL (default info); COUNTERSIGN_LOG_FORMAT=json|pretty forces a format.
 */
export function createLogger(name = 'countersign', destination: NodeJS.WritableStream = process.stderr): pino.Logger {
  const level = process.env.COUNTERSIGN_LOG_LEVEL ?? 'info';
  const format = process.env.COUNTERSIGN_LOG_FORMAT ?? ((destination as { isTTY?: boolean }).isTTY ? 'pretty' : 'json');
  const options: pino.LoggerOptions = { name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (format === 'pretty') {
    // pino-pretty as a stream (not a worker transport) so it also works inside the bundled worker.
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const pretty = require('pino-pretty') as (o: object) => NodeJS.WritableStream;
    return pino(options, pretty({ destination, colorize: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' }));
  }
  return pino(options, destination as pino.DestinationStream);
}
