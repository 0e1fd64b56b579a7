import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { parseDuration } from '../../duration';
import { CountersignError } from '../../errors';
import { readPassphrase } from '../../keys/passphrase';
import { DEFAULT_PGP_PASSWORD_ENV } from '../../helm/config';
import { packageChart } from '../../helm/package';
import { ARMOR_PREFIX, generateSigningKey, loadSigningKey, publishKeyring, readSigningKey } from '../../helm/pgp-key';
import { signChart } from '../../helm/provenance';
import { startChartRelease, waitForChartReleaseEnd, waitForChartReleaseGate } from '../../client/chart-releases';
import type { ChartReleaseStatus } from '../../client/types';
import { indexRepository } from '../../helm/repository';
import { assertChartVerified, verifyChart } from '../../helm/verify';
import { EXIT, printJson, write, type Command, type CommandIo } from '../command';
import { connectClient } from '../context';
import { personalKeyHelp, personalSigner, PERSONAL_KEY_OPTIONS, whoIsSigning } from '../personal-key';
import { exitCodeFor, readSignedFile } from './promotions';

function positional(args: { positionals: string[] }, what: string): string {
  const [first, ...rest] = args.positionals;
  if (!first || rest.length > 0) throw new CountersignError('BAD_INPUT', `give exactly one ${what}`);
  return first;
}

function str(args: { values: Record<string, unknown> }, name: string): string | undefined {
  return args.values[name] as string | undefined;
}

async function passphrase(io: CommandIo, envVar: string): Promise<string> {
  return readPassphrase({ envVar, output: io.stderr, env: io.env, prompt: 'Enter passphrase for the OpenPGP key: ' });
}

export const helmPackageCommand: Command = {
  name: 'helm package',
  summary: 'package a chart directory into <name>-<version>.tgz, deterministically',
  usage: 'countersign helm package <chart-dir> [--destination DIR]',
  options: { destination: { type: 'string', short: 'd' } },
  optionHelp: { destination: 'where to write the archive (default: current directory)' },
  details: 'Same files and layout as `helm package` (.helmignore honoured); the same chart always gives the same bytes.',
  async run(args, io) {
    const pkg = await packageChart(positional(args, 'chart directory'));
    const dest = path.resolve(str(args, 'destination') ?? '.');
    await fsp.mkdir(dest, { recursive: true });
    const file = path.join(dest, pkg.fileName);
    await fsp.writeFile(file, pkg.data);
    if (args.values.json) printJson(io, { file, name: pkg.metadata.name, version: pkg.metadata.version, sha256: pkg.sha256, files: pkg.files });
    else write(io.stdout, `${file}\nsha256:${pkg.sha256}`);
    return EXIT.ok;
  },
};

export const helmSignCommand: Command = {
  name: 'helm sign',
  summary: 'write <chart>.tgz.prov: Helm provenance, OpenPGP clearsigned (SHA512)',
  usage: 'countersign helm sign <chart.tgz> --key FILE [--passphrase-env VAR]',
  options: { key: { type: 'string', short: 'k' }, 'passphrase-env': { type: 'string' } },
  optionHelp: {
    key: 'OpenPGP secret key, armored or binary',
    'passphrase-env': `variable holding its passphrase (default ${DEFAULT_PGP_PASSWORD_ENV}); prompted on a terminal when unset`,
  },
  async run(args, io) {
    const tgz = positional(args, 'chart archive');
    const keyFile = str(args, 'key');
    if (!keyFile) throw new CountersignError('BAD_INPUT', '--key is required');
    const key = await loadSigningKey(keyFile, await passphrase(io, str(args, 'passphrase-env') ?? DEFAULT_PGP_PASSWORD_ENV));
    const prov = await signChart(await fsp.readFile(tgz), { fileName: path.basename(tgz), key });
    await fsp.writeFile(`${tgz}.prov`, prov);
    if (args.values.json) printJson(io, { provenance: `${tgz}.prov`, fingerprint: key.getFingerprint().toUpperCase() });
    else write(io.stdout, `${tgz}.prov (key ${key.getFingerprint().toUpperCase()})`);
    return EXIT.ok;
  },
};

export const helmVerifyCommand: Command = {
  name: 'helm verify',
  summary: 'verify a chart archive and its .prov against a keyring, as helm verify does, reporting every check',
  usage: 'countersign helm verify <chart.tgz> --keyring FILE [--prov FILE] [--allow-armored-keyring]',
  options: { keyring: { type: 'string' }, prov: { type: 'string' }, 'allow-armored-keyring': { type: 'boolean' } },
  optionHelp: {
    keyring: 'binary OpenPGP keyring (the published keyring-YYYY-MM-DD-<FINGERPRINT>.gpg)',
    prov: 'provenance file (default <chart.tgz>.prov)',
    'allow-armored-keyring': 'accept an ASCII-armored keyring too (helm verify does not)',
  },
  details: 'Exit 0 when every check passes, 1 otherwise; the error code names the first failed check.',
  async run(args, io) {
    const tgz = positional(args, 'chart archive');
    const keyringPath = str(args, 'keyring');
    if (!keyringPath) throw new CountersignError('BAD_INPUT', '--keyring is required');
    const report = await verifyChart({
      archive: await fsp.readFile(tgz),
      fileName: path.basename(tgz),
      provenance: await fsp.readFile(str(args, 'prov') ?? `${tgz}.prov`),
      keyring: await fsp.readFile(keyringPath),
      keyringName: keyringPath,
      allowArmoredKeyring: Boolean(args.values['allow-armored-keyring']),
    });
    if (args.values.json) printJson(io, report);
    else write(io.stdout, report.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.message}`).join('\n'));
    assertChartVerified(report);
    return EXIT.ok;
  },
};

function refuseOverwrite(file: string): never {
  throw new CountersignError('BAD_INPUT', `${file} exists; use --force to overwrite it`, { details: { path: file } });
}

/**
 * Mode 0600 whatever was there before: a forced overwrite goes through a new private file renamed
 * over the old one, since writing into an existing file keeps that file's (maybe readable) mode.
 */
async function writeSecretKey(file: string, armored: string, force: boolean): Promise<void> {
  if (!force) {
    await fsp.writeFile(file, armored, { mode: 0o600, flag: 'wx' }).catch((cause: NodeJS.ErrnoException) => {
      if (cause.code === 'EEXIST') refuseOverwrite(file);
      throw cause;
    });
    return;
  }
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    await fsp.writeFile(tmp, armored, { mode: 0o600, flag: 'wx' });
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

export const helmKeygenCommand: Command = {
  name: 'helm keygen',
  summary: 'create an RSA 4096 OpenPGP signing key and publish its binary keyring',
  usage: 'countersign helm keygen --name NAME [--email EMAIL] --output FILE --trust-dir DIR [--passphrase-env VAR] [--force]',
  options: {
    name: { type: 'string' },
    email: { type: 'string' },
    output: { type: 'string', short: 'o' },
    'trust-dir': { type: 'string' },
    'passphrase-env': { type: 'string' },
    force: { type: 'boolean' },
  },
  optionHelp: {
    name: 'user ID name (Helm shows it as "Signed by")',
    email: 'user ID email',
    output: 'where to write the passphrase-protected secret key (armored, mode 0600)',
    'trust-dir': 'where to publish the public keyring as keyring-YYYY-MM-DD-<FINGERPRINT>.gpg',
    'passphrase-env': `variable holding the passphrase (default ${DEFAULT_PGP_PASSWORD_ENV}); prompted twice on a terminal when unset`,
    force: 'overwrite an existing secret key file',
  },
  details: 'v4 key, sign and certify flags, dated now (never in the future). The keyring is what `helm verify --keyring` reads.',
  async run(args, io) {
    const name = str(args, 'name');
    const output = str(args, 'output');
    const trustDir = str(args, 'trust-dir');
    if (!name || !output || !trustDir) throw new CountersignError('BAD_INPUT', '--name, --output and --trust-dir are required');
    const envVar = str(args, 'passphrase-env') ?? DEFAULT_PGP_PASSWORD_ENV;
    const pass = await readPassphrase({ envVar, confirm: true, output: io.stderr, env: io.env });
    if (pass === '') throw new CountersignError('BAD_INPUT', `the passphrase in ${envVar} is empty`);
    const force = Boolean(args.values.force);
    // Checked before the slow key generation too; the write below is what guarantees it.
    if (!force && (await fsp.stat(output).then(() => true, () => false))) refuseOverwrite(output);
    const key = await generateSigningKey({ name, email: str(args, 'email'), passphrase: pass });
    await fsp.mkdir(path.dirname(path.resolve(output)), { recursive: true });
    await writeSecretKey(output, key.privateKeyArmored, force);
    const keyring = await publishKeyring(trustDir, await readSigningKey(Buffer.from(key.privateKeyArmored), pass));
    if (args.values.json) printJson(io, { secretKey: path.resolve(output), keyring, ...key.info });
    else write(io.stdout, `secret key:  ${path.resolve(output)}\nkeyring:     ${keyring}\nfingerprint: ${key.info.fingerprint}\nuser ID:     ${key.info.userIds.join(', ')}`);
    return EXIT.ok;
  },
};

export const helmRepoIndexCommand: Command = {
  name: 'helm repo-index',
  summary: 'write index.yaml for a directory of charts, as helm repo index does',
  usage: 'countersign helm repo-index <dir> [--url URL]',
  options: { url: { type: 'string' } },
  optionHelp: { url: 'absolute base URL of the repository (default: relative urls)' },
  async run(args, io) {
    const dir = positional(args, 'repository directory');
    const charts = await indexRepository(dir, { baseUrl: str(args, 'url') });
    if (args.values.json) printJson(io, { index: path.join(dir, 'index.yaml'), charts });
    else write(io.stdout, [`${path.join(dir, 'index.yaml')}: ${charts.length} chart(s)`, ...charts.map((c) => `  ${c.name} ${c.version}${c.hasProvenance ? ' (signed)' : ''}`)].join('\n'));
    return EXIT.ok;
  },
};

/**
 * Flags `helm release` took when the caller chose keys and places; now the worker's configuration
 * does (charts.<target> in its countersign.yaml), and each one is refused with where it moved.
 */
const RETIRED_RELEASE_FLAGS: Record<string, string> = {
  trust: 'the OpenPGP key (charts.<target>.signing.trust)',
  keyring: 'the published keyring (charts.<target>.signing.keyring)',
  'passphrase-env': "the OpenPGP key's passphrase variable (charts.<target>.signing.passphraseEnv)",
  'repo-dir': 'the chart repository directory (charts.<target>.publish.repositoryDir)',
  'repo-url': "the chart repository's URL (charts.<target>.publish.repositoryUrl)",
  oci: 'the OCI registry and namespace (charts.<target>.publish.oci)',
  'cosign-key': 'the cosign key (charts.<target>.cosign.key)',
  'cosign-public-key': 'the cosign public key (charts.<target>.cosign.publicKey)',
  'cosign-password-env': "the cosign key's passphrase variable (charts.<target>.cosign.passwordEnv)",
  'staging-dir': "the staging directory (the worker's COUNTERSIGN_STAGING_DIR)",
  initiator: 'who started the release (the signer of the start request: --as with --key)',
};

export const helmReleaseCommand: Command = {
  name: 'helm release',
  summary: 'start a chart release with a signed start request: package -> approval -> sign -> verify -> publish',
  usage: 'countersign helm release <chart-dir> --target NAME --as INITIATOR --key FILE [--deadline D] [--reopen FILE] [--wait]',
  options: {
    target: { type: 'string', short: 't' },
    as: { type: 'string' },
    ...PERSONAL_KEY_OPTIONS,
    deadline: { type: 'string' },
    reopen: { type: 'string' },
    wait: { type: 'boolean', short: 'w' },
    // Accepted only to be refused with a pointer to the worker's configuration (not in --help).
    ...Object.fromEntries(Object.keys(RETIRED_RELEASE_FLAGS).map((flag) => [flag, { type: 'string' as const }])),
  },
  optionHelp: {
    target: "the chart target's name in the worker's configuration (charts:)",
    as: "your initiator name in the worker's configuration (default $COUNTERSIGN_APPROVER or the login name)",
    ...personalKeyHelp('the start request'),
    deadline: "a shorter approval deadline for this release than the chart target's (e.g. 30m); never longer",
    reopen: 'a signed re-open (JSON from countersign reopen), when the last release of this chart to this chart target was REJECTED',
    wait: 'follow the release until it ends; exit code reflects the outcome',
  },
  details:
    "The chart directory must lie under one of the chart target's sources in the worker's configuration. The worker checks the signed start request, " +
    'then packages the chart and checks it is the one you signed for; nothing is signed before approval. The OpenPGP key, keyring, cosign key, publish ' +
    "locations, approvers and staging directory are the worker's (charts.<target> in its countersign.yaml), never the caller's.\n" +
    'Approve or reject with `countersign approve|reject <release-id>`. It answers once the release is at the approval gate, or ended before it. ' +
      'Exit codes: 7 when the worker refuses the request; 4 rejected, 6 failed (before the gate, or with --wait after it); with --wait also 0 released, 5 expired.',
  async run(args, io) {
    const v = args.values as Record<string, string | boolean | undefined>;
    const retired = Object.keys(RETIRED_RELEASE_FLAGS).filter((flag) => v[flag] !== undefined);
    if (retired.length > 0) {
      throw new CountersignError(
        'BAD_INPUT',
        `${retired.map((f) => `--${f}`).join(', ')}: the worker's configuration decides ${retired.map((f) => RETIRED_RELEASE_FLAGS[f]).join('; ')}; a release names only its chart target (--target)`,
      );
    }
    const chartDir = positional(args, 'chart directory');
    if (!v.target) throw new CountersignError('BAD_INPUT', "--target is required: the chart target's name in the worker's configuration (charts:)");
    const keyFile = (v.key as string | undefined) ?? io.env.COUNTERSIGN_APPROVER_KEY;
    if (keyFile && (await fsp.readFile(keyFile, 'utf8').catch(() => '')).startsWith(ARMOR_PREFIX)) {
      throw new CountersignError('BAD_INPUT', `${keyFile} is an OpenPGP key: --key is now your own key, which signs the start request; the key that signs the chart is the worker's (charts.<target>.signing)`);
    }
    const reopen = v.reopen ? readSignedFile(v.reopen as string, '--reopen') : undefined;
    const initiator = whoIsSigning(args, io);
    const signer = await personalSigner(args, io, initiator, 'the start request');
    const { client, close } = await connectClient(args, io.env);
    try {
      const started = await startChartRelease(client, {
        target: v.target as string,
        chartDir,
        initiator,
        signer,
        deadlineMs: v.deadline ? parseDuration(v.deadline as string, '--deadline') : undefined,
        reopen,
      });
      if (!v.wait) {
        // The worker's answer comes when the release reaches the gate (seconds: authorisation and
        // packaging), or ends before it; a refusal is this command's answer.
        const authorised = await waitForChartReleaseGate(client, started.releaseId);
        if (authorised.state === 'REFUSED') {
          if (v.json) printJson(io, { ...started, state: authorised.state, error: authorised.error });
          else write(io.stderr, `the worker refused the start request for ${started.releaseId}: ${authorised.error}`);
          return EXIT.refused;
        }
        if (v.json) printJson(io, { ...started, state: authorised.state });
        else write(io.stdout, `${started.attached ? 'attached to running release' : 'started release'} ${started.releaseId}\n  chart: ${started.fileName} sha256:${started.sha256}\n  started by: ${authorised.initiator ?? initiator}\n  state: ${authorised.state}`);
        // Answered at the gate: a release that ended before it (the chart not the one signed for, failed) says so in the exit code too.
        return exitCodeFor(authorised);
      }
      let last = '';
      const progress = (s: ChartReleaseStatus) => {
        if (!v.json && s.state !== last) write(io.stderr, `${started.releaseId}: ${s.state}${s.state === 'AWAITING_APPROVAL' ? ` (${s.approval.summary})` : ''}`);
        last = s.state;
      };
      // Answered at the gate (seconds), then, while the gate waits (hours), nothing is asked: the
      // run's end is sent when it comes.
      await waitForChartReleaseGate(client, started.releaseId, { onUpdate: progress });
      const final = await waitForChartReleaseEnd(client, started.releaseId, { onUpdate: progress });
      if (v.json) printJson(io, final);
      else write(io.stdout, [`${final.releaseId}: ${final.state}`, ...final.timeline.map((t) => `  ${t.step.padEnd(9)} ${t.status}${t.detail ? `  ${t.detail}` : ''}${t.error ? `  ${t.error}` : ''}`)].join('\n'));
      return exitCodeFor(final);
    } finally {
      await close();
    }
  },
};

export const HELM_COMMANDS: Command[] = [helmPackageCommand, helmSignCommand, helmVerifyCommand, helmKeygenCommand, helmRepoIndexCommand, helmReleaseCommand];
