import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { loadConfig, type Config } from '../../src/config';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main';
import { WorkflowNotFoundError } from '@temporalio/client';
import { buildImageFromDirectory } from '../../src/oci/build';
import { promotionWorkflowId } from '../../src/promotion/id';
import { runCli } from '../support/cli';
import { BUILD_COMMAND, BUILDER_ID, COMMIT, DEV_PASSWORD_ENV, PLATFORM_PASSWORD_ENV, SOURCE_REPO, TEST_PASSWORD, copyDir, startTestEnv, type TestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');

describe('countersign CLI against a real stack', () => {
  let env: TestEnv;
  let stopWorker: () => Promise<void>;
  let configFile: string;
  let cliEnv: NodeJS.ProcessEnv;

  const key = (name: string) => path.join(env.keysDir, `${name}.key`);
  const facts = ['--source-repo', SOURCE_REPO, '--commit', COMMIT, '--build-command', BUILD_COMMAND, '--builder-id', BUILDER_ID];
  /** Who starts which target, with which key: what a CI job passes to promote besides the facts. */
  const as = (target: string) => ['--target', target, '--as', 'ci', '--key', key('ci')];
  let workerConfig: Config;
  const variant = async (name: string) => {
    const dir = await copyDir(HELLO, path.join(env.dir, name));
    await fs.writeFile(path.join(dir, 'VERSION'), `${name}\n`);
    return dir;
  };

  before(async () => {
    env = await startTestEnv();
    configFile = path.join(env.dir, 'countersign.yaml');
    const target = (over: Record<string, unknown> = {}) => ({
      repository: 'apps/cli',
      sources: ['.'],
      policy: { sourceRepo: SOURCE_REPO, builderIds: [BUILDER_ID], buildCommand: BUILD_COMMAND },
      approval: { approvers: ['alice', 'bob'], deadline: '1h' },
      ...over,
    });
    const platform = { key: 'keys/platform.key', publicKey: 'keys/platform.pub', passwordEnv: PLATFORM_PASSWORD_ENV };
    // The worker's configuration: the targets each case promotes to, and who may start them.
    await fs.writeFile(
      configFile,
      YAML.stringify({
        registry: env.stack.registry.address,
        approvers: { alice: { publicKey: 'keys/alice.pub' }, bob: { publicKey: 'keys/bob.pub' } },
        initiators: { ci: { publicKey: 'keys/ci.pub', targets: ['*'] } },
        keys: { developer: { key: 'keys/dev.key', publicKey: 'keys/dev.pub', passwordEnv: DEV_PASSWORD_ENV }, platform },
        targets: {
          prod: target(),
          expiring: target({ approval: { approvers: ['alice', 'bob'], deadline: '3s' } }),
          reopenable: target({ approval: { approvers: ['alice', 'bob'], deadline: '1h', reopen: ['alice'] } }),
          'missing-key': target({ keys: { platform: { ...platform, key: 'keys/nope.key' } } }),
          'wrong-pw': target({ keys: { platform: { ...platform, passwordEnv: 'COUNTERSIGN_TEST_WRONG_PASSWORD' } } }),
        },
      }),
    );
    workerConfig = loadConfig(configFile);
    stopWorker = await env.startWorker({ config: workerConfig });
    cliEnv = {
      TEMPORAL_ADDRESS: env.stack.temporal.address,
      COUNTERSIGN_CONFIG: configFile,
      COUNTERSIGN_HOME: path.join(env.dir, 'home'),
      COUNTERSIGN_APPROVER_KEY_PASSWORD: TEST_PASSWORD,
    };
  });
  after(async () => {
    await stopWorker?.();
    await env?.close();
  });

  it('prints help for the tool and for each command', async () => {
    const top = await runCli(['--help']);
    assert.equal(top.code, 0);
    for (const name of ['promote', 'status', 'list', 'approve', 'reject', 'keys generate', 'dev up', 'dev down', 'demo']) assert.match(top.stdout, new RegExp(`\\b${name}\\b`));
    const promote = await runCli(['promote', '--help']);
    assert.equal(promote.code, 0);
    assert.match(promote.stdout, /--source-repo VALUE/);
    assert.match(promote.stdout, /--json/);
  });

  it('lists the commands of a group with --help, and exits 2 without one', async () => {
    const help = await runCli(['keys', '--help']);
    assert.equal(help.code, 0, help.stderr);
    for (const name of ['keys generate', 'keys ceremony', 'keys revoke', 'keys schedule-rotation']) assert.match(help.stdout, new RegExp(`\\b${name}\\b`));
    const bare = await runCli(['dev']);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /give a dev command[\s\S]*dev up/);
    const unknown = await runCli(['keys', 'frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown keys command "frobnicate"/);
  });

  it('exits 2 on an unknown command or flag', async () => {
    const unknown = await runCli(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^unknown command "frobnicate"/);
    const bad = await runCli(['status', '--bogus']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Unknown option '--bogus'/);
    const none = await runCli([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^countersign: promote software artifacts[\s\S]*Usage: countersign <command>/);
  });

  it('promotes with --wait, then status, list and approve work with --json', async () => {
    const dir = await variant('cli-happy');
    const started = await runCli(['promote', '--dir', dir, ...as('prod'), ...facts, '--json'], cliEnv);
    assert.equal(started.code, 0, started.stderr);
    const { promotionId, digest } = JSON.parse(started.stdout);
    assert.match(promotionId, /^promote-prod-[0-9a-f]{16}$/);

    let status;
    for (let i = 0; i < 100; i++) {
      status = JSON.parse((await runCli(['status', promotionId, '--json'], cliEnv)).stdout);
      if (status.state === 'AWAITING_APPROVAL') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status.state, 'AWAITING_APPROVAL');

    const waiting = JSON.parse((await runCli(['list', '--state', 'awaiting_approval', '--json'], cliEnv)).stdout);
    assert.ok(waiting.some((p: { promotionId: string }) => p.promotionId === promotionId), 'list filters by state through search attributes');

    const impostor = await runCli(['approve', promotionId, '--as', 'bob', '--key', key('alice')], cliEnv);
    assert.equal(impostor.code, 7);
    assert.match(impostor.stderr, /the signature does not verify with bob's roster key/);
    const noKey = await runCli(['approve', promotionId, '--as', 'alice'], cliEnv);
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /--key is required/);

    // A second trigger while it waits attaches to it (once it has ended, a trigger starts a new run):
    // approve only when the CLI says it attached.
    const stderr = new PassThrough();
    let said = '';
    const saidAttached = new Promise<void>((resolve) => stderr.on('data', (c) => ((said += String(c)), /attached to promote-prod-/.test(said) && resolve())));
    const out: Buffer[] = [];
    const stdout = new PassThrough().on('data', (c) => out.push(c));
    const attached = main(['promote', '--dir', dir, ...as('prod'), ...facts, '--wait'], { stdout, stderr, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...cliEnv } });
    await saidAttached;
    const approved = await runCli(['approve', promotionId, '--as', 'alice', '--key', key('alice'), '--reason', 'ok'], cliEnv);
    assert.equal(approved.code, 0, approved.stderr);

    const waited = { code: await attached, stdout: Buffer.concat(out).toString('utf8') };
    assert.equal(waited.code, 0, said);
    assert.match(waited.stdout, /state:\s+PROMOTED/);
    assert.match(waited.stdout, /\[ok\] prod-sign/);

    const byTarget = JSON.parse((await runCli(['list', '--target', 'prod', '--state', 'PROMOTED', '--json'], cliEnv)).stdout);
    assert.ok(byTarget.some((p: { digest: string }) => p.digest === digest));
    const human = await runCli(['status', promotionId], cliEnv);
    assert.match(human.stdout, /timeline:/);
  });

  it('reject needs a reason and exits 4 once the promotion is rejected', async () => {
    const dir = await variant('cli-reject');
    const { promotionId } = JSON.parse((await runCli(['promote', '--dir', dir, ...as('prod'), ...facts, '--json'], cliEnv)).stdout);
    const noReason = await runCli(['reject', promotionId, '--as', 'bob', '--key', key('bob')], cliEnv);
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /--reason/);
    for (let i = 0; i < 100; i++) {
      const s = JSON.parse((await runCli(['status', promotionId, '--json'], cliEnv)).stdout);
      if (s.state === 'AWAITING_APPROVAL') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await runCli(['reject', promotionId, '--as', 'bob', '--key', key('bob'), '--reason', 'not today'], cliEnv)).code, 0);
    let status;
    for (let i = 0; i < 100; i++) {
      status = await runCli(['status', promotionId], cliEnv);
      if (/REJECTED/.test(status.stdout)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status!.code, 4);
    assert.match(status!.stdout, /REJECTED: rejected by bob: not today/);
  });

  it('a rejection stands until re-opened: promote again exits 7 naming reopen; reopen signs it; promote --reopen runs again', async () => {
    const dir = await variant('cli-reopen');
    const awaitState = async (id: string, state: string) => {
      for (let i = 0; i < 150; i++) {
        const s = JSON.parse((await runCli(['status', id, '--json'], cliEnv)).stdout);
        if (s.state === state) return s;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail(`${id} never reached ${state}`);
    };
    const first = await runCli(['promote', '--dir', dir, ...as('reopenable'), ...facts, '--json'], cliEnv);
    assert.equal(first.code, 0, first.stderr);
    const { promotionId } = JSON.parse(first.stdout);
    await awaitState(promotionId, 'AWAITING_APPROVAL');
    assert.equal((await runCli(['reject', promotionId, '--as', 'bob', '--key', key('bob'), '--reason', 'wrong base image'], cliEnv)).code, 0);
    await awaitState(promotionId, 'REJECTED');

    const again = await runCli(['promote', '--dir', dir, ...as('reopenable'), ...facts], cliEnv);
    assert.equal(again.code, 7, again.stderr);
    assert.match(again.stderr, /REJECTED_BEFORE: .*a new run needs a signed re-open by one of alice \(countersign reopen promote-reopenable-/);

    const file = path.join(env.dir, 'reopen.json');
    const noReason = await runCli(['reopen', promotionId, '--as', 'alice', '--key', key('alice')], cliEnv);
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /--reason is required/);
    const reopened = await runCli(['reopen', promotionId, '--as', 'alice', '--key', key('alice'), '--reason', 'base image rebuilt', '--output', file], cliEnv);
    assert.equal(reopened.code, 0, reopened.stderr);
    assert.match(reopened.stderr, /--reopen /);
    const rerun = await runCli(['promote', '--dir', dir, ...as('reopenable'), ...facts, '--reopen', file, '--json'], cliEnv);
    assert.equal(rerun.code, 0, rerun.stderr);
    const status = await awaitState(promotionId, 'AWAITING_APPROVAL');
    assert.deepEqual({ reopener: status.reopenedBy.reopener, reason: status.reopenedBy.reason }, { reopener: 'alice', reason: 'base image rebuilt' });
    const human = await runCli(['status', promotionId], cliEnv);
    assert.match(human.stdout, /re-opened: +by alice after run .*: base image rebuilt/);
    assert.match(human.stdout, /started by: ci \(signed start request\)/);
    // The same re-open cannot open a second door.
    assert.equal((await runCli(['reject', promotionId, '--as', 'bob', '--key', key('bob'), '--reason', 'still no'], cliEnv)).code, 0);
    await awaitState(promotionId, 'REJECTED');
    const reused = await runCli(['promote', '--dir', dir, ...as('reopenable'), ...facts, '--reopen', file], cliEnv);
    assert.equal(reused.code, 7, reused.stderr);
    assert.match(reused.stderr, /REQUEST_INVALID: the re-open names run .*, but the rejected run is /);
  });

  it('promote --wait shows each step as it happens, ends EXPIRED with exit 5, and status shows times and the error', async () => {
    const waited = await runCli(['promote', '--dir', await variant('cli-expire'), ...as('expiring'), ...facts, '--wait'], cliEnv);
    assert.equal(waited.code, 5, waited.stderr);
    for (const step of ['authorize', 'keys', 'build', 'attest', 'dev-sign', 'platform-verify']) assert.match(waited.stderr, new RegExp(`^  ${step} succeeded`, 'm'), `progress line for ${step}`);
    assert.match(waited.stderr, /^ {2}approval expired/m);
    assert.match(waited.stdout, /state:\s+EXPIRED/);
    assert.match(waited.stdout, /error:\s+EXPIRED: expired at /);
    // The timeline: a mark, the step, its status, the start time and how long it took.
    assert.match(waited.stdout, /^ {2}\[ok\] build +succeeded +\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z +[\d.]+m?s +4 files -> sha256:/m);
    assert.match(waited.stdout, /^ {2}\[TO\] approval +expired +\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z +\d+s +expired at /m);
    const promotionId = /promotion (promote-expiring-[0-9a-f]{16})/.exec(waited.stdout)?.[1];
    assert.ok(promotionId, waited.stdout);
    const status = await runCli(['status', promotionId], cliEnv);
    assert.equal(status.code, 5);
    assert.match(status.stdout, /state:\s+EXPIRED/);
  });

  describe('bad input changes nothing', () => {
    it('unknown promotion id -> exit 3', async () => {
      const r = await runCli(['status', 'promote-prod-ffffffffffffffff'], cliEnv);
      assert.equal(r.code, 3);
      assert.match(r.stderr, /UNKNOWN_PROMOTION: no promotion with id "promote-prod-ffffffffffffffff"/);
      const approve = await runCli(['approve', 'promote-prod-ffffffffffffffff', '--as', 'alice', '--key', key('alice')], cliEnv);
      assert.equal(approve.code, 3);
      assert.match(approve.stderr, /UNKNOWN_PROMOTION: no promotion with id "promote-prod-ffffffffffffffff"/);
      // approve serves chart releases too: an unknown chart release id is named as one.
      const chart = await runCli(['approve', 'chart-charts/demo-0.1.0-ffffffffffffffff', '--as', 'alice', '--key', key('alice')], cliEnv);
      assert.equal(chart.code, 3);
      assert.match(chart.stderr, /UNKNOWN_PROMOTION: no chart release with id "chart-charts\/demo-0\.1\.0-ffffffffffffffff"/);
    });

    it('malformed image reference and a tag without digest are refused before anything starts', async () => {
      const bad = await runCli(['promote', '--image', 'Not A Ref!!', ...as('prod')], cliEnv);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /BAD_REFERENCE/);
      const tagOnly = await runCli(['promote', '--image', `${env.stack.registry.address}/apps/cli:latest`, ...as('prod')], cliEnv);
      assert.equal(tagOnly.code, 2);
      assert.match(tagOnly.stderr, /has no digest; a tag is never trusted/);
    });

    it('missing flags, both sources, a bad commit and an unknown target are named', async () => {
      const dir = await variant('cli-bad');
      // The promotion each of these would have been, by the id the CLI derives from the build's digest.
      const { digest } = await buildImageFromDirectory(dir);
      const missing = await runCli(['promote', '--dir', dir, ...as('prod'), '--json'], cliEnv);
      assert.equal(missing.code, 2);
      const error = JSON.parse(missing.stdout).error;
      assert.equal(error.code, 'BAD_INPUT');
      for (const flag of ['--source-repo', '--builder-id', '--build-command', '--commit']) assert.ok(error.message.includes(flag), `${flag} named`);
      const both = await runCli(['promote', '--dir', dir, '--image', 'x', ...as('prod'), ...facts], cliEnv);
      assert.equal(both.code, 2);
      assert.match(both.stderr, /BAD_INPUT: give exactly one of --dir or --image/);
      const noTarget = await runCli(['promote', '--dir', dir, ...facts], cliEnv);
      assert.equal(noTarget.code, 2);
      assert.match(noTarget.stderr, /BAD_INPUT: --target is required/);
      const commit = await runCli(['promote', '--dir', dir, ...as('prod'), ...facts.slice(0, 2), '--commit', 'zzz', ...facts.slice(4)], cliEnv);
      assert.equal(commit.code, 2);
      assert.match(commit.stderr, /BAD_INPUT: --commit "zzz" is not a hex commit id/);
      await assert.rejects(env.client.workflow.getHandle(promotionWorkflowId('prod', digest)).describe(), WorkflowNotFoundError, 'no promotion was started');

      // The target is the worker's to know: it refuses the signed request, exit 7, and nothing runs.
      const target = await runCli(['promote', '--dir', dir, ...as('staging'), ...facts], cliEnv);
      assert.equal(target.code, 7, target.stderr);
      assert.match(target.stderr, /UNKNOWN_TARGET: no target "staging" in the worker's configuration/);
      const refused = JSON.parse((await runCli(['status', promotionWorkflowId('staging', digest), '--json'], cliEnv)).stdout);
      assert.equal(refused.state, 'REFUSED');
      assert.deepEqual(refused.timeline.map((t: { step: string; status: string }) => `${t.step}:${t.status}`), ['authorize:failed']);
      assert.equal(await env.store.getManifest('apps/cli', digest), undefined, 'nothing was built');
    });

    it('a missing key file fails the first step: nothing is built or signed', async () => {
      const r = await runCli(['promote', '--dir', await variant('cli-missing-key'), ...as('missing-key'), ...facts, '--wait', '--json'], cliEnv);
      assert.equal(r.code, 6);
      const final = JSON.parse(r.stdout);
      assert.equal(final.state, 'FAILED');
      assert.deepEqual(final.timeline.map((t: { step: string; status: string }) => `${t.step}:${t.status}`), ['authorize:succeeded', 'keys:failed']);
      assert.match(final.error, /KEY_MISSING: .*nope.key/);
      assert.equal(await env.store.getManifest('apps/cli', final.digest), undefined, 'nothing was pushed');
    });

    it('a wrong passphrase in the worker fails the first step, names the variable, and nothing is built or signed', async () => {
      env.workerEnv.COUNTERSIGN_TEST_WRONG_PASSWORD = 'not-the-passphrase';
      const r = await runCli(['promote', '--dir', await variant('cli-wrong-pw'), ...as('wrong-pw'), ...facts, '--wait', '--json'], cliEnv);
      assert.equal(r.code, 6);
      const final = JSON.parse(r.stdout);
      assert.deepEqual(final.timeline.map((t: { step: string; status: string }) => `${t.step}:${t.status}`), ['authorize:succeeded', 'keys:failed']);
      assert.match(final.error, /KEY_WRONG_PASSPHRASE: .*platform\.key: cannot decrypt the private key: wrong passphrase.*read from \$COUNTERSIGN_TEST_WRONG_PASSWORD/);
      assert.ok(!r.stdout.includes('not-the-passphrase') && !r.stderr.includes('not-the-passphrase'), 'the passphrase itself is never shown');
      assert.equal(await env.store.getManifest('apps/cli', final.digest), undefined, 'nothing was pushed');
    });

    it('a worker refuses to start on a bad configuration, listing every problem', async () => {
      const broken = path.join(env.dir, 'broken.yaml');
      await fs.writeFile(broken, YAML.stringify({ targets: { prod: { repository: 'apps/x', approval: { approvers: ['zed'], deadline: 'soon' }, policy: {} } } }));
      const r = await runCli(['worker', '--config', broken], cliEnv);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /zed is not in the approvers roster/);
      for (const field of ['policy.sourceRepo', 'policy.builderIds', 'approval.deadline', 'keys.developer']) {
        assert.ok(r.stderr.includes(field), `${field} reported in: ${r.stderr}`);
      }
    });

    it('an image outside the target\'s repository is refused; a missing image fails its first registry step, nothing signed, with or without --wait', async () => {
      const elsewhere = await runCli(['promote', '--image', `127.0.0.1:1/apps/cli@sha256:${'1'.repeat(64)}`, ...as('prod'), '--commit', COMMIT], cliEnv);
      assert.equal(elsewhere.code, 7, elsewhere.stderr);
      assert.match(elsewhere.stderr, /IMAGE_OUTSIDE_TARGET: 127.0.0.1:1\/apps\/cli is not target prod's repository/);
      const flags = await runCli(['promote', '--image', `${env.stack.registry.address}/apps/cli@sha256:${'0'.repeat(64)}`, ...as('prod'), ...facts], cliEnv);
      assert.equal(flags.code, 2);
      assert.match(flags.stderr, /describe a directory build; an image's own provenance is the evidence/);
      const missing = `${env.stack.registry.address}/apps/cli@sha256:${'0'.repeat(64)}`;
      const gone = await runCli(['promote', '--image', missing, ...as('prod'), '--commit', COMMIT, '--wait', '--json'], cliEnv);
      assert.equal(gone.code, 6, gone.stderr);
      assert.match(JSON.parse(gone.stdout).error, /MANIFEST_UNKNOWN: image .* does not exist/);
      // Without --wait the answer comes at the gate, so a run that failed before it exits 6 too, not 0.
      const goneNoWait = await runCli(['promote', '--image', missing, ...as('prod'), '--commit', COMMIT, '--json'], cliEnv);
      assert.equal(goneNoWait.code, 6, goneNoWait.stderr);
      assert.equal(JSON.parse(goneNoWait.stdout).state, 'FAILED');
    });

    it('Temporal unreachable -> exit 10 with the address', async () => {
      const r = await runCli(['list'], { ...cliEnv, TEMPORAL_ADDRESS: '127.0.0.1:1' });
      assert.equal(r.code, 10);
      assert.match(r.stderr, /cannot reach Temporal at 127.0.0.1:1/);
    });

    it('a wrong platform passphrase fails the promotion before anything is signed', async () => {
      const stop = stopWorker;
      await stop();
      stopWorker = async () => undefined;
      const wrongEnv = { ...env.workerEnv, [PLATFORM_PASSWORD_ENV]: `${TEST_PASSWORD}-wrong` };
      const { createWorker } = await import('../../workers/worker');
      const { worker, close } = await createWorker({ address: env.stack.temporal.address, env: wrongEnv, config: workerConfig });
      const running = worker.run();
      try {
        const dir = await variant('cli-wrong-pass');
        const { digest } = JSON.parse((await runCli(['promote', '--dir', dir, ...as('prod'), ...facts, '--json'], cliEnv)).stdout);
        const waited = await runCli(['promote', '--dir', dir, ...as('prod'), ...facts, '--wait', '--json'], cliEnv);
        assert.equal(waited.code, 6);
        const final = JSON.parse(waited.stdout);
        assert.equal(final.state, 'FAILED');
        assert.match(final.error, /KEY_WRONG_PASSPHRASE/);
        assert.equal(final.timeline[1].step, 'keys');
        assert.equal(final.timeline.length, 2, 'no later step ran');
        assert.ok(!final.error.includes(TEST_PASSWORD), 'the passphrase is not in the error');
        const platformPem = await fs.readFile(path.join(env.keysDir, 'platform.pub'), 'utf8');
        assert.equal((await verifyImageSignatures(env.store, 'apps/cli', digest, platformPem)).valid, 0);
        assert.equal(await env.store.getManifest('apps/cli', digest), undefined, 'not even built');
      } finally {
        worker.shutdown();
        await running;
        await close();
        stopWorker = await env.startWorker({ config: workerConfig });
      }
    });
  });
});
