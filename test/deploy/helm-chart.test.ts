/**
 * deploy/helm/countersign, the chart for countersign itself: the real helm lints and renders it, the
 * rendered manifests validate offline against the Kubernetes API schemas (PyPI kubernetes-validate,
 * which bundles them), and countersign releases the chart through its own chart release flow so
 * that stock `helm verify` accepts it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { waitForChartRelease } from '../../src/client/chart-releases';
import { locateTool } from '../../src/stack/tools';
import { helmVerify } from '../support/chart-tools';
import { useTestEnv } from '../support/env';
import { demoChartTarget, PGP_PASSWORD_ENV, releaseChart, TEST_KEY_PASSPHRASE, VECTORS } from '../helm/helpers';

const ROOT = path.resolve(__dirname, '../..');
const CHART = path.join(ROOT, 'deploy/helm/countersign');
const TEST_VALUES = path.join(CHART, 'ci/test-values.yaml');
const KUBE_VERSION = '1.30.0';
const helm = locateTool('helm');
const validator = locateTool('kubernetes-validate');

interface Run {
  code: number;
  out: string;
}

async function run(bin: string, args: string[], cwd = ROOT): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(bin, args, { cwd, encoding: 'utf8', timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

type Manifest = { kind: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: any; data?: Record<string, string> };

async function render(...args: string[]): Promise<{ text: string; docs: Manifest[] }> {
  const r = await run(helm!, ['template', 'cs', CHART, '--kube-version', KUBE_VERSION, ...args]);
  assert.equal(r.code, 0, r.out);
  return { text: r.out, docs: YAML.parseAllDocuments(r.out).map((d) => d.toJSON() as Manifest).filter(Boolean) };
}

const byKind = (docs: Manifest[], kind: string) => docs.filter((d) => d.kind === kind);

describe('the countersign Helm chart', { skip: helm ? false : 'helm not installed (npm run toolchain)' }, () => {
  it('the commands docs/kubernetes.md prints, as printed', async () => {
    const doc = await fs.readFile(path.join(ROOT, 'docs/kubernetes.md'), 'utf8');
    const block = /```sh\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(block);
    const lines = block.trim().split('\n');
    assert.equal(lines.length, 2);
    for (const line of lines) {
      const [bin, ...args] = line.split(/\s+/);
      assert.equal(bin, 'helm');
      const r = await run(helm!, args);
      assert.equal(r.code, 0, `${line}\n${r.out}`);
    }
  });

  it('helm lint --strict passes, and an install without a shared seal key or a configuration is refused', async () => {
    for (const args of [['-f', TEST_VALUES], []]) {
      const lint = await run(helm!, ['lint', '--strict', CHART, ...args]);
      assert.equal(lint.code, 0, lint.out);
      assert.match(lint.out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
    // helm lint reports a template's fail() as information; helm template and install stop on it.
    const bare = await run(helm!, ['template', 'cs', CHART, '--kube-version', KUBE_VERSION]);
    assert.notEqual(bare.code, 0);
    assert.match(bare.out, /seal\.existingSecret: every replica must share one seal key/);
  });

  it('renders a worker that takes its secrets from Secrets, runs unprivileged, serves metrics and carries the IRSA role', async () => {
    const { text, docs } = await render('-f', TEST_VALUES);
    const [deployment] = byKind(docs, 'Deployment');
    const pod = deployment.spec.template.spec;
    const [worker] = pod.containers;
    assert.equal(deployment.spec.replicas, 2);
    assert.equal(worker.image, 'ghcr.io/countersign/countersign-worker@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef');
    const env = Object.fromEntries(worker.env.map((e: { name: string; value?: string; valueFrom?: unknown }) => [e.name, e.value ?? e.valueFrom]));
    assert.equal(env.TEMPORAL_ADDRESS, 'temporal.example.internal:7233');
    assert.equal(env.TEMPORAL_NAMESPACE, 'countersign');
    assert.equal(env.TEMPORAL_TLS_CERT, '/var/run/countersign/temporal-tls/tls.crt');
    assert.equal(env.TEMPORAL_TLS_SERVER_NAME, 'temporal.example.internal');
    assert.equal(env.COUNTERSIGN_CONFIG, '/etc/countersign/countersign.yaml');
    assert.equal(env.COUNTERSIGN_METRICS_LISTEN, '0.0.0.0:9464');
    // Off unless worker.workflowStackTraces is set (the test values leave it).
    assert.equal(env.COUNTERSIGN_WORKFLOW_STACK_TRACES, undefined);
    assert.deepEqual(env.COUNTERSIGN_PLATFORM_KEY_PASSWORD, { secretKeyRef: { name: 'countersign-passphrases', key: 'platform' } });
    // No passphrase, key or seal is ever a literal in a manifest.
    for (const e of worker.env) if (/PASSWORD|PASSPHRASE|SECRET/.test(e.name)) assert.ok(e.valueFrom?.secretKeyRef, `${e.name} comes from a Secret`);
    assert.doesNotMatch(text, /BEGIN [A-Z ]*PRIVATE KEY/);

    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(worker.securityContext.readOnlyRootFilesystem, true);
    assert.equal(worker.securityContext.allowPrivilegeEscalation, false);
    const mounts = Object.fromEntries(worker.volumeMounts.map((m: { name: string; mountPath: string; readOnly?: boolean }) => [m.name, m]));
    for (const name of ['config', 'keys', 'seal', 'temporal-tls']) assert.equal(mounts[name].readOnly, true, `${name} is mounted read-only`);
    const volumes = Object.fromEntries(pod.volumes.map((v: { name: string }) => [v.name, v]));
    assert.equal(volumes.seal.secret.secretName, 'countersign-seal');
    assert.equal(volumes.config.secret.secretName, 'countersign-config');
    assert.equal(worker.readinessProbe.httpGet.path, '/healthz');

    const [account] = byKind(docs, 'ServiceAccount');
    assert.equal(account.metadata.annotations?.['eks.amazonaws.com/role-arn'], 'arn:aws:iam::123456789012:role/countersign-signer');
    assert.equal(pod.serviceAccountName, account.metadata.name);

    // The ServiceMonitor (no schema for the operator's CRD here): it selects the metrics Service by its labels and port name.
    const [service] = byKind(docs, 'Service');
    const [monitor] = byKind(docs, 'ServiceMonitor');
    assert.equal(monitor.metadata.labels?.release, 'prometheus');
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) assert.equal(service.metadata.labels?.[k], v);
    assert.equal(monitor.spec.endpoints[0].port, service.spec.ports[0].name);
    assert.equal(service.spec.ports[0].port, 9464);

    // worker.workflowStackTraces: the worker is told to keep them (docs/operations.md, "The stack trace tab").
    const traced = await render('-f', TEST_VALUES, '--set', 'worker.workflowStackTraces=true');
    const [tracedWorker] = byKind(traced.docs, 'Deployment')[0].spec.template.spec.containers;
    assert.deepEqual(
      tracedWorker.env.filter((e: { name: string }) => e.name === 'COUNTERSIGN_WORKFLOW_STACK_TRACES'),
      [{ name: 'COUNTERSIGN_WORKFLOW_STACK_TRACES', value: '1' }],
    );
  });

  it('inline configuration becomes a ConfigMap; no ServiceMonitor unless asked; a configuration source is required, exactly one', async () => {
    const { docs } = await render('--set', 'seal.existingSecret=s', '--set-string', 'config.inline=registry: registry.example');
    assert.equal(byKind(docs, 'ConfigMap')[0].data?.['countersign.yaml'], 'registry: registry.example\n');
    assert.equal(byKind(docs, 'ServiceMonitor').length, 0);
    const none = await run(helm!, ['template', 'cs', CHART, '--kube-version', KUBE_VERSION, '--set', 'seal.existingSecret=s']);
    assert.match(none.out, /config: set exactly one of config\.inline, config\.existingConfigMap and config\.existingSecret/);
    const two = await run(helm!, ['template', 'cs', CHART, '--kube-version', KUBE_VERSION, '--set', 'seal.existingSecret=s', '--set', 'config.inline=x', '--set', 'config.existingSecret=y']);
    assert.notEqual(two.code, 0);
  });

  it('the approval console: off by default; when on, its own Deployment and ClusterIP Service holding no key (the configuration file only), scraped beside the workers', { skip: validator ? false : 'kubernetes-validate not installed (bash scripts/toolchain.sh kubernetes-validate)' }, async (t) => {
    const off = await render('-f', TEST_VALUES);
    assert.ok(!off.docs.some((d) => d.metadata.name.endsWith('-console')), 'no console unless asked');
    const { text, docs } = await render('-f', TEST_VALUES, '--set', 'console.enabled=true');
    const console = docs.filter((d) => d.metadata.name === 'cs-countersign-console');
    assert.deepEqual(console.map((d) => d.kind).sort(), ['Deployment', 'Service', 'ServiceMonitor']);
    const deployment = console.find((d) => d.kind === 'Deployment')!;
    const worker = byKind(docs, 'Deployment').find((d) => d.metadata.name === 'cs-countersign')!;
    assert.equal(deployment.spec.selector.matchLabels['app.kubernetes.io/component'], 'console');
    assert.equal(worker.spec.selector.matchLabels['app.kubernetes.io/component'], 'worker', "the workers' selector never takes console pods");
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    assert.deepEqual(container.command.slice(2), ['console', '--listen', '0.0.0.0:8090']);
    const names = [...container.env.map((e: { name: string }) => e.name), ...pod.volumes.map((v: { name: string }) => v.name)];
    for (const secret of ['COUNTERSIGN_SEAL_KEY_FILE', 'COUNTERSIGN_PLATFORM_KEY_PASSWORD', 'seal', 'keys']) assert.ok(!names.includes(secret), `the console has no ${secret}`);
    // The configuration alone (console.origin and the roster's passkeys are all it reads of it), the workers' source.
    assert.equal(container.env.find((e: { name: string }) => e.name === 'COUNTERSIGN_CONFIG').value, '/etc/countersign/countersign.yaml');
    assert.deepEqual(
      pod.volumes.find((v: { name: string }) => v.name === 'config'),
      worker.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'config'),
    );
    assert.equal(pod.automountServiceAccountToken, false);
    const service = console.find((d) => d.kind === 'Service')!;
    assert.equal(service.spec.type, 'ClusterIP');
    assert.equal(console.find((d) => d.kind === 'ServiceMonitor')!.spec.endpoints[0].path, '/metrics');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-helm-console-'));
    t.after(() => fs.rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'console.yaml');
    await fs.writeFile(file, text);
    const r = await run(validator!, ['--strict', '-k', KUBE_VERSION, file]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /passed for resource deployment\/cs-countersign-console/);
  });

  it('values.schema.json refuses an unknown value and a secret put in extraEnv', async () => {
    const base = ['template', 'cs', CHART, '--kube-version', KUBE_VERSION, '--set', 'seal.existingSecret=s', '--set', 'config.inline=x'];
    const typo = await run(helm!, [...base, '--set', 'worker.replica=3']);
    assert.notEqual(typo.code, 0);
    assert.match(typo.out, /additional properties 'replica' not allowed/);
    const leaked = await run(helm!, [...base, '--set', 'worker.extraEnv[0].name=COUNTERSIGN_PLATFORM_KEY_PASSWORD', '--set', 'worker.extraEnv[0].value=x']);
    assert.notEqual(leaked.code, 0);
    assert.match(leaked.out, /extraEnv\/0\/name/);
  });

  it('the rendered manifests validate against the Kubernetes API schemas, strictly and offline', { skip: validator ? false : 'kubernetes-validate not installed (bash scripts/toolchain.sh kubernetes-validate)' }, async (t) => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-helm-render-'));
    t.after(() => fs.rm(dir, { recursive: true, force: true }));
    for (const [name, args] of [
      ['full.yaml', ['-f', TEST_VALUES]],
      ['inline.yaml', ['--set', 'seal.existingSecret=s', '--set-string', 'config.inline=registry: r', '--set', 'metrics.enabled=false']],
    ] as const) {
      const file = path.join(dir, name);
      await fs.writeFile(file, (await render(...args)).text);
      const r = await run(validator!, ['--strict', '-k', KUBE_VERSION, file]);
      assert.equal(r.code, 0, r.out);
      for (const kind of ['deployment', 'serviceaccount']) assert.match(r.out, new RegExp(`passed for resource ${kind}/`));
    }
    // The validator does check: a field of the wrong type, or one Kubernetes does not have, fails.
    const broken = path.join(dir, 'broken.yaml');
    const good = (await render('-f', TEST_VALUES)).text;
    await fs.writeFile(broken, good.replace(/replicas: 2\n/, 'replicas: two\n'));
    assert.notEqual((await run(validator!, ['--strict', '-k', KUBE_VERSION, broken])).code, 0);
    await fs.writeFile(broken, good.replace('readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: true\n            readOnlyRootFileSystem: true'));
    assert.notEqual((await run(validator!, ['--strict', '-k', KUBE_VERSION, broken])).code, 0);
  });
});

describe('countersign releases its own chart', { skip: helm ? false : 'helm not installed (npm run toolchain)' }, () => {
  const env = useTestEnv({ setup: (e) => void (e.workerEnv[PGP_PASSWORD_ENV] = TEST_KEY_PASSPHRASE) });

  it('through the chart release flow, and helm verify accepts the published chart', async () => {
    env.chartWith(demoChartTarget(env, { sources: [path.join(ROOT, 'deploy/helm')] }), 'platform-charts');
    const started = await releaseChart(env, 'platform-charts', { chartDir: CHART });
    const waiting = await waitForChartRelease(env.client, started.releaseId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(waiting.state, 'AWAITING_APPROVAL', waiting.error);
    await env.decideAs(started.releaseId, 'alice', 'approve', 'chart reviewed');
    const done = await waitForChartRelease(env.client, started.releaseId);
    assert.equal(done.state, 'RELEASED', done.error);
    const tgz = path.join(env.dir, 'repo', 'countersign-0.1.0.tgz');
    const verified = await helmVerify(helm!, path.join(VECTORS, 'keyring.gpg'), tgz, path.join(env.dir, 'helm-home'));
    assert.equal(verified.code, 0, verified.out);
    // The released archive is the chart: helm renders it with the same values.
    const r = await run(helm!, ['template', 'cs', tgz, '--kube-version', KUBE_VERSION, '-f', TEST_VALUES]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /kind: Deployment/);
  });
});
