/**
 * What changed in an image's SBOM against the release's: packages by name (added, removed,
 * version changed) and files by name (added, removed, content changed). Reads SPDX 2.3 JSON as
 * any tool writes it, field by field, ignoring what it does not know.
 */
import { fields, str } from '../provenance/predicate';

export interface SbomContents {
  /** name -> versionInfo ("" when the SBOM gives none). */
  packages: Record<string, string>;
  /** fileName -> SHA256 (or the first checksum given). */
  files: Record<string, string>;
}

export interface VersionChange {
  name: string;
  from: string;
  to: string;
}

export interface SbomChanges {
  packages: { added: Array<{ name: string; version: string }>; removed: Array<{ name: string; version: string }>; changed: VersionChange[] };
  files: { added: string[]; removed: string[]; changed: string[] };
}

/** The packages and files an SPDX document lists; a document with neither yields empty maps. */
export function sbomContents(document: unknown): SbomContents {
  const doc = fields(document) ?? {};
  const packages: Record<string, string> = {};
  for (const p of Array.isArray(doc.packages) ? doc.packages : []) {
    const name = str(fields(p)?.name);
    if (name !== undefined) packages[name] = str(fields(p)?.versionInfo) ?? '';
  }
  const files: Record<string, string> = {};
  for (const f of Array.isArray(doc.files) ? doc.files : []) {
    const name = str(fields(f)?.fileName);
    if (name === undefined) continue;
    const checksums = Array.isArray(fields(f)?.checksums) ? (fields(f)!.checksums as unknown[]) : [];
    const sha256 = checksums.map(fields).find((c) => c?.algorithm === 'SHA256') ?? fields(checksums[0]);
    files[name] = str(sha256?.checksumValue) ?? '';
  }
  return { packages, files };
}

/** Changes from `released` to `candidate`; with no release, everything in the candidate is added. */
export function diffSbom(candidate: SbomContents, released: SbomContents | undefined): SbomChanges {
  const before = released ?? { packages: {}, files: {} };
  const sorted = (names: Iterable<string>) => [...names].sort();
  const packageNames = sorted(new Set([...Object.keys(before.packages), ...Object.keys(candidate.packages)]));
  const fileNames = sorted(new Set([...Object.keys(before.files), ...Object.keys(candidate.files)]));
  const has = (map: Record<string, string>, key: string) => Object.prototype.hasOwnProperty.call(map, key);
  return {
    packages: {
      added: packageNames.filter((n) => !has(before.packages, n)).map((name) => ({ name, version: candidate.packages[name] })),
      removed: packageNames.filter((n) => !has(candidate.packages, n)).map((name) => ({ name, version: before.packages[name] })),
      changed: packageNames
        .filter((n) => has(before.packages, n) && has(candidate.packages, n) && before.packages[n] !== candidate.packages[n])
        .map((name) => ({ name, from: before.packages[name], to: candidate.packages[name] })),
    },
    files: {
      added: fileNames.filter((n) => !has(before.files, n)),
      removed: fileNames.filter((n) => !has(candidate.files, n)),
      changed: fileNames.filter((n) => has(before.files, n) && has(candidate.files, n) && before.files[n] !== candidate.files[n]),
    },
  };
}
