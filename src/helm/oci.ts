/**
 * Charts in an OCI registry, as `helm push` writes them and `helm pull oci://` reads them: an
 * OCI image manifest whose config is the chart metadata as JSON
 * (`application/vnd.cncf.helm.config.v1+json`), whose layers are the archive and, when signed,
 * the `.prov` file (sorted by digest, as Helm sorts them), tagged with the chart version (`+`
 * becomes `_`, which tags cannot hold), at `<namespace>/<chart name>`. The manifest digest is what
 * cosign signs, exactly as for an image.
 */
import { CountersignError } from '../errors';
import { blobOf, jsonBlob } from '../oci/digest';
import { parseImageManifest } from '../oci/manifest';
import type { Store } from '../oci/store';
import { MEDIA_TYPE, type Blob, type ImageManifest } from '../oci/types';
import { MAX_CHART_SIZE, assertArchiveName, readChartArchive } from './archive';
import { DEFAULT_PROVENANCE_MAX_BYTES } from './provenance';
import { chartFileName, metadataJson, type ChartMetadata } from './metadata';

export const HELM_MEDIA_TYPE = {
  config: 'application/vnd.cncf.helm.config.v1+json',
  chart: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
  provenance: 'application/vnd.cncf.helm.chart.provenance.v1.prov',
} as const;

/** Annotations Helm sets from the chart that a chart's own annotations may not override. */
const IMMUTABLE_ANNOTATIONS = [
  'org.opencontainers.image.description',
  'org.opencontainers.image.title',
  'org.opencontainers.image.version',
  'org.opencontainers.image.url',
  'org.opencontainers.image.created',
  'org.opencontainers.image.source',
  'org.opencontainers.image.authors',
];

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;

/** The OCI tag for a chart version. */
export function chartTag(version: string): string {
  return version.replace(/\+/g, '_');
}

/** `<namespace>/<name>`: where `helm push <tgz> oci://<host>/<namespace>` puts a chart. */
export function chartRepository(namespace: string, name: string): string {
  if (!PATH_COMPONENT.test(name)) {
    throw new CountersignError('CHART_INVALID', `chart name ${JSON.stringify(name)} cannot be an OCI repository name (lowercase letters, digits, and . _ - between them)`);
  }
  const ns = namespace.replace(/^\/+|\/+$/g, '');
  return ns === '' ? name : `${ns}/${name}`;
}

export interface ChartArtifact {
  manifest: Blob;
  config: Blob;
  layers: Blob[];
  digest: string;
  tag: string;
}

/** The manifest, config and layers `helm push` would write for this chart. `created` is RFC 3339. */
export function chartArtifact(metadata: ChartMetadata, archive: Buffer, provenance: string | undefined, created: string): ChartArtifact {
  const config = blobOf(Buffer.from(metadataJson(metadata), 'utf8'), HELM_MEDIA_TYPE.config);
  const layers = [blobOf(archive, HELM_MEDIA_TYPE.chart)];
  if (provenance !== undefined) layers.push(blobOf(Buffer.from(provenance, 'utf8'), HELM_MEDIA_TYPE.provenance));
  layers.sort((a, b) => (a.descriptor.digest < b.descriptor.digest ? -1 : 1));
  const manifestValue: ImageManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.imageManifest,
    config: config.descriptor,
    layers: layers.map((l) => l.descriptor),
    annotations: annotationsFor(metadata, created),
  };
  const manifest = jsonBlob(manifestValue, MEDIA_TYPE.imageManifest);
  return { manifest, config, layers, digest: manifest.descriptor.digest, tag: chartTag(metadata.version) };
}

function annotationsFor(md: ChartMetadata, created: string): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (key: string, value: string | undefined) => {
    if (value) out[key] = value;
  };
  add('org.opencontainers.image.description', md.description);
  add('org.opencontainers.image.title', md.name);
  add('org.opencontainers.image.version', md.version);
  add('org.opencontainers.image.url', md.home);
  add('org.opencontainers.image.created', created);
  add('org.opencontainers.image.source', md.sources?.[0]);
  if (md.maintainers && md.maintainers.length > 0) {
    add('org.opencontainers.image.authors', md.maintainers.map((m) => `${m.name ?? ''}${m.email ? ` (${m.email})` : ''}`).join(', '));
  }
  for (const [key, value] of Object.entries(md.annotations ?? {})) {
    if (!IMMUTABLE_ANNOTATIONS.includes(key)) out[key] = value;
  }
  return out;
}

export interface PushChartInput {
  fileName: string;
  archive: Buffer;
  provenance?: string;
  /** RFC 3339 time for `org.opencontainers.image.created`; pin it so a retry pushes the same manifest. */
  created: string;
}

export interface PushedChart {
  repository: string;
  tag: string;
  digest: string;
  /** `<host>/<repository>:<tag>@<digest>`. */
  reference: string;
  /** False when the tag already named this exact manifest. */
  pushed: boolean;
}

/**
 * Pushes a chart under `<namespace>/<name>:<version>`. A tag that already names another manifest
 * is CHART_VERSION_EXISTS (Helm would overwrite it; a released version must not change).
 */
export async function pushChart(store: Store, namespace: string, input: PushChartInput): Promise<PushedChart> {
  const { metadata } = readChartArchive(input.archive, input.fileName);
  assertArchiveName(input.fileName, metadata);
  const repository = chartRepository(namespace, metadata.name);
  const artifact = chartArtifact(metadata, input.archive, input.provenance, input.created);
  const result = { repository, tag: artifact.tag, digest: artifact.digest, reference: `${store.location}/${repository}:${artifact.tag}@${artifact.digest}` };
  const existing = await store.getManifest(repository, artifact.tag);
  if (existing !== undefined) {
    if (existing.digest === artifact.digest) return { ...result, pushed: false };
    throw new CountersignError('CHART_VERSION_EXISTS', `${store.location}/${repository}:${artifact.tag} already names ${existing.digest}, not ${artifact.digest}; publish a new version`);
  }
  for (const blob of [artifact.config, ...artifact.layers]) await store.putBlob(repository, blob);
  await store.putManifest(repository, artifact.tag, artifact.manifest.data, MEDIA_TYPE.imageManifest);
  return { ...result, pushed: true };
}

export interface PulledChart {
  digest: string;
  metadata: ChartMetadata;
  fileName: string;
  archive: Buffer;
  provenance?: string;
}

/** Reads a chart back from `repository:reference`, checking Helm's media types. */
export async function pullChart(store: Store, repository: string, reference: string): Promise<PulledChart> {
  const stored = await store.getManifest(repository, reference);
  if (!stored) throw new CountersignError('MANIFEST_UNKNOWN', `no chart at ${store.location}/${repository}:${reference}`);
  const manifest = parseImageManifest(stored.data, `${store.location}/${repository}:${reference}`);
  if (manifest.config.mediaType !== HELM_MEDIA_TYPE.config) {
    throw new CountersignError('CHART_INVALID', `${store.location}/${repository}:${reference} is not a Helm chart (config media type ${manifest.config.mediaType})`);
  }
  const chartLayer = manifest.layers.find((l) => l.mediaType === HELM_MEDIA_TYPE.chart);
  if (!chartLayer) throw new CountersignError('CHART_INVALID', `${store.location}/${repository}:${reference} has no chart layer`);
  const provLayer = manifest.layers.find((l) => l.mediaType === HELM_MEDIA_TYPE.provenance);
  if (chartLayer.size > MAX_CHART_SIZE) {
    throw new CountersignError('CHART_INVALID', `${store.location}/${repository}:${reference}: chart layer declares ${chartLayer.size} bytes, over Helm's ${MAX_CHART_SIZE}`);
  }
  if (provLayer && provLayer.size > DEFAULT_PROVENANCE_MAX_BYTES) {
    throw new CountersignError('INPUT_TOO_LARGE', `${store.location}/${repository}:${reference}: provenance layer declares ${provLayer.size} bytes, over the ${DEFAULT_PROVENANCE_MAX_BYTES}-byte limit`);
  }
  const archive = await store.getBlob(repository, chartLayer.digest, chartLayer.size);
  const { metadata } = readChartArchive(archive, `${repository}:${reference}`);
  const provenance = provLayer ? (await store.getBlob(repository, provLayer.digest, provLayer.size)).toString('utf8') : undefined;
  return { digest: stored.digest, metadata, fileName: chartFileName(metadata), archive, provenance };
}
