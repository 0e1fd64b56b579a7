/**
 * What a customer sees, on a real dev server and registry, with the published directory served
 * over HTTP as a CDN would: a ceremony publishes a key into a signed index; a promotion signs with
 * it; governance publishes the store's root (`keys root`); `countersign verify --trust URL --index-key`
 * (or `--root`) and the customer script in docs/trust.md (run exactly as printed, with curl, jq,
 * openssl and stock cosign, from the pinned root) accept it; an edited, a rolled-back
 * and an expired index are refused; after a revocation the pem on the CDN is a tombstone, verify
 * says KEY_REVOKED (exit 14) with no stock command, and the script fails closed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { waitForPromotion } from '../../src/client/promotions';
import { trustConfig } from '../../src/client/trust';
import { writeKeyPair } from '../../src/keys/file-signer';
import { requireTool } from '../../src/stack/tools';
import { readIndex } from '../../src/trust/index-file';
import { openIndexSigning } from '../../src/trust/index-signing';
import { TrustStore } from '../../src/trust/store';
import { runCli } from '../support/cli';
import { buildFacts, copyDir, TEST_PASSWORD, useTestEnv } from '../support/env';
import { serveDirectory, type StaticServer } from '../support/static-server';
import { runCeremony, trustTestConfig } from '../trust/support';
import { runCosign } from '../vectors/cosign-bundle/produce';

const HELLO = path.resolve(__dirname, '../../examples/hello');
const DOCS = path.resolve(__dirname, '../../docs/trust.md');
const INDEX_PASSWORD_ENV = 'COUNTERSIGN_TEST_INDEX_PASSWORD';

/** The script in docs/trust.md, "Failing closed with stock tools", exactly as printed there. */
async function customerScript(): Promise<string> {
  const doc = await fs.readFile(DOCS, 'utf8');
  const match = /<!-- customer-script -->\n```bash\n([\s\S]*?)```/.exec(doc);
  assert.ok(match, 'docs/trust.md has the customer script');
  return match[1];
}

describe('the customer side of a signed trust index and a revocation', () => {
  const env = useTestEnv({
    setup: async (e) => {
      await writeKeyPair(e.keysDir, 'index', TEST_PASSWORD);
      e.workerEnv[INDEX_PASSWORD_ENV] = TEST_PASSWORD;
    },
  });
  let cdn: StaticServer | undefined;
  after(() => cdn?.close());

  it('verify --trust URL and the documented script accept what the index vouches for, refuse an edited, rolled-back or expired index, and fail closed after a revocation', async () => {
    const cfg = trustTestConfig(env, { index: { key: 'keys/index.key', publicKey: 'keys/index.pub', passwordEnv: INDEX_PASSWORD_ENV }, root: { threshold: 1 } }, 'cdn');
    const publishDir = trustConfig(cfg, 'cdn').publishDir;
    const made = await runCeremony(env, cfg, 'cdn');
    assert.equal(made.ceremony.state, 'PUBLISHED', made.ceremony.error);
    const key = made.ceremony.key!;
    const signedIndex = await readIndex(publishDir);
    assert.ok(signedIndex.version && signedIndex.version >= 1 && signedIndex.expires, 'the ceremony wrote a signed index');
    await fs.access(path.join(publishDir, 'index.json.sig'));
    const governanceEnv = { TEMPORAL_ADDRESS: env.stack.temporal.address, COUNTERSIGN_CONFIG: path.join(env.dir, 'countersign-cdn.yaml'), COUNTERSIGN_APPROVER_KEY_PASSWORD: TEST_PASSWORD };
    const rooted = await runCli(['keys', 'root', '--trust', 'cdn', '--as', 'erin', '--key', path.join(env.keysDir, 'erin.key'), '--wait'], governanceEnv);
    assert.equal(rooted.code, 0, rooted.stdout + rooted.stderr);
    assert.match(rooted.stdout, /published root-cdn-1\.json \(signed by erin\)/);
    // The customer's pin: a copy of root 1, its digest compared with the one governance announced.
    const pinnedRoot = path.join(env.dir, 'pinned-root-cdn-1.json');
    await fs.copyFile(path.join(publishDir, 'root-cdn-1.json'), pinnedRoot);
    cdn = await serveDirectory(publishDir);

    // One promotion signed by the key, one waiting at approval (signed by the developer only).
    env.config.targets['cdn-target'] = { ...cfg.targets.prod, name: 'cdn-target', sources: [env.dir] };
    const promote = async (name: string) => {
      const dir = await copyDir(HELLO, path.join(env.dir, name));
      await fs.writeFile(path.join(dir, 'VERSION'), `${name}\n`);
      const run = await env.promote({ target: 'cdn-target', source: { directory: dir }, build: buildFacts() });
      await waitForPromotion(env.client, run.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
      return run;
    };
    const signed = await promote('cdn-signed');
    const unsigned = await promote('cdn-unsigned');
    await env.decideAs(signed.promotionId, 'alice', 'approve');
    assert.equal((await waitForPromotion(env.client, signed.promotionId)).state, 'PROMOTED');
    const image = (digest: string) => `${env.stack.registry.address}/apps/hello@${digest}`;

    const indexKey = path.join(env.keysDir, 'index.pub');
    const stateFile = path.join(env.dir, 'customer-home', 'trust-versions.json');
    const cliEnv = { COUNTERSIGN_INSECURE_REGISTRIES: env.stack.registry.address, COUNTERSIGN_HOME: path.join(env.dir, 'customer-home') };
    const verify = (digest: string, trust = cdn!.url, ...extra: string[]) => runCli(['verify', image(digest), '--trust', trust, '--index-key', indexKey, ...extra], cliEnv);

    const ok = await verify(signed.digest, cdn.url, '--json');
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const report = JSON.parse(ok.stdout) as { checks: Array<{ name: string; code: string; message: string }>; cosign: string[] };
    assert.deepEqual(report.checks.map((c) => [c.name, c.code]), [['signature', 'OK'], ['index', 'OK'], ['trust', 'OK']]);
    assert.match(report.checks[1].message, new RegExp(`version ${signedIndex.version}, signed by index key [0-9a-f]{16}`));
    assert.ok(report.cosign.some((c) => c.startsWith('cosign verify-blob --key <your pinned index-key.pem> --signature index.json.sig')), report.cosign.join('\n'));
    assert.ok(report.cosign.some((c) => c.startsWith(`cosign verify --key ${cdn!.url}/${key.file}`)), report.cosign.join('\n'));
    const seen = JSON.parse(await fs.readFile(stateFile, 'utf8')) as { seen: Record<string, number> };
    assert.deepEqual(Object.values(seen.seen), [signedIndex.version], 'the version seen is remembered');

    const byRoot = await runCli(['verify', image(signed.digest), '--trust', cdn.url, '--root', pinnedRoot], cliEnv);
    assert.equal(byRoot.code, 0, byRoot.stdout + byRoot.stderr);
    assert.match(byRoot.stdout, /\[ok\] index: .* \(named by root 1 of store cdn\)/);

    const unknown = await verify(unsigned.digest);
    assert.equal(unknown.code, 15, unknown.stdout);
    assert.match(unknown.stdout, /\[NO\] trust: KEY_UNKNOWN no signature over sha256:[0-9a-f]{64} by any cosign key/);

    // The customer's script, exactly as docs/trust.md prints it.
    const script = path.join(env.dir, 'verify-image.sh');
    await fs.writeFile(script, await customerScript(), { mode: 0o755 });
    const scriptState = path.join(env.dir, 'script-state');
    // Asynchronously: the CDN it fetches from is served by this process.
    const runScript = (digest: string) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn('bash', [script, image(digest)], {
          env: { PATH: `${path.dirname(requireTool('cosign'))}:${process.env.PATH}`, HOME: env.dir, TRUST_URL: cdn!.url, ROOT: pinnedRoot, STATE: scriptState, COSIGN_FLAGS: '--allow-http-registry' },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c) => (stdout += String(c)));
        child.stderr.on('data', (c) => (stderr += String(c)));
        child.on('error', reject);
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
    const accepted = await runScript(signed.digest);
    assert.equal(accepted.status, 0, accepted.stderr);
    assert.match(accepted.stdout, new RegExp(`verified .* with ${key.file} \\(root 1, index version ${signedIndex.version}\\)`));
    assert.notEqual((await runScript(unsigned.digest)).status, 0);

    // Edited on the CDN: the key marked active again after its revocation would look like this.
    const oldIndex = await fs.readFile(path.join(publishDir, 'index.json'));
    const oldSig = await fs.readFile(path.join(publishDir, 'index.json.sig'));
    cdn.serve('index.json', oldIndex.toString('utf8').replace(`"reason": "published by key ceremony"`, `"reason": "published by key ceremonY"`));
    const edited = await verify(signed.digest);
    assert.equal(edited.code, 11, edited.stderr);
    assert.match(edited.stderr, /TRUST_INDEX_SIGNATURE_INVALID: .*does not verify with the pinned index key/);
    assert.equal((await runScript(signed.digest)).status, 11);
    cdn.restore();

    // The revocation: signing stops, the index says so (signed, one version on), the pem becomes a tombstone.
    const revokedOut = await runCli(['keys', 'revoke', key.id, '--trust', 'cdn', '--as', 'erin', '--key', path.join(env.keysDir, 'erin.key'), '--reason', 'test: key material leaked'], governanceEnv);
    assert.equal(revokedOut.code, 0, revokedOut.stderr);
    const afterRevocation = await readIndex(publishDir);
    const entry = afterRevocation.keys.find((k) => k.id === key.id)!;
    assert.equal(entry.status, 'revoked');
    assert.ok(afterRevocation.version! > signedIndex.version!, 'a new signed version');
    assert.ok(entry.revocation?.publicKey, 'the index keeps the public key');
    const onCdn = await (await fetch(`${cdn.url}/${key.file}`)).text();
    assert.match(onCdn, new RegExp(`^REVOKED: ${key.id} \\(fingerprint ${key.fingerprint}\\) was revoked at .* by erin: test: key material leaked\n`));
    assert.doesNotMatch(onCdn, /BEGIN PUBLIC KEY/);

    const revoked = await verify(signed.digest);
    assert.equal(revoked.code, 14, revoked.stdout);
    assert.match(revoked.stdout, /\[NO\] trust: KEY_REVOKED key .* was revoked at .*: test: key material leaked/);
    assert.doesNotMatch(revoked.stdout, /cosign verify /, 'no stock command that would pass for a revoked key');
    assert.deepEqual((JSON.parse((await verify(signed.digest, cdn.url, '--json')).stdout) as { cosign: string[] }).cosign, []);

    // Stock cosign with what the CDN now serves for the key refuses; the script never tries it.
    const tombstone = path.join(env.dir, 'downloaded.pem');
    await fs.writeFile(tombstone, onCdn);
    const stock = await runCosign(requireTool('cosign'), ['verify', '--key', tombstone, '--insecure-ignore-tlog=true', '--allow-http-registry', image(signed.digest)], env.dir);
    assert.notEqual(stock.code, 0, 'stock cosign cannot use a tombstone');
    const closed = await runScript(signed.digest);
    assert.equal(closed.status, 1, closed.stdout);
    assert.match(closed.stderr, /no active or retiring key in the index verifies/);

    // The CDN serves the copy from before the revocation, validly signed: rolled back.
    cdn.serve('index.json', oldIndex);
    cdn.serve('index.json.sig', oldSig);
    const rolledBack = await verify(signed.digest);
    assert.equal(rolledBack.code, 12, rolledBack.stderr);
    assert.match(rolledBack.stderr, new RegExp(`TRUST_INDEX_ROLLED_BACK: .*is version ${signedIndex.version}, but version ${afterRevocation.version} was seen before`));
    const scriptRolledBack = await runScript(signed.digest);
    assert.equal(scriptRolledBack.status, 12, scriptRolledBack.stderr);
    cdn.restore();

    // A copy whose signature has lapsed (signed with a lifetime of 1 ms): expired.
    const frozen = path.join(env.dir, 'frozen');
    await fs.cp(publishDir, frozen, { recursive: true });
    await fs.rm(path.join(frozen, 'index.json.sig'));
    const signing = await openIndexSigning({ key: path.join(env.keysDir, 'index.key'), publicKey: indexKey, passwordEnv: INDEX_PASSWORD_ENV, expiresMs: 1 }, env.workerEnv);
    await new TrustStore({ name: 'cdn', publishDir: frozen, stateFile: path.join(env.dir, 'frozen-state.json') }, { signing: async () => signing }).refreshSignature();
    const expired = await verify(signed.digest, frozen);
    assert.equal(expired.code, 13, expired.stderr);
    assert.match(expired.stderr, /TRUST_INDEX_EXPIRED: /);

    // Neither a missing directory nor an unreachable CDN looks like an untrusted image.
    const missing = await verify(signed.digest, path.join(env.dir, 'no-such-trust'));
    assert.equal(missing.code, 2, missing.stderr);
    const unreachable = await verify(signed.digest, 'http://127.0.0.1:9/trust');
    assert.equal(unreachable.code, 10, unreachable.stderr);
    assert.match(unreachable.stderr, /TRUST_UNREACHABLE/);
  });
});
