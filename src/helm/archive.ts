/**
 * Reading a chart archive (`<name>-<version>.tgz`) with the checks Helm's loader makes before it
 * trusts one: every entry under one top directory named after the chart, no absolute or `..`
 * paths, no links, Helm's size limits, Chart.yaml present and valid. Anything else is
 * CHART_INVALID with the reason.
 */
import { gunzipSync } from 'node:zlib';
import { CountersignError } from '../errors';
import { listTar } from '../oci/tar';
import { CHART_FILE, chartFileName, parseChartYaml, type ChartMetadata } from './metadata';

/** Helm's limits (MaxDecompressedChartSize, MaxDecompressedFileSize). */
export const MAX_CHART_SIZE = 100 * 1024 * 1024;
export const MAX_FILE_SIZE = 5 * 1024 * 1024;

export interface ChartArchive {
  metadata: ChartMetadata;
  /** File contents by path relative to the chart root (no `<name>/` prefix), sorted. */
  files: Map<string, Buffer>;
}

function refuse(what: string, reason: string): never {
  throw new CountersignError('CHART_INVALID', `${what}: ${reason}`, { details: { source: what, problems: [reason] } });
}

/** Opens a chart archive; `what` names it in errors (usually its file name). */
export function readChartArchive(tgz: Buffer, what = 'chart archive'): ChartArchive {
  let tar: Buffer;
  try {
    tar = gunzipSync(tgz, { maxOutputLength: MAX_CHART_SIZE + 1024 * 1024 });
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? `larger than ${MAX_CHART_SIZE} bytes uncompressed` : `not a gzip file (${(cause as Error).message})`;
    return refuse(what, reason);
  }
  let entries;
  try {
    entries = listTar(tar);
  } catch (cause) {
    return refuse(what, `not a valid tar archive (${(cause as Error).message})`);
  }
  const files = new Map<string, Buffer>();
  const tops = new Set<string>();
  let total = 0;
  for (const entry of entries) {
    if (entry.type === 'directory') continue;
    const name = entry.path.replace(/\\/g, '/');
    if (name.startsWith('/')) refuse(what, `entry ${JSON.stringify(entry.path)} is an absolute path`);
    const parts = name.split('/');
    if (parts.length < 2 || parts.slice(1).join('') === '') refuse(what, `entry ${JSON.stringify(entry.path)} is not inside the chart's directory`);
    if (parts.some((p) => p === '..')) refuse(what, `entry ${JSON.stringify(entry.path)} refers to a parent directory`);
    if (entry.type !== 'file') refuse(what, `entry ${JSON.stringify(entry.path)} is a ${entry.type}; a chart holds regular files only`);
    if (entry.size > MAX_FILE_SIZE) refuse(what, `file ${JSON.stringify(entry.path)} is larger than ${MAX_FILE_SIZE} bytes`);
    total += entry.size;
    if (total > MAX_CHART_SIZE) refuse(what, `larger than ${MAX_CHART_SIZE} bytes uncompressed`);
    tops.add(parts[0]!);
    const rel = parts.slice(1).filter((p) => p !== '' && p !== '.').join('/');
    if (files.has(rel)) refuse(what, `file ${JSON.stringify(rel)} appears twice`);
    files.set(rel, entry.data ?? Buffer.alloc(0));
  }
  if (files.size === 0) refuse(what, 'no files in the archive');
  if (tops.size > 1) refuse(what, `entries under more than one top directory (${[...tops].sort().join(', ')})`);
  const chartYaml = files.get(CHART_FILE);
  if (chartYaml === undefined) refuse(what, `no ${CHART_FILE} in the chart's top directory`);
  const metadata = parseChartYaml(chartYaml, `${what}: ${CHART_FILE}`);
  const [top] = tops;
  if (top !== metadata.name) refuse(what, `top directory is ${JSON.stringify(top)}, but the chart is named ${JSON.stringify(metadata.name)}`);
  return { metadata, files: new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
}

/**
 * CHART_NAME_MISMATCH unless `fileName` is `<name>-<version>.tgz` for the chart inside: a chart
 * served under another name would be indexed, pulled and verified as something it is not.
 */
export function assertArchiveName(fileName: string, metadata: ChartMetadata): void {
  const expected = chartFileName(metadata);
  if (fileName !== expected) {
    throw new CountersignError(
      'CHART_NAME_MISMATCH',
      `${fileName} holds chart ${metadata.name} version ${metadata.version}, whose file name is ${expected}`,
      { details: { fileName, expected, name: metadata.name, version: metadata.version } },
    );
  }
}
