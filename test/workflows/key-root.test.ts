/**
 * The trust root workflow on a real dev server: `keys root` asks for a root, the worker drafts it
 * from its own configuration, governance members sign it (each CLI checks the draft against its
 * own copy of the configuration), and the root with its signatures is published for customers to
 * follow. Also: requests the worker refuses, a rotation signed by the old root's governance (a new
 * member cannot sign it alone), and a draft a member's configuration disagrees with goes unsigned.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { hasCode } from '../../src/errors';
import { rootStatus, startRoot, waitForRootAnswer } from '../../src/client/root';
import type { RootStatus } from '../../workflows/key-root-messages';
import { trustConfig } from '../../src/client/trust';
import { writeKeyPair } from '../../src/keys/file-signer';
import { keyFingerprint } from '../../src/keys/public-key';
import { ROOT_REQUEST_TYPE } from '../../src/requests/root-request';
import { newNonce, signStatement } from '../../src/requests/sign';
import { followRootChain } from '../../src/trust/root-chain';
import { rootFileName, rootSignaturesFileName } from '../../src/trust/root-file';
import { trustSource } from '../../src/trust/source';
import { runCli } from '../support/cli';
import { TEST_PASSWORD, useTestEnv } from '../support/env';
import { requestSigner, trustTestConfig } from '../trust/support';

const INDEX_PASSWORD_ENV = 'COUNTERSIGN_TEST_INDEX_PASSWORD';
const DOCS = path.resolve(__dirname, '../../docs/trust.md');

/** The commands of docs/trust.md's root runbook, as printed, split into arguments (comments dropped). */
async function runbook(): Promise<string[][]> {
  const match = /<!-- root-runbook -->\n```bash\n([\s\S]*?)```/.exec(await fs.readFile(DOCS, 'utf8'));
  assert.ok(match, 'docs/trust.md has the root runbook');
  return match[1]
    .split('\n')
    .filter((l) => l.startsWith('countersign '))
    .map((l) => l.replace(/\s+#.*$/, '').split(/\s+/).slice(1));
}

describe('the trust root workflow', () => {
  const env = useTestEnv({
    setup: async (e) => {
      await writeKeyPair(e.keysDir, 'index', TEST_PASSWORD);
      await writeKeyPair(e.keysDir, 'index2', TEST_PASSWORD);
      e.workerEnv[INDEX_PASSWORD_ENV] = TEST_PASSWORD;
    },
  });
  const cliEnv = (name: string) => ({ TEMPORAL_ADDRESS: env.stack.temporal.address, COUNTERSIGN_CONFIG: path.join(env.dir, `countersign-${name}.yaml`), COUNTERSIGN_APPROVER_KEY_PASSWORD: TEST_PASSWORD });
  const keysRoot = (name: string, who: string, ...extra: string[]) => runCli(['keys', 'root', '--trust', name, '--as', who, '--key', path.join(env.keysDir, `${who}.key`), ...extra], cliEnv(name));
  const store = (indexKey = 'index', governance = ['erin', 'alice']) => ({
    governance,
    index: { key: `keys/${indexKey}.key`, publicKey: `keys/${indexKey}.pub`, passwordEnv: INDEX_PASSWORD_ENV },
    root: { threshold: 2, expires: '30d' },
  });

  it('the runbook as printed: erin asks and signs, dave signs; root 1 is published with both signatures, and a customer pinning it gets the index key', async () => {
    const config = trustTestConfig(env, store('index', ['erin', 'dave']), 'rooted');
    const publishDir = trustConfig(config, 'rooted').publishDir;
    // TRUST is the store's name; keys/NAME.key the member's own key, here in the test's key folder.
    const [askLine, signLine] = (await runbook()).map((argv) => argv.map((a) => (a === 'TRUST' ? 'rooted' : a.replace(/^keys\//, `${env.keysDir}/`))));
    assert.deepEqual([askLine.slice(0, 2), signLine.at(-1)], [['keys', 'root'], '--wait']);
    const asked = await runCli(askLine, cliEnv('rooted'));
    assert.equal(asked.code, 0, asked.stderr);
    assert.match(asked.stdout, /^trust root key-root-rooted-1 \(store rooted, version 1\): AWAITING_SIGNATURES\n  digest sha256:[0-9a-f]{64}\n/);
    assert.match(asked.stdout, /names index key [0-9a-f]{16}; governance erin, dave \(2 sign the next root\)/);
    assert.match(asked.stdout, /signed by erin; waiting for 1 more of governance/);
    await assert.rejects(fs.access(path.join(publishDir, rootFileName('rooted', 1))), 'nothing is published before the threshold signed');
    // The waitForAnswer update reads no input: a threshold, signers, a draft and a directory a caller passes change nothing.
    const before = await rootStatus(env.client, 'key-root-rooted-1');
    const forged = { threshold: 1, governance: ['mallory'], signers: ['erin'], text: '{"forged":true}', publishDir: path.join(env.dir, 'elsewhere'), version: 7 };
    const answered = (await env.client.workflow.getHandle('key-root-rooted-1').executeUpdate('waitForAnswer', { args: [forged] })) as RootStatus;
    assert.deepEqual([answered.state, answered.version, answered.digest, answered.text], ['AWAITING_SIGNATURES', 1, before.digest, before.text]);
    assert.deepEqual(answered.approval.groups.map((g) => [g.required, g.eligible]), before.approval.groups.map((g) => [g.required, g.eligible]));
    await assert.rejects(fs.access(path.join(publishDir, rootFileName('rooted', 1))), 'still nothing published: the threshold is the worker\'s 2');
    await assert.rejects(fs.access(path.join(env.dir, 'elsewhere')), 'nothing written where the arguments pointed');
    // keys status shows the running root as keys root printed it.
    const waiting = await runCli(['keys', 'status', 'key-root-rooted-1'], cliEnv('rooted'));
    assert.equal(waiting.code, 0, waiting.stderr);
    assert.equal(waiting.stdout, asked.stdout);

    const signed = await runCli(signLine, cliEnv('rooted'));
    assert.equal(signed.code, 0, signed.stderr);
    assert.match(signed.stdout, /: PUBLISHED\n[\s\S]*published root-rooted-1\.json \(signed by erin, dave\)/);
    const sigs = JSON.parse(await fs.readFile(path.join(publishDir, rootSignaturesFileName('rooted', 1)), 'utf8')) as Array<{ approver: string }>;
    assert.deepEqual(sigs.map((s) => s.approver), ['erin', 'dave']);
    // And the ended one from its result, as text and as --json.
    const ended = await runCli(['keys', 'status', 'key-root-rooted-1'], cliEnv('rooted'));
    assert.equal(ended.code, 0, ended.stderr);
    assert.equal(ended.stdout, signed.stdout);
    const json = JSON.parse((await runCli(['keys', 'status', 'key-root-rooted-1', '--json'], cliEnv('rooted'))).stdout) as { type: string; status: { state: string; signers: string[] } };
    assert.deepEqual([json.type, json.status.state, json.status.signers], ['root', 'PUBLISHED', ['erin', 'dave']]);

    const pinned = await fs.readFile(path.join(publishDir, rootFileName('rooted', 1)));
    const followed = await followRootChain(await trustSource(publishDir), { pinned });
    assert.equal(followed.root.indexKey.fingerprint, keyFingerprint(await fs.readFile(path.join(env.keysDir, 'index.pub'), 'utf8')));
  });

  it('the worker refuses a root request by someone outside governance, one for a version that is not next, and one for a store without root:', async () => {
    trustTestConfig(env, store(), 'refusals');
    trustTestConfig(env, { governance: ['erin'] }, 'rootless');
    const request = async (who: string, trust: string, version: number) =>
      signStatement({ _type: ROOT_REQUEST_TYPE, trust, version, requester: who, time: new Date().toISOString(), nonce: newNonce() }, await requestSigner(env, who));
    const cases: Array<[string, string, number, RegExp]> = [
      ['bob', 'refusals', 1, /REQUEST_OUT_OF_SCOPE: bob is not a governance member of trust store refusals/],
      ['erin', 'refusals', 2, /REQUEST_INVALID: the root request is for root 2 of store refusals, but the next one is 1/],
      ['erin', 'rootless', 1, /REQUEST_INVALID: trust store rootless publishes no root/],
    ];
    for (const [who, trust, version, why] of cases) {
      const { rootId } = await startRoot(env.client, await request(who, trust, version));
      const status = await waitForRootAnswer(env.client, rootId);
      assert.equal(status.state, 'REFUSED', `${who} ${trust} ${version}`);
      assert.match(status.error ?? '', why);
      assert.equal(status.text, undefined, 'nothing drafted');
      const shown = await runCli(['keys', 'status', rootId], cliEnv(trust));
      assert.equal(shown.code, 7, 'keys status exits 7 for a refused root, as for any refused request');
      assert.match(shown.stdout, why);
      // Asked once the run has closed, the answer is the same: the server refuses an update to a closed run as "not found", which names no unknown root.
      await env.client.workflow.getHandle(rootId).result();
      assert.equal((await waitForRootAnswer(env.client, rootId)).state, 'REFUSED');
    }
    await assert.rejects(waitForRootAnswer(env.client, 'key-root-refusals-99'), (e: Error) => hasCode(e, 'UNKNOWN_PROMOTION') && /no trust root "key-root-refusals-99"/.test(e.message));
  });

  it('a rotation (new index key, bob for alice) is signed by root 1 governance, not by the newcomer; a member whose configuration disagrees signs nothing', async () => {
    trustTestConfig(env, store(), 'rotated');
    const publishDir = trustConfig(env.config, 'rotated').publishDir;
    assert.equal((await keysRoot('rotated', 'erin')).code, 0);
    assert.equal((await keysRoot('rotated', 'alice', '--wait')).code, 0);
    const pinned = await fs.readFile(path.join(publishDir, rootFileName('rotated', 1)));

    // Alice keeps her copy of the old configuration; the worker's (and erin's, bob's) moves on.
    const aliceConfig = path.join(env.dir, 'countersign-rotated-alice.yaml');
    await fs.copyFile(path.join(env.dir, 'countersign-rotated.yaml'), aliceConfig);
    trustTestConfig(env, store('index2', ['erin', 'bob']), 'rotated');
    const asked = await keysRoot('rotated', 'erin');
    assert.equal(asked.code, 0, asked.stderr);
    assert.match(asked.stdout, /version 2\): AWAITING_SIGNATURES/);
    assert.match(asked.stdout, /waiting for 1 more of governance of root 1/);

    // Bob is in the new governance, not root 1's: his signature would not count for customers.
    const bob = await keysRoot('rotated', 'bob');
    assert.equal(bob.code, 0, bob.stderr);
    assert.match(bob.stderr, /bob is not among those who sign root 2 \(governance of root 1: alice\); nothing signed/);

    // Alice's configuration names the old index key and governance: her CLI refuses to sign the draft.
    const disagrees = await runCli(['keys', 'root', '--trust', 'rotated', '--as', 'alice', '--key', path.join(env.keysDir, 'alice.key')], { ...cliEnv('rotated'), COUNTERSIGN_CONFIG: aliceConfig });
    assert.equal(disagrees.code, 2, disagrees.stdout + disagrees.stderr);
    assert.match(disagrees.stderr, /BAD_INPUT: the drafted root's governance is .*"erin=.*","bob=.*but your configuration gives .*"erin=.*","alice=.*: not signing it/);
    const waiting = await rootStatus(env.client, 'key-root-rotated-2');
    assert.deepEqual(waiting.approval.votes.map((v) => v.approver), ['erin']);

    // With the new configuration she checks the same draft and signs: root 2 is published.
    await fs.writeFile(aliceConfig, YAML.stringify(YAML.parse(await fs.readFile(path.join(env.dir, 'countersign-rotated.yaml'), 'utf8'))));
    const signed = await runCli(['keys', 'root', '--trust', 'rotated', '--as', 'alice', '--key', path.join(env.keysDir, 'alice.key'), '--wait'], { ...cliEnv('rotated'), COUNTERSIGN_CONFIG: aliceConfig });
    assert.equal(signed.code, 0, signed.stderr);
    assert.match(signed.stdout, /published root-rotated-2\.json \(signed by erin, alice\)/);

    const followed = await followRootChain(await trustSource(publishDir), { pinned });
    assert.deepEqual(followed.followed, [2]);
    assert.equal(followed.root.indexKey.fingerprint, keyFingerprint(await fs.readFile(path.join(env.keysDir, 'index2.pub'), 'utf8')));
    assert.deepEqual(followed.root.governance.map((m) => m.name), ['erin', 'bob']);
  });
});
