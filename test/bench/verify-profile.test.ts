/**
 * `npx tsx bench/verify-profile.ts`, as docs/benchmarks.md prints it: one verification's registry
 * calls on a timeline for each format, and the registry's CPU per kind of request. No timing is
 * asserted: only that every part was measured.
 */
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(__dirname, '../..');

test('npx tsx bench/verify-profile.ts runs as printed: store calls per format and registry CPU per request kind', { timeout: 10 * 60_000 }, () => {
  const command = 'npx tsx bench/verify-profile.ts';
  assert.ok(fs.readFileSync(path.join(ROOT, 'docs/benchmarks.md'), 'utf8').includes(`\`${command}\``));
  const out = execSync(command, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  for (const format of ['legacy', 'bundle']) {
    assert.match(out, new RegExp(`^${format}: median \\d+\\.\\d+ ms, min \\d+\\.\\d+ ms, client CPU \\d+\\.\\d+ ms per verification`, 'm'), out);
  }
  // Each verification's store calls, as "start..end call reference": on distribution 2.8 the
  // fallback tag alone, the Referrers API's 404 remembered from the first (src/cosign/referrers.ts).
  assert.match(out, /^ {2}\d+\.\d+\.\.\d+\.\d+ getManifest sha256-[0-9a-f]+ *$/m, out);
  assert.doesNotMatch(out, /^ {2}\d+\.\d+\.\.\d+\.\d+ getReferrers /m, out);
  for (const kind of ['manifest by tag, 200', 'manifest by tag, 404', 'manifest by digest, 200', 'Referrers API, 404', 'blob, 200']) {
    assert.match(out, new RegExp(`^${kind}: \\d+ requests/s, registry \\d+\\.\\d+ ms CPU per request`, 'm'), `${kind}\n${out}`);
  }
});
