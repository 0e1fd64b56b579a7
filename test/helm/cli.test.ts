import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { keyInfo, readKeyring } from '../../src/helm/pgp-key';
import { runCli } from '../support/cli';
import { DEMO_DIR, DEMO_FILE, TEST_KEY_PASSPHRASE, VECTORS, tempDir } from './helpers';

const HELM_SUBCOMMANDS = ['package', 'sign', 'verify', 'keygen', 'repo-index', 'release'];

test('countersign helm package, sign, verify and repo-index', async () => {
  const out = await tempDir();
  const pkg = await runCli(['helm', 'package', DEMO_DIR, '--destination', out, '--json']);
  assert.equal(pkg.code, 0, pkg.stderr);
  const tgz = path.join(out, DEMO_FILE);
  assert.equal(JSON.parse(pkg.stdout).file, tgz);

  const env = { COUNTERSIGN_PGP_PASSPHRASE: TEST_KEY_PASSPHRASE };
  const signed = await runCli(['helm', 'sign', tgz, '--key', path.join(VECTORS, 'test-key.asc')], env);
  assert.equal(signed.code, 0, signed.stderr);
  await fs.access(`${tgz}.prov`);

  const verified = await runCli(['helm', 'verify', tgz, '--keyring', path.join(VECTORS, 'keyring.gpg'), '--json']);
  assert.equal(verified.code, 0, verified.stderr);
  assert.equal(JSON.parse(verified.stdout).ok, true);

  const armored = await runCli(['helm', 'verify', tgz, '--keyring', path.join(VECTORS, 'keyring.asc'), '--json']);
  assert.equal(armored.code, 1);
  assert.equal(JSON.parse(armored.stdout).error.code, 'KEYRING_ARMORED');
  assert.equal((await runCli(['helm', 'verify', tgz, '--keyring', path.join(VECTORS, 'keyring.asc'), '--allow-armored-keyring'])).code, 0);

  await fs.appendFile(tgz, Buffer.from([0]));
  const tampered = await runCli(['helm', 'verify', tgz, '--keyring', path.join(VECTORS, 'keyring.gpg')]);
  assert.equal(tampered.code, 1);
  assert.match(tampered.stderr, /PROVENANCE_DIGEST_MISMATCH/);

  const wrongPass = await runCli(['helm', 'sign', tgz, '--key', path.join(VECTORS, 'test-key.asc')], { COUNTERSIGN_PGP_PASSPHRASE: 'nope' });
  assert.equal(wrongPass.code, 1);
  assert.match(wrongPass.stderr, /KEY_WRONG_PASSPHRASE/);

  const repo = await runCli(['helm', 'repo-index', out, '--url', 'https://charts.example.com', '--json']);
  assert.equal(repo.code, 0, repo.stderr);
  assert.deepEqual(JSON.parse(repo.stdout).charts.map((c: { name: string; hasProvenance: boolean }) => [c.name, c.hasProvenance]), [['demo', true]]);
  assert.match(await fs.readFile(path.join(out, 'index.yaml'), 'utf8'), /https:\/\/charts.example.com\/demo-1.2.3.tgz/);
});

test('every helm command has --help, each option text starting in the help column', async () => {
  for (const sub of HELM_SUBCOMMANDS) {
    const help = await runCli(['helm', sub, '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, new RegExp(`Usage: countersign helm ${sub}`));
    const lines = help.stdout.split('\n');
    const first = lines.indexOf('Options:') + 1;
    const end = lines.indexOf('', first);
    for (let i = first; i < (end === -1 ? lines.length : end); i++) {
      const line = lines[i]!;
      const flag = /^\s+(?:-\w, )?--[\w-]+(?: VALUE)?/.exec(line)?.[0];
      // A flag too wide for the column has its text alone on the next line, at the column.
      if (flag !== undefined && line === flag) assert.match(lines[++i] ?? '', /^ {32}\S/, `helm ${sub}: ${line}`);
      else assert.ok(flag !== undefined && /^.{31} \S/.test(line) && line.slice(0, 32).trimEnd() === flag, `helm ${sub}: option line runs together or is misaligned: ${JSON.stringify(line)}`);
    }
  }
  const release = await runCli(['helm', 'release', '--help']);
  for (const flag of ['target', 'as', 'key', 'deadline', 'reopen', 'wait']) assert.match(release.stdout, new RegExp(`\n {2}(-\\w, | {4})--${flag}\\b`), flag);
  for (const flag of ['trust', 'keyring', 'repo-dir', 'oci', 'cosign-key', 'staging-dir', 'initiator']) assert.doesNotMatch(release.stdout, new RegExp(`--${flag}\\b`), `--${flag} is the worker's to decide, not shown`);
});

test('helm release refuses the flags that used to name keys, places and the initiator, saying the worker decides (exit 2, nothing started)', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--repo-dir', '/tmp/mine'], /--repo-dir: the worker's configuration decides the chart repository directory \(charts\.<target>\.publish\.repositoryDir\)/],
    [['--staging-dir', '/tmp/mine'], /--staging-dir: the worker's configuration decides the staging directory \(the worker's COUNTERSIGN_STAGING_DIR\)/],
    [['--keyring', 'k.gpg', '--cosign-key', 'c.key'], /--keyring, --cosign-key: the worker's configuration decides the published keyring .*; the cosign key /],
    [['--trust', 'helm'], /--trust: the worker's configuration decides the OpenPGP key \(charts\.<target>\.signing\.trust\)/],
    [['--oci', 'registry.example.com/charts'], /--oci: the worker's configuration decides the OCI registry and namespace/],
    [['--initiator', 'mallory'], /--initiator: the worker's configuration decides who started the release \(the signer of the start request: --as with --key\)/],
  ];
  for (const [flags, message] of cases) {
    const run = await runCli(['helm', 'release', DEMO_DIR, '--target', 'charts', '--as', 'ci', ...flags], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, message);
  }
  // --key is the initiator's own key now; an OpenPGP key there is the old meaning, said plainly.
  const pgp = await runCli(['helm', 'release', DEMO_DIR, '--target', 'charts', '--as', 'ci', '--key', path.join(VECTORS, 'test-key.asc')], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  assert.equal(pgp.code, 2, pgp.stderr);
  assert.match(pgp.stderr, /test-key\.asc is an OpenPGP key: --key is now your own key, which signs the start request; the key that signs the chart is the worker's \(charts\.<target>\.signing\)/);
  const noTarget = await runCli(['helm', 'release', DEMO_DIR, '--as', 'ci'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  assert.equal(noTarget.code, 2);
  assert.match(noTarget.stderr, /--target is required: the chart target's name in the worker's configuration/);
});

test('countersign helm --help lists the subcommands (exit 0); without a subcommand the list goes to stderr (exit 2)', async () => {
  const help = await runCli(['helm', '--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.equal(help.stderr, '');
  assert.match(help.stdout, /Usage: countersign helm <command>/);
  for (const sub of HELM_SUBCOMMANDS) assert.match(help.stdout, new RegExp(`\n  helm ${sub} +\\S`));

  const bare = await runCli(['helm']);
  assert.equal(bare.code, 2);
  assert.equal(bare.stdout, '');
  assert.match(bare.stderr, /^give a helm command\n\nUsage: countersign helm <command>/);
  for (const sub of HELM_SUBCOMMANDS) assert.match(bare.stderr, new RegExp(`\n  helm ${sub} +\\S`));

  const unknown = await runCli(['helm', 'frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^unknown helm command "frobnicate"\n/);
  assert.match(unknown.stderr, /\n  helm release +\S/);

  const top = await runCli(['--help']);
  for (const sub of HELM_SUBCOMMANDS) assert.match(top.stdout, new RegExp(`\n  helm ${sub} +\\S`), 'the top-level help lists every helm command');
});

describe('countersign helm keygen', () => {
  const env = { COUNTERSIGN_PGP_PASSPHRASE: 'keygen-test-only' };
  let dir: string;
  let secretKey: string;
  let trustDir: string;
  let made: { secretKey: string; keyring: string; fingerprint: string; created: string; userIds: string[] };
  /** The run's bounds, to the second (OpenPGP creation times have no finer grain). */
  let ranFrom: number;
  let ranUntil: number;

  before(async () => {
    dir = await tempDir();
    secretKey = path.join(dir, 'keys', 'charts.asc');
    trustDir = path.join(dir, 'trust');
    ranFrom = Math.floor(Date.now() / 1000) * 1000;
    const run = await runCli(['helm', 'keygen', '--name', 'CLI Charts', '--email', 'cli@countersign.invalid', '--output', secretKey, '--trust-dir', trustDir, '--json'], env);
    ranUntil = Date.now();
    assert.equal(run.code, 0, run.stderr);
    made = JSON.parse(run.stdout);
  });

  after(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('publishes keyring-YYYY-MM-DD-<FINGERPRINT>.gpg, binary, named after the key it holds', async () => {
    assert.match(made.fingerprint, /^[0-9A-F]{40}$/);
    assert.deepEqual(made.userIds, ['CLI Charts <cli@countersign.invalid>']);
    // Dated when it was made: within the run, never later.
    const created = Date.parse(made.created);
    assert.ok(created >= ranFrom && created <= ranUntil, `created ${made.created}, run ${new Date(ranFrom).toISOString()} .. ${new Date(ranUntil).toISOString()}`);
    const name = `keyring-${made.created.slice(0, 10)}-${made.fingerprint}.gpg`;
    assert.match(name, /^keyring-\d{4}-\d{2}-\d{2}-[0-9A-F]{40}\.gpg$/);
    assert.deepEqual(await fs.readdir(trustDir), [name]);
    assert.equal(made.keyring, path.join(trustDir, name));
    const keys = await readKeyring(await fs.readFile(made.keyring), made.keyring);
    assert.deepEqual(keys.map((k) => [keyInfo(k).fingerprint, keyInfo(k).created, k.isPrivate()]), [[made.fingerprint, made.created, false]]);
  });

  it('writes the secret key with mode 0600, passphrase-protected', async () => {
    assert.equal(made.secretKey, secretKey);
    assert.equal((await fs.stat(secretKey)).mode & 0o777, 0o600);
    assert.match(await fs.readFile(secretKey, 'utf8'), /^-----BEGIN PGP PRIVATE KEY BLOCK-----/);
    const wrong = await runCli(['helm', 'sign', path.join(VECTORS, DEMO_FILE), '--key', secretKey], { COUNTERSIGN_PGP_PASSPHRASE: 'not-it' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /wrong passphrase/);
  });

  it('the published keyring verifies a chart signed with the written secret key', async () => {
    const out = path.join(dir, 'out');
    assert.equal((await runCli(['helm', 'package', DEMO_DIR, '-d', out])).code, 0);
    const tgz = path.join(out, DEMO_FILE);
    const signed = await runCli(['helm', 'sign', tgz, '--key', secretKey, '--json'], env);
    assert.equal(signed.code, 0, signed.stderr);
    assert.equal(JSON.parse(signed.stdout).fingerprint, made.fingerprint);
    const verified = await runCli(['helm', 'verify', tgz, '--keyring', made.keyring, '--json']);
    assert.equal(verified.code, 0, verified.stdout);
    const report = JSON.parse(verified.stdout);
    assert.equal(report.ok, true);
    assert.equal(report.signer.fingerprint, made.fingerprint);
    // And the vectors' keyring, which lacks this key, does not.
    const other = await runCli(['helm', 'verify', tgz, '--keyring', path.join(VECTORS, 'keyring.gpg')]);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /not in .*keyring\.gpg/);
  });

  it('refuses to overwrite the secret key without --force (exit 2), changing nothing', async () => {
    const before = await fs.readFile(secretKey);
    const again = await runCli(['helm', 'keygen', '--name', 'CLI Charts', '--output', secretKey, '--trust-dir', trustDir], env);
    assert.equal(again.code, 2);
    assert.equal(again.stderr, `error: BAD_INPUT: ${secretKey} exists; use --force to overwrite it\n`);
    assert.ok((await fs.readFile(secretKey)).equals(before));
    assert.equal((await fs.readdir(trustDir)).length, 1, 'no second keyring published');
  });

  it('with --force replaces a readable file with a new key of mode 0600', async () => {
    const existing = path.join(dir, 'keys', 'old.asc');
    await fs.writeFile(existing, 'an old file\n', { mode: 0o644 });
    await fs.chmod(existing, 0o644);
    const forced = await runCli(['helm', 'keygen', '--name', 'CLI Charts', '--output', existing, '--trust-dir', trustDir, '--force', '--json'], env);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal((await fs.stat(existing)).mode & 0o777, 0o600);
    assert.match(await fs.readFile(existing, 'utf8'), /^-----BEGIN PGP PRIVATE KEY BLOCK-----/);
    const second = JSON.parse(forced.stdout);
    assert.notEqual(second.fingerprint, made.fingerprint);
    assert.deepEqual((await fs.readdir(trustDir)).sort(), [path.basename(made.keyring), path.basename(second.keyring)].sort());
    assert.deepEqual((await fs.readdir(path.dirname(existing))).sort(), ['charts.asc', 'old.asc'], 'no temporary file left behind');
  });
});
