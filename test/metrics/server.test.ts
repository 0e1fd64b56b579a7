import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMetricsSection, metricsListen } from '../../src/metrics/config';
import { CountersignMetrics } from '../../src/metrics/metrics';
import { parseListen, startMetricsServer } from '../../src/metrics/server';
import { freePort } from '../../src/stack/ports';
import { hasCode } from '../../src/errors';

test('the endpoint serves /metrics in the text format, /healthz, and nothing else', async (t) => {
  const metrics = new CountersignMetrics();
  metrics.signed('production', 'ab'.repeat(32));
  const server = await startMetricsServer({ listen: '127.0.0.1:0', metrics });
  t.after(() => server.close());
  const res = await fetch(`http://${server.address}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  assert.match(await res.text(), /countersign_signatures_total\{role="production",fingerprint="(ab){32}"\} 1/);
  assert.equal(await (await fetch(`http://${server.address}/healthz`)).text(), 'ok\n');
  assert.equal((await fetch(`http://${server.address}/other`)).status, 404);
  assert.equal((await fetch(`http://${server.address}/metrics`, { method: 'POST' })).status, 405);
});

test('an SDK exporter that does not answer is reported by countersign_sdk_metrics_up 0, and the scrape still succeeds', async (t) => {
  const closed = await freePort();
  const server = await startMetricsServer({ listen: '127.0.0.1:0', metrics: new CountersignMetrics(), sdkUrl: `http://127.0.0.1:${closed}/metrics` });
  t.after(() => server.close());
  const text = await (await fetch(`http://${server.address}/metrics`)).text();
  assert.match(text, /^countersign_sdk_metrics_up 0$/m);
  assert.match(text, /countersign_promotions_started_total/);
});

test('a port already taken is BAD_CONFIG naming the address', async (t) => {
  const first = await startMetricsServer({ listen: '127.0.0.1:0', metrics: new CountersignMetrics() });
  t.after(() => first.close());
  await assert.rejects(startMetricsServer({ listen: first.address, metrics: new CountersignMetrics() }), (err) => hasCode(err, 'BAD_CONFIG') && /EADDRINUSE/.test(String(err)) && String(err).includes(first.address));
});

test('listen addresses: host:port and [v6]:port; the environment wins over the configuration', () => {
  assert.deepEqual(parseListen('0.0.0.0:9464', 'x'), { host: '0.0.0.0', port: 9464 });
  assert.deepEqual(parseListen('[::1]:9464', 'x'), { host: '::1', port: 9464 });
  for (const bad of ['9464', 'host:', ':9464', 'a b:1', 'host:70000', 'http://host:1']) assert.throws(() => parseListen(bad, 'metrics.listen'), (err) => hasCode(err, 'BAD_CONFIG') && String(err).includes('metrics.listen'), bad);
  const problems: string[] = [];
  assert.deepEqual(parseMetricsSection({ listen: '127.0.0.1:9464' }, (f, p) => problems.push(`${f}: ${p}`)), { listen: '127.0.0.1:9464' });
  parseMetricsSection({ listen: 'nowhere' }, (f, p) => problems.push(`${f}: ${p}`));
  parseMetricsSection(['x'], (f, p) => problems.push(`${f}: ${p}`));
  assert.deepEqual(problems, ['metrics.listen: "nowhere" is not HOST:PORT (e.g. 0.0.0.0:9464; port 0-65535)', 'metrics: must be a mapping { listen }']);
  assert.equal(metricsListen({ COUNTERSIGN_METRICS_LISTEN: '0.0.0.0:1' }, { listen: '127.0.0.1:2' }), '0.0.0.0:1');
  assert.equal(metricsListen({}, { listen: '127.0.0.1:2' }), '127.0.0.1:2');
  assert.equal(metricsListen({}, undefined), undefined);
  assert.throws(() => metricsListen({ COUNTERSIGN_METRICS_LISTEN: 'x' }, undefined), (err) => hasCode(err, 'BAD_CONFIG') && String(err).includes('COUNTERSIGN_METRICS_LISTEN'));
});
