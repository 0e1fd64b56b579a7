/**
 * Debian's real Prometheus scraping a real worker process under a short load, a PromQL query per
 * countersign metric, the alert rules of docs/operations.md loaded into it and checked by promtool
 * with the command the document prints.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitForPromotion } from '../../src/client/promotions';
import { freePort, waitForPort } from '../../src/stack/ports';
import { locateTool } from '../../src/stack/tools';
import { spawnWorkerProcess, waitForWorker } from '../../src/stack/worker-process';
import { buildFacts, copyDir, startTestEnv, type TestEnv } from '../support/env';

const ROOT = path.resolve(__dirname, '../..');
const HELLO = path.join(ROOT, 'examples/hello');
const OPERATIONS = path.join(ROOT, 'docs/operations.md');
const prometheus = locateTool('prometheus');
const promtool = locateTool('promtool');

/** The fenced blocks of a markdown file with their language. */
export function fencedBlocks(markdown: string): Array<{ lang: string; body: string }> {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], body: m[2] }));
}

async function alertRules(): Promise<string> {
  const block = fencedBlocks(await fs.readFile(OPERATIONS, 'utf8')).find((b) => b.lang === 'yaml' && /^groups:/m.test(b.body));
  assert.ok(block, 'docs/operations.md has the alert rules block');
  return block.body;
}

function promtoolCommand(markdown: string): string {
  const sh = fencedBlocks(markdown).find((b) => b.lang === 'sh' && b.body.includes('promtool'));
  assert.ok(sh, 'docs/operations.md prints the promtool command');
  return sh.body.trim();
}

describe('Prometheus scrapes a worker', { skip: prometheus && promtool ? false : 'prometheus not installed (bash scripts/toolchain.sh prometheus)' }, () => {
  let env: TestEnv;
  let worker: ChildProcess | undefined;
  let server: ChildProcess | undefined;
  let api = '';

  before(async () => {
    env = await startTestEnv();
    const metricsPort = await freePort();
    const logFile = path.join(env.dir, 'worker.log');
    worker = spawnWorkerProcess({
      address: env.stack.temporal.address,
      logFile,
      env: { ...process.env, ...env.workerEnv, COUNTERSIGN_CONFIG: await env.writeConfigFile(), COUNTERSIGN_METRICS_LISTEN: `127.0.0.1:${metricsPort}` },
    });
    await waitForWorker(env.stack.temporal.address, { pid: worker.pid, logFile });

    const promPort = await freePort();
    const dir = path.join(env.dir, 'prometheus');
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'countersign-alerts.yml'), await alertRules());
    await fs.writeFile(
      path.join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'rule_files: [countersign-alerts.yml]',
        'scrape_configs:',
        '  - job_name: countersign-worker',
        `    static_configs: [{ targets: ['127.0.0.1:${metricsPort}'] }]`,
        '',
      ].join('\n'),
    );
    server = spawn(prometheus!, [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let serverLog = '';
    server.stderr!.on('data', (d) => (serverLog = (serverLog + d).slice(-4000)));
    await waitForPort('127.0.0.1', promPort, 30_000).catch((err) => {
      throw new Error(`${err.message}\n${serverLog}`);
    });
    api = `http://127.0.0.1:${promPort}/api/v1`;

    // The load: two promoted, one rejected at platform verify, one refused.
    for (const name of ['one', 'two']) {
      const dir = await copyDir(HELLO, path.join(env.dir, name));
      await fs.writeFile(path.join(dir, 'VERSION'), `${name}\n`);
      const started = await env.promote({ source: { directory: dir }, build: buildFacts() });
      await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
      await env.decideAs(started.promotionId, 'alice', 'approve', 'fine');
      assert.equal((await waitForPromotion(env.client, started.promotionId)).state, 'PROMOTED');
    }
    const bad = await copyDir(HELLO, path.join(env.dir, 'bad'));
    await fs.writeFile(path.join(bad, 'VERSION'), 'bad\n');
    const rejected = await env.promote({ source: { directory: bad }, build: buildFacts({ builderId: 'https://example.com/rogue' }) });
    assert.equal((await waitForPromotion(env.client, rejected.promotionId)).state, 'REJECTED');
    const refused = await env.promote({ target: 'nowhere', source: { directory: HELLO }, build: buildFacts() });
    assert.equal((await waitForPromotion(env.client, refused.promotionId)).state, 'REFUSED');
  });

  after(async () => {
    server?.kill('SIGTERM');
    worker?.kill('SIGTERM');
    await Promise.all([server, worker].map((p) => (p && p.exitCode === null ? new Promise((r) => p.once('exit', r)) : undefined)));
    await env?.close();
  });

  /** Asks until the query has a result (the next scrapes bring the load's counts), then returns it. */
  async function query(promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    let last = '';
    for (let i = 0; i < 60; i++) {
      const res = await fetch(`${api}/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as { status: string; data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> }; error?: string };
      assert.equal(body.status, 'success', `${promql}: ${body.error}`);
      if (body.data!.result.length > 0) return body.data!.result;
      last = JSON.stringify(body);
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.fail(`no result for ${promql}: ${last}`);
  }

  const valueOf = async (promql: string) => Number((await query(promql))[0].value[1]);

  it('answers a query for each countersign metric with the load it saw', async () => {
    assert.equal(await valueOf('up{job="countersign-worker"}'), 1);
    assert.equal(await valueOf('sum(countersign_promotions_started_total{target="prod"})'), 3);
    assert.equal(await valueOf('sum(countersign_promotions_ended_total{target="prod",state="PROMOTED"})'), 2);
    assert.equal(await valueOf('sum(countersign_promotions_ended_total{target="prod",state="REJECTED"})'), 1);
    assert.equal(await valueOf('sum(countersign_promotions_ended_total{target="unresolved",state="REFUSED"})'), 1);
    assert.equal(await valueOf('sum(countersign_approval_wait_seconds_count{target="prod",outcome="succeeded"})'), 2);
    assert.equal(await valueOf('sum(countersign_step_duration_seconds_count{step="prodSign",outcome="ok"})'), 2);
    assert.ok((await valueOf('histogram_quantile(0.5, sum by (le) (countersign_step_duration_seconds_bucket{step="build"}))')) > 0);
    assert.equal(await valueOf('sum(countersign_step_failures_total{step="authorize",code="UNKNOWN_TARGET"})'), 1);
    assert.equal(await valueOf('sum(countersign_signatures_total{role="developer"})'), 3);
    assert.equal(await valueOf('sum(countersign_signatures_total{role="production"})'), 2);
    assert.equal(await valueOf('sum(countersign_verification_refusals_total{code="POLICY_MISMATCH"})'), 1);
    // Three promotions pushed images and read the registry: every method a promotion uses shows.
    for (const method of ['GET', 'PUT', 'POST']) assert.ok((await valueOf(`sum(countersign_registry_requests_total{method="${method}"})`)) > 0, method);
    assert.equal(await valueOf('countersign_sdk_metrics_up'), 1);
  });

  it("serves the Temporal SDK's runtime metrics in the same scrape", async () => {
    assert.ok((await valueOf('count({job="countersign-worker",__name__=~"temporal_.+"})')) > 5);
    // The SDK exports its counters on its own interval: wait for the scrape that sees the last completions.
    const deadline = Date.now() + 60_000;
    const completedNow = () => valueOf('sum(temporal_workflow_completed{job="countersign-worker"})').catch(() => NaN);
    let completed = await completedNow();
    while (!(completed >= 4) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      completed = await completedNow();
    }
    assert.ok(completed >= 4, `temporal_workflow_completed is ${completed}`);
    assert.ok((await valueOf('count({__name__=~"countersign_process_.+"})')) > 0, 'Node process metrics');
  });

  it('loads the alert rules of docs/operations.md and evaluates every one without error', async () => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const body = (await (await fetch(`${api}/rules`)).json()) as { data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> } };
      const rules = body.data.groups.flatMap((g) => g.rules);
      assert.ok(rules.length >= 5, JSON.stringify(body));
      if (rules.every((r) => r.health === 'ok')) return;
      const bad = rules.filter((r) => r.health === 'err');
      assert.deepEqual(bad, [], 'no rule fails to evaluate');
      if (Date.now() > deadline) assert.fail(`rules not evaluated yet: ${JSON.stringify(rules)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  });

  it('promtool accepts the alert rules with the command docs/operations.md prints', async () => {
    const dir = path.join(env.dir, 'promtool');
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'countersign-alerts.yml'), await alertRules());
    const command = promtoolCommand(await fs.readFile(OPERATIONS, 'utf8'));
    const [bin, ...args] = command.split(/\s+/);
    assert.equal(bin, 'promtool');
    const ok = spawnSync(promtool!, args, { cwd: dir, encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr + ok.stdout);
    assert.match(ok.stdout, /SUCCESS: 7 rules found/);
    // And it is a real check: a broken expression is refused.
    await fs.writeFile(path.join(dir, 'countersign-alerts.yml'), (await alertRules()).replace('== 0', '== == 0'));
    assert.notEqual(spawnSync(promtool!, args, { cwd: dir, encoding: 'utf8' }).status, 0);
  });
});
