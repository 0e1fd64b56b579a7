/**
 * OCI image manifests and indexes read from a registry, checked before anything uses them: the
 * fields countersign reads have the types the OCI image spec gives them, digests have the spec's
 * grammar (so they are safe in a URL), sizes are non-negative integers. Fields countersign does
 * not read are left alone, as the spec asks. MANIFEST_INVALID lists every problem;
 * INPUT_TOO_LARGE when over DEFAULT_MANIFEST_MAX_BYTES or nested too deep.
 */
import { parseJsonBounded } from '../bounded-json';
import { CountersignError } from '../errors';
import { MEDIA_TYPE, type Descriptor, type ImageManifest } from './types';

/**
 * The manifest size distribution (the registry in the stack) and most registries refuse to
 * store, and the least the OCI distribution spec asks registries to accept.
 */
export const DEFAULT_MANIFEST_MAX_BYTES = 4 * 1024 * 1024;

/** The OCI digest grammar: algorithm ":" encoded. No '/', '?' or '.': safe inside a URL path. */
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const INDEX_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPE.imageIndex, MEDIA_TYPE.dockerManifestList]);

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

type Raw = Record<string, unknown>;

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkAnnotations(value: unknown, at: string, problems: string[]): void {
  if (value === undefined) return;
  if (!isObject(value) || Object.values(value).some((v) => typeof v !== 'string')) problems.push(`${at} is not a map of strings`);
}

function checkDescriptor(value: unknown, at: string, problems: string[]): void {
  if (!isObject(value)) {
    problems.push(`${at} is not an object`);
    return;
  }
  if (typeof value.mediaType !== 'string' || value.mediaType === '') problems.push(`${at}.mediaType is missing`);
  if (typeof value.digest !== 'string' || !DIGEST.test(value.digest)) problems.push(`${at}.digest is not a digest`);
  if (typeof value.size !== 'number' || !Number.isSafeInteger(value.size) || value.size < 0) problems.push(`${at}.size is not a non-negative integer`);
  if (value.artifactType !== undefined && typeof value.artifactType !== 'string') problems.push(`${at}.artifactType is not a string`);
  checkAnnotations(value.annotations, `${at}.annotations`, problems);
}

function parseTop(data: Buffer, what: string, problems: string[]): Raw {
  const value = parseJsonBounded(data, { what, maxBytes: DEFAULT_MANIFEST_MAX_BYTES, code: 'MANIFEST_INVALID' });
  if (!isObject(value)) throw new CountersignError('MANIFEST_INVALID', `${what} is not a JSON object`);
  if (value.schemaVersion !== 2) problems.push(`schemaVersion is ${typeof value.schemaVersion === 'number' ? value.schemaVersion : typeof value.schemaVersion}, not 2`);
  if (value.mediaType !== undefined && typeof value.mediaType !== 'string') problems.push('mediaType is not a string');
  if (value.artifactType !== undefined && typeof value.artifactType !== 'string') problems.push('artifactType is not a string');
  if (value.subject !== undefined) checkDescriptor(value.subject, 'subject', problems);
  checkAnnotations(value.annotations, 'annotations', problems);
  return value;
}

function refuseIf(problems: string[], what: string): void {
  if (problems.length === 0) return;
  const shown = problems.slice(0, 10).join('; ') + (problems.length > 10 ? `; and ${problems.length - 10} more` : '');
  throw new CountersignError('MANIFEST_INVALID', `${what}: ${shown}`, { details: { problems: problems.slice(0, 100) } });
}

/** An image manifest (OCI or Docker v2); an index is refused. `what` names it in errors. */
export function parseImageManifest(data: Buffer, what = 'image manifest'): ImageManifest {
  const problems: string[] = [];
  const value = parseTop(data, what, problems);
  if (typeof value.mediaType === 'string' && INDEX_TYPES.has(value.mediaType)) problems.push(`is an image index (${value.mediaType}), not an image manifest`);
  checkDescriptor(value.config, 'config', problems);
  if (!Array.isArray(value.layers)) problems.push('layers is not a list');
  else value.layers.forEach((d, i) => checkDescriptor(d, `layers[${i}]`, problems));
  refuseIf(problems, what);
  return value as unknown as ImageManifest;
}

/** An image index (OCI or Docker manifest list). `what` names it in errors. */
export function parseImageIndex(data: Buffer, what = 'image index'): ImageIndex {
  const problems: string[] = [];
  const value = parseTop(data, what, problems);
  // Registries written in Go send an empty list as null or leave it out (olareg's Referrers API).
  if (value.manifests === null || value.manifests === undefined) value.manifests = [];
  if (!Array.isArray(value.manifests)) problems.push('manifests is not a list');
  else value.manifests.forEach((d, i) => checkDescriptor(d, `manifests[${i}]`, problems));
  refuseIf(problems, what);
  return value as unknown as ImageIndex;
}

/** True for an image index or Docker manifest list media type. */
export function isIndexMediaType(mediaType: string): boolean {
  return INDEX_TYPES.has(mediaType);
}
