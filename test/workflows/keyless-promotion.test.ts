/**
 * A keyless promotion end to end on the self-hosted Sigstore, started with the command
 * docs/keyless.md prints (`countersign dev sigstore`: the local OIDC issuer, Fulcio, Rekor v2 and
 * the timestamp authority as the toolchain builds them), on a real Temporal dev server and
 * registry: the worker signs the build keyless with the identity its configuration's token source
 * gives, platform verify passes on the target's keyless identity policy, and stock cosign v3
 * verifies the image with --trusted-root and --certificate-identity, each command as printed.
 * Skips when the Sigstore services or cosign are not installed (bash scripts/toolchain.sh sigstore cosign).
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { waitForPromotion } from '../../src/client/promotions';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { locateTool } from '../../src/stack/tools';
import { TERMINAL_STATES, type PromotionStatus } from '../../workflows/promotion-messages';
import { buildFacts, useTestEnv } from '../support/env';

const ROOT = path.resolve(__dirname, '..', '..');
const HELLO = path.join(ROOT, 'examples', 'hello');
const DOC = fs.readFileSync(path.join(ROOT, 'docs', 'keyless.md'), 'utf8');
const BLOCKS = [...DOC.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1].trim().split('\n'));
const [[toolchainLine, stackLine], [exportLine], [verifyLine, verifyAttestationLine]] = BLOCKS;
const SUBJECT = 'https://github.com/acme/hello/.github/workflows/release.yml@refs/heads/main';
const cosign = locateTool('cosign');
const missing = (['fulcio', 'rekor-server', 'timestamp-server'] as const).filter((t) => !locateTool(t));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed (bash scripts/toolchain.sh sigstore)` : !cosign ? 'cosign not installed' : false;
const atGateOrEnded = (s: PromotionStatus) => ['AWAITING_APPROVAL', ...TERMINAL_STATES].includes(s.state);

/** Runs one documented line in bash, as printed: `countersign` is bin/countersign, `cosign` the pinned one (HOME stays: the tool cache is under it). */
async function bash(line: string, cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const PATH = [path.join(ROOT, 'bin'), path.dirname(cosign!), process.env.PATH].join(path.delimiter);
  try {
    const { stdout, stderr } = await promisify(execFile)('bash', ['-c', line], { cwd, env: { ...process.env, PATH, ...env }, timeout: 300_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('keyless promotion on the self-hosted Sigstore, as docs/keyless.md runs it', { skip }, () => {
  let stack: ChildProcess | undefined;
  let stackExit: Promise<number | null> | undefined;
  let keyless: Record<string, any>;
  const env = useTestEnv({
    setup: async (e) => {
      assert.deepEqual(BLOCKS.map((b) => b.length), [2, 1, 2], 'the commands docs/keyless.md prints');
      const tools = await bash(toolchainLine, ROOT);
      assert.equal(tools.code, 0, tools.stderr);
      // The documented command, as printed, from the folder the worker's configuration lives in.
      stack = spawn('bash', ['-c', `exec ${stackLine}`], { cwd: e.dir, env: { ...process.env, PATH: [path.join(ROOT, 'bin'), process.env.PATH].join(path.delimiter) }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      stack.stdout!.on('data', (c) => (output += c));
      stack.stderr!.on('data', (c) => (output += c));
      stackExit = new Promise((resolve) => stack!.once('exit', (code) => resolve(code)));
      const section = path.join(e.dir, '.countersign', 'sigstore', 'keyless.yaml');
      for (const deadline = Date.now() + 120_000; !/Sigstore is up/.test(output); ) {
        if (stack.exitCode !== null || Date.now() > deadline) throw new Error(`countersign dev sigstore did not come up: ${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      keyless = YAML.parse(fs.readFileSync(section, 'utf8')).keyless;
      const secret = await bash(`${exportLine}; printf %s "$COUNTERSIGN_SIGSTORE_CLIENT_SECRET"`, e.dir);
      assert.equal(secret.code, 0, secret.stderr);
      e.workerEnv.COUNTERSIGN_SIGSTORE_CLIENT_SECRET = secret.stdout;
    },
  });
  after(async () => {
    if (stack && stack.exitCode === null) {
      stack.kill('SIGTERM');
      assert.equal(await stackExit, 0, 'countersign dev sigstore stops cleanly on SIGTERM');
    }
  });

  const keylessTarget = (name: string, identities?: Array<Record<string, string>>) =>
    env.targetWith(
      {
        repository: `${env.stack.registry.address}/apps/${name}`,
        signatureFormat: 'bundle',
        // No developer private key: the build can only be signed keyless.
        keys: { developer: { key: undefined } },
        keyless: identities ? { ...keyless, identities } : keyless,
      },
      name,
    );
  // cosign gets a HOME of its own: nothing of the machine's ~/.sigstore takes part.
  const documented = (line: string, image: string) => bash(line, env.dir, { IMAGE: image, HOME: env.dir });

  it('signs the build keyless, passes platform verify on the keyless identity, and stock cosign verifies it by identity', async () => {
    const target = keylessTarget('keyless');
    const started = await env.promote({ target, source: { directory: HELLO }, build: buildFacts() });
    const waiting = await waitForPromotion(env.client, started.promotionId, { until: atGateOrEnded });
    assert.equal(waiting.state, 'AWAITING_APPROVAL', `${waiting.error ?? ''} ${JSON.stringify(waiting.checks.filter((c) => !c.ok))}`);
    assert.equal(waiting.timeline.find((s) => s.step === 'dev-sign')?.detail, 'keyless (Fulcio certificate)');
    const check = (name: string) => waiting.checks.find((c) => c.name === name);
    for (const name of ['developerSignature', 'provenanceAttestation', 'sbomAttestation']) {
      assert.equal(check(name)?.ok, true, name);
      assert.ok(check(name)?.message.startsWith(`keyless, by ${SUBJECT} from http://127.0.0.1:`), check(name)?.message);
    }
    for (const name of ['keylessSource.repository', 'keylessSource.commit']) assert.equal(check(name)?.ok, true, `${name}: ${JSON.stringify(waiting.checks)}`);
    // The developer key signed nothing: the only developer evidence is the certificate's.
    const devPem = fs.readFileSync(path.join(env.keysDir, 'dev.pub'), 'utf8');
    assert.equal((await verifyImageSignatures(env.store, 'apps/keyless', started.digest, devPem)).valid, 0);

    await env.decideAs(started.promotionId, 'alice', 'approve', 'keyless build checked');
    const done = await waitForPromotion(env.client, started.promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);

    const image = `${env.stack.registry.address}/apps/keyless@${started.digest}`;
    const verified = await documented(verifyLine, image);
    assert.equal(verified.code, 0, verified.stderr);
    const attested = await documented(verifyAttestationLine, image);
    assert.equal(attested.code, 0, attested.stderr);
    // The production signature is the platform key's, as before.
    const prod = await bash(`cosign verify "$IMAGE" --key ${path.join(env.keysDir, 'platform.pub')} --insecure-ignore-tlog --allow-http-registry`, env.dir, { IMAGE: image, HOME: env.dir });
    assert.equal(prod.code, 0, prod.stderr);

    // Stock cosign refuses another identity, and another issuer.
    const otherSubject = await documented(verifyLine.replace('release.yml', 'hotfix.yml'), image);
    assert.notEqual(otherSubject.code, 0);
    assert.match(otherSubject.stderr, /no matching CertificateIdentity found, last error: expected SAN value "[^"]*hotfix\.yml@refs\/heads\/main", got "[^"]*release\.yml@refs\/heads\/main"/);
    const otherIssuer = await documented(verifyLine.replace(/--certificate-oidc-issuer-regexp '[^']+'/, '--certificate-oidc-issuer https://token.actions.githubusercontent.com'), image);
    assert.notEqual(otherIssuer.code, 0);
    assert.match(otherIssuer.stderr, /no matching CertificateIdentity found, last error: expected issuer value "https:\/\/token\.actions\.githubusercontent\.com", got "http:\/\/127\.0\.0\.1:\d+"/);
  });

  it('a target that trusts another identity refuses the certificate the worker got (IDENTITY_MISMATCH), and nothing is production-signed', async () => {
    const hotfix = SUBJECT.replace('release.yml', 'hotfix.yml');
    const target = keylessTarget('keyless-hotfix-only', [{ subject: hotfix, issuer: keyless.identities[0].issuer }]);
    const started = await env.promote({ target, source: { directory: HELLO }, build: buildFacts() });
    const done = await waitForPromotion(env.client, started.promotionId);
    assert.equal(done.state, 'REJECTED', done.error);
    // The status carries each check as the sealed report has it, its code included.
    const signature = done.checks.find((c) => c.name === 'developerSignature') as { ok: boolean; message: string; code?: string } | undefined;
    assert.equal(signature?.ok, false);
    assert.equal(signature?.code, 'IDENTITY_MISMATCH', signature?.message);
    assert.ok(!done.timeline.some((s) => s.step === 'approval'), 'no approval is asked');
    const platformPem = fs.readFileSync(path.join(env.keysDir, 'platform.pub'), 'utf8');
    assert.equal((await verifyImageSignatures(env.store, 'apps/keyless-hotfix-only', started.digest, platformPem)).valid, 0);
    // What the worker signed is genuine: stock cosign verifies it by the identity it has, not by the target's.
    const image = `${env.stack.registry.address}/apps/keyless-hotfix-only@${started.digest}`;
    assert.equal((await documented(verifyLine, image)).code, 0);
    assert.notEqual((await documented(verifyLine.replace('release.yml', 'hotfix.yml'), image)).code, 0);
  });
});
