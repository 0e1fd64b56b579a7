/** The chart start request's shape, checked before its signature, and the claim the workflow shows before the worker decides. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHART_START_REQUEST_TYPE, parseChartStartRequest, readChartRequestClaim } from '../../src/requests/chart-start-request';
import { canonicalJson } from '../../src/requests/statement';

const good = {
  _type: CHART_START_REQUEST_TYPE,
  target: 'charts',
  chartDir: '/srv/charts/demo',
  name: 'demo',
  version: '1.2.3-rc.1+build.7',
  sha256: 'a'.repeat(64),
  initiator: 'ci',
  issuedAt: '2026-11-21T10:00:00Z',
  expiresAt: '2026-11-21T10:10:00Z',
  nonce: '0123456789abcdef',
};
const signed = (statement: Record<string, unknown>) => ({ statement: canonicalJson(statement), signature: 'AA==' });

test('a well-formed request parses', () => {
  assert.deepEqual(parseChartStartRequest(signed(good)), good);
});

test('anything else is refused, saying what', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ ...good, _type: 'https://countersign.dev/start-request/v1' }, /expected https:\/\/countersign.dev\/chart-start-request\/v1/],
    [{ ...good, stagingDir: '/tmp/mine', keyring: 'k.gpg' }, /unknown fields: keyring, stagingDir/],
    [{ ...good, target: 'Charts' }, /target "Charts" is malformed/],
    [{ ...good, name: '../demo' }, /name "..\/demo" is malformed/],
    [{ ...good, version: '1.2' }, /version "1.2" is malformed/],
    [{ ...good, sha256: 'sha256:' + 'a'.repeat(64) }, /sha256 .* is malformed/],
    [{ ...good, nonce: 'short' }, /nonce "short" is malformed/],
    [{ ...good, expiresAt: 'tomorrow' }, /expiresAt "tomorrow" is not a timestamp/],
    [{ ...good, deadlineMs: 10 }, /deadlineMs must be a whole number of milliseconds from 1000 to 7776000000/],
    [{ ...good, deadlineMs: 200_000_000 * 86_400_000 }, /deadlineMs must be a whole number of milliseconds from 1000 to 7776000000 \(90 days\)/],
    [{ ...good, chartDir: '' }, /chartDir must be a non-empty string/],
  ];
  for (const [statement, message] of cases) assert.throws(() => parseChartStartRequest(signed(statement)), message, JSON.stringify(statement));
});

test('the claim shows well-formed fields only, and nothing of a statement that is not JSON', () => {
  assert.deepEqual(readChartRequestClaim(signed(good)), { target: 'charts', name: 'demo', version: '1.2.3-rc.1+build.7', sha256: 'a'.repeat(64) });
  assert.deepEqual(readChartRequestClaim(signed({ ...good, name: 'x'.repeat(500), target: 'Bad Target' })), { target: '', name: '', version: '1.2.3-rc.1+build.7', sha256: 'a'.repeat(64) });
  assert.deepEqual(readChartRequestClaim({ statement: 'not json' }), { target: '', name: '', version: '', sha256: '' });
  assert.deepEqual(readChartRequestClaim(undefined), { target: '', name: '', version: '', sha256: '' });
});
