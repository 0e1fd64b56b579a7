/**
 * The local stack against the real tools: Debian's docker-registry and the temporal CLI's dev
 * server (install them with `npm run toolchain`). Run: node --import tsx --test test/stack/stack.test.ts
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { CountersignError, hasCode } from '../../src/errors';
import { freePort, waitForPort } from '../../src/stack/ports';
import { EMBEDDED_REGISTRY_GOGC, probeRegistry, registryEnvironment, startRegistry } from '../../src/stack/registry';
import { isPidAlive, ServiceProcess } from '../../src/stack/service';
import { DEV_SERVER_TRANSFER_POLLS_PER_SECOND, startTemporalDevServer, stopPid } from '../../src/stack/temporal';
import { locateTool, readToolsEnv, requireTool, TOOL_PINS } from '../../src/stack/tools';

const repoRoot = path.resolve(__dirname, '..', '..');
let tmp: string;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-stack-'));
  // Fail loudly (not skip) when the toolchain was not installed: these are the real-tool tests.
  requireTool('temporal');
  requireTool('docker-registry');
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function portClosed(address: string): Promise<boolean> {
  const [host, port] = address.split(':') as [string, string];
  return waitForPort(host, Number(port), 0).then(
    () => false,
    () => true,
  );
}

function request(
  method: string,
  url: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('tools', () => {
  test('env var, then tools.env, then cache paths, then PATH; requireTool says how to install', () => {
    const cache = path.join(tmp, 'cache');
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(path.join(cache, 'tools', 'cosign-v3.1.2'), { recursive: true });
    fs.mkdirSync(bin, { recursive: true });
    const exe = (file: string) => {
      fs.writeFileSync(file, '#!/bin/sh\n', { mode: 0o755 });
      return file;
    };
    const onPath = exe(path.join(bin, 'cosign'));
    const env: NodeJS.ProcessEnv = { HOME: tmp, COUNTERSIGN_CACHE: cache, PATH: bin };
    assert.equal(locateTool('cosign', env), onPath);

    const cached = exe(path.join(cache, 'tools', 'cosign-v3.1.2', 'cosign'));
    assert.equal(locateTool('cosign', env), cached);

    const recorded = exe(path.join(tmp, 'recorded cosign'));
    fs.writeFileSync(path.join(cache, 'tools.env'), `# comment\nCOSIGN_PATH='${recorded}'\nTEMPORAL_CLI_PATH=/nonexistent/temporal\n`);
    assert.equal(readToolsEnv(path.join(cache, 'tools.env')).get('COSIGN_PATH'), recorded);
    assert.equal(locateTool('cosign', env), recorded);

    const explicit = exe(path.join(tmp, 'explicit-cosign'));
    assert.equal(locateTool('cosign', { ...env, COSIGN_PATH: explicit }), explicit);

    // An explicit env var that is wrong is not silently replaced by another copy.
    assert.equal(locateTool('cosign', { ...env, COSIGN_PATH: path.join(tmp, 'nope') }), undefined);
    assert.throws(() => requireTool('cosign', { ...env, COSIGN_PATH: path.join(tmp, 'nope') }), (err: unknown) => {
      assert.ok(hasCode(err, 'TOOL_MISSING'));
      assert.match((err as Error).message, /COSIGN_PATH=.*nope is not an executable/);
      return true;
    });

    // A stale tools.env entry is skipped; with nothing anywhere, the error names the fix.
    assert.equal(locateTool('temporal', env), undefined);
    assert.throws(() => requireTool('temporal', env), (err: unknown) => {
      assert.ok(hasCode(err, 'TOOL_MISSING'));
      assert.match((err as Error).message, /npm run toolchain/);
      return true;
    });
    assert.throws(() => requireTool('moto_server', env), /npm run toolchain/);

    // Tools only tests use are found the same way; a pinned build is never taken from PATH.
    exe(path.join(bin, 'local-kms'));
    assert.equal(locateTool('local-kms', env), undefined);
    fs.mkdirSync(path.join(cache, 'tools', `local-kms-${TOOL_PINS.localKms}`), { recursive: true });
    const localKms = exe(path.join(cache, 'tools', `local-kms-${TOOL_PINS.localKms}`, 'local-kms'));
    assert.equal(locateTool('local-kms', env), localKms);
    const olareg = exe(path.join(tmp, 'my-olareg'));
    assert.equal(locateTool('olareg', { ...env, OLAREG_PATH: olareg }), olareg);
  });
});

describe('registry', () => {
  test("the registry's GOGC is the embedded one unless the environment names its own", () => {
    assert.equal(registryEnvironment({ PATH: '/usr/bin' }).GOGC, EMBEDDED_REGISTRY_GOGC);
    assert.equal(registryEnvironment({ PATH: '/usr/bin' }).PATH, '/usr/bin');
    assert.equal(registryEnvironment({ GOGC: '100' }).GOGC, '100');
    assert.equal(registryEnvironment({ GOGC: 'off' }).GOGC, 'off');
  });

  test('takes its port from pickPort, and gives up a picked port it finds taken for the next one picked', async () => {
    const taken = http.createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const takenPort = (taken.address() as import('node:net').AddressInfo).port;
    const picks = [takenPort, await freePort()];
    const picked: number[] = [];
    const pickPort = async () => {
      const port = picks[picked.length];
      picked.push(port);
      return port;
    };
    try {
      const registry = await startRegistry({ rootDir: path.join(tmp, 'registry-picked'), pickPort });
      try {
        assert.deepEqual(picked, picks, 'the taken port first, then the next pick');
        assert.equal(registry.port, picks[1]);
        assert.equal((await request('GET', `${registry.url}/v2/`)).status, 200);
      } finally {
        await registry.stop();
      }
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  test('serves /v2/, stores and deletes blobs under rootDir/data, and stop() ends it', async (t) => {
    const rootDir = path.join(tmp, 'registry');
    const t0 = Date.now();
    const registry = await startRegistry({ rootDir });
    const startedMs = Date.now() - t0;
    assert.match(registry.address, /^127\.0\.0\.1:\d+$/);
    assert.ok(isPidAlive(registry.pid));
    try {
      const environment = fs.readFileSync(`/proc/${registry.pid}/environ`, 'utf8').split('\0');
      assert.ok(environment.includes(`GOGC=${EMBEDDED_REGISTRY_GOGC}`), 'the registry runs with the embedded GOGC');
      const v2 = await request('GET', `${registry.url}/v2/`);
      assert.equal(v2.status, 200);
      assert.equal(v2.headers['docker-distribution-api-version'], 'registry/2.0');

      // A monolithic blob upload, read back, then deleted (storage.delete.enabled).
      const blob = Buffer.from(`countersign ${crypto.randomUUID()}`);
      const digest = `sha256:${crypto.createHash('sha256').update(blob).digest('hex')}`;
      const init = await request('POST', `${registry.url}/v2/probe/blobs/uploads/`);
      assert.equal(init.status, 202);
      const location = new URL(String(init.headers.location), registry.url);
      location.searchParams.set('digest', digest);
      const put = await request('PUT', location.toString(), blob, { 'content-type': 'application/octet-stream' });
      assert.equal(put.status, 201, put.body.toString());
      const got = await request('GET', `${registry.url}/v2/probe/blobs/${digest}`);
      assert.equal(got.status, 200);
      assert.deepEqual(got.body, blob);
      const stored = path.join(rootDir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7), 'data');
      assert.deepEqual(fs.readFileSync(stored), blob);
      assert.equal((await request('DELETE', `${registry.url}/v2/probe/blobs/${digest}`)).status, 202);
      assert.equal((await request('GET', `${registry.url}/v2/probe/blobs/${digest}`)).status, 404);
    } finally {
      await registry.stop();
    }
    assert.equal(isPidAlive(registry.pid), false);
    assert.equal(await probeRegistry(registry.address), 0);
    await registry.stop(); // idempotent
    t.diagnostic(`registry ready in ${startedMs} ms`);
  });
});

describe('temporal', () => {
  test('answers gRPC, keeps workflows and search attributes across a restart (the database in WAL mode), and stop() ends it', async (t) => {
    const dbFile = path.join(tmp, 'temporal', 'state', 'temporal.db'); // parent dirs do not exist yet
    const opts = { dbFile, namespace: 'countersign-test', searchAttributes: { CountersignTarget: 'Keyword' as const } };
    const workflowId = `persist-${crypto.randomUUID()}`;

    let t0 = Date.now();
    const first = await startTemporalDevServer(opts);
    const firstMs = Date.now() - t0;
    assert.match(first.address, /^127\.0\.0\.1:\d+$/);
    try {
      const commandLine = fs.readFileSync(`/proc/${first.pid}/cmdline`, 'utf8').split('\0');
      assert.ok(commandLine.includes(`history.transferProcessorMaxPollRPS=${DEV_SERVER_TRANSFER_POLLS_PER_SECOND}`), `the transfer queue is read without the 20-a-second limit: ${commandLine.join(' ')}`);
      const connection = await Connection.connect({ address: first.address });
      try {
        const info = await connection.workflowService.getSystemInfo({});
        assert.ok(info.capabilities, 'getSystemInfo returns capabilities');
        const client = new Client({ connection, namespace: 'countersign-test' });
        // No worker polls this queue: the execution just stays RUNNING in the database.
        await client.workflow.start('countersignProbe', { taskQueue: 'countersign-no-worker', workflowId, args: [] });
      } finally {
        await connection.close();
      }
    } finally {
      t0 = Date.now();
      await first.stop();
    }
    const stopMs = Date.now() - t0;
    assert.equal(isPidAlive(first.pid), false);
    assert.ok(await portClosed(first.address), 'frontend port closed after stop()');
    // The database keeps a write-ahead log (journal_mode=wal): SQLite's header says so in bytes 18 and 19 (1 is the rollback journal).
    const header = fs.readFileSync(dbFile).subarray(0, 100);
    assert.equal(header.subarray(0, 16).toString('latin1'), 'SQLite format 3\0');
    assert.deepEqual([header[18], header[19]], [2, 2], 'the database is in WAL mode');

    t0 = Date.now();
    const second = await startTemporalDevServer({ ...opts, ui: true });
    const secondMs = Date.now() - t0;
    try {
      assert.match(second.uiUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal((await request('GET', `${second.uiUrl}/`)).status, 200, 'the Web UI serves its page');
      const connection = await Connection.connect({ address: second.address });
      try {
        const client = new Client({ connection, namespace: 'countersign-test' });
        const description = await client.workflow.getHandle(workflowId).describe();
        assert.equal(description.type, 'countersignProbe');
        assert.equal(description.status.name, 'RUNNING');
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'countersign-test' });
        assert.ok(customAttributes && 'CountersignTarget' in customAttributes);
      } finally {
        await connection.close();
      }
    } finally {
      await second.stop();
    }
    assert.equal(isPidAlive(second.pid), false);
    assert.ok(await portClosed(second.uiUrl!.slice('http://'.length)), 'UI port closed after stop()');
    t.diagnostic(`temporal ready in ${firstMs} ms (new db), ${secondMs} ms (existing db, with UI); stop took ${stopMs} ms`);
  });
});

describe('bad paths', () => {
  test('a registry rootDir that cannot be created is a STACK_ERROR', async () => {
    const file = path.join(tmp, 'plain-file');
    fs.writeFileSync(file, 'x');
    await assert.rejects(startRegistry({ rootDir: path.join(file, 'registry') }), (err: unknown) => {
      assert.ok(hasCode(err, 'STACK_ERROR'), String(err));
      assert.match((err as Error).message, /registry root .*plain-file\/registry: cannot create/);
      return true;
    });
  });

  test('a dbFile under a regular file, or a directory, is a STACK_ERROR', async () => {
    const file = path.join(tmp, 'plain-file-2');
    fs.writeFileSync(file, 'x');
    await assert.rejects(startTemporalDevServer({ dbFile: path.join(file, 'temporal.db') }), (err: unknown) => {
      assert.ok(hasCode(err, 'STACK_ERROR'), String(err));
      assert.match((err as Error).message, /Temporal database .*plain-file-2\/temporal\.db: cannot create directory/);
      return true;
    });
    await assert.rejects(startTemporalDevServer({ dbFile: tmp }), /STACK_ERROR: Temporal database .* is not a regular file/);
  });

  test('a dbFile that is not a SQLite database: the server exits and the error carries its output', async () => {
    const dbFile = path.join(tmp, 'garbage.db');
    fs.writeFileSync(dbFile, 'this is not sqlite\n'.repeat(10));
    await assert.rejects(startTemporalDevServer({ dbFile }), (err: unknown) => {
      assert.ok(err instanceof CountersignError && err.code === 'STACK_ERROR', String(err));
      assert.match(err.message, /temporal exited during startup \(exit code \d+\)/);
      assert.match(err.message, /not a database/);
      return true;
    });
  });

  test("a service that panics with a long stack trace: the error still names the panic", async () => {
    // What a Go program prints when it panics: the message, then far more than the tail holds.
    const script = `console.log('starting'); console.error('panic: could not get a free port'); for (let i = 0; i < 60; i++) console.error('\\tgoroutine frame ' + i); process.exit(2);`;
    const proc = await ServiceProcess.start({ name: 'fake-go', command: process.execPath, args: ['-e', script] });
    await assert.rejects(proc.waitUntilReady(async () => false, { timeoutMs: 10_000, what: 'never' }), (err: unknown) => {
      assert.ok(err instanceof CountersignError && err.code === 'STACK_ERROR', String(err));
      assert.match(err.message, /^STACK_ERROR: fake-go exited during startup \(exit code 2\): panic: could not get a free port; last output:\n/);
      assert.match(err.message, /goroutine frame 59$/);
      return true;
    });
  });
});

describe('detached', () => {
  test('detached services outlive the process that started them; stopPid ends them', async (t) => {
    const script = path.join(tmp, 'start-detached.ts');
    const stateDir = path.join(tmp, 'detached');
    fs.writeFileSync(
      script,
      [
        `import { startRegistry } from ${JSON.stringify(path.join(repoRoot, 'src/stack/registry'))};`,
        `import { startTemporalDevServer } from ${JSON.stringify(path.join(repoRoot, 'src/stack/temporal'))};`,
        `(async () => {`,
        `  const registry = await startRegistry({ rootDir: ${JSON.stringify(path.join(stateDir, 'registry'))}, detached: true });`,
        `  const temporal = await startTemporalDevServer({ dbFile: ${JSON.stringify(path.join(stateDir, 'temporal.db'))}, detached: true });`,
        `  console.log(JSON.stringify({ registry: [registry.pid, registry.address, registry.logFile], temporal: [temporal.pid, temporal.address, temporal.logFile] }));`,
        `})().catch((err) => { console.error(err); process.exit(1); });`,
      ].join('\n'),
    );
    const t0 = Date.now();
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, timeout: 30_000 });
    const startMs = Date.now() - t0;
    const started = JSON.parse(stdout.trim().split('\n').pop()!) as { registry: [number, string, string]; temporal: [number, string, string] };
    const [registryPid, registryAddress, registryLog] = started.registry;
    const [temporalPid, temporalAddress, temporalLog] = started.temporal;
    try {
      // The starter has exited; both services still run and answer.
      assert.ok(isPidAlive(registryPid) && isPidAlive(temporalPid));
      assert.equal(await probeRegistry(registryAddress), 200);
      const connection = await Connection.connect({ address: temporalAddress });
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      assert.equal(registryLog, path.join(stateDir, 'registry', 'registry.log'));
      assert.equal(temporalLog, path.join(stateDir, 'temporal.db.log'));
      assert.ok(fs.existsSync(registryLog) && fs.existsSync(temporalLog));
    } finally {
      assert.equal(await stopPid(registryPid), true);
      assert.equal(await stopPid(temporalPid), true);
    }
    assert.equal(isPidAlive(registryPid), false);
    assert.equal(isPidAlive(temporalPid), false);
    assert.equal(await probeRegistry(registryAddress), 0);
    assert.ok(await portClosed(temporalAddress));
    assert.equal(await stopPid(registryPid), false, 'a second stopPid finds nothing');
    t.diagnostic(`detached start (tsx child, registry + temporal) took ${startMs} ms`);
  });
});
