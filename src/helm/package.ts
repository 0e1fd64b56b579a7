/**
 * `helm package`, deterministically: the chart directory (less what `.helmignore` and Helm's
 * default rule leave out) becomes `<name>-<version>.tgz` with every file under `<name>/`.
 *
 * Same layout as Helm: regular files only, no directory entries, mode 0644, a leading UTF-8 BOM
 * dropped from every file, values.yaml and values.schema.json checked. Unlike Helm, the bytes
 * depend on nothing but the files: entries sorted by path, mtime 0, no owner names, gzip header
 * pinned (see oci/build.ts `gzipDeterministic`), and Chart.yaml is kept as written (Helm
 * re-serialises it, dropping comments). Symlinks are refused rather than followed.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { CountersignError } from '../errors';
import { gzipDeterministic } from '../oci/build';
import { sha256Hex } from '../oci/digest';
import { createTar, type TarEntry } from '../oci/tar';
import { MAX_CHART_SIZE, MAX_FILE_SIZE } from './archive';
import { HELMIGNORE, HelmIgnore } from './helmignore';
import { CHART_FILE, chartFileName, parseChartYaml, type ChartMetadata } from './metadata';

export interface PackagedChart {
  metadata: ChartMetadata;
  /** `<name>-<version>.tgz`. */
  fileName: string;
  data: Buffer;
  /** Lowercase hex SHA-256 of `data`. */
  sha256: string;
  /** Paths inside the archive, sorted, without the `<name>/` prefix. */
  files: string[];
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function invalid(dir: string, reason: string, cause?: unknown): CountersignError {
  return new CountersignError('CHART_INVALID', `chart ${dir}: ${reason}`, { cause, details: { source: dir, problems: [reason] } });
}

async function readFileIn(dir: string, rel: string): Promise<Buffer | undefined> {
  try {
    return await fsp.readFile(path.join(dir, rel));
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw invalid(dir, `cannot read ${rel}: ${(cause as Error).message}`, cause);
  }
}

/** Packages the chart in `dir`; CHART_INVALID with every reason when it is not a valid chart. */
export async function packageChart(dir: string): Promise<PackagedChart> {
  const st = await fsp.stat(dir).catch((cause: NodeJS.ErrnoException) => {
    throw invalid(dir, cause.code === 'ENOENT' ? 'no such directory' : cause.message, cause);
  });
  if (!st.isDirectory()) throw invalid(dir, 'not a directory');
  const chartYaml = await readFileIn(dir, CHART_FILE);
  if (chartYaml === undefined) throw invalid(dir, `no ${CHART_FILE}`);
  const metadata = parseChartYaml(chartYaml, path.join(dir, CHART_FILE));

  const ignoreText = await readFileIn(dir, HELMIGNORE);
  const rules = HelmIgnore.parse(ignoreText?.toString('utf8') ?? '', path.join(dir, HELMIGNORE));
  const files = await collectChartFiles(dir, rules);
  checkContent(dir, files);

  const entries: TarEntry[] = [...files].map(([rel, data]) => ({ path: `${metadata.name}/${rel}`, type: 'file', data }));
  const data = gzipDeterministic(createTar(entries));
  return { metadata, fileName: chartFileName(metadata), data, sha256: sha256Hex(data), files: [...files.keys()] };
}

async function collectChartFiles(dir: string, rules: HelmIgnore): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  let total = 0;
  async function walk(rel: string): Promise<void> {
    const abs = path.join(dir, rel);
    const names = (await fsp.readdir(abs)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const name of names) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const childAbs = path.join(dir, childRel);
      const st = await fsp.lstat(childAbs);
      if (rules.ignores(childRel, st.isDirectory())) continue;
      if (st.isSymbolicLink()) throw invalid(dir, `${childRel} is a symlink; countersign does not follow links in a chart (replace it with a copy or list it in ${HELMIGNORE})`);
      if (st.isDirectory()) {
        await walk(childRel);
        continue;
      }
      if (!st.isFile()) throw invalid(dir, `${childRel} is not a regular file`);
      if (st.size > MAX_FILE_SIZE) throw invalid(dir, `${childRel} is larger than Helm's ${MAX_FILE_SIZE}-byte limit per file`);
      let data = await fsp.readFile(childAbs);
      if (data.subarray(0, 3).equals(BOM)) data = data.subarray(3);
      total += data.length;
      if (total > MAX_CHART_SIZE) throw invalid(dir, `larger than Helm's ${MAX_CHART_SIZE}-byte limit per chart`);
      out.set(childRel, data);
    }
  }
  await walk('');
  return out;
}

/** The content checks `helm package` makes beyond Chart.yaml. */
function checkContent(dir: string, files: Map<string, Buffer>): void {
  if (!files.has(CHART_FILE)) throw invalid(dir, `${CHART_FILE} is excluded by ${HELMIGNORE}`);
  const values = files.get('values.yaml');
  if (values !== undefined) {
    const doc = parseDocument(values.toString('utf8'));
    if (doc.errors.length > 0) throw invalid(dir, `values.yaml is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  }
  const schema = files.get('values.schema.json');
  if (schema !== undefined) {
    try {
      JSON.parse(schema.toString('utf8'));
    } catch (cause) {
      throw invalid(dir, `values.schema.json is not valid JSON: ${(cause as Error).message}`, cause);
    }
  }
}
