/**
 * The chart release steps as plain functions (the chart-release workflow's activities are thin
 * adapters over these): package into the worker's private staging directory and check the package
 * against the signed request; after approval, sign (.prov with the OpenPGP key, and a sigstore
 * bundle with the cosign key), verify (every check, as a report), publish (chart repository
 * directory and/or OCI registry, the OCI manifest cosign-signed, then read back and checked); and
 * remove the staged files however the run ends. Private keys are named by reference; passphrases
 * come from the worker's environment.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { signBlob, verifyBlob } from '../cosign/blob';
import { signImage, verifyImageSignatures } from '../cosign/image-signatures';
import { CountersignError, type ErrorCode } from '../errors';
import { loadSigner } from '../keys/load-signer';
import { assertTrustAllowsSigning } from '../trust/check';
import type { KeyTrust } from '../promotion/plan';
import type { Store } from '../oci/store';
import { sha256Hex } from '../oci/digest';
import { packageChart, type PackagedChart } from './package';
import { loadSigningKey } from './pgp-key';
import type { ChartPublishPlan, CosignKeyPin, PgpKeyPin } from './plan';
import { signChart } from './provenance';
import { publishToRepository } from './repository';
import { pullChart, pushChart } from './oci';
import { ensurePrivateDir, removeStaged, writePrivate } from './staging';
import { verifyChart, type ChartCheckName } from './verify';

export interface ChartStepDeps {
  storeFor(registryHost: string): Store;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
}

/** Where a run keeps its files between steps: `<dir>/<fileName>`, `.prov` and `.sigstore.json`; `dir` is `<root>/<runId>`. */
export interface StagedChart {
  /** The worker's staging root. */
  root: string;
  dir: string;
  fileName: string;
  /** Hex sha256 the archive must have (the one the initiator signed). */
  sha256: string;
}

/** One check of a release: on the package before approval, on the signatures after signing. */
export interface ReleaseCheck {
  name: ChartCheckName | 'chart-yaml' | 'name-version' | 'sha256';
  ok: boolean;
  message: string;
  code?: ErrorCode;
}

const archivePath = (s: StagedChart) => path.join(s.dir, s.fileName);
const provPath = (s: StagedChart) => `${archivePath(s)}.prov`;
/** The sigstore bundle of the archive, as `cosign sign-blob --bundle` writes it. */
export const bundlePath = (s: StagedChart) => `${archivePath(s)}.sigstore.json`;

export interface PackageReport {
  ok: boolean;
  checks: ReleaseCheck[];
  files: number;
}

/**
 * Packages `chartDir` and checks the package is what the initiator signed for (a valid Chart.yaml,
 * the requested name and version, the requested sha256); only then is the archive staged (0600).
 * Nothing is signed here: signing waits for approval.
 */
export async function packageStep(chartDir: string, staged: StagedChart): Promise<PackageReport> {
  let pkg: PackagedChart;
  try {
    pkg = await packageChart(chartDir);
  } catch (err) {
    if (!(err instanceof CountersignError) || err.code !== 'CHART_INVALID') throw err;
    return { ok: false, files: 0, checks: [{ name: 'chart-yaml', ok: false, code: err.code, message: err.message.replace(/^CHART_INVALID: /, '') }] };
  }
  const checks: ReleaseCheck[] = [
    { name: 'chart-yaml', ok: true, message: `${chartDir}: ${pkg.metadata.name} ${pkg.metadata.version}, ${pkg.files.length} files` },
    pkg.fileName === staged.fileName
      ? { name: 'name-version', ok: true, message: `${pkg.fileName} as requested` }
      : { name: 'name-version', ok: false, code: 'CHART_NAME_MISMATCH', message: `${chartDir} packages as ${pkg.fileName}, but the release was requested for ${staged.fileName}` },
    pkg.sha256 === staged.sha256
      ? { name: 'sha256', ok: true, message: `sha256:${pkg.sha256} as requested` }
      : { name: 'sha256', ok: false, code: 'DIGEST_MISMATCH', message: `${chartDir} packages to sha256:${pkg.sha256}, but the release was requested for sha256:${staged.sha256} (the chart changed since the request was signed?)` },
  ];
  const ok = checks.every((c) => c.ok);
  if (ok) {
    await ensurePrivateDir(staged.root, staged.dir);
    await writePrivate(archivePath(staged), pkg.data);
  }
  return { ok, checks, files: pkg.files.length };
}

async function readStaged(staged: StagedChart): Promise<Buffer> {
  const data = await fsp.readFile(archivePath(staged)).catch((cause) => {
    throw new CountersignError('BAD_INPUT', `staged chart ${archivePath(staged)} is missing: ${(cause as Error).message}`, { cause });
  });
  if (sha256Hex(data) !== staged.sha256) {
    throw new CountersignError('DIGEST_MISMATCH', `staged chart ${archivePath(staged)} has sha256:${sha256Hex(data)}, expected sha256:${staged.sha256}`);
  }
  return data;
}

/** Opens the OpenPGP key (passphrase from the environment) and checks its pinned fingerprint. */
export async function openPgpKey(deps: ChartStepDeps, key: PgpKeyPin) {
  const env = deps.env ?? process.env;
  const passphrase = env[key.passwordEnv];
  if (passphrase === undefined) {
    throw new CountersignError('KEY_PASSPHRASE_MISSING', `the passphrase for ${key.ref} is read from $${key.passwordEnv}, which is not set in the worker's environment`);
  }
  const pgp = await loadSigningKey(key.ref, passphrase);
  const actual = pgp.getFingerprint().toUpperCase();
  if (actual !== key.fingerprint.toUpperCase()) {
    throw new CountersignError('KEY_INVALID', `${key.ref} has fingerprint ${actual}, but the release pinned ${key.fingerprint}`);
  }
  return pgp;
}

/**
 * Writes `<fileName>.prov`, signed now by the pinned OpenPGP key, and with a cosign key also
 * `<fileName>.sigstore.json`, the blob bundle `cosign verify-blob --bundle` checks; both 0600 in
 * the run's private directory. The workflow calls it only after approval.
 */
export async function signStep(deps: ChartStepDeps, staged: StagedChart, key: PgpKeyPin, cosign?: CosignKeyPin): Promise<{ signedAt: string; bundle: boolean }> {
  const data = await readStaged(staged);
  await assertTrustAllowsSigning(key.trust);
  const pgp = await openPgpKey(deps, key);
  const date = new Date(Math.floor((deps.now?.() ?? new Date()).getTime() / 1000) * 1000);
  const prov = await signChart(data, { fileName: staged.fileName, key: pgp, date });
  await writePrivate(provPath(staged), prov);
  if (cosign) {
    const signer = await loadSigner(cosign.ref, cosign.passwordEnv, deps.env ?? process.env);
    await writePrivate(bundlePath(staged), JSON.stringify(await signBlob(data, signer)));
  }
  return { signedAt: date.toISOString(), bundle: cosign !== undefined };
}

export interface ChartReport {
  ok: boolean;
  checks: ReleaseCheck[];
}

/**
 * Verifies the staged chart and .prov against the published keyring and, given the cosign public
 * key, the blob bundle; failures come back as checks.
 */
export async function verifyStep(staged: StagedChart, keyringPath: string, cosignPublicKeyPem?: string): Promise<ChartReport> {
  const [archive, provenance, keyring] = await Promise.all([readStaged(staged), fsp.readFile(provPath(staged)), fsp.readFile(keyringPath)]);
  const report = await verifyChart({ archive, fileName: staged.fileName, provenance, keyring, keyringName: keyringPath });
  const checks: ReleaseCheck[] = [...report.checks];
  if (cosignPublicKeyPem !== undefined) checks.push(await bundleCheck(staged, archive, cosignPublicKeyPem));
  return { ok: checks.every((c) => c.ok) && report.ok, checks };
}

async function bundleCheck(staged: StagedChart, archive: Buffer, publicKeyPem: string): Promise<ReleaseCheck> {
  try {
    verifyBlob(archive, await fsp.readFile(bundlePath(staged)), publicKeyPem);
    return { name: 'bundle', ok: true, message: `${staged.fileName}.sigstore.json verifies with the cosign key` };
  } catch (err) {
    const code = err instanceof CountersignError ? err.code : 'SIGNATURE_INVALID';
    return { name: 'bundle', ok: false, code, message: `${staged.fileName}.sigstore.json: ${(err as Error).message}` };
  }
}

export interface PublishOutcome {
  repository?: { dir: string; indexed: number };
  oci?: { reference: string; digest: string; pushed: boolean; signatureAdded?: boolean };
}

/** Publishes to each configured place; safe to retry (same bytes, same manifest, one signature). */
export async function publishStep(deps: ChartStepDeps, staged: StagedChart, targets: ChartPublishPlan, cosign?: CosignKeyPin, signedBy?: KeyTrust): Promise<PublishOutcome> {
  // A key revoked (or retired) since the .prov was signed publishes nothing.
  await assertTrustAllowsSigning(signedBy);
  const archive = await readStaged(staged);
  const provenance = await fsp.readFile(provPath(staged), 'utf8');
  const out: PublishOutcome = {};
  if (targets.repositoryDir) {
    const bundle = await fsp.readFile(bundlePath(staged), 'utf8').catch(() => undefined);
    // Written by publishToRepository after its CHART_VERSION_EXISTS check, so a refused release
    // never replaces the bundle of the chart already published.
    const charts = await publishToRepository(targets.repositoryDir, { fileName: staged.fileName, archive, provenance, bundle }, { baseUrl: targets.repositoryUrl, now: deps.now?.() });
    out.repository = { dir: targets.repositoryDir, indexed: charts.length };
  }
  if (targets.oci) {
    const slash = targets.oci.indexOf('/');
    const host = slash < 0 ? targets.oci : targets.oci.slice(0, slash);
    const namespace = slash < 0 ? '' : targets.oci.slice(slash + 1);
    const store = deps.storeFor(host);
    const pushed = await pushChart(store, namespace, { fileName: staged.fileName, archive, provenance, created: targets.created });
    out.oci = { reference: pushed.reference, digest: pushed.digest, pushed: pushed.pushed };
    if (cosign) {
      const signer = await loadSigner(cosign.ref, cosign.passwordEnv, deps.env ?? process.env);
      out.oci.signatureAdded = (await signImage(store, pushed.repository, pushed.digest, signer)).added;
      const check = await verifyImageSignatures(store, pushed.repository, pushed.digest, cosign.publicKeyPem);
      if (check.valid === 0) throw new CountersignError('SIGNATURE_INVALID', `cosign signature of ${pushed.reference} does not verify: ${check.problems.join('; ')}`);
    }
    const back = await pullChart(store, pushed.repository, pushed.tag);
    if (back.digest !== pushed.digest || !back.archive.equals(archive)) {
      throw new CountersignError('DIGEST_MISMATCH', `${pushed.reference} reads back as ${back.digest}, not what was pushed`);
    }
  }
  return out;
}

/** Removes the run's staging directory (archive, .prov, bundle); idempotent. Returns what it held. */
export async function cleanupStep(staged: Pick<StagedChart, 'dir'>): Promise<{ removed: string[] }> {
  return { removed: await removeStaged(staged.dir) };
}
