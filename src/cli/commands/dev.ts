import fs from 'node:fs';
import path from 'node:path';
import { CountersignError } from '../../errors';
import { startEmbeddedStack } from '../../stack/embedded';
import { isPidAlive, stopPid } from '../../stack/service';
import { spawnWorkerProcess, waitForWorker } from '../../stack/worker-process';
import { startConsoleProcess } from '../../stack/console-process';
import { plainTemporalEnv } from '../../temporal/connection';
import { EXIT, printJson, write, type Command, type CommandIo } from '../command';
import { configFile, defaultDataDir, readStackState, stackStateFile, type StackState } from '../context';

export const DEFAULT_TEMPORAL_PORT = 7233;
export const DEFAULT_UI_PORT = 8233;
export const DEFAULT_REGISTRY_PORT = 5001;
export const DEFAULT_CONSOLE_PORT = 8090;

function dataDirOf(values: Record<string, unknown>, env: NodeJS.ProcessEnv): string {
  return path.resolve((values['data-dir'] as string | undefined) ?? defaultDataDir(env));
}

function port(value: unknown, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new CountersignError('BAD_INPUT', `${flag} must be a port number, not "${value}"`);
  return n;
}

function describe(state: StackState): string {
  return [
    `temporal:  ${state.temporal.address}`,
    `web ui:    ${state.temporal.uiUrl ?? '(headless)'}`,
    `registry:  ${state.registry.address}`,
    `worker:    pid ${state.worker?.pid ?? '-'} (log ${state.worker?.logFile ?? '-'})`,
    `console:   ${state.console ? `${state.console.url} (--dev-loopback: no login, loopback only)` : '-'}`,
    `data dir:  ${state.dataDir}`,
  ].join('\n');
}

function running(state: StackState): { temporal: boolean; registry: boolean; worker: boolean } {
  return {
    temporal: isPidAlive(state.temporal.pid),
    registry: isPidAlive(state.registry.pid),
    worker: state.worker ? isPidAlive(state.worker.pid) : false,
  };
}

const dataDirOption = { 'data-dir': { type: 'string' as const } };
const dataDirHelp = { 'data-dir': 'where state lives (default $COUNTERSIGN_HOME/dev, i.e. ~/.countersign/dev)' };

export const devUpCommand: Command = {
  name: 'dev up',
  summary: 'start the embedded stack (Temporal dev server, registry, worker) in the background',
  usage: 'countersign dev up [--data-dir DIR] [--temporal-port N] [--ui-port N] [--registry-port N] [--console-port N]',
  options: {
    ...dataDirOption,
    'temporal-port': { type: 'string' },
    'ui-port': { type: 'string' },
    'registry-port': { type: 'string' },
    'console-port': { type: 'string' },
  },
  optionHelp: {
    ...dataDirHelp,
    'temporal-port': `Temporal frontend port (default ${DEFAULT_TEMPORAL_PORT})`,
    'ui-port': `Temporal Web UI port (default ${DEFAULT_UI_PORT})`,
    'registry-port': `OCI registry port (default ${DEFAULT_REGISTRY_PORT})`,
    'console-port': `approval console port on 127.0.0.1 (default ${DEFAULT_CONSOLE_PORT})`,
  },
  details:
    'State (Temporal\'s SQLite file, registry blobs) stays in the data dir across dev down/up. The worker inherits this shell\'s environment, so export key passphrases first.',
  async run(args, io) {
    const dataDir = dataDirOf(args.values, io.env);
    // The worker is the authority and reads only its own configuration: name it absolutely, so
    // the worker finds it whatever folder dev up was run from.
    const config = configFile(args, io.env);
    if (!fs.existsSync(config)) {
      throw new CountersignError('BAD_CONFIG', `the worker needs its configuration and ${config} does not exist (pass --config, set COUNTERSIGN_CONFIG, or copy countersign.example.yaml)`);
    }
    const existing = readStackState(dataDir);
    if (existing) {
      const alive = running(existing);
      if (alive.temporal && alive.registry && alive.worker) {
        if (args.values.json) printJson(io, existing);
        else write(io.stdout, `already running\n${describe(existing)}`);
        return EXIT.ok;
      }
      await stopState(existing);
    }
    const consolePort = port(args.values['console-port'], DEFAULT_CONSOLE_PORT, '--console-port');
    fs.mkdirSync(dataDir, { recursive: true });
    const stack = await startEmbeddedStack({
      dataDir,
      detached: true,
      ui: true,
      temporalPort: port(args.values['temporal-port'], DEFAULT_TEMPORAL_PORT, '--temporal-port'),
      uiPort: port(args.values['ui-port'], DEFAULT_UI_PORT, '--ui-port'),
      registryPort: port(args.values['registry-port'], DEFAULT_REGISTRY_PORT, '--registry-port'),
    });
    const logFile = path.join(dataDir, 'worker.log');
    // The embedded stack is plain loopback: TLS settings meant for another Temporal stay out.
    const worker = spawnWorkerProcess({
      address: stack.temporal.address,
      logFile,
      detached: true,
      env: { ...plainTemporalEnv(io.env), COUNTERSIGN_CONFIG: config, COUNTERSIGN_REGISTRY: io.env.COUNTERSIGN_REGISTRY ?? stack.registry.address },
    });
    const state: StackState = {
      dataDir,
      temporal: { address: stack.temporal.address, uiUrl: stack.temporal.uiUrl, pid: stack.temporal.pid },
      registry: { address: stack.registry.address, pid: stack.registry.pid },
      worker: { pid: worker.pid!, logFile },
      startedAt: new Date().toISOString(),
    };
    fs.writeFileSync(stackStateFile(dataDir), JSON.stringify(state, null, 2));
    try {
      await waitForWorker(stack.temporal.address, { pid: worker.pid, logFile });
      const consoleLog = path.join(dataDir, 'console.log');
      const started = await startConsoleProcess({
        address: stack.temporal.address,
        port: consolePort,
        logFile: consoleLog,
        env: plainTemporalEnv(io.env),
      });
      state.console = { ...started, logFile: consoleLog };
      fs.writeFileSync(stackStateFile(dataDir), JSON.stringify(state, null, 2));
    } catch (err) {
      await stopState(state);
      fs.rmSync(stackStateFile(dataDir), { force: true });
      throw err;
    }
    if (args.values.json) printJson(io, state);
    else write(io.stdout, `countersign dev stack is up\n${describe(state)}\nstop it with: countersign dev down${args.values['data-dir'] ? ` --data-dir ${dataDir}` : ''}`);
    return EXIT.ok;
  },
};

async function stopState(state: StackState): Promise<void> {
  if (state.console) await stopPid(state.console.pid).catch(() => false);
  if (state.worker) await stopPid(state.worker.pid).catch(() => false);
  await Promise.all([stopPid(state.temporal.pid).catch(() => false), stopPid(state.registry.pid).catch(() => false)]);
}

export const devDownCommand: Command = {
  name: 'dev down',
  summary: 'stop the embedded stack; its state stays in the data dir',
  usage: 'countersign dev down [--data-dir DIR]',
  options: { ...dataDirOption },
  optionHelp: { ...dataDirHelp },
  async run(args, io: CommandIo) {
    const dataDir = dataDirOf(args.values, io.env);
    const state = readStackState(dataDir);
    if (!state) {
      write(io.stdout, `no dev stack is running from ${dataDir}`);
      return EXIT.ok;
    }
    await stopState(state);
    fs.rmSync(stackStateFile(dataDir), { force: true });
    if (args.values.json) printJson(io, { stopped: true, dataDir });
    else write(io.stdout, `stopped; state kept in ${dataDir}`);
    return EXIT.ok;
  },
};

export const devStatusCommand: Command = {
  name: 'dev status',
  summary: 'show whether the embedded stack is running and where',
  usage: 'countersign dev status [--data-dir DIR]',
  options: { ...dataDirOption },
  optionHelp: { ...dataDirHelp },
  details: 'Exit codes: 0 all running, 10 not running or partly down.',
  async run(args, io) {
    const dataDir = dataDirOf(args.values, io.env);
    const state = readStackState(dataDir);
    const alive = state ? running(state) : undefined;
    if (args.values.json) printJson(io, { state: state ?? null, running: alive ?? null });
    else if (!state) write(io.stdout, `not running (data dir ${dataDir})`);
    else write(io.stdout, `${describe(state)}\nrunning:   temporal ${alive!.temporal}, registry ${alive!.registry}, worker ${alive!.worker}`);
    return state && alive!.temporal && alive!.registry && alive!.worker ? EXIT.ok : EXIT.unavailable;
  },
};
