/**
 * Admission controllers, offline with their own CLIs: the example ClusterImagePolicy in
 * examples/admission/policy-controller.yaml (platform signature, approval record with outcome
 * approved, and the verification summary, all required) run by sigstore policy-controller's tester
 * (v0.13.1, built from its module by scripts/toolchain.sh) against images countersign promoted in
 * each signatureFormat, the same policy with the developer key in place of the platform key, and an
 * image with the platform signature alone.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitForPromotion } from '../../src/client/promotions';
import type { SignatureFormat } from '../../src/cosign/formats';
import { signImageAs } from '../../src/cosign/verify-image';
import { FileSigner } from '../../src/keys/file-signer';
import { buildImageFromDirectory } from '../../src/oci/build';
import { locateTool } from '../../src/stack/tools';
import { TEST_PASSWORD, buildFacts, copyDir, startTestEnv, type TestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');
const POLICY = path.resolve(__dirname, '../../examples/admission/policy-controller.yaml');
const tester = locateTool('policy-tester');

/** What policy-controller's tester says of the matrix (docs/cosign-interop.md, Admission controllers). */
const ADMITTED: Record<SignatureFormat, boolean> = { legacy: true, bundle: false, both: true };

describe('the example admission policies against promoted images', { skip: tester ? false : 'policy-tester not installed (bash scripts/toolchain.sh policy-tester)' }, () => {
  let env: TestEnv;
  const refs = new Map<SignatureFormat, string>();
  before(async () => {
    env = await startTestEnv();
    await env.startWorker();
    for (const format of ['legacy', 'bundle', 'both'] as const) {
      const dir = await copyDir(HELLO, path.join(env.dir, `src-${format}`));
      await fs.writeFile(path.join(dir, 'VERSION'), `admission ${format}\n`);
      const target = env.targetWith({ repository: `${env.stack.registry.address}/apps/admit-${format}`, signatureFormat: format }, `admit-${format}`);
      const started = await env.promote({ target, source: { directory: dir }, build: buildFacts() });
      await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
      await env.decideAs(started.promotionId, 'bob', 'approve', 'admission');
      const done = await waitForPromotion(env.client, started.promotionId);
      assert.equal(done.state, 'PROMOTED', done.error);
      refs.set(format, `${target.repository}@${started.digest}`);
    }
  });
  after(async () => {
    await env?.close();
  });

  /** The example policy with a key pasted in, as a customer does. */
  async function policyWith(keyFile: string): Promise<string> {
    const pem = (await fs.readFile(keyFile, 'utf8')).trim().split('\n').join('\n          ');
    const file = path.join(env.dir, `policy-${path.basename(keyFile)}.yaml`);
    await fs.writeFile(file, (await fs.readFile(POLICY, 'utf8')).replaceAll('PLATFORM_PUBLIC_KEY', pem));
    return file;
  }

  const runTester = (policy: string, image: string) => spawnSync(tester!, ['--policy', policy, '--image', image], { encoding: 'utf8', env: { ...process.env, HOME: env.dir }, timeout: 120_000 });

  for (const format of ['legacy', 'bundle', 'both'] as const) {
    it(`policy-controller's tester ${ADMITTED[format] ? 'admits' : 'refuses'} a ${format} image with the platform key, and refuses it with the developer key`, async () => {
      const ref = refs.get(format)!;
      const admitted = runTester(await policyWith(path.join(env.keysDir, 'platform.pub')), ref);
      assert.equal(admitted.status === 0, ADMITTED[format], `${format}\n${admitted.stdout}\n${admitted.stderr}`);
      const wrong = runTester(await policyWith(path.join(env.keysDir, 'dev.pub')), ref);
      assert.notEqual(wrong.status, 0, `the developer key admitted it\n${wrong.stdout}`);
    });
  }

  it('a platform signature alone is not enough: the policy requires every authority (they are OR-ed otherwise)', async () => {
    const image = await buildImageFromDirectory(HELLO);
    for (const blob of [...image.layers, image.config]) await env.store.putBlob('apps/signed-only', blob);
    await env.store.putManifest('apps/signed-only', image.digest, image.manifest.data, image.manifest.descriptor.mediaType);
    await signImageAs('legacy', env.store, 'apps/signed-only', image.digest, await FileSigner.load(path.join(env.keysDir, 'platform.key'), TEST_PASSWORD));
    const refused = runTester(await policyWith(path.join(env.keysDir, 'platform.pub')), `${env.stack.registry.address}/apps/signed-only@${image.digest}`);
    assert.notEqual(refused.status, 0, refused.stdout);
  });
});
