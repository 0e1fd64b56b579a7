/**
 * Shared plumbing for the local services countersign starts (Temporal dev server, OCI registry):
 * spawning with output captured to a log file or a memory ring, waiting for readiness while
 * watching for an early exit, and stopping with SIGTERM then SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CountersignError } from '../errors';

/** A local service started by countersign. */
export interface RunningService {
  /** host:port the service listens on. */
  address: string;
  pid: number;
  /** Where the process writes its output, when it writes to a file. */
  logFile?: string;
  /** SIGTERM, wait for exit, SIGKILL after a grace period. Safe to call more than once. */
  stop(): Promise<void>;
}

const MEMORY_LOG_BYTES = 64 * 1024;
const DEFAULT_GRACE_MS = 5_000;

/** Attached (non-detached) children, killed when this process exits so no server is orphaned. */
const attached = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of attached) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

export interface SpawnServiceOptions {
  /** Short name used in messages ("temporal", "registry"). */
  name: string;
  command: string;
  args: string[];
  /** Append stdout+stderr here. Without it (and not detached) output is kept in memory. */
  logFile?: string;
  /** Start in its own session with output to logFile, and let it outlive this process. */
  detached?: boolean;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** A spawned service process plus what is needed to explain its failure. */
export class ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logFile?: string;
  readonly commandLine: string;
  /** Output kept in memory: chunks, joined and cut back to the last 64 KiB once twice that has built up. */
  private memory: string[] = [];
  private memoryLength = 0;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private spawnError: Error | undefined;
  private readonly exited: Promise<void>;

  private constructor(opts: SpawnServiceOptions, child: ChildProcess) {
    this.name = opts.name;
    this.child = child;
    this.logFile = opts.logFile;
    this.commandLine = [opts.command, ...opts.args].join(' ');
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        attached.delete(child);
        resolve();
      });
      child.once('error', (err) => {
        this.spawnError = err;
        // 'exit' is not emitted when the spawn itself failed.
        if (child.pid === undefined) {
          this.exitInfo = { code: null, signal: null };
          resolve();
        }
      });
    });
    const keep = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.memory.push(text);
      this.memoryLength += text.length;
      // Cut back only once twice the limit has built up: cutting at every chunk copied the whole
      // 64 KiB for each line a busy registry logs.
      if (this.memoryLength > 2 * MEMORY_LOG_BYTES) {
        this.memory = [this.memory.join('').slice(-MEMORY_LOG_BYTES)];
        this.memoryLength = this.memory[0].length;
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.pid = child.pid ?? -1;
  }

  /** Spawns the process. Throws STACK_ERROR when the log file cannot be opened or the spawn fails at once. */
  static async start(opts: SpawnServiceOptions): Promise<ServiceProcess> {
    let fd: number | undefined;
    if (opts.logFile !== undefined) {
      try {
        fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
        fd = fs.openSync(opts.logFile, 'a');
        // Log files are appended to across runs: mark where this run starts.
        fs.writeSync(fd, `--- countersign ${new Date().toISOString()}: ${[opts.command, ...opts.args].join(' ')}\n`);
      } catch (err) {
        if (fd !== undefined) fs.closeSync(fd);
        throw new CountersignError('STACK_ERROR', `${opts.name}: cannot open log file ${opts.logFile}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    } else if (opts.detached) {
      throw new CountersignError('BAD_INPUT', `${opts.name}: a detached service needs a log file`);
    }
    let child: ChildProcess;
    try {
      child = spawn(opts.command, opts.args, {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        detached: opts.detached === true,
        stdio: fd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', fd, fd],
      });
    } finally {
      if (fd !== undefined) fs.closeSync(fd); // the child has its own copy
    }
    const service = new ServiceProcess(opts, child);
    if (opts.detached) {
      child.unref();
    } else {
      attached.add(child);
      installExitHook();
    }
    // Let an immediate spawn failure (ENOENT, EACCES) surface before anyone waits on readiness.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (service.spawnError !== undefined && child.pid === undefined) {
      throw new CountersignError('STACK_ERROR', `${opts.name}: cannot run ${opts.command}: ${service.spawnError.message}`, {
        cause: service.spawnError,
        details: { command: service.commandLine },
      });
    }
    return service;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** "exit code 1" / "signal SIGKILL", for messages. */
  describeExit(): string {
    if (this.exitInfo === undefined) return 'still running';
    if (this.spawnError !== undefined && this.exitInfo.code === null && this.exitInfo.signal === null) {
      return `spawn failed: ${this.spawnError.message}`;
    }
    return this.exitInfo.signal !== null ? `signal ${this.exitInfo.signal}` : `exit code ${this.exitInfo.code}`;
  }

  /** The last `lines` lines the process wrote. */
  logTail(lines = 20): string {
    return lastLines(this.recentLog(), lines);
  }

  /** The last 64 KiB the process wrote. */
  recentLog(): string {
    return this.logFile !== undefined ? readFileTail(this.logFile, MEMORY_LOG_BYTES) : this.memory.join('').slice(-MEMORY_LOG_BYTES);
  }

  /** The line that says why a Go program died (a panic's first line, or an `Error:`), if it wrote one. */
  private causeLine(): string | undefined {
    return this.recentLog()
      .split('\n')
      .find((line) => /^(panic: |Error: |fatal error: )/.test(line));
  }

  /** Resolves when the process has exited, or after timeoutMs (then false). */
  async waitForExit(timeoutMs: number): Promise<boolean> {
    if (this.hasExited) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const done = await Promise.race([this.exited.then(() => true as const), timedOut]);
    if (timer !== undefined) clearTimeout(timer);
    return done;
  }

  /** SIGTERM, then SIGKILL after graceMs. Resolves once the process is gone. */
  async stop(graceMs = DEFAULT_GRACE_MS): Promise<void> {
    if (this.hasExited) return;
    this.child.kill('SIGTERM');
    if (await this.waitForExit(graceMs)) return;
    this.child.kill('SIGKILL');
    if (!(await this.waitForExit(5_000))) {
      throw new CountersignError('STACK_ERROR', `${this.name} (pid ${this.pid}) did not exit after SIGKILL`);
    }
  }

  /** The error to throw when the process died while we were waiting for it to become ready. */
  exitedDuringStartup(): CountersignError {
    const tail = this.logTail();
    // A Go panic's stack trace pushes its message out of the tail: name it first.
    const cause = this.causeLine();
    return new CountersignError(
      'STACK_ERROR',
      `${this.name} exited during startup (${this.describeExit()})` + (cause && !tail.includes(cause) ? `: ${cause}` : '') + (tail ? `; last output:\n${tail}` : '; it printed nothing'),
      { details: { command: this.commandLine, logFile: this.logFile, logTail: tail } },
    );
  }

  /**
   * Polls `probe` every intervalMs until it returns true. Throws STACK_ERROR with the log tail if
   * the process exits first or the deadline passes (the process is then stopped).
   */
  async waitUntilReady(probe: () => Promise<boolean>, opts: { timeoutMs: number; intervalMs?: number; what: string }): Promise<void> {
    const deadline = Date.now() + opts.timeoutMs;
    const interval = opts.intervalMs ?? 100;
    let lastError: unknown;
    for (;;) {
      if (this.hasExited) throw this.exitedDuringStartup();
      try {
        // A probe can hang (e.g. something else holds the port and never answers): stop waiting
        // for it as soon as the process exits.
        const attempt = probe();
        attempt.catch(() => undefined);
        if (await Promise.race([attempt, this.exited.then(() => false)])) return;
      } catch (err) {
        lastError = err;
      }
      if (this.hasExited) throw this.exitedDuringStartup();
      if (Date.now() >= deadline) {
        await this.stop(2_000).catch(() => undefined);
        const tail = this.logTail();
        const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
        throw new CountersignError(
          'STACK_ERROR',
          `${this.name}: ${opts.what} not ready after ${opts.timeoutMs} ms${why}` + (tail ? `; last output:\n${tail}` : ''),
          { cause: lastError, details: { command: this.commandLine, logFile: this.logFile, logTail: tail } },
        );
      }
      await this.waitForExit(interval);
    }
  }
}

/** The last `maxBytes` of a file as text, or '' when it cannot be read. */
export function readFileTail(file: string, maxBytes: number): string {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    fs.readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export function lastLines(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** True while a process with this pid exists and is not a zombie. */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // Field 3 of /proc/PID/stat is the state; a zombie has exited and only waits to be reaped.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no procfs: trust kill(0)
  }
}

/**
 * Stops a process this process did not spawn (e.g. one left by `countersign dev up`): SIGTERM,
 * wait up to graceMs, then SIGKILL. Resolves false when there was no such process.
 */
export async function stopPid(pid: number, graceMs = DEFAULT_GRACE_MS): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 1) throw new CountersignError('BAD_INPUT', `not a process id: ${pid}`);
  if (!isPidAlive(pid)) return false;
  try {
    process.kill(pid, 'SIGTERM');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw new CountersignError('STACK_ERROR', `cannot signal pid ${pid}: ${(err as Error).message}`, { cause: err });
  }
  if (await pollUntilGone(pid, graceMs)) return true;
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return true;
    throw err;
  }
  if (await pollUntilGone(pid, 5_000)) return true;
  throw new CountersignError('STACK_ERROR', `pid ${pid} did not exit after SIGKILL`);
}

async function pollUntilGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isPidAlive(pid)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True when the text a process printed says its port was taken (worth one retry on a new port). */
export function looksLikePortInUse(text: string): boolean {
  return /address already in use/i.test(text);
}
