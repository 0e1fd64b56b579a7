/**
 * mTLS to Temporal, for real: the temporal CLI's dev server (no TLS of its own) behind a node:tls
 * terminator that requires client certificates from a test CA (test/support/tls-proxy.ts), with
 * certificates made by openssl. Clients, the in-process worker, the worker process, the CLI and the
 * commands printed in docs/deploy.md go through it.
 *
 *   node --import tsx --test test/temporal/tls.test.ts
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Client } from '@temporalio/client';
import { CountersignError, hasCode } from '../../src/errors';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/stack/temporal';
import { requireTool } from '../../src/stack/tools';
import { spawnWorkerProcess, waitForWorker } from '../../src/stack/worker-process';
import { connectTemporalClient } from '../../src/temporal/connect';
import { loadTemporalSection, temporalConnectionSettings, temporalTls } from '../../src/temporal/connection';
import { createWorker, installRuntime } from '../../workers/worker';
import type { PromotionStatus } from '../../workflows/promotion-messages';
import { PROMOTION_WORKFLOW_TYPE, SEARCH_ATTRIBUTE_TYPES, TASK_QUEUE } from '../../workflows/promotion-messages';
import { runCli } from '../support/cli';
import { issue, makeCa, requireOpenssl, type Issued } from '../support/pki';
import { startTlsProxy, type TlsProxy } from '../support/tls-proxy';

const ROOT = path.resolve(__dirname, '..', '..');
/** A namespace only the worker process polls, so its poller is not mistaken for the in-process worker's. */
const CHILD_NAMESPACE = 'tls-child';
/** A promotion started here, on a queue nobody polls, so `list` has something to show. */
const LISTED_ID = 'promote-tls-listed';
/** Names the second terminator's certificate answers to (and 127.0.0.1 is not one of them). */
const CUSTOM_NAME = 'temporal.countersign.test';

let dir: string;
let temporal: TemporalDevServer;
let proxy: TlsProxy;
let namedProxy: TlsProxy;
let ca: Issued;
let client: Issued;
let stranger: Issued;

/** What an operator exports for this client: address, CA, client certificate and key. */
const mtlsEnv = (address = proxy.address): NodeJS.ProcessEnv => ({
  TEMPORAL_ADDRESS: address,
  TEMPORAL_TLS_CA: ca.cert,
  TEMPORAL_TLS_CERT: client.cert,
  TEMPORAL_TLS_KEY: client.key,
});

async function refusal(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => assert.fail('the connection was accepted'),
    (e: unknown) => e,
  );
  assert.ok(hasCode(err, 'STACK_ERROR'), `expected STACK_ERROR, got ${String(err)}`);
  const message = (err as CountersignError).message;
  assert.doesNotMatch(message, /before the deadline/, 'refused with a reason, not by waiting out the connect timeout');
  return message;
}

async function listIds(env: NodeJS.ProcessEnv): Promise<string[]> {
  const connection = await connectTemporalClient(temporalConnectionSettings(env));
  try {
    const ids: string[] = [];
    for await (const wf of new Client({ connection }).workflow.list()) ids.push(wf.workflowId);
    return ids;
  } finally {
    await connection.close();
  }
}

before(async () => {
  requireOpenssl();
  requireTool('temporal');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-tls-'));
  const pki = path.join(dir, 'pki');
  ca = makeCa(pki, 'ca');
  const otherCa = makeCa(pki, 'other-ca');
  const server = issue(ca, pki, 'server', ['127.0.0.1', 'localhost']);
  const named = issue(ca, pki, 'named-server', [CUSTOM_NAME]);
  client = issue(ca, pki, 'client');
  stranger = issue(otherCa, pki, 'stranger');
  temporal = await startTemporalDevServer({ dbFile: path.join(dir, 'temporal.db'), namespace: CHILD_NAMESPACE, searchAttributes: SEARCH_ATTRIBUTE_TYPES });
  const read = (file: string) => fs.readFileSync(file);
  proxy = await startTlsProxy({ upstream: temporal.address, cert: read(server.cert), key: read(server.key), clientCa: read(ca.cert) });
  namedProxy = await startTlsProxy({ upstream: temporal.address, cert: read(named.cert), key: read(named.key), clientCa: read(ca.cert) });
  installRuntime();
});

after(async () => {
  await proxy?.close();
  await namedProxy?.close();
  await temporal?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A worker process needs a valid configuration of its own; public keys from a committed fixture suffice to start. */
function minimalWorkerConfig(): string {
  const keys = path.resolve(__dirname, '../fixtures/gate-config/keys');
  const file = path.join(dir, 'worker-config.yaml');
  fs.writeFileSync(
    file,
    YAML.stringify({
      registry: '127.0.0.1:5000',
      approvers: { alice: { publicKey: path.join(keys, 'alice.pub') } },
      targets: {
        prod: {
          repository: 'apps/hello',
          policy: { sourceRepo: 'https://github.com/acme/hello', builderIds: ['https://countersign.dev/builders/local@v1'] },
          approval: { approvers: ['alice'] },
          keys: { developer: { publicKey: path.join(keys, 'dev.pub') }, platform: { key: path.join(keys, 'platform.key'), publicKey: path.join(keys, 'platform.pub') } },
        },
      },
    }),
  );
  return file;
}

describe('with the CA and a client certificate', () => {
  test('a client starts and lists workflows through the terminator', async () => {
    const connection = await connectTemporalClient(temporalConnectionSettings(mtlsEnv()));
    try {
      await new Client({ connection }).workflow.start(PROMOTION_WORKFLOW_TYPE, { taskQueue: 'tls-nobody-polls', workflowId: LISTED_ID, args: [] });
    } finally {
      await connection.close();
    }
    let ids: string[] = [];
    for (let i = 0; i < 50 && !ids.includes(LISTED_ID); i++) {
      ids = await listIds(mtlsEnv());
      if (!ids.includes(LISTED_ID)) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(ids.includes(LISTED_ID), `list through TLS shows ${LISTED_ID}: ${ids.join(', ')}`);
  });

  test('a worker connects through it and runs a workflow (a promotion refused: this worker has no configuration)', async () => {
    const settings = temporalConnectionSettings(mtlsEnv());
    const { worker, close } = await createWorker({ address: settings.address, tls: settings.tls, env: {} });
    const connection = await connectTemporalClient(settings);
    try {
      const result = await worker.runUntil(
        new Client({ connection }).workflow.execute(PROMOTION_WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId: 'promotion-over-mtls', args: [{}] }) as Promise<PromotionStatus>,
      );
      assert.equal(result.state, 'REFUSED');
      assert.match(result.error ?? '', /^NO_WORKER_CONFIG: /);
    } finally {
      await connection.close();
      await close();
    }
  });

  test('the worker process gets TEMPORAL_TLS_* from its environment and polls through the terminator', async () => {
    const logFile = path.join(dir, 'worker.log');
    const env = { ...process.env, ...mtlsEnv(), COUNTERSIGN_CONFIG: minimalWorkerConfig() };
    const child = spawnWorkerProcess({ address: proxy.address, namespace: CHILD_NAMESPACE, logFile, env });
    try {
      await waitForWorker(proxy.address, { namespace: CHILD_NAMESPACE, tls: temporalTls(env), pid: child.pid, logFile, timeoutMs: 180_000 });
      const log = fs.readFileSync(logFile, 'utf8');
      assert.match(log, new RegExp(`"tls":"mTLS \\(CA ${ca.cert}, client certificate ${client.cert}\\)"`));
      assert.doesNotMatch(log, /PRIVATE KEY/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
    }
  });

  test('the CLI lists through it with TEMPORAL_TLS_* set', async () => {
    const r = await runCli(['list', '--json'], mtlsEnv());
    assert.equal(r.code, 0, r.stderr);
    const listed = JSON.parse(r.stdout) as Array<{ promotionId: string }>;
    assert.ok(listed.some((p) => p.promotionId === LISTED_ID), r.stdout);
  });
});

describe('refused', () => {
  test('a client without a client certificate is told the server requires one', async () => {
    const tls = temporalTls({ TEMPORAL_TLS_CA: ca.cert });
    // A connect timeout far longer than the test: only the server's answer can end this quickly.
    const message = await refusal(connectTemporalClient({ address: proxy.address, tls }, { connectTimeout: '10 minutes' }));
    assert.match(message, /requires a client certificate/);
    assert.match(message, /TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY/);
    assert.match(proxy.refusals.join('\n'), /PEER_DID_NOT_RETURN_A_CERTIFICATE/);

    const worker = await refusal(createWorker({ address: proxy.address, tls, env: {} }));
    assert.match(worker, /requires a client certificate/);

    const cli = await runCli(['list'], { TEMPORAL_ADDRESS: proxy.address, TEMPORAL_TLS_CA: ca.cert });
    assert.equal(cli.code, 10);
    assert.match(cli.stderr, /STACK_ERROR: cannot reach Temporal at 127\.0\.0\.1:\d+ over TLS .*requires a client certificate/);
  });

  test('a client whose certificate comes from another CA is turned away', async () => {
    const tls = temporalTls({ TEMPORAL_TLS_CA: ca.cert, TEMPORAL_TLS_CERT: stranger.cert, TEMPORAL_TLS_KEY: stranger.key });
    const message = await refusal(connectTemporalClient({ address: proxy.address, tls }, { connectTimeout: '10 minutes' }));
    assert.match(message, /did not accept the client|refused the client certificate/);
    assert.ok(message.includes(stranger.cert), 'names the certificate it offered');
    assert.match(await refusal(createWorker({ address: proxy.address, tls, env: {} })), /did not accept the client|refused the client certificate/);
  });

  test('a server certificate for another name fails, and TEMPORAL_TLS_SERVER_NAME fixes it', async () => {
    const env = mtlsEnv(namedProxy.address);
    const message = await refusal(connectTemporalClient(temporalConnectionSettings(env), { connectTimeout: '10 minutes' }));
    assert.match(message, /not for this name/);
    assert.match(message, /TEMPORAL_TLS_SERVER_NAME/);
    assert.match(await refusal(createWorker({ ...temporalConnectionSettings(env), env: {} })), /not for this name/);
    // A name the certificate does not list fails too, on the terminator whose certificate has 127.0.0.1.
    assert.match(await refusal(connectTemporalClient(temporalConnectionSettings({ ...mtlsEnv(), TEMPORAL_TLS_SERVER_NAME: 'wrong.countersign.test' }))), /not for this name/);

    const named = { ...env, TEMPORAL_TLS_SERVER_NAME: CUSTOM_NAME };
    assert.ok((await listIds(named)).includes(LISTED_ID));
    const settings = temporalConnectionSettings(named);
    const { worker, connection } = await createWorker({ address: settings.address, tls: settings.tls, env: {} });
    await worker.runUntil(async () => undefined);
    await connection.close();
    const cli = await runCli(['list', '--json'], named);
    assert.equal(cli.code, 0, cli.stderr);
  });

  test('a server certificate the system roots do not know, and a plain port, are told apart', async () => {
    const systemRoots = temporalTls({ TEMPORAL_TLS: 'true', TEMPORAL_TLS_CERT: client.cert, TEMPORAL_TLS_KEY: client.key });
    const untrusted = await refusal(connectTemporalClient({ address: proxy.address, tls: systemRoots }, { connectTimeout: '10 minutes' }));
    assert.match(untrusted, /over mTLS \(the system's CA roots, client certificate .*\): the server's certificate is not trusted/);
    assert.match(untrusted, /set TEMPORAL_TLS_CA/);
    const plain = await refusal(connectTemporalClient({ address: temporal.address, tls: temporalTls(mtlsEnv()) }, { connectTimeout: '10 minutes' }));
    assert.match(plain, /does not speak TLS on this port/);
  });

  test('half a pair (a certificate without its key) is BAD_CONFIG naming TEMPORAL_TLS_KEY, before any connection', async () => {
    const before = proxy.refusals.length;
    const r = await runCli(['list'], { TEMPORAL_ADDRESS: proxy.address, TEMPORAL_TLS_CA: ca.cert, TEMPORAL_TLS_CERT: client.cert });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /BAD_CONFIG: TEMPORAL_TLS_KEY is not set/);
    assert.equal(proxy.refusals.length, before);
  });
});

describe('docs/deploy.md, Locking down Temporal', () => {
  const section = (() => {
    const text = fs.readFileSync(path.join(ROOT, 'docs', 'deploy.md'), 'utf8');
    const start = text.indexOf('## Locking down Temporal');
    assert.ok(start >= 0, 'docs/deploy.md has the section');
    const end = text.indexOf('\n## ', start + 1);
    return text.slice(start, end < 0 ? undefined : end);
  })();
  const blocks = (lang: string) => [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);

  /** A folder laid out as the docs assume: the repository's bin/ and certs/ beside it. */
  function workdir(): string {
    const work = fs.mkdtempSync(path.join(dir, 'docs-'));
    fs.symlinkSync(path.join(ROOT, 'bin'), path.join(work, 'bin'));
    fs.mkdirSync(path.join(work, 'certs'));
    fs.copyFileSync(ca.cert, path.join(work, 'certs', 'ca.pem'));
    for (const name of ['client', 'worker']) {
      fs.copyFileSync(client.cert, path.join(work, 'certs', `${name}.pem`));
      fs.copyFileSync(client.key, path.join(work, 'certs', `${name}.key`));
    }
    return work;
  }

  test('every shell command printed there runs, exactly as printed, against the terminator', async () => {
    const scripts = blocks('sh');
    assert.ok(scripts.length > 0);
    const work = workdir();
    for (const script of scripts) {
      // Asynchronously: the terminator lives in this process and must keep piping meanwhile.
      const r = await promisify(execFile)('bash', ['-e', '-o', 'pipefail', '-c', script], {
        cwd: work,
        encoding: 'utf8',
        timeout: 120_000,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, TEMPORAL_ADDRESS: proxy.address },
      }).catch((err: { code?: number; stdout?: string; stderr?: string }) => assert.fail(`${script}\nexit ${err.code}\nstdout:\n${err.stdout}\nstderr:\n${err.stderr}`));
      assert.match(r.stdout, new RegExp(LISTED_ID));
    }
  });

  test('the temporal: example parses, and resolves against the config file\'s folder', () => {
    const [yaml] = blocks('yaml');
    assert.ok(yaml);
    const work = workdir();
    fs.writeFileSync(path.join(work, 'countersign.yaml'), yaml);
    const section = loadTemporalSection(path.join(work, 'countersign.yaml'));
    assert.equal(section?.tls?.cert, path.join(work, 'certs', 'worker.pem'));
    const settings = temporalConnectionSettings({}, section);
    assert.equal(settings.namespace, 'countersign');
    assert.equal(settings.tls?.config.serverNameOverride, section?.tls?.serverName);
  });
});
