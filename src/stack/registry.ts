/**
 * Starts a real OCI registry: Debian's `docker-registry` (distribution 2.8) on 127.0.0.1 with
 * filesystem storage under rootDir/data and deletes enabled.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { stringify } from 'yaml';
import { CountersignError } from '../errors';
import { freePort } from './ports';
import { looksLikePortInUse, ServiceProcess, stopPid, type RunningService } from './service';
import { requireTool } from './tools';

export { stopPid };

export interface RegistryOptions {
  /** Holds config.yml and data/ (the blobs and manifests); created when missing. */
  rootDir: string;
  /** A free port when omitted. */
  port?: number;
  /**
   * Where a port comes from when one is omitted (`freePort` by default). A start that finds such a
   * port taken tries again with another; a port given is used as it is.
   */
  pickPort?: () => Promise<number>;
  /** Where the registry's output goes. Default: kept in memory, or rootDir/registry.log when detached. */
  logFile?: string;
  /** Let the registry outlive this process (for `countersign dev up`). */
  detached?: boolean;
  /** Write an access log line for every request answered, as a bench counts them. */
  logRequests?: boolean;
  /** How long to wait for GET /v2/ to answer 200 (default 15 s). */
  startTimeoutMs?: number;
  /** Path of docker-registry; default: requireTool('docker-registry'). */
  executable?: string;
}

export interface RunningRegistry extends RunningService {
  /** 127.0.0.1:PORT */
  address: string;
  port: number;
  /** http://127.0.0.1:PORT */
  url: string;
  rootDir: string;
  configFile: string;
}

/**
 * The registry's Go garbage collector target (GOGC) unless the environment names one. Go's default
 * (100) had distribution 2.8 spend about a fifth of its CPU collecting: it compiles its router's
 * regular expressions afresh for every request, all garbage at once (docs/benchmarks.md, "The
 * embedded registry's CPU and signature checks remembered"). At 400 it used 15 to 20 ms less CPU
 * per promotion; its heap holds requests in flight, not images, so it stays small.
 */
export const EMBEDDED_REGISTRY_GOGC = '400';

/** The registry's environment: this process's, with GOGC at EMBEDDED_REGISTRY_GOGC unless already set. */
export function registryEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return env.GOGC ? env : { ...env, GOGC: EMBEDDED_REGISTRY_GOGC };
}

/** The distribution 2.8 configuration countersign runs the registry with. */
export function registryConfig(opts: { dataDir: string; port: number; logRequests?: boolean }): Record<string, unknown> {
  return {
    version: 0.1,
    log: { level: 'warn', accesslog: { disabled: !opts.logRequests }, fields: { service: 'registry' } },
    storage: {
      filesystem: { rootdirectory: opts.dataDir },
      delete: { enabled: true },
    },
    http: {
      addr: `127.0.0.1:${opts.port}`,
      // Only used to sign upload state between requests; a fresh one per start is fine for one instance.
      secret: crypto.randomBytes(24).toString('hex'),
      headers: { 'X-Content-Type-Options': ['nosniff'] },
    },
  };
}

function prepareRootDir(rootDir: string): { root: string; dataDir: string } {
  const root = path.resolve(rootDir);
  const dataDir = path.join(root, 'data');
  try {
    fs.mkdirSync(dataDir, { recursive: true });
    fs.accessSync(dataDir, fs.constants.W_OK);
  } catch (err) {
    throw new CountersignError('STACK_ERROR', `registry root ${root}: cannot create a writable ${dataDir}: ${(err as Error).message}`, {
      cause: err,
      details: { rootDir: root },
    });
  }
  return { root, dataDir };
}

/** GET http://address/v2/ → status code (0 on connection failure). */
export function probeRegistry(address: string, timeoutMs = 2_000): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(`http://${address}/v2/`, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
  });
}

export async function startRegistry(opts: RegistryOptions): Promise<RunningRegistry> {
  if (typeof opts.rootDir !== 'string' || opts.rootDir === '') throw new CountersignError('BAD_INPUT', 'registry needs a rootDir');
  if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535)) {
    throw new CountersignError('BAD_INPUT', `registry port must be an integer in 1..65535, got ${opts.port}`);
  }
  const executable = opts.executable ?? requireTool('docker-registry');
  const { root, dataDir } = prepareRootDir(opts.rootDir);
  const configFile = path.join(root, 'config.yml');
  const logFile = opts.logFile !== undefined ? path.resolve(opts.logFile) : opts.detached ? path.join(root, 'registry.log') : undefined;
  const timeoutMs = opts.startTimeoutMs ?? 15_000;
  const attempts = opts.port === undefined ? 3 : 1;

  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await (opts.pickPort ?? freePort)());
    const address = `127.0.0.1:${port}`;
    try {
      fs.writeFileSync(configFile, stringify(registryConfig({ dataDir, port, logRequests: opts.logRequests })), { mode: 0o600 });
    } catch (err) {
      throw new CountersignError('STACK_ERROR', `registry: cannot write ${configFile}: ${(err as Error).message}`, { cause: err });
    }
    const proc = await ServiceProcess.start({
      name: 'docker-registry',
      command: executable,
      args: ['serve', configFile],
      cwd: root,
      logFile,
      detached: opts.detached,
      env: registryEnvironment(),
    });
    let lastStatus = 0;
    try {
      await proc.waitUntilReady(
        async () => {
          lastStatus = await probeRegistry(address);
          if (lastStatus !== 0 && lastStatus !== 200) throw new Error(`GET /v2/ answered ${lastStatus}`);
          return lastStatus === 200;
        },
        { timeoutMs, intervalMs: 50, what: `GET http://${address}/v2/` },
      );
    } catch (err) {
      await proc.stop(2_000).catch(() => undefined);
      if (attempt < attempts && proc.hasExited && looksLikePortInUse(proc.logTail(50))) continue;
      throw err;
    }
    return {
      address,
      port,
      url: `http://${address}`,
      rootDir: root,
      configFile,
      pid: proc.pid,
      logFile,
      stop: () => proc.stop(),
    };
  }
}
