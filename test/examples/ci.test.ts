/**
 * The CI templates in examples/ci: the script part of each (the GitHub step's env and run, the
 * GitLab job's variables and script) run as written, with the CI's values filled in, against a real
 * Temporal dev server, registry and worker, with stock cosign signing and attesting. The build step
 * itself (docker buildx) is not run: there is no Docker engine here, so the test pushes the image
 * with countersign's builder and hands its digest on as the build step would.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import YAML from 'yaml';
import { listPromotions } from '../../src/client/promotions';
import { writeKeyPair } from '../../src/keys/file-signer';
import { buildImageFromDirectory } from '../../src/oci/build';
import { buildAndPush } from '../../src/promotion/steps';
import { locateTool } from '../../src/stack/tools';
import { COMMIT, TEST_PASSWORD, copyDir, useTestEnv } from '../support/env';

const ROOT = path.resolve(__dirname, '../..');
const HELLO = path.join(ROOT, 'examples/hello');
const cosign = locateTool('cosign');
/** cosign against a plain-HTTP registry with no Rekor: what a private setup puts in COSIGN_EXTRA_FLAGS. */
const OFFLINE_FLAGS = '--tlog-upload=false --new-bundle-format=false --use-signing-config=false --allow-http-registry';
const BUILD_COMMAND = 'docker buildx build --push .';
const GITHUB_BUILDER = 'https://github.com/acme/hello/.github/workflows/promote.yml@refs/heads/main';
const GITLAB_BUILDER = 'https://gitlab.example/acme/hello/-/jobs';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('CI templates run against the real stack', { skip: cosign ? false : 'cosign not installed (npm run toolchain)' }, () => {
  const env = useTestEnv();
  let bin: string;
  let image = 0;

  before(async () => {
    env.targetWith(
      {
        repository: `${env.stack.registry.address}/apps/ci`,
        policy: { sourceRepo: 'https://github.com/acme/hello', builderIds: [GITHUB_BUILDER, GITLAB_BUILDER], buildCommand: BUILD_COMMAND, requireCommit: true },
      },
      'production',
    );
    // What the setup steps put on PATH: stock cosign and countersign's CLI.
    bin = path.join(env.dir, 'ci-bin');
    await fs.mkdir(bin, { recursive: true });
    await fs.symlink(cosign!, path.join(bin, 'cosign'));
    await fs.symlink(path.join(ROOT, 'bin/countersign'), path.join(bin, 'countersign'));
  });

  /** Stands in for the build step: an image pushed to the target's repository, by digest. */
  async function builtImage(): Promise<string> {
    const dir = await copyDir(HELLO, path.join(env.dir, `ci-build-${++image}`));
    await fs.writeFile(path.join(dir, 'VERSION'), `ci ${image}\n`);
    const built = await buildImageFromDirectory(dir);
    const location = { repository: `${env.stack.registry.address}/apps/ci`, digest: built.digest };
    await buildAndPush({ storeFor: () => env.store, env: {} }, dir, location);
    return `${location.repository}@${built.digest}`;
  }

  /** Runs a shell script in the repository (where examples/ci/ sits, as in a user's checkout), approving when asked. */
  async function runScript(script: string, vars: Record<string, string>, approve: boolean): Promise<Run> {
    const home = await fs.mkdtemp(path.join(env.dir, 'ci-home-'));
    const child = spawn('bash', ['-e', '-c', script], {
      cwd: ROOT,
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: home, ...vars },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (approve) {
      const id = await waitingPromotion(exited, () => stderr);
      await env.decideAs(id, 'alice', 'approve', 'CI build reviewed');
    }
    return { code: await exited, stdout, stderr };
  }

  async function waitingPromotion(exited: Promise<number | null>, log: () => string): Promise<string> {
    let done = false;
    void exited.then(() => (done = true));
    for (;;) {
      const waiting = await listPromotions(env.client, { state: 'AWAITING_APPROVAL', target: 'production' });
      if (waiting.length > 0) return waiting[0].promotionId;
      if (done) assert.fail(`the CI script ended before reaching the gate:\n${log()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  function secretsAndVars(initiatorKey: string): Record<string, string> {
    return {
      'secrets.COSIGN_KEY_FILE': path.join(env.keysDir, 'dev.key'),
      'secrets.COSIGN_PASSWORD': TEST_PASSWORD,
      'secrets.COUNTERSIGN_KEY_FILE': initiatorKey,
      'secrets.COUNTERSIGN_KEY_PASSWORD': TEST_PASSWORD,
      'vars.COUNTERSIGN_BUILD_COMMAND': BUILD_COMMAND,
      'vars.COSIGN_EXTRA_FLAGS': OFFLINE_FLAGS,
      'vars.COUNTERSIGN_TARGET': 'production',
      'vars.COUNTERSIGN_INITIATOR': 'ci',
      'vars.TEMPORAL_ADDRESS': env.stack.temporal.address,
      'vars.TEMPORAL_NAMESPACE': 'default',
    };
  }

  async function github(reference: string, initiatorKey: string, approve: boolean): Promise<Run> {
    const workflow = YAML.parse(await fs.readFile(path.join(ROOT, 'examples/ci/github-actions.yml'), 'utf8')) as {
      jobs: Record<string, { steps: Array<{ name?: string; id?: string; env?: Record<string, string>; run?: string }> }>;
    };
    const steps = workflow.jobs['build-and-promote'].steps;
    assert.ok(steps.some((s) => s.id === 'build'), 'a build step with id build');
    const step = steps.find((s) => s.name === 'sign, attest and promote');
    assert.ok(step?.run && step.env);
    const context: Record<string, string> = {
      'github.repository': 'acme/hello',
      'github.sha': COMMIT,
      'github.workflow_ref': 'acme/hello/.github/workflows/promote.yml@refs/heads/main',
      'github.run_id': '4242',
      'steps.build.outputs.digest': reference.split('@')[1],
      ...secretsAndVars(initiatorKey),
    };
    const vars = Object.fromEntries(
      Object.entries(step.env).map(([name, value]) => [
        name,
        String(value).replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expr: string) => {
          assert.ok(expr in context, `the test gives a value for \${{ ${expr} }}`);
          return context[expr];
        }),
      ]),
    );
    // GitHub's registry stands for the test registry: the image is the one the build pushed.
    assert.equal(vars.IMAGE, `ghcr.io/acme/hello@${reference.split('@')[1]}`);
    vars.IMAGE = reference;
    return runScript(step.run, vars, approve);
  }

  async function gitlab(reference: string, initiatorKey: string, approve: boolean): Promise<Run> {
    const pipeline = YAML.parse(await fs.readFile(path.join(ROOT, 'examples/ci/gitlab-ci.yml'), 'utf8')) as Record<string, { variables?: Record<string, string>; script?: string[]; needs?: string[] }>;
    const job = pipeline.promote;
    assert.deepEqual(job.needs, ['build']);
    const fromProject = Object.fromEntries(Object.entries(secretsAndVars(initiatorKey)).map(([k, v]) => [k.replace(/^(secrets|vars)\./, '').replace(/^COSIGN_KEY_FILE$/, 'COSIGN_KEY_FILE'), v]));
    const predefined: Record<string, string> = {
      CI_PROJECT_URL: 'https://github.com/acme/hello',
      CI_COMMIT_SHA: COMMIT,
      CI_SERVER_URL: 'https://gitlab.example',
      CI_PROJECT_PATH: 'acme/hello',
      CI_JOB_URL: 'https://gitlab.example/acme/hello/-/jobs/77',
      // The build job's dotenv artifact.
      IMAGE: reference,
      ...fromProject,
    };
    // GitLab expands $NAME in a job's variables from the predefined and project variables.
    const vars: Record<string, string> = { ...predefined };
    for (const [name, value] of Object.entries(job.variables ?? {})) {
      vars[name] = String(value).replace(/\$([A-Z_][A-Z0-9_]*)/g, (_, ref: string) => {
        assert.ok(ref in predefined, `the test gives a value for $${ref}`);
        return predefined[ref];
      });
    }
    return runScript((job.script ?? []).join('\n'), vars, approve);
  }

  it('GitHub Actions: signs and attests with cosign, promotes with a signed start request, waits: PROMOTED', async () => {
    const reference = await builtImage();
    const run = await github(reference, path.join(env.keysDir, 'ci.key'), true);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /state:\s+PROMOTED/);
    assert.equal((await env.store.getManifest('apps/ci', 'prod'))?.digest, reference.split('@')[1]);
  });

  it('GitLab CI: the same, from the job variables and script: PROMOTED', async () => {
    const reference = await builtImage();
    const run = await gitlab(reference, path.join(env.keysDir, 'ci.key'), true);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /state:\s+PROMOTED/);
    assert.equal((await env.store.getManifest('apps/ci', 'prod'))?.digest, reference.split('@')[1]);
  });

  it('a pipeline holding a key the worker does not list for its initiator is refused (exit 7), nothing is signed', async () => {
    await writeKeyPair(path.join(env.dir, 'stolen'), 'ci', TEST_PASSWORD);
    const reference = await builtImage();
    const run = await gitlab(reference, path.join(env.dir, 'stolen', 'ci.key'), false);
    assert.equal(run.code, 7, run.stderr + run.stdout);
    assert.match(run.stdout + run.stderr, /REFUSED|refused/);
  });

  it('an image given by tag is refused by the script before anything is signed', async () => {
    const run = await runScript('bash examples/ci/sign-attest-promote.sh', { IMAGE: `${env.stack.registry.address}/apps/ci:latest`, SOURCE_REPO: 'x', COMMIT, BUILD_COMMAND: 'x', BUILDER_ID: 'x', COUNTERSIGN_TARGET: 'production', COUNTERSIGN_INITIATOR: 'ci', COUNTERSIGN_KEY: 'x', TEMPORAL_ADDRESS: env.stack.temporal.address }, false);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /IMAGE must name a digest/);
  });
});
