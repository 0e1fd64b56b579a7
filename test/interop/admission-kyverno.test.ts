/**
 * The example Kyverno policies (examples/admission/kyverno-*.yaml) run by the Kyverno CLI v1.19.1
 * (`kyverno apply --registry`, offline against the test registry) on a Pod naming an image
 * countersign promoted in each signatureFormat, with the platform key pasted in, and again with the
 * developer key in its place. The toolchain builds the CLI (`npm test` runs it first); should a
 * checkout's tool cache lack it anyway, this file is reported as skipped with the reason, and with
 * COUNTERSIGN_REQUIRE_KYVERNO=1 (set by `npm run test:kyverno`) a missing binary fails instead.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitForPromotion } from '../../src/client/promotions';
import type { SignatureFormat } from '../../src/cosign/formats';
import { locateTool } from '../../src/stack/tools';
import { buildFacts, copyDir, startTestEnv, type TestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');
const EXAMPLES = path.resolve(__dirname, '../../examples/admission');
const kyverno = locateTool('kyverno');
const required = process.env.COUNTERSIGN_REQUIRE_KYVERNO === '1';

/** The matrix in docs/cosign-interop.md, Admission controllers: which format each policy admits. */
const ADMITTED: Record<string, Record<SignatureFormat, boolean>> = {
  'kyverno-clusterpolicy.yaml': { legacy: true, bundle: false, both: true },
  'kyverno-imagevalidatingpolicy.yaml': { legacy: false, bundle: true, both: true },
};

const SKIP = kyverno || required ? false : 'the Kyverno CLI is not in the tool cache: run `bash scripts/toolchain.sh kyverno` (or `npm run test:kyverno`)';

describe('the example Kyverno policies against promoted images', { skip: SKIP }, () => {
  let env: TestEnv;
  const refs = new Map<SignatureFormat, string>();
  before(async () => {
    assert.ok(kyverno, 'COUNTERSIGN_REQUIRE_KYVERNO=1 but the Kyverno CLI is not built (bash scripts/toolchain.sh kyverno)');
    env = await startTestEnv();
    await env.startWorker();
    for (const format of ['legacy', 'bundle', 'both'] as const) {
      const dir = await copyDir(HELLO, path.join(env.dir, `src-${format}`));
      await fs.writeFile(path.join(dir, 'VERSION'), `kyverno ${format}\n`);
      const target = env.targetWith({ repository: `${env.stack.registry.address}/apps/kyverno-${format}`, signatureFormat: format }, `kyverno-${format}`);
      const started = await env.promote({ target, source: { directory: dir }, build: buildFacts() });
      await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
      await env.decideAs(started.promotionId, 'bob', 'approve', 'kyverno');
      const done = await waitForPromotion(env.client, started.promotionId);
      assert.equal(done.state, 'PROMOTED', done.error);
      refs.set(format, `${target.repository}@${started.digest}`);
    }
  });
  after(async () => {
    await env?.close();
  });

  /** The example policy with a key pasted over each PLATFORM_PUBLIC_KEY, kept at its indentation, as a customer does. */
  async function policyWith(example: string, keyFile: string): Promise<string> {
    const pem = (await fs.readFile(keyFile, 'utf8')).trim().split('\n');
    const text = (await fs.readFile(path.join(EXAMPLES, example), 'utf8')).replace(/^( *)PLATFORM_PUBLIC_KEY$/gm, (_, indent: string) => pem.map((l) => indent + l).join('\n'));
    const file = path.join(env.dir, `${path.basename(keyFile)}-${example}`);
    await fs.writeFile(file, text);
    return file;
  }

  async function podWith(image: string): Promise<string> {
    const file = path.join(env.dir, `pod-${image.slice(-12)}.yaml`);
    await fs.writeFile(file, `apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n  namespace: default\nspec:\n  containers:\n    - name: app\n      image: ${image}\n`);
    return file;
  }

  const apply = (policy: string, pod: string) =>
    spawnSync(kyverno!, ['apply', policy, '--resource', pod, '--registry', '--remove-color', '--detailed-results'], { encoding: 'utf8', env: { ...process.env, HOME: env.dir }, timeout: 180_000 });

  for (const [example, admitted] of Object.entries(ADMITTED)) {
    for (const format of ['legacy', 'bundle', 'both'] as const) {
      it(`${example} ${admitted[format] ? 'admits' : 'refuses'} a ${format} image with the platform key, and refuses it with the developer key`, async () => {
        const pod = await podWith(refs.get(format)!);
        const run = apply(await policyWith(example, path.join(env.keysDir, 'platform.pub')), pod);
        assert.equal(run.status === 0, admitted[format], `${example} ${format}\n${run.stdout}\n${run.stderr}`);
        // Exit 0 alone would also be a policy that matched nothing (skipped): an admission is a rule that ran and passed.
        if (admitted[format]) assert.match(run.stdout, /pass: [1-9]\d*, fail: 0, warn: 0, error: 0, skip: 0/, run.stdout);
        else assert.match(run.stdout, /fail: [1-9]|error: [1-9]/, run.stdout);
        const wrong = apply(await policyWith(example, path.join(env.keysDir, 'dev.pub')), pod);
        assert.notEqual(wrong.status, 0, `the developer key admitted it\n${wrong.stdout}`);
        assert.match(wrong.stdout, /fail: [1-9]|error: [1-9]/, wrong.stdout);
      });
    }
  }
});
