/**
 * OpenTelemetry traces from the CLI's start through the workflow and every activity, exported over
 * OTLP/HTTP by a real worker process and a real CLI process (configured only by OTEL_* variables)
 * to a receiver in this test, on a real Temporal dev server and registry.
 */
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { listPromotions } from '../../src/client/promotions';
import { PROMOTION_WORKFLOW_TYPE, TASK_QUEUE } from '../../src/temporal-names';
import { tracingRequested } from '../../src/telemetry/tracing';
import { DEFAULT_SEAL_KEY_FILE } from '../../src/seal/keyring';
import { TSX_LOADER, spawnWorkerProcess, waitForWorker } from '../../src/stack/worker-process';
import { BUILD_COMMAND, BUILDER_ID, COMMIT, SOURCE_REPO, TEST_PASSWORD, copyDir, startTestEnv, type TestEnv } from '../support/env';

const ROOT = path.resolve(__dirname, '../..');

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
  service: string;
}

/** An OTLP/HTTP trace receiver: POST /v1/traces with OTLP JSON, as the exporter sends it. */
async function startReceiver(): Promise<{ url: string; spans: OtlpSpan[]; contentTypes: Set<string>; close(): Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const contentTypes = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      contentTypes.add(String(req.headers['content-type']));
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }; scopeSpans: Array<{ spans: Omit<OtlpSpan, 'service'>[] }> }>;
      };
      for (const rs of body.resourceSpans) {
        const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, service });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, contentTypes, close: () => new Promise((r) => server.close(() => r())) };
}

describe('traces over OTLP from the CLI through the workflow and its activities', () => {
  let env: TestEnv;
  let worker: ChildProcess | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let otel: Record<string, string>;

  before(async () => {
    receiver = await startReceiver();
    otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100' };
    env = await startTestEnv();
    const logFile = path.join(env.dir, 'worker.log');
    worker = spawnWorkerProcess({ address: env.stack.temporal.address, logFile, env: { ...process.env, ...env.workerEnv, ...otel, COUNTERSIGN_CONFIG: await env.writeConfigFile() } });
    await waitForWorker(env.stack.temporal.address, { pid: worker.pid, logFile });
  });

  after(async () => {
    worker?.kill('SIGTERM');
    if (worker && worker.exitCode === null) await new Promise((r) => worker!.once('exit', r));
    await env?.close();
    await receiver?.close();
  });

  it('one trace covers a whole promotion, started by `countersign promote --wait`, and no attribute carries a secret', async () => {
    const dir = await copyDir(path.join(ROOT, 'examples/hello'), path.join(env.dir, 'traced'));
    await fs.writeFile(path.join(dir, 'VERSION'), 'traced\n');
    const cli = promisify(execFile)(
      process.execPath,
      ['--import', TSX_LOADER, path.join(ROOT, 'src/cli/main.ts'), 'promote', '--target', 'prod', '--as', 'ci', '--key', path.join(env.keysDir, 'ci.key'), '--dir', dir,
        '--source-repo', SOURCE_REPO, '--commit', COMMIT, '--build-command', BUILD_COMMAND, '--builder-id', BUILDER_ID, '--wait'],
      { env: { PATH: process.env.PATH, HOME: env.dir, TEMPORAL_ADDRESS: env.stack.temporal.address, COUNTERSIGN_APPROVER_KEY_PASSWORD: TEST_PASSWORD, ...otel }, encoding: 'utf8', timeout: 180_000 },
    );
    let id: string | undefined;
    while (!id) {
      id = (await listPromotions(env.client, { state: 'AWAITING_APPROVAL', target: 'prod' }))[0]?.promotionId;
      if (!id) await new Promise((r) => setTimeout(r, 250));
    }
    await env.decideAs(id, 'alice', 'approve', 'traced');
    const out = await cli;
    assert.match(out.stdout, /state:\s+PROMOTED/);

    const steps = ['authorize', 'checkKeys', 'build', 'attestImage', 'devSign', 'platformVerify', 'prodSign', 'release'];
    const deadline = Date.now() + 30_000;
    const root = () => receiver.spans.find((s) => s.name === 'countersign promote');
    const inTrace = () => receiver.spans.filter((s) => s.traceId === root()?.traceId);
    while (Date.now() < deadline && !(root() && steps.every((step) => inTrace().some((s) => s.name === `RunActivity:${step}`)) && inTrace().some((s) => s.name === 'RunWorkflow:promotion'))) {
      await new Promise((r) => setTimeout(r, 250));
    }
    const trace = inTrace();
    const names = trace.map((s) => s.name);
    assert.ok(root(), `the CLI's span arrived: ${receiver.spans.map((s) => s.name).join(', ')}`);
    assert.equal(root()!.service, 'countersign-cli');
    // The CLI starts the run with the gate's update riding on the start (update-with-start).
    for (const name of ['UpdateWithStartWorkflow:waitForGate', 'RunWorkflow:promotion', ...steps.flatMap((s) => [`StartActivity:${s}`, `RunActivity:${s}`])]) {
      assert.ok(names.includes(name), `${name} is in the promotion's trace: ${names.join(', ')}`);
    }
    assert.ok(trace.some((s) => s.service === 'countersign-worker'), "the worker's spans are in it");
    // Each span's parent is in the same trace: one tree from the CLI's command down to each activity.
    const ids = new Set(trace.map((s) => s.spanId));
    for (const s of trace) if (s !== root()) assert.ok(s.parentSpanId && ids.has(s.parentSpanId), `${s.name} hangs off a span of this trace`);
    assert.deepEqual([...receiver.contentTypes], ['application/json']);

    // No secret anywhere in what was exported: passphrases, private keys, the seal key.
    const exported = JSON.stringify(receiver.spans);
    const seal = await fs.readFile(path.join(env.dir, DEFAULT_SEAL_KEY_FILE), 'utf8');
    assert.ok(!exported.includes(TEST_PASSWORD), 'no passphrase');
    assert.doesNotMatch(exported, /PRIVATE KEY|ENCRYPTED SIGSTORE/);
    assert.match(seal.trim(), /^[0-9a-f]{64}$/, 'the worker made its seal key beside its configuration');
    assert.ok(!exported.includes(seal.trim()), 'no seal key');
    assert.ok(!/"key":"[^"]*(password|passphrase|secret|token)/i.test(exported), 'no secret-named attribute');
  });

  it('a start whose trace header cannot be read still runs on a worker that traces (attack: a caller writes the headers)', async () => {
    // The header is the caller's to write: this one is not JSON. The run must come to its end (a
    // refusal: the request is not signed), not fail its first workflow task over and over.
    const connection = await Connection.connect({ address: env.stack.temporal.address });
    try {
      const garbage = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{not json') };
      const client = new Client({ connection, interceptors: { workflow: [{ start: (input, next) => next({ ...input, headers: { ...input.headers, '_tracer-data': garbage } }) }] } });
      const handle = await client.workflow.start(PROMOTION_WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId: `traced-garbage-${process.pid}`, args: [{ request: { statement: 'x', signature: 'y' } }] });
      let described = await handle.describe();
      for (let i = 0; i < 120 && described.status.name === 'RUNNING'; i++) {
        await new Promise((r) => setTimeout(r, 250));
        described = await handle.describe();
      }
      assert.equal(described.status.name, 'COMPLETED', 'the run ended instead of retrying its first task');
      const status = (await handle.result()) as { state: string; error?: string };
      assert.equal(status.state, 'REFUSED', status.error);
    } finally {
      await connection.close();
    }
  });

  it('tracing is on only when an OTLP endpoint is set, and OTEL_TRACES_EXPORTER=none turns it off', () => {
    assert.equal(tracingRequested({}), false);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), true);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }), true);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }), false);
  });
});
