import { StringDecoder } from 'node:string_decoder';
import { CountersignError } from '../errors';

export interface ReadPassphraseOptions {
  /** Environment variable consulted first; set (even to "") means use it. */
  envVar: string;
  prompt?: string;
  /** Ask twice and require both entries to match (for creating keys). */
  confirm?: boolean;
  /** Defaults to process.stdin. Prompting happens only when this is a TTY. */
  input?: NodeJS.ReadableStream;
  /** Where the prompt goes; defaults to process.stderr so stdout stays clean. */
  output?: NodeJS.WritableStream;
  /** Environment to read envVar from; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

type TtyInput = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown; isRaw?: boolean };

/**
 * The passphrase for a key: the environment variable when it is set (an empty value counts),
 * else a no-echo prompt when input is a terminal, else KEY_PASSPHRASE_MISSING naming the variable.
 * The passphrase never appears in an error or on the output stream.
 */
export async function readPassphrase(opts: ReadPassphraseOptions): Promise<string> {
  const { envVar } = opts;
  if (typeof envVar !== 'string' || envVar === '') {
    throw new CountersignError('BAD_INPUT', 'readPassphrase needs the name of an environment variable');
  }
  const fromEnv = (opts.env ?? process.env)[envVar];
  if (fromEnv !== undefined) return fromEnv;

  const input = (opts.input ?? process.stdin) as TtyInput;
  const output = opts.output ?? process.stderr;
  if (input.isTTY !== true) {
    throw new CountersignError(
      'KEY_PASSPHRASE_MISSING',
      `no passphrase: set ${envVar} (it may be empty) or run on a terminal to be prompted`,
      { details: { envVar } },
    );
  }

  const reader = new HiddenLineReader(input, output);
  try {
    const first = await reader.read(opts.prompt ?? 'Enter passphrase for private key: ');
    if (opts.confirm) {
      const second = await reader.read('Enter passphrase for private key again: ');
      if (first !== second) {
        throw new CountersignError('BAD_INPUT', 'passphrases do not match', { details: { envVar } });
      }
    }
    return first;
  } finally {
    reader.close();
  }
}

/** Reads lines from a TTY in raw mode, echoing nothing. Typed-ahead lines are kept for the next read. */
class HiddenLineReader {
  private readonly decoder = new StringDecoder('utf8');
  private readonly wasRaw: boolean;
  private buffer = '';
  private readonly lines: string[] = [];
  private failure: CountersignError | undefined;
  private waiter: (() => void) | undefined;
  private readonly onData = (chunk: Buffer | string): void => {
    this.feed(typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
  };
  private readonly onEnd = (): void => {
    this.fail(new CountersignError('KEY_PASSPHRASE_MISSING', 'input closed before a passphrase was entered'));
  };
  private readonly onError = (err: Error): void => {
    this.fail(new CountersignError('KEY_PASSPHRASE_MISSING', 'could not read the passphrase from the terminal', { cause: err }));
  };

  constructor(
    private readonly input: TtyInput,
    private readonly output: NodeJS.WritableStream,
  ) {
    this.wasRaw = input.isRaw === true;
    input.setRawMode?.(true);
    input.on('data', this.onData);
    input.on('end', this.onEnd);
    input.on('error', this.onError);
    input.resume();
  }

  async read(prompt: string): Promise<string> {
    this.output.write(prompt);
    try {
      while (this.lines.length === 0) {
        if (this.failure) throw this.failure;
        await new Promise<void>((resolve) => (this.waiter = resolve));
      }
      return this.lines.shift() as string;
    } finally {
      this.output.write('\n');
    }
  }

  close(): void {
    this.input.removeListener('data', this.onData);
    this.input.removeListener('end', this.onEnd);
    this.input.removeListener('error', this.onError);
    this.input.setRawMode?.(this.wasRaw);
    this.input.pause();
    this.buffer = '';
    this.lines.length = 0;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private fail(err: CountersignError): void {
    this.failure ??= err;
    this.wake();
  }

  private feed(text: string): void {
    for (const ch of text) {
      if (this.failure) break;
      switch (ch) {
        case '\r':
        case '\n':
          // "\r\n" from a non-raw source would otherwise yield an extra empty line.
          if (ch === '\n' && this.lastWasCr) {
            this.lastWasCr = false;
            continue;
          }
          this.lines.push(this.buffer);
          this.buffer = '';
          break;
        case '\u0003': // Ctrl-C: raw mode swallows SIGINT, so cancel explicitly.
          this.fail(new CountersignError('KEY_PASSPHRASE_MISSING', 'passphrase entry cancelled'));
          break;
        case '\u0004': // Ctrl-D: end of input.
          if (this.buffer === '') this.onEnd();
          else {
            this.lines.push(this.buffer);
            this.buffer = '';
          }
          break;
        case '\u007f':
        case '\b': {
          const chars = Array.from(this.buffer);
          chars.pop();
          this.buffer = chars.join('');
          break;
        }
        case '\u0015': // Ctrl-U: discard the line.
          this.buffer = '';
          break;
        default:
          this.buffer += ch;
      }
      this.lastWasCr = ch === '\r';
    }
    this.wake();
  }

  private lastWasCr = false;
}
