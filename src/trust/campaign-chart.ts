/**
 * A compromise campaign's chart items: chart releases whose `.prov` the compromised OpenPGP key
 * signed. Found in each chart target's repository directory (every indexed version whose `.prov`
 * names the key) as well as in the releases' results in Temporal; an OCI-only chart target's
 * version is named by the release's sealed plan (the item's `release`). Re-signing checks the release
 * again (the archive is a valid chart named by its file, has the sha256 the release recorded, and
 * the old `.prov` vouched for exactly that file and sum), then writes a `.prov` by the store's
 * active key to each place the chart target publishes to, verified against the active key's
 * published keyring before it replaces anything. Quarantine takes the version out of the
 * repository's index.yaml (the files move aside with a note) and off its OCI tag.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { CountersignError } from '../errors';
import { sha256Hex } from '../oci/digest';
import type { Store } from '../oci/store';
import { assertArchiveName, readChartArchive } from '../helm/archive';
import { chartArtifact, chartRepository, chartTag, HELM_MEDIA_TYPE, pullChart } from '../helm/oci';
import { parseProvenance, signChart } from '../helm/provenance';
import { findWithdrawn, readRepositoryIndex, replaceProvenance, withdrawFromRepository } from '../helm/repository';
import { verifyChart } from '../helm/verify';
import { openPgpKey, type ChartStepDeps } from '../helm/release';
import { signImage, verifyImageSignatures } from '../cosign/image-signatures';
import { loadSigner } from '../keys/load-signer';
import { assertTrustAllowsSigning } from './check';
import type { CosignKeyPin } from '../helm/plan';
import type { CampaignChartRelease, CampaignChartTarget, CampaignSigningKey, QuarantineResult } from './campaign-plan';
import type { ItemDone, ItemWork } from './campaign-item';
import { noticeFor, quarantineRelease } from './quarantine';

/** A v4 fingerprint's key ID (its last 16 hex digits), as a signature names its issuer. */
const keyIdOf = (fingerprint: string) => fingerprint.toUpperCase().slice(-16);

/** The issuer key ID of a `.prov`, or undefined when it does not parse. */
async function issuerOf(provenance: string): Promise<string | undefined> {
  try {
    return (await parseProvenance(provenance)).signature.keyId;
  } catch {
    return undefined;
  }
}

/** Archive sha256 (`sha256:<hex>`) of every indexed chart version in `dir` whose `.prov` the key signed. */
export async function chartsSignedInRepository(dir: string, fingerprint: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readRepositoryIndex(dir)) {
    const prov = await fsp.readFile(path.join(dir, `${entry.fileName}.prov`), 'utf8').catch(() => undefined);
    if (prov !== undefined && (await issuerOf(prov)) === keyIdOf(fingerprint)) out.push(`sha256:${entry.digest}`);
  }
  return out.sort();
}

interface Located {
  fileName: string;
  archive: Buffer;
  provenance?: string;
}

/** The chart with this sha256 in the repository directory, by its index entry. */
async function inRepository(dir: string, sha256: string): Promise<Located | undefined> {
  const entry = (await readRepositoryIndex(dir)).find((e) => e.digest === sha256);
  if (!entry) return undefined;
  const archive = await fsp.readFile(path.join(dir, entry.fileName)).catch(() => undefined);
  if (!archive || sha256Hex(archive) !== sha256) return undefined;
  const provenance = await fsp.readFile(path.join(dir, `${entry.fileName}.prov`), 'utf8').catch(() => undefined);
  return { fileName: entry.fileName, archive, ...(provenance !== undefined ? { provenance } : {}) };
}

interface OciPlace {
  store: Store;
  repository: string;
  tag: string;
  /** The manifest the tag names now. */
  manifestDigest: string;
  created: string;
  chart: Located;
}

/** The chart's OCI copy (`<namespace>/<name>:<version>`) when its tag names this archive. */
async function inOci(deps: ChartStepDeps, oci: string, name: string, version: string, sha256: string): Promise<OciPlace | undefined> {
  const slash = oci.indexOf('/');
  const store = deps.storeFor(slash < 0 ? oci : oci.slice(0, slash));
  const repository = chartRepository(slash < 0 ? '' : oci.slice(slash + 1), name);
  const tag = chartTag(version);
  const manifest = await store.getManifest(repository, tag);
  if (!manifest) return undefined;
  let pulled;
  try {
    pulled = await pullChart(store, repository, tag);
  } catch (err) {
    // The tag names something else now (a quarantine notice): not this chart any more.
    if (err instanceof CountersignError && (err.code === 'CHART_INVALID' || err.code === 'MANIFEST_INVALID')) return undefined;
    throw err;
  }
  if (sha256Hex(pulled.archive) !== sha256) return undefined;
  const annotations = (JSON.parse(manifest.data.toString('utf8')) as { annotations?: Record<string, string> }).annotations ?? {};
  return {
    store,
    repository,
    tag,
    manifestDigest: pulled.digest,
    created: annotations['org.opencontainers.image.created'] ?? new Date(0).toISOString(),
    chart: { fileName: pulled.fileName, archive: pulled.archive, ...(pulled.provenance !== undefined ? { provenance: pulled.provenance } : {}) },
  };
}

/** The release checked again: a valid chart named by its file, the recorded sha256, and an old `.prov` that vouched for exactly it. */
async function recheck(chart: Located, sha256: string): Promise<string[]> {
  const failed: string[] = [];
  try {
    const { metadata } = readChartArchive(chart.archive, chart.fileName);
    assertArchiveName(chart.fileName, metadata);
  } catch (err) {
    failed.push(`chart: ${(err as Error).message}`);
  }
  if (sha256Hex(chart.archive) !== sha256) failed.push(`sha256: ${chart.fileName} is sha256:${sha256Hex(chart.archive)}, the release recorded sha256:${sha256}`);
  if (chart.provenance === undefined) failed.push(`provenance: ${chart.fileName} has no .prov`);
  else {
    try {
      const sum = (await parseProvenance(chart.provenance, `${chart.fileName}.prov`)).files[chart.fileName];
      if (sum !== `sha256:${sha256}`) failed.push(`provenance: the old .prov gives ${sum ?? 'no sum'} for ${chart.fileName}, not sha256:${sha256}`);
    } catch (err) {
      failed.push(`provenance: ${(err as Error).message}`);
    }
  }
  return failed;
}

/** A new `.prov` by the active key, verified against its published keyring before anyone sees it. */
async function newProvenance(deps: ChartStepDeps, key: CampaignSigningKey, chart: Located): Promise<string> {
  await assertTrustAllowsSigning(key.trust);
  const pgp = await openPgpKey(deps, { ref: key.ref, passwordEnv: key.passwordEnv, fingerprint: key.fingerprint, keyringPath: key.keyringPath ?? '', trust: key.trust });
  const date = new Date(Math.floor((deps.now?.() ?? new Date()).getTime() / 1000) * 1000);
  const prov = await signChart(chart.archive, { fileName: chart.fileName, key: pgp, date });
  const report = await verifyChart({ archive: chart.archive, fileName: chart.fileName, provenance: prov, keyring: await fsp.readFile(key.keyringPath ?? ''), keyringName: key.keyringPath });
  if (!report.ok) {
    throw new CountersignError('SIGNATURE_INVALID', `the new .prov of ${chart.fileName} does not verify with ${key.keyringPath}: ${report.checks.filter((c) => !c.ok).map((c) => c.message).join('; ')}`);
  }
  return prov;
}

/** Re-signs or quarantines one chart release in every place its chart target publishes to. */
export async function runChartItem(deps: ChartStepDeps, work: ItemWork & { chart: CampaignChartTarget }): Promise<ItemDone> {
  const { item, chart } = work;
  const sha256 = item.digest.replace(/^sha256:/, '');
  const compromised = keyIdOf(work.compromisedFingerprint);
  const dir = chart.repositoryDir;
  // The release's own sealed plan names its chart and where it went; without it (or an index.yaml) the OCI copy cannot be told from the digest alone.
  const release = item.release;
  if (!dir && !release?.oci) {
    return { id: item.id, outcome: 'reported', detail: `chart target ${chart.chart} publishes to OCI only (${chart.oci}) and no chart release run with a sealed plan names ${item.digest}'s chart and version: re-sign or pull it there by hand` };
  }
  const local = dir ? await inRepository(dir, sha256) : undefined;
  const named = local ? readChartArchive(local.archive, local.fileName).metadata : release;
  const ociNamespace = release?.oci ?? chart.oci;
  const oci = ociNamespace && named ? await inOci(deps, ociNamespace, named.name, named.version, sha256) : undefined;
  const places: Array<{ where: string; chart: Located }> = [...(local && dir ? [{ where: dir, chart: local }] : []), ...(oci ? [{ where: `${oci.store.location}/${oci.repository}:${oci.tag}`, chart: oci.chart }] : [])];

  if (places.length === 0) {
    if (!dir) return ociGone(deps, item, release!);
    const withdrawn = await findWithdrawn(dir, sha256);
    if (withdrawn) return { id: item.id, outcome: 'quarantined', detail: `${withdrawn} was taken out of ${dir} already (see ${dir}/.quarantine)` };
    return { id: item.id, outcome: 'unchanged', detail: `no chart with sha256:${sha256} in ${dir} (removed, or its release stopped before publishing)` };
  }
  const signedBy = await Promise.all(places.map((p) => (p.chart.provenance === undefined ? undefined : issuerOf(p.chart.provenance))));
  const active = work.signingKey ? keyIdOf(work.signingKey.fingerprint) : undefined;
  if (!signedBy.includes(compromised)) {
    // A retry after the new .prov went out finds the active key's signature: done, nothing written again.
    if (item.action === 'resign' && active && signedBy.every((k) => k === active)) {
      // A retry after the new manifest went out but before its cosign signature: sign it now (once).
      const cosigned = oci && chart.cosign ? `; ${await cosignManifest(deps, oci, oci.manifestDigest, chart.cosign)}` : '';
      return { id: item.id, outcome: 'resigned', signatureAdded: false, detail: `the .prov of ${places[0].chart.fileName} is signed by ${work.signingKey!.id} already${cosigned}` };
    }
    return { id: item.id, outcome: 'unchanged', detail: `no .prov by ${work.why.keyId} on ${places[0].chart.fileName} in ${places.map((p) => p.where).join(', ')}` };
  }

  const quarantine = async (reason: string) => {
    const done: string[] = [];
    const fileName = places[0].chart.fileName;
    // OCI first: a retry after the repository step finds the archive gone and would not look for the OCI copy.
    if (oci) done.push(ociWords(await quarantineRelease(oci.store, oci.repository, oci.tag, oci.manifestDigest, { ...work.why, reason })));
    if (local && dir) {
      await withdrawFromRepository(dir, local.fileName, { digest: item.digest, reason, campaign: work.why.campaignId, key: work.why.keyId }, { ...(chart.repositoryUrl ? { baseUrl: chart.repositoryUrl } : {}) });
      done.push(`${fileName} taken out of ${dir}/index.yaml (moved to .quarantine)`);
    }
    return done.join('; ');
  };

  if (item.action === 'quarantine') return { id: item.id, outcome: 'quarantined', detail: `${await quarantine(work.why.reason)}: ${work.why.reason}` };
  if (!work.signingKey?.keyringPath) return { id: item.id, outcome: 'reported', detail: 'no active OpenPGP key to re-sign with' };

  const failed = (await Promise.all(places.map((p) => recheck(p.chart, sha256)))).flat();
  if (failed.length > 0) {
    const why = failed.join('; ');
    if (work.onVerifyFailure === 'report') return { id: item.id, outcome: 'reported', detail: `the release's checks failed again, so it was not signed: ${why}` };
    return { id: item.id, outcome: 'quarantined', detail: `the release's checks failed again, so it was not signed (${why}); ${await quarantine(`checks failed again: ${why}`.slice(0, 1024))}` };
  }
  const prov = await newProvenance(deps, work.signingKey, places[0].chart);
  if (local && dir) await replaceProvenance(dir, local.fileName, prov);
  let cosigned = '';
  if (oci) {
    const pushed = await pushProvenance(oci, prov);
    if (chart.cosign) cosigned = `; ${await cosignManifest(deps, oci, pushed, chart.cosign)}`;
  }
  return {
    id: item.id,
    outcome: 'resigned',
    signatureAdded: true,
    detail: `checks passed again; ${places[0].chart.fileName}.prov signed with ${work.signingKey.id} (${work.signingKey.fingerprint.slice(-16)}) in ${places.map((p) => p.where).join(', ')}${cosigned}`,
  };
}

/**
 * The OCI copy gets a manifest whose provenance layer is the new `.prov` (same chart layer,
 * config and created time), under the same tag: `helm pull --verify` reads the provenance from it.
 * The old manifest stays by digest.
 */
async function pushProvenance(oci: OciPlace, prov: string): Promise<string> {
  const { metadata } = readChartArchive(oci.chart.archive, oci.chart.fileName);
  const artifact = chartArtifact(metadata, oci.chart.archive, prov, oci.created);
  for (const blob of [artifact.config, ...artifact.layers.filter((l) => l.descriptor.mediaType === HELM_MEDIA_TYPE.provenance || l.descriptor.mediaType === HELM_MEDIA_TYPE.chart)]) {
    await oci.store.putBlob(oci.repository, blob);
  }
  await oci.store.putManifest(oci.repository, oci.tag, artifact.manifest.data, artifact.manifest.descriptor.mediaType);
  return artifact.manifest.descriptor.digest;
}

/**
 * The new manifest's cosign signature by the chart target's cosign key, as its release gave the
 * old one: customers running `cosign verify --key` on the tag would otherwise fail. The cosign key
 * is not the compromised one, and the archive is unchanged, so its sigstore bundle stays valid.
 * signImage looks before it writes, so a retry adds no second signature.
 */
async function cosignManifest(deps: ChartStepDeps, oci: OciPlace, digest: string, cosign: CosignKeyPin): Promise<string> {
  const signer = await loadSigner(cosign.ref, cosign.passwordEnv, deps.env ?? process.env);
  const { added } = await signImage(oci.store, oci.repository, digest, signer);
  const check = await verifyImageSignatures(oci.store, oci.repository, digest, cosign.publicKeyPem);
  const reference = `${oci.store.location}/${oci.repository}@${digest}`;
  if (check.valid === 0) throw new CountersignError('SIGNATURE_INVALID', `cosign signature of ${reference} does not verify with the pinned cosign key ${cosign.fingerprint.slice(0, 16)}: ${check.problems.join('; ')}`);
  return `${reference} ${added ? 'cosign-signed' : 'cosign-signed already'} with key ${cosign.fingerprint.slice(0, 16)}`;
}

/**
 * An OCI-only release whose tag no longer gives its archive: quarantined already (a notice), gone,
 * or holding another archive, which is never signed in the release's name (a thief with the old
 * key and registry access can push a chart of their own under a released version's tag).
 */
async function ociGone(deps: ChartStepDeps, item: ItemWork['item'], release: CampaignChartRelease): Promise<ItemDone> {
  const oci = release.oci!;
  const slash = oci.indexOf('/');
  const store = deps.storeFor(slash < 0 ? oci : oci.slice(0, slash));
  const repository = chartRepository(slash < 0 ? '' : oci.slice(slash + 1), release.name);
  const reference = `${store.location}/${repository}:${chartTag(release.version)}`;
  const current = await store.getManifest(repository, chartTag(release.version));
  if (!current) return { id: item.id, outcome: 'unchanged', detail: `no OCI tag ${reference} (removed, or quarantined by deleting it)` };
  if (noticeFor(current.data) !== undefined) return { id: item.id, outcome: 'quarantined', detail: `OCI tag ${reference} names a quarantine notice already` };
  return {
    id: item.id,
    outcome: 'reported',
    detail: `OCI tag ${reference} names ${current.digest}, which does not hold the archive ${item.digest} release ${release.releaseId} recorded: nothing signed or moved; look at who pushed it`,
  };
}

function ociWords(q: QuarantineResult): string {
  if (q.tag === 'deleted') return `OCI tag ${q.reference} removed`;
  if (q.tag === 'notice') return `OCI tag ${q.reference} now names a quarantine notice`;
  if (q.tag === 'elsewhere') return `OCI tag ${q.reference} already names another manifest`;
  return `no OCI tag ${q.reference}`;
}
