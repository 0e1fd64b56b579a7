/**
 * SPDX 2.3 JSON SBOM for an image built by countersign: one package for the image, one file entry
 * per regular file in it, DESCRIBES/CONTAINS relationships. The output depends only on the input
 * (no random UUIDs, no clock), so the same image always gets the same SBOM bytes once serialised
 * with canonicalJson.
 */
import { createHash } from 'node:crypto';
import { CountersignError } from '../errors';
import { isRfc3339, type FileEntry } from '../oci/build';
import { parseDigest, parseImageReference, repositoryOf } from '../oci/reference';

/** In-toto predicate type of an SPDX document; what `cosign attest --type spdxjson` records. */
export const SPDX_PREDICATE_TYPE = 'https://spdx.dev/Document';

/** Prefix of every document namespace. `.invalid` is reserved (RFC 2606): a name, never a location. */
export const SPDX_NAMESPACE_BASE = 'https://countersign.invalid/spdx';

export const SPDX_DOCUMENT_ID = 'SPDXRef-DOCUMENT';
export const SPDX_IMAGE_PACKAGE_ID = 'SPDXRef-Package-image';

export interface SpdxSbomInput {
  /** Image reference, e.g. `127.0.0.1:5000/apps/hello:v1` (a tag is kept in the purl). */
  imageName: string;
  /** Manifest digest, `sha256:<hex>`. */
  imageDigest: string;
  files: FileEntry[];
  /** RFC 3339 creation time (pass the build's, to keep the SBOM reproducible); stored as UTC `...Z`. */
  created: string;
  /** Creator tool, default `countersign`. */
  toolName?: string;
}

interface SpdxChecksum {
  algorithm: 'SHA1' | 'SHA256';
  checksumValue: string;
}

export interface SpdxFile {
  SPDXID: string;
  fileName: string;
  checksums: SpdxChecksum[];
  licenseConcluded: string;
  licenseInfoInFiles: string[];
  copyrightText: string;
}

export interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo: string;
  downloadLocation: string;
  filesAnalyzed: boolean;
  packageVerificationCode?: { packageVerificationCodeValue: string };
  checksums: SpdxChecksum[];
  primaryPackagePurpose: string;
  licenseConcluded: string;
  licenseDeclared: string;
  licenseInfoFromFiles: string[];
  copyrightText: string;
  externalRefs: Array<{ referenceCategory: string; referenceType: string; referenceLocator: string }>;
}

export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: string;
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  packages: SpdxPackage[];
  files: SpdxFile[];
  relationships: Array<{ spdxElementId: string; relationshipType: string; relatedSpdxElement: string }>;
}

const HEX64 = /^[a-f0-9]{64}$/;
const HEX40 = /^[a-f0-9]{40}$/;

/**
 * `created` as SPDX wants it: UTC, whole seconds, `YYYY-MM-DDThh:mm:ssZ`. Any RFC 3339 time is
 * accepted and converted (an offset is applied, fractions of a second are dropped).
 */
export function spdxTimestamp(created: string): string {
  if (!isRfc3339(created)) {
    throw new CountersignError('BAD_INPUT', `created must be an RFC 3339 timestamp, got ${JSON.stringify(created)}`);
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(created)) return created;
  return new Date(Math.floor(Date.parse(created) / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `SPDXRef-File-<path with other characters as '-'>-<8 hex of sha256(path)>`; unique per path. */
export function spdxFileId(filePath: string): string {
  const slug = filePath.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 120) || 'file';
  const tag = createHash('sha256').update(filePath, 'utf8').digest('hex').slice(0, 8);
  return `SPDXRef-File-${slug}-${tag}`;
}

/** Percent-encodes a purl component, leaving '/' and ':' readable. */
function purlEncode(s: string): string {
  return encodeURIComponent(s).replace(/%2F/g, '/').replace(/%3A/g, ':');
}

/** `pkg:oci/<name>@sha256%3A<hex>?repository_url=<registry/repository>[&tag=<tag>]`. */
export function ociPurl(repository: string, digest: string, tag?: string): string {
  const name = repository.slice(repository.lastIndexOf('/') + 1);
  const qualifiers = [`repository_url=${purlEncode(repository)}`];
  if (tag !== undefined) qualifiers.push(`tag=${purlEncode(tag)}`);
  return `pkg:oci/${encodeURIComponent(name)}@${encodeURIComponent(digest)}?${qualifiers.join('&')}`;
}

function checkFiles(files: unknown): FileEntry[] {
  if (!Array.isArray(files)) throw new CountersignError('BAD_INPUT', 'files must be an array');
  const seen = new Set<string>();
  for (const f of files as FileEntry[]) {
    const label = JSON.stringify(f?.path);
    if (f === null || typeof f !== 'object' || typeof f.path !== 'string' || f.path === '' || f.path.startsWith('/')) {
      throw new CountersignError('BAD_INPUT', `file entry ${label} must have a relative path`);
    }
    if (typeof f.sha256 !== 'string' || !HEX64.test(f.sha256)) {
      throw new CountersignError('BAD_INPUT', `file ${label} needs a lowercase hex sha256`);
    }
    if (f.sha1 !== undefined && (typeof f.sha1 !== 'string' || !HEX40.test(f.sha1))) {
      throw new CountersignError('BAD_INPUT', `file ${label} has a malformed sha1`);
    }
    if (!Number.isSafeInteger(f.size) || f.size < 0) {
      throw new CountersignError('BAD_INPUT', `file ${label} has an invalid size`);
    }
    if (seen.has(f.path)) throw new CountersignError('BAD_INPUT', `file ${label} is listed twice`);
    seen.add(f.path);
  }
  return files as FileEntry[];
}

/**
 * The SPDX 2.3 document for an image. `imageDigest` must be a sha256 digest (BAD_REFERENCE),
 * `imageName` a valid image reference (BAD_REFERENCE; if it carries a digest, it must be
 * `imageDigest`), `created` RFC 3339 and `files` well-formed (BAD_INPUT).
 *
 * The package has filesAnalyzed: true (SPDX 2.3 forbids files under a package that says false)
 * and a packageVerificationCode when every file carries a sha1 (the builder's do). Files are tied
 * to it by CONTAINS relationships (not the deprecated `hasFiles`).
 */
export function createSpdxSbom(input: SpdxSbomInput): SpdxDocument {
  if (input === null || typeof input !== 'object') throw new CountersignError('BAD_INPUT', 'SBOM input must be an object');
  const digest = parseDigest(input.imageDigest);
  const ref = parseImageReference(input.imageName);
  if (ref.digest !== undefined && ref.digest !== digest) {
    throw new CountersignError('BAD_INPUT', `imageName ${input.imageName} names a different digest than ${digest}`);
  }
  const created = spdxTimestamp(input.created);
  const toolName = input.toolName ?? 'countersign';
  if (typeof toolName !== 'string' || toolName.trim() === '') throw new CountersignError('BAD_INPUT', 'toolName must be a non-empty string');

  const files = [...checkFiles(input.files)].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  const repository = repositoryOf(ref);
  const hex = digest.slice('sha256:'.length);

  const spdxFiles: SpdxFile[] = [];
  const ids = new Set<string>();
  for (const f of files) {
    const id = spdxFileId(f.path);
    if (ids.has(id)) throw new CountersignError('INTERNAL', `SPDX id collision for file ${f.path}`);
    ids.add(id);
    const checksums: SpdxChecksum[] = [];
    if (f.sha1 !== undefined) checksums.push({ algorithm: 'SHA1', checksumValue: f.sha1 });
    checksums.push({ algorithm: 'SHA256', checksumValue: f.sha256 });
    spdxFiles.push({
      SPDXID: id,
      fileName: `./${f.path}`,
      checksums,
      licenseConcluded: 'NOASSERTION',
      licenseInfoInFiles: ['NOASSERTION'],
      copyrightText: 'NOASSERTION',
    });
  }

  const pkg: SpdxPackage = {
    SPDXID: SPDX_IMAGE_PACKAGE_ID,
    name: repository,
    versionInfo: digest,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: true,
    checksums: [{ algorithm: 'SHA256', checksumValue: hex }],
    primaryPackagePurpose: 'CONTAINER',
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    licenseInfoFromFiles: ['NOASSERTION'],
    copyrightText: 'NOASSERTION',
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: ociPurl(repository, digest, ref.tag) }],
  };
  if (files.length > 0 && files.every((f) => f.sha1 !== undefined)) {
    const joined = files.map((f) => f.sha1 as string).sort().join('');
    pkg.packageVerificationCode = { packageVerificationCodeValue: createHash('sha1').update(joined, 'ascii').digest('hex') };
  }

  const namespacePath = repository.split('/').map(encodeURIComponent).join('/');
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: SPDX_DOCUMENT_ID,
    name: `${repository}@${digest}`,
    documentNamespace: `${SPDX_NAMESPACE_BASE}/${namespacePath}/sha256-${hex}`,
    creationInfo: { created, creators: [`Tool: ${toolName}`] },
    packages: [pkg],
    files: spdxFiles,
    relationships: [
      { spdxElementId: SPDX_DOCUMENT_ID, relationshipType: 'DESCRIBES', relatedSpdxElement: SPDX_IMAGE_PACKAGE_ID },
      ...spdxFiles.map((f) => ({ spdxElementId: SPDX_IMAGE_PACKAGE_ID, relationshipType: 'CONTAINS', relatedSpdxElement: f.SPDXID })),
    ],
  };
}
