/**
 * The bench counts registry requests from the registry's own request log. The lines below were
 * written by distribution 2.8.2 (Debian's docker-registry, access log on) and olareg v0.1.2 (`-v
 * trace`) answering curl; the live count is checked by test/bench/promotions.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { RegistryRequestLog, requestInLogLine } from '../../bench/request-counter';

const DISTRIBUTION = [
  'time="2026-11-27T00:27:18.533486377Z" level=warning msg="No HTTP secret provided - generated random secret." go.version=go1.19.8 version=2.8.2+ds1',
  '127.0.0.1 - - [27/Nov/2026:00:27:19 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "curl/7.88.1"',
  'time="2026-11-27T00:27:19.540480442Z" level=error msg="response completed with error" err.code="manifest unknown" http.request.method=GET http.request.uri=/v2/x/manifests/latest http.response.status=404',
  '127.0.0.1 - - [27/Nov/2026:00:27:19 +0000] "GET /v2/x/manifests/latest HTTP/1.1" 404 96 "" "curl/7.88.1"',
  '127.0.0.1 - - [27/Nov/2026:00:27:19 +0000] "POST /v2/x/blobs/uploads/?digest=sha256:0000000000000000000000000000000000000000000000000000000000000000 HTTP/1.1" 202 0 "" "curl/7.88.1"',
];
const OLAREG = [
  'time=2026-11-27T00:22:10.560Z level=INFO msg="launching server" addr=127.0.0.1:5999',
  'time=2026-11-27T00:22:11.563Z level=DEBUG-4 msg=ServeHTTP duration=13.881µs method=GET url=/v2/ status=200 req-headers="map[Accept:[*/*] User-Agent:[curl/7.88.1]]" resp-headers="map[Content-Length:[2]]"',
  'time=2026-11-27T00:22:11.567Z level=DEBUG msg="failed to get descriptor" err="not found" repo=x arg=latest',
  'time=2026-11-27T00:32:01.033Z level=DEBUG-4 msg=ServeHTTP duration=212.639µs method=POST url="/v2/x/blobs/uploads/?digest=sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" status=202 req-headers="map[Accept:[*/*]]"',
  'time=2026-11-27T00:22:11.571Z level=DEBUG-4 msg=ServeHTTP duration=55.364µs method=HEAD url=/v2/x/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000 status=404 req-headers="map[Accept:[*/*]]" resp-headers=map[]',
];

test("a request line of either registry's log gives its method and path; other lines give nothing", () => {
  assert.deepEqual(DISTRIBUTION.map(requestInLogLine), [
    undefined,
    { method: 'GET', path: '/v2/' },
    undefined,
    { method: 'GET', path: '/v2/x/manifests/latest' },
    { method: 'POST', path: '/v2/x/blobs/uploads/?digest=sha256:0000000000000000000000000000000000000000000000000000000000000000' },
  ]);
  assert.deepEqual(OLAREG.map(requestInLogLine), [
    undefined,
    { method: 'GET', path: '/v2/' },
    undefined,
    { method: 'POST', path: '/v2/x/blobs/uploads/?digest=sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824' },
    { method: 'HEAD', path: '/v2/x/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000' },
  ]);
});

test('counts since the last reset, holds back a line still being written, and lists what it counted', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-request-log-'));
  try {
    const log = path.join(dir, 'registry.log');
    const listed = path.join(dir, 'requests.txt');
    fs.writeFileSync(log, `${DISTRIBUTION.join('\n')}\n`);
    fs.writeFileSync(listed, 'STALE /v2/from-an-earlier-run\n');
    const counter = new RegistryRequestLog(log, listed);
    assert.deepEqual(await counter.read(), { GET: 2, POST: 1 });
    await counter.reset();
    assert.deepEqual(await counter.read(), {});
    // Half a line: not counted until its end arrives.
    fs.appendFileSync(log, `${OLAREG[1]}\n${OLAREG[4].slice(0, 60)}`);
    assert.deepEqual(await counter.read(), { GET: 1 });
    fs.appendFileSync(log, `${OLAREG[4].slice(60)}\n`);
    assert.deepEqual(await counter.read(), { GET: 1, HEAD: 1 });
    assert.deepEqual(fs.readFileSync(listed, 'utf8').trimEnd().split('\n'), [
      'GET /v2/',
      'GET /v2/x/manifests/latest',
      'POST /v2/x/blobs/uploads/?digest=sha256:0000000000000000000000000000000000000000000000000000000000000000',
      'GET /v2/',
      'HEAD /v2/x/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000',
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
