import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pinRoster } from '../../approval/roster';
import { parseDuration } from '../../duration';
import { CountersignError } from '../../errors';
import { trustConfig } from '../../trust/client';
import type { TrustConfig } from '../../trust/config';
import { TrustStore } from '../../trust/store';
import { readPassphrase } from '../../keys/passphrase';
import { packageChart } from '../../helm/package';
import { generateSigningKey, loadSigningKey, publishKeyring, readSigningKey } from '../../helm/pgp-key';
import { signChart } from '../../helm/provenance';
import { startChartRelease, waitForChartRelease } from '../../helm/release-client';
import { indexRepository } from '../../helm/repository';
import { assertChartVerified, verifyChart } from '../../helm/verify';
import { EXIT, printJson, write, type Command, type CommandIo } from '../command';
import { connectClient, findTarget, loadCliConfig } from '../context';

export const DEFAULT_PGP_PASSWORD_ENV = 'COUNTERSIGN_PGP_PASSPHRASE';

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

/** The active OpenPGP key of a trust store: its private reference and its published keyring. */
async function activePgpKey(trust: TrustConfig): Promise<{ pgpKey: { ref: string; passwordEnv: string; trust: { publishDir: string; keyId: string } }; keyringPath: string }> {
  if (trust.kind !== 'openpgp') throw new CountersignError('BAD_INPUT', `trust store ${trust.name} holds ${trust.kind} keys, not OpenPGP keys`);
  const store = new TrustStore(trust);
  const key = await store.active('openpgp');
  const secret = await store.privateRef(key.id);
  return {
    pgpKey: { ref: secret.ref, passwordEnv: secret.passwordEnv ?? DEFAULT_PGP_PASSWORD_ENV, trust: { publishDir: trust.publishDir, keyId: key.id } },
    keyringPath: path.join(trust.publishDir, key.file),
  };
}

export const helmReleaseCommand: Command = {
  name: 'helm release',
  summary: 'start a chart release: package -> sign -> verify -> approval -> publish',
  usage: 'countersign helm release <chart-dir> (--key FILE --keyring FILE | --trust NAME) (--repo-dir DIR | --oci HOST/NAMESPACE) [--target NAME] [--wait]',
  options: {
    key: { type: 'string', short: 'k' },
    trust: { type: 'string' },
    'passphrase-env': { type: 'string' },
    keyring: { type: 'string' },
    'repo-dir': { type: 'string' },
    'repo-url': { type: 'string' },
    oci: { type: 'string' },
    'cosign-key': { type: 'string' },
    'cosign-public-key': { type: 'string' },
    'cosign-password-env': { type: 'string' },
    'staging-dir': { type: 'string' },
    target: { type: 'string', short: 't' },
    deadline: { type: 'string' },
    initiator: { type: 'string' },
    wait: { type: 'boolean', short: 'w' },
  },
  optionHelp: {
    key: 'OpenPGP secret key the worker signs the .prov with',
    trust: 'sign with the active OpenPGP key of this trust store (made by a key ceremony) and its published keyring, instead of --key/--keyring',
    'passphrase-env': `variable in the WORKER's environment holding its passphrase (default ${DEFAULT_PGP_PASSWORD_ENV})`,
    keyring: 'the published binary keyring; pins the signing key and verifies the .prov',
    'repo-dir': 'chart repository directory to publish into (index.yaml, tgz, prov, sigstore bundle)',
    'repo-url': 'its public base URL for index.yaml',
    oci: 'registry host and namespace: the chart goes to oci://HOST/NAMESPACE/<name>:<version>',
    'cosign-key': 'cosign key that signs the chart OCI digest and the archive bundle',
    'cosign-public-key': 'its public key',
    // The flag is wider than the help column (src/cli/main.ts), so its text starts on the next line, aligned.
    'cosign-password-env': 'variable in the worker environment holding the cosign key passphrase (default COSIGN_PASSWORD)',
    'staging-dir': 'worker-local directory for files between steps (default $COUNTERSIGN_HOME/charts)',
    target: 'config target whose approval policy and approvers apply (optional when there is only one)',
    deadline: 'approval deadline (e.g. 72h; default: the target\'s)',
    initiator: 'who starts this release (default $USER)',
    wait: 'follow the release until it ends',
  },
  details: 'Approve or reject with `countersign approve|reject <release-id>` (signed statements, as for promotions).',
  async run(args, io) {
    const v = args.values as Record<string, string | boolean | undefined>;
    const chartDir = positional(args, 'chart directory');
    if (v.trust !== undefined && (v.key || v.keyring)) throw new CountersignError('BAD_INPUT', 'give either --trust or --key with --keyring, not both');
    if (v.trust === undefined && (!v.key || !v.keyring)) throw new CountersignError('BAD_INPUT', '--key and --keyring are required (or --trust NAME)');
    if (Boolean(v['cosign-key']) !== Boolean(v['cosign-public-key'])) throw new CountersignError('BAD_INPUT', 'give --cosign-key and --cosign-public-key together');
    const config = loadCliConfig(args, io.env);
    const target = findTarget(config, v.target as string | undefined);
    const pgp = v.trust !== undefined ? await activePgpKey(trustConfig(config, v.trust as string)) : undefined;
    const approval = { ...target.approval, roster: await pinRoster(target.approvers) };
    if (v.deadline) approval.deadlineMs = parseDuration(v.deadline as string, '--deadline');
    const home = io.env.COUNTERSIGN_HOME || path.join(os.homedir(), '.countersign');
    const { client, close } = await connectClient(args, io.env);
    try {
      const started = await startChartRelease(client, {
        chartDir,
        stagingDir: (v['staging-dir'] as string) ?? path.join(home, 'charts'),
        pgpKey: pgp?.pgpKey ?? { ref: v.key as string, passwordEnv: (v['passphrase-env'] as string) ?? DEFAULT_PGP_PASSWORD_ENV },
        keyringPath: pgp?.keyringPath ?? (v.keyring as string),
        publish: {
          repositoryDir: v['repo-dir'] as string | undefined,
          repositoryUrl: v['repo-url'] as string | undefined,
          oci: v.oci as string | undefined,
          cosign: v['cosign-key']
            ? { ref: v['cosign-key'] as string, passwordEnv: (v['cosign-password-env'] as string) ?? 'COSIGN_PASSWORD', publicKeyPath: v['cosign-public-key'] as string }
            : undefined,
        },
        approval,
        initiator: (v.initiator as string) ?? io.env.USER ?? os.userInfo().username,
      });
      if (!v.wait) {
        if (v.json) printJson(io, { releaseId: started.releaseId, attached: started.attached, fileName: started.input.fileName, sha256: started.input.sha256 });
        else write(io.stdout, `${started.attached ? 'attached to running release' : 'started release'} ${started.releaseId}\n  chart: ${started.input.fileName} sha256:${started.input.sha256}`);
        return EXIT.ok;
      }
      let last = '';
      const final = await waitForChartRelease(client, started.releaseId, {
        pollMs: 500,
        onUpdate: (s) => {
          if (!v.json && s.state !== last) write(io.stderr, `${started.releaseId}: ${s.state}${s.state === 'AWAITING_APPROVAL' ? ` (${s.approval.summary})` : ''}`);
          last = s.state;
        },
      });
      if (v.json) printJson(io, final);
      else write(io.stdout, [`${final.releaseId}: ${final.state}`, ...final.timeline.map((t) => `  ${t.step.padEnd(9)} ${t.status}${t.detail ? `  ${t.detail}` : ''}${t.error ? `  ${t.error}` : ''}`)].join('\n'));
      return final.state === 'RELEASED' ? EXIT.ok : final.state === 'REJECTED' ? EXIT.rejected : final.state === 'EXPIRED' ? EXIT.expired : EXIT.failed;
    } finally {
      await close();
    }
  },
};

export const HELM_COMMANDS: Command[] = [helmPackageCommand, helmSignCommand, helmVerifyCommand, helmKeygenCommand, helmRepoIndexCommand, helmReleaseCommand];
