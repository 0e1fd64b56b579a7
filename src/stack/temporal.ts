/**
 * Starts a real Temporal dev server (`temporal server start-dev`) on a persistent SQLite file.
 * Used by the workflow tests and by `countersign dev up` (detached).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { CountersignError } from '../errors';
import { freePort, waitForPort } from './ports';
import { looksLikePortInUse, ServiceProcess, stopPid, type RunningService } from './service';
import { requireTool } from './tools';

export { stopPid };

export type SearchAttributeType = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

/** temporal.api.enums.v1.IndexedValueType numbers, for checking what the server registered. */
const INDEXED_VALUE_TYPE: Record<SearchAttributeType, number> = {
  Text: 1,
  Keyword: 2,
  Int: 3,
  Double: 4,
  Bool: 5,
  Datetime: 6,
  KeywordList: 7,
};

export interface TemporalDevServerOptions {
  /** SQLite file holding all state; its directory is created when missing. */
  dbFile: string;
  /** Frontend gRPC port; a free one when omitted. */
  port?: number;
  /** Web UI port; a free one when omitted (only used when ui is true). */
  uiPort?: number;
  /**
   * Where a port comes from when one is omitted (`freePort` by default). A start that finds such a
   * port taken tries again with another; a port given is used as it is.
   */
  pickPort?: () => Promise<number>;
  /** Serve the Web UI (default false: --headless). */
  ui?: boolean;
  /** Namespace to create besides "default" (default "default"). */
  namespace?: string;
  /** Custom search attributes to register at startup. */
  searchAttributes?: Record<string, SearchAttributeType>;
  /** Where the server's output goes. Default: kept in memory, or `<dbFile>.log` when detached. */
  logFile?: string;
  /** Let the server outlive this process (for `countersign dev up`). */
  detached?: boolean;
  /** How long to wait for the frontend to answer (default 30 s). */
  startTimeoutMs?: number;
  /** Path of the temporal CLI; default: requireTool('temporal'). */
  executable?: string;
  /** Extra server settings (`--dynamic-config-value KEY=JSON`), e.g. limit.historyCount.suggestContinueAsNew. */
  dynamicConfig?: Record<string, string | number | boolean>;
}

export interface TemporalDevServer extends RunningService {
  /** 127.0.0.1:PORT */
  address: string;
  port: number;
  uiUrl?: string;
  namespace: string;
  dbFile: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

function validate(opts: TemporalDevServerOptions): void {
  if (typeof opts.dbFile !== 'string' || opts.dbFile === '') throw new CountersignError('BAD_INPUT', 'Temporal dev server needs a dbFile');
  for (const [label, port] of [['port', opts.port], ['uiPort', opts.uiPort]] as const) {
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      throw new CountersignError('BAD_INPUT', `Temporal dev server: ${label} must be an integer in 1..65535, got ${port}`);
    }
  }
  if (opts.namespace !== undefined && !NAMESPACE.test(opts.namespace)) {
    throw new CountersignError('BAD_INPUT', `Temporal dev server: invalid namespace name ${JSON.stringify(opts.namespace)}`);
  }
  for (const [key, type] of Object.entries(opts.searchAttributes ?? {})) {
    if (!IDENTIFIER.test(key)) throw new CountersignError('BAD_INPUT', `search attribute name must be an identifier: ${JSON.stringify(key)}`);
    if (!(type in INDEXED_VALUE_TYPE)) {
      throw new CountersignError('BAD_INPUT', `search attribute ${key}: unknown type ${JSON.stringify(type)} (one of ${Object.keys(INDEXED_VALUE_TYPE).join(', ')})`);
    }
  }
}

/** Makes sure the database can live at dbFile; returns its absolute path. */
function prepareDbFile(dbFile: string): string {
  const file = path.resolve(dbFile);
  const dir = path.dirname(file);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new CountersignError('STACK_ERROR', `Temporal database ${file}: cannot create directory ${dir}: ${(err as Error).message}`, {
      cause: err,
      details: { dbFile: file },
    });
  }
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(file);
  } catch {
    stat = undefined; // a new database
  }
  if (stat !== undefined && !stat.isFile()) {
    throw new CountersignError('STACK_ERROR', `Temporal database ${file} exists and is not a regular file`, { details: { dbFile: file } });
  }
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    if (stat !== undefined) fs.accessSync(file, fs.constants.R_OK | fs.constants.W_OK);
  } catch (err) {
    throw new CountersignError('STACK_ERROR', `Temporal database ${file} is not writable: ${(err as Error).message}`, {
      cause: err,
      details: { dbFile: file },
    });
  }
  return file;
}

/** How often the dev server may read its one history shard's transfer queue (Temporal's default: 20 a second). */
export const DEV_SERVER_TRANSFER_POLLS_PER_SECOND = 1000;

/** The `temporal server start-dev` arguments for these options. */
export function temporalDevServerArgs(o: {
  dbFile: string;
  port: number;
  uiPort?: number;
  namespace: string;
  searchAttributes: Record<string, SearchAttributeType>;
  dynamicConfig?: Record<string, string | number | boolean>;
}): string[] {
  // Write-ahead log: a commit appends to the log and fsyncs it once, where SQLite's default rollback
  // journal syncs the journal and the database on every commit; just as durable (synchronous stays
  // FULL), and the server's one writer is then no longer the bottleneck of a busy worker: the floor
  // workflow's throughput about doubles (docs/benchmarks.md, "The dev server's SQLite journal").
  const args = ['server', 'start-dev', '--db-filename', o.dbFile, '--sqlite-pragma', 'journal_mode=wal', '--ip', '127.0.0.1', '--port', String(o.port), '--namespace', 'default'];
  if (o.namespace !== 'default') args.push('--namespace', o.namespace);
  for (const [key, type] of Object.entries(o.searchAttributes)) args.push('--search-attribute', `${key}=${type}`);
  args.push(
    '--log-level',
    'warn',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecution=true',
    // The version check phones home; there is no internet here.
    '--dynamic-config-value',
    'frontend.enableServerVersionCheck=false',
    // The dev server keeps every workflow on one history shard, and reads that shard's transfer
    // queue (what hands each new workflow and activity task to matching) at most 20 times a second
    // by default: every workflow task of every run waited for the next read, up to 50 ms, on a
    // 50 ms grid, once the limiter's burst was spent. A server with hundreds of shards never meets
    // that limit; here it was most of the floor workflow's time at one promotion at a time
    // (docs/benchmarks.md, "The dev server's transfer queue"). The limit stays, far above any
    // rate one dev server reaches.
    '--dynamic-config-value',
    `history.transferProcessorMaxPollRPS=${DEV_SERVER_TRANSFER_POLLS_PER_SECOND}`,
  );
  for (const [key, value] of Object.entries(o.dynamicConfig ?? {})) args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  if (o.uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(o.uiPort));
  return args;
}

/**
 * Starts `temporal server start-dev` and resolves once the frontend answers gRPC, the namespace
 * exists and the requested search attributes are registered with the requested types.
 */
export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<TemporalDevServer> {
  validate(opts);
  const executable = opts.executable ?? requireTool('temporal');
  const dbFile = prepareDbFile(opts.dbFile);
  const namespace = opts.namespace ?? 'default';
  const searchAttributes = opts.searchAttributes ?? {};
  const ui = opts.ui === true;
  const timeoutMs = opts.startTimeoutMs ?? 30_000;
  const logFile = opts.logFile !== undefined ? path.resolve(opts.logFile) : opts.detached ? `${dbFile}.log` : undefined;
  // Ports we picked may be taken by someone else before the server binds them: retry with new ones.
  const attempts = opts.port === undefined || (ui && opts.uiPort === undefined) ? 3 : 1;

  for (let attempt = 1; ; attempt++) {
    const pick = opts.pickPort ?? freePort;
    const port = opts.port ?? (await pick());
    let uiPort: number | undefined;
    if (ui) {
      uiPort = opts.uiPort ?? (await pick());
      while (uiPort === port) uiPort = await pick();
    }
    const address = `127.0.0.1:${port}`;
    const proc = await ServiceProcess.start({
      name: 'temporal',
      command: executable,
      args: temporalDevServerArgs({ dbFile, port, uiPort, namespace, searchAttributes, dynamicConfig: opts.dynamicConfig }),
      logFile,
      detached: opts.detached,
    });
    try {
      await waitForTemporal(proc, address, namespace, searchAttributes, timeoutMs);
      if (uiPort !== undefined) {
        await proc.waitUntilReady(() => waitForPort('127.0.0.1', uiPort!, 0).then(() => true), { timeoutMs, what: `Web UI on port ${uiPort}` });
      }
    } catch (err) {
      await proc.stop(2_000).catch(() => undefined);
      // The dev server also picks free ports of its own for its internal services, racing other
      // processes on the machine; a start that died (rather than hung) gets another try.
      const log = proc.hasExited ? proc.recentLog() : '';
      if (attempt < attempts && (looksLikePortInUse(log) || /^panic: /m.test(log))) continue;
      throw err;
    }
    return {
      address,
      port,
      uiUrl: uiPort === undefined ? undefined : `http://127.0.0.1:${uiPort}`,
      namespace,
      dbFile,
      pid: proc.pid,
      logFile,
      stop: () => proc.stop(),
    };
  }
}

async function waitForTemporal(
  proc: ServiceProcess,
  address: string,
  namespace: string,
  searchAttributes: Record<string, SearchAttributeType>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const remaining = () => Math.max(1, deadline - Date.now());
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];

  // 1. TCP first: cheap to poll fast, where gRPC would back off for a second between tries.
  await proc.waitUntilReady(() => waitForPort(host, port, 0).then(() => true), { timeoutMs: remaining(), what: `frontend port ${port}` });

  // 2. gRPC: getSystemInfo, the namespace, the search attributes.
  let connection: Connection | undefined;
  let finished = false; // a probe still connecting when we give up closes its own connection
  try {
    let mismatch = '';
    await proc.waitUntilReady(
      async () => {
        if (connection === undefined) {
          const candidate = Connection.lazy({ address, connectTimeout: Math.min(remaining(), 5_000) });
          try {
            await candidate.ensureConnected(); // calls workflowService.getSystemInfo
          } catch (err) {
            await candidate.close().catch(() => undefined);
            throw err;
          }
          if (finished) {
            await candidate.close().catch(() => undefined);
            return false;
          }
          connection = candidate;
        }
        await connection.workflowService.getSystemInfo({});
        await connection.workflowService.describeNamespace({ namespace });
        if (Object.keys(searchAttributes).length > 0) {
          const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
          mismatch = searchAttributeMismatch(searchAttributes, customAttributes ?? {});
          if (mismatch.startsWith('missing')) throw new Error(mismatch); // may still be on its way: retry
        }
        return true;
      },
      { timeoutMs: remaining(), intervalMs: 100, what: `frontend at ${address} (namespace ${namespace})` },
    );
    if (mismatch !== '') {
      throw new CountersignError('STACK_ERROR', `Temporal at ${address}: ${mismatch} (the database keeps the types it was created with)`, {
        details: { address },
      });
    }
  } finally {
    finished = true;
    if (connection !== undefined) await connection.close().catch(() => undefined);
  }
}

function searchAttributeMismatch(wanted: Record<string, SearchAttributeType>, registered: Record<string, unknown>): string {
  const typeName = (n: unknown) => Object.entries(INDEXED_VALUE_TYPE).find(([, v]) => v === n)?.[0] ?? String(n);
  const missing = Object.keys(wanted).filter((k) => registered[k] === undefined);
  if (missing.length > 0) return `missing search attributes: ${missing.join(', ')}`;
  const wrong = Object.entries(wanted)
    .filter(([k, t]) => registered[k] !== INDEXED_VALUE_TYPE[t])
    .map(([k, t]) => `${k} is ${typeName(registered[k])}, wanted ${t}`);
  return wrong.length > 0 ? `search attribute type conflict: ${wrong.join('; ')}` : '';
}
