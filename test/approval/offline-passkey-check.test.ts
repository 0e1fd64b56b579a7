/**
 * docs/approvals.md, Checking a passkey decision offline: the script a customer runs (jq, basenc,
 * openssl) accepts a passkey decision as the approval record carries it and refuses one moved to
 * another statement, made at another origin, or checked with another key.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { statementChallenge } from '../../src/approval/passkey-assertion';
import { canonicalStatement } from '../../src/approval/statement';
import { APPROVAL_STATEMENT_TYPE } from '../../src/approval/constants';
import { assert as signAssertion, newCredential } from '../support/software-authenticator';

const run = promisify(execFile);
const DOCS = path.resolve(__dirname, '../../docs/approvals.md');
const SCRIPT = path.resolve(__dirname, '../../examples/approvals/verify-passkey-decision.sh');
const ORIGIN = 'https://countersign.example.com';

test('the documented offline check of a passkey decision, run as printed', async (t) => {
  const docs = await readFile(DOCS, 'utf8');
  const command = 'sh verify-passkey-decision.sh decision.json alice-passkey.pem https://countersign.example.com';
  assert.ok(docs.includes(`\n${command}\n`), 'the command is in docs/approvals.md as run here');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'countersign-offline-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await copyFile(SCRIPT, path.join(dir, 'verify-passkey-decision.sh'));
  const alice = newCredential();
  const other = newCredential();
  await writeFile(path.join(dir, 'alice-passkey.pem'), alice.publicKeyPem);
  await writeFile(path.join(dir, 'other.pem'), other.publicKeyPem);
  const statement = canonicalStatement({ _type: APPROVAL_STATEMENT_TYPE, promotionId: 'promote-prod-0123456789abcdef', runId: 'run-1', digest: `sha256:${'a'.repeat(64)}`, decision: 'approve', approver: 'alice', time: '2026-11-26T05:00:00.000Z' });
  const decision = (text: string, origin = ORIGIN) => {
    const a = signAssertion(alice, { challenge: statementChallenge(text), origin, rpId: 'countersign.example.com' });
    return { approver: 'alice', decision: 'approve', statement: text, signature: a.response.signature, passkey: { credentialId: a.id, authenticatorData: a.response.authenticatorData, clientDataJSON: a.response.clientDataJSON } };
  };
  const check = async (d: unknown, args = command.split(' ').slice(1)) => {
    await writeFile(path.join(dir, 'decision.json'), JSON.stringify(d));
    return run('sh', args, { cwd: dir }).then(
      (r) => ({ ok: true, out: r.stdout }),
      (e: { stderr: string }) => ({ ok: false, out: e.stderr }),
    );
  };
  const good = await check(decision(statement));
  assert.deepEqual(good, { ok: true, out: `passkey decision verified: alice approve over promote-prod-0123456789abcdef run run-1 sha256:${'a'.repeat(64)}\n` });
  const moved = { ...decision(statement), statement: statement.replace('run-1', 'run-2') };
  assert.deepEqual(await check(moved), { ok: false, out: 'the assertion is not over this statement\n' });
  assert.deepEqual(await check(decision(statement, 'https://evil.example.com')), { ok: false, out: 'made at https://evil.example.com, not https://countersign.example.com\n' });
  assert.deepEqual(await check(decision(statement), ['verify-passkey-decision.sh', 'decision.json', 'other.pem', ORIGIN]), { ok: false, out: 'the signature does not verify with other.pem\n' });
});
