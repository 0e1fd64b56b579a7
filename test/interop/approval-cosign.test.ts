/**
 * What a customer checks with stock cosign v3.1.2 and nothing of ours, after a promotion on a
 * real Temporal dev server, in each publishing format: the developer's signature and both of its
 * attestations (SLSA v1, SPDX) with the developer key, the production signature and the approval
 * record with the platform key. The customer commands in docs/cosign-interop.md ("Stock cosign
 * commands") run as printed on each promotion, and fail with the two keys swapped.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitForPromotion } from '../../src/client/promotions';
import type { SignatureFormat } from '../../src/cosign/formats';
import { referrersFallbackTag } from '../../src/cosign/referrers';
import { signBlob } from '../../src/cosign/blob';
import { FileSigner } from '../../src/keys/file-signer';
import { locateTool } from '../../src/stack/tools';
import { APPROVAL_PREDICATE_TYPE } from '../../workflows/approval-messages';
import { noServicesRootArgs } from '../support/cosign-v2';
import { TEST_PASSWORD, buildFacts, copyDir, startTestEnv, type TestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');
const DOC = path.resolve(__dirname, '../../docs/cosign-interop.md');
const cosign = locateTool('cosign');
const cosignV2 = locateTool('cosign-v2');

describe('stock cosign checks a promoted image', { skip: cosign ? false : 'cosign not installed (npm run toolchain)' }, () => {
  let env: TestEnv;
  before(async () => {
    env = await startTestEnv();
    await env.startWorker();
  });
  after(async () => {
    await env?.close();
  });

  const run = (args: string[], bin = cosign!) => spawnSync(bin, [...args, '--insecure-ignore-tlog=true', '--allow-http-registry'], { encoding: 'utf8', env: { ...process.env, HOME: env.dir } });
  const refs = new Map<SignatureFormat, string>();

  async function promote(format: SignatureFormat) {
    const dir = await copyDir(HELLO, path.join(env.dir, `src-${format}`));
    await fs.writeFile(path.join(dir, 'VERSION'), `${format}\n`);
    const target = env.targetWith({ repository: `${env.stack.registry.address}/apps/hello-${format}`, signatureFormat: format });
    const started = await env.promote({ target, source: { directory: dir }, build: buildFacts() });
    await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    await env.decideAs(started.promotionId, 'alice', 'approve', 'interop');
    const done = await waitForPromotion(env.client, started.promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);
    return `${target.repository}@${started.digest}`;
  }

  for (const format of ['legacy', 'bundle', 'both'] as const) {
    it(`${format}: cosign verify and verify-attestation accept every signature with the right key, and refuse the wrong one`, async () => {
      const ref = await promote(format);
      refs.set(format, ref);
      const key = (name: string) => path.join(env.keysDir, name);
      const accepted: Array<[string, string[]]> = [
        ['developer signature', ['verify', '--key', key('dev.pub'), ref]],
        ['production signature', ['verify', '--key', key('platform.pub'), ref]],
        ['SLSA provenance', ['verify-attestation', '--key', key('dev.pub'), '--type', 'slsaprovenance1', ref]],
        ['SPDX SBOM', ['verify-attestation', '--key', key('dev.pub'), '--type', 'spdxjson', ref]],
        ['approval record', ['verify-attestation', '--key', key('platform.pub'), '--type', APPROVAL_PREDICATE_TYPE, ref]],
      ];
      for (const [what, args] of accepted) {
        const r = run(args);
        assert.equal(r.status, 0, `${what}: cosign ${args.join(' ')}\n${r.stderr}`);
      }
      const approval = run(['verify-attestation', '--key', key('platform.pub'), '--type', APPROVAL_PREDICATE_TYPE, ref]);
      const envelope = JSON.parse(approval.stdout.trim().split('\n')[0]);
      const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
      assert.equal(statement.predicateType, APPROVAL_PREDICATE_TYPE);
      assert.deepEqual(statement.predicate.decisions.map((d: { approver: string }) => d.approver), ['alice']);
      assert.deepEqual(statement.predicate.policy, { groups: [{ name: 'approvers', members: ['alice', 'bob'], required: 1 }], vetoOnReject: true, deadlineMs: 3_600_000 }, 'the policy in force, pinned at start');

      const refused: Array<[string, string[]]> = [
        ['approval record by the developer key', ['verify-attestation', '--key', key('dev.pub'), '--type', APPROVAL_PREDICATE_TYPE, ref]],
        ['provenance by the platform key', ['verify-attestation', '--key', key('platform.pub'), '--type', 'slsaprovenance1', ref]],
        ['signature by an approver key', ['verify', '--key', key('alice.pub'), ref]],
      ];
      for (const [what, args] of refused) assert.notEqual(run(args).status, 0, `cosign accepted the ${what}`);

      const repository = ref.slice(ref.indexOf('/') + 1, ref.indexOf('@'));
      const tags = await env.store.listTags(repository);
      const digest = ref.slice(ref.indexOf('@') + 1);
      assert.equal(tags.includes(`${referrersFallbackTag(digest)}.sig`), format !== 'bundle', '.sig tag only where legacy is published');
      assert.equal(tags.includes(referrersFallbackTag(digest)), format !== 'legacy', 'referrers fallback index only where bundles are published');
    });
  }

  it('cosign v2 (2.6.3+, with --trusted-root) verifies every format; without a trusted root it reads legacy only', { skip: cosignV2 ? false : 'cosign v2 not installed (bash scripts/toolchain.sh cosign-v2)' }, () => {
    assert.equal(refs.size, 3, 'the promotions above ran');
    const key = (name: string) => path.join(env.keysDir, name);
    const root = noServicesRootArgs(env.dir);
    for (const format of ['legacy', 'bundle', 'both'] as const) {
      const ref = refs.get(format)!;
      for (const args of [
        ['verify', '--key', key('dev.pub'), ref],
        ['verify', '--key', key('platform.pub'), ref],
        ['verify-attestation', '--key', key('dev.pub'), '--type', 'slsaprovenance1', ref],
        ['verify-attestation', '--key', key('dev.pub'), '--type', 'spdxjson', ref],
        ['verify-attestation', '--key', key('platform.pub'), '--type', APPROVAL_PREDICATE_TYPE, ref],
      ]) {
        const r = run([...args, ...root], cosignV2!);
        assert.equal(r.status, 0, `${format}: cosign v2 ${args.join(' ')}\n${r.stderr}`);
      }
      assert.notEqual(run(['verify', '--key', key('alice.pub'), ref, ...root], cosignV2!).status, 0, 'cosign v2 refuses another key');
      const rootless = run(['verify', '--key', key('platform.pub'), ref], cosignV2!);
      if (format === 'legacy') assert.equal(rootless.status, 0, rootless.stderr);
      else assert.match(rootless.stderr, /trusted root is required when using new bundle format/, 'why the docs give --trusted-root');
    }
  });

  it('the stock cosign commands in docs/cosign-interop.md run as printed on every format, and fail with the keys swapped', async () => {
    assert.equal(refs.size, 3, 'the promotions above ran');
    const match = /<!-- stock-cosign-commands -->\n```bash\n([\s\S]*?)```/.exec(await fs.readFile(DOC, 'utf8'));
    assert.ok(match, 'docs/cosign-interop.md has the stock cosign commands');
    const blob = Buffer.from('a chart archive, as far as cosign can tell\n');
    const bundle = JSON.stringify(await signBlob(blob, await FileSigner.load(path.join(env.keysDir, 'platform.key'), TEST_PASSWORD)));
    const customer = async (name: string, image: string, platform: string, developer: string) => {
      const work = await fs.mkdtemp(path.join(env.dir, `${name}-`));
      await fs.writeFile(path.join(work, 'commands.sh'), match[1]!);
      await fs.copyFile(path.join(env.keysDir, platform), path.join(work, 'platform.pub'));
      await fs.copyFile(path.join(env.keysDir, developer), path.join(work, 'developer.pub'));
      await fs.writeFile(path.join(work, 'chart.tgz'), blob);
      await fs.writeFile(path.join(work, 'chart.tgz.bundle'), bundle);
      const environment = { PATH: `${path.dirname(cosign!)}:${process.env.PATH}`, HOME: env.dir, IMAGE: image, COSIGN_FLAGS: '--allow-http-registry' };
      return spawnSync('bash', ['-eo', 'pipefail', 'commands.sh'], { cwd: work, encoding: 'utf8', env: environment, timeout: 180_000 });
    };
    for (const [format, ref] of refs) {
      const ok = await customer(`stock-${format}`, ref, 'platform.pub', 'dev.pub');
      assert.equal(ok.status, 0, `${format}\n${ok.stdout}${ok.stderr}`);
      assert.match(ok.stderr, /Verified OK/);
      const swapped = await customer(`swapped-${format}`, ref, 'dev.pub', 'platform.pub');
      assert.notEqual(swapped.status, 0, `${format}: the developer key passed for the platform's`);
    }
  });
});
