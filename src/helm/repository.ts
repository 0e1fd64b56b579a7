/**
 * A classic chart repository: a directory of `<name>-<version>.tgz` with their `.prov` files and
 * an `index.yaml`, served by any static web server (`helm repo add`, `helm pull --verify`).
 *
 * index.yaml has the shape `helm repo index` writes: apiVersion v1, entries by chart name, newest
 * version first, each entry the chart metadata plus urls, created and digest (sha256 hex of the
 * archive), then generated. Re-indexing keeps an entry's `created` while its digest is unchanged,
 * so publishing one chart does not rewrite the history of the others.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { CountersignError } from '../errors';
import { sha256Hex } from '../oci/digest';
import { assertArchiveName, readChartArchive } from './archive';
import { metadataObject, type ChartMetadata } from './metadata';
import { compareSemVer, parseSemVer } from './semver';

export const INDEX_FILE = 'index.yaml';
/**
 * The largest index.yaml read (re-indexing keeps `created` times from it; a campaign finds chart
 * versions in it). Thousands of chart versions fit in a few megabytes; a file past this is not a
 * repository this worker wrote, and it is refused before it is parsed.
 */
export const MAX_INDEX_BYTES = 16 * 1024 * 1024;
/** Where withdrawn (quarantined) charts go: a dot directory, which indexing skips and so never lists again. */
export const WITHDRAWN_DIR = '.quarantine';

export interface IndexOptions {
  /** Absolute base URL for `urls` (as `helm repo index --url`); relative file names when absent. */
  baseUrl?: string;
  /** Time stamped on new entries and on `generated`; defaults to now. */
  now?: Date;
}

export interface IndexedChart {
  name: string;
  version: string;
  fileName: string;
  digest: string;
  hasProvenance: boolean;
}

/** Rebuilds `dir/index.yaml` from the chart archives in `dir` (and one level of subdirectories). */
export async function indexRepository(dir: string, options: IndexOptions = {}): Promise<IndexedChart[]> {
  const now = (options.now ?? new Date()).toISOString();
  const previous = await readCreatedTimes(path.join(dir, INDEX_FILE));
  const found = await findArchives(dir);
  const entries = new Map<string, Array<Record<string, unknown>>>();
  const charts: IndexedChart[] = [];
  const problems: string[] = [];
  for (const rel of found) {
    const data = await fsp.readFile(path.join(dir, rel));
    const fileName = path.posix.basename(rel);
    let metadata: ChartMetadata;
    try {
      metadata = readChartArchive(data, rel).metadata;
      assertArchiveName(fileName, metadata);
    } catch (err) {
      problems.push((err as Error).message);
      continue;
    }
    const digest = sha256Hex(data);
    const created = previous.get(`${metadata.name}@${metadata.version}@${digest}`) ?? now;
    const url = options.baseUrl ? `${options.baseUrl.replace(/\/+$/, '')}/${rel}` : rel;
    const entry = { ...metadataObject(metadata), created, digest, urls: [url] };
    const list = entries.get(metadata.name) ?? [];
    if (list.some((e) => e.version === metadata.version)) problems.push(`${rel}: ${metadata.name} ${metadata.version} is in the repository twice`);
    list.push(entry);
    entries.set(metadata.name, list);
    const hasProvenance = await fsp.stat(path.join(dir, `${rel}.prov`)).then(() => true, () => false);
    charts.push({ name: metadata.name, version: metadata.version, fileName: rel, digest, hasProvenance });
  }
  if (problems.length > 0) {
    throw new CountersignError('CHART_INVALID', `repository ${dir}: ${problems.join('; ')}`, { details: { problems } });
  }
  for (const list of entries.values()) {
    list.sort((a, b) => compareSemVer(parseSemVer(String(b.version))!, parseSemVer(String(a.version))!));
  }
  const index = { apiVersion: 'v1', entries: Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : 1))), generated: now };
  await writeAtomically(path.join(dir, INDEX_FILE), stringify(index, { sortMapEntries: true, indentSeq: false }));
  return charts;
}

async function findArchives(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.tgz')) out.push(entry.name);
    if (entry.isDirectory() && !entry.name.startsWith('.')) {
      for (const sub of await fsp.readdir(path.join(dir, entry.name), { withFileTypes: true })) {
        if (sub.isFile() && sub.name.endsWith('.tgz')) out.push(`${entry.name}/${sub.name}`);
      }
    }
  }
  return out.sort();
}

type RawIndex = { entries?: Record<string, Array<Record<string, unknown>>> } | null;

/** The parsed index.yaml of `dir`, undefined when there is none; INPUT_TOO_LARGE past MAX_INDEX_BYTES. */
async function readRawIndex(file: string): Promise<RawIndex | undefined> {
  const size = await fsp.stat(file).then((st) => st.size, () => undefined);
  if (size === undefined) return undefined;
  if (size > MAX_INDEX_BYTES) {
    throw new CountersignError('INPUT_TOO_LARGE', `${file} is ${size} bytes, over the ${MAX_INDEX_BYTES}-byte limit of a chart repository index`, { details: { bytes: size, limit: MAX_INDEX_BYTES } });
  }
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return parse(text) as RawIndex;
  } catch (cause) {
    throw new CountersignError('CHART_INVALID', `${file} is not YAML: ${(cause as Error).message.split('\n')[0]}`, { cause });
  }
}

async function readCreatedTimes(file: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const index = await readRawIndex(file);
  for (const [name, list] of Object.entries(index?.entries ?? {})) {
    for (const e of Array.isArray(list) ? list : []) {
      if (typeof e?.created === 'string') out.set(`${name}@${String(e.version)}@${String(e.digest)}`, e.created);
    }
  }
  return out;
}

async function writeAtomically(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  await fsp.writeFile(tmp, data);
  await fsp.rename(tmp, file);
}

export interface PublishInput {
  fileName: string;
  archive: Buffer;
  provenance?: string;
  /** The archive's sigstore blob bundle, published as `<fileName>.sigstore.json`. */
  bundle?: string;
}

/**
 * Adds a chart (and its provenance) to the repository in `dir` and re-indexes it. A version
 * already published with other bytes is CHART_VERSION_EXISTS: chart versions are immutable.
 * Publishing the same bytes again changes nothing (retries are safe).
 */
export async function publishToRepository(dir: string, input: PublishInput, options: IndexOptions = {}): Promise<IndexedChart[]> {
  const { metadata } = readChartArchive(input.archive, input.fileName);
  assertArchiveName(input.fileName, metadata);
  await fsp.mkdir(dir, { recursive: true });
  const target = path.join(dir, input.fileName);
  const existing = await fsp.readFile(target).catch(() => undefined);
  if (existing !== undefined && !existing.equals(input.archive)) {
    throw new CountersignError('CHART_VERSION_EXISTS', `${metadata.name} ${metadata.version} is already in ${dir} with sha256:${sha256Hex(existing)}, not sha256:${sha256Hex(input.archive)}; publish a new version`);
  }
  if (input.provenance !== undefined) await writeAtomically(`${target}.prov`, input.provenance);
  if (input.bundle !== undefined) await writeAtomically(`${target}.sigstore.json`, input.bundle);
  if (existing === undefined) await writeAtomically(target, input.archive);
  return indexRepository(dir, options);
}

export interface IndexEntry {
  name: string;
  version: string;
  /** Hex sha256 of the archive. */
  digest: string;
  /** `<name>-<version>.tgz`, where publishToRepository writes it. */
  fileName: string;
}

/** The chart versions `dir/index.yaml` lists (none without one). */
export async function readRepositoryIndex(dir: string): Promise<IndexEntry[]> {
  const index = await readRawIndex(path.join(dir, INDEX_FILE));
  const out: IndexEntry[] = [];
  for (const [name, list] of Object.entries(index?.entries ?? {})) {
    for (const e of Array.isArray(list) ? list : []) {
      const version = String(e?.version ?? '');
      if (typeof e?.digest === 'string' && /^[0-9a-f]{64}$/.test(e.digest)) out.push({ name, version, digest: e.digest, fileName: `${name}-${version}.tgz` });
    }
  }
  return out;
}

/** Files published beside an archive, moved with it. */
const COMPANIONS = ['', '.prov', '.sigstore.json'];

/**
 * Takes a chart version out of the repository: the archive and its `.prov` and bundle move to
 * `dir/.quarantine/` with a note saying why, and index.yaml is rebuilt without it (a later
 * publish re-indexes from the archives left, so it does not come back). Idempotent: a chart
 * already moved is re-indexed and reported as such.
 */
export async function withdrawFromRepository(dir: string, fileName: string, note: Record<string, unknown>, options: IndexOptions = {}): Promise<'withdrawn' | 'already'> {
  if (path.basename(fileName) !== fileName) throw new CountersignError('BAD_INPUT', `${fileName} is not a file name`);
  const away = path.join(dir, WITHDRAWN_DIR);
  await fsp.mkdir(away, { recursive: true });
  const present = await fsp.stat(path.join(dir, fileName)).then(() => true, () => false);
  if (present) {
    await writeAtomically(path.join(away, `${fileName}.quarantine.json`), `${JSON.stringify(note, null, 2)}\n`);
    // The archive last: a retry that finds it still in place moves the rest again.
    for (const ext of [...COMPANIONS].reverse()) {
      await fsp.rename(path.join(dir, `${fileName}${ext}`), path.join(away, `${fileName}${ext}`)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
  }
  await indexRepository(dir, options);
  return present ? 'withdrawn' : 'already';
}

/** The withdrawn archive with this sha256, if a campaign moved it (its file name). */
export async function findWithdrawn(dir: string, sha256: string): Promise<string | undefined> {
  const away = path.join(dir, WITHDRAWN_DIR);
  const names = await fsp.readdir(away).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.endsWith('.tgz')).sort()) {
    if (sha256Hex(await fsp.readFile(path.join(away, name))) === sha256) return name;
  }
  return undefined;
}

/** Replaces the `.prov` of a published archive (atomically: a reader sees the old one or the new one). */
export async function replaceProvenance(dir: string, fileName: string, provenance: string): Promise<void> {
  if (path.basename(fileName) !== fileName) throw new CountersignError('BAD_INPUT', `${fileName} is not a file name`);
  await writeAtomically(path.join(dir, `${fileName}.prov`), provenance);
}
