/**
 * Chart.yaml: the fields Helm knows (its `chart.Metadata`), validated the way `helm package`
 * validates them plus strict SemVer 2 for `version`, and serialised the way Helm serialises them
 * into a `.prov` body and an OCI config (keys sorted, empty fields left out). Unknown top-level
 * fields are ignored, as Helm ignores them.
 */
import { Document, parse, parseDocument, visit } from 'yaml';
import { CountersignError } from '../errors';
import { semVerProblem } from './semver';

export interface Maintainer {
  name?: string;
  email?: string;
  url?: string;
}

export interface ChartDependency {
  name: string;
  version?: string;
  repository?: string;
  condition?: string;
  tags?: string[];
  enabled?: boolean;
  'import-values'?: unknown[];
  alias?: string;
}

export interface ChartMetadata {
  apiVersion: 'v1' | 'v2';
  name: string;
  version: string;
  home?: string;
  sources?: string[];
  description?: string;
  keywords?: string[];
  maintainers?: Maintainer[];
  icon?: string;
  condition?: string;
  tags?: string;
  appVersion?: string;
  deprecated?: boolean;
  annotations?: Record<string, string>;
  kubeVersion?: string;
  dependencies?: ChartDependency[];
  type?: 'application' | 'library';
}

export const CHART_FILE = 'Chart.yaml';
const STRING_FIELDS = ['home', 'description', 'icon', 'condition', 'tags', 'appVersion', 'kubeVersion'] as const;
const ALIAS = /^[a-zA-Z0-9_-]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Parses and validates Chart.yaml text; CHART_INVALID lists every problem (details.problems). */
export function parseChartYaml(text: string | Buffer, source = CHART_FILE): ChartMetadata {
  const doc = parseDocument(typeof text === 'string' ? text.replace(/^\uFEFF/, '') : text.toString('utf8').replace(/^\uFEFF/, ''));
  if (doc.errors.length > 0) {
    throw invalid(source, [`not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`]);
  }
  const raw = doc.toJS() as unknown;
  const problems: string[] = [];
  const metadata = validateMetadata(raw, problems);
  if (problems.length > 0 || metadata === undefined) throw invalid(source, problems);
  return metadata;
}

function invalid(source: string, problems: string[]): CountersignError {
  return new CountersignError('CHART_INVALID', `${source}: ${problems.join('; ')}`, { details: { source, problems } });
}

/** Checks a parsed Chart.yaml value, pushing one line per problem; returns the metadata when there are none. */
export function validateMetadata(raw: unknown, problems: string[]): ChartMetadata | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push('Chart.yaml must be a mapping of fields');
    return undefined;
  }
  const r = raw as Record<string, unknown>;
  const str = (key: string, required: boolean): string | undefined => {
    const v = r[key];
    if (v === undefined || v === null || v === '') {
      if (required) problems.push(`${key} is required`);
      return undefined;
    }
    if (typeof v !== 'string') {
      problems.push(`${key} must be a string, got ${typeof v} ${JSON.stringify(v)} (quote it in Chart.yaml)`);
      return undefined;
    }
    return v;
  };

  // Helm reads a Chart.yaml without apiVersion as a v1 chart.
  const apiVersion = str('apiVersion', false) ?? 'v1';
  if (apiVersion !== 'v1' && apiVersion !== 'v2') problems.push(`apiVersion must be v2 (or v1), got ${JSON.stringify(apiVersion)}`);
  const name = str('name', true);
  if (name !== undefined) {
    if (name === '.' || name === '..' || /[/\\]/.test(name) || CONTROL.test(name) || name.trim() !== name) {
      problems.push(`name ${JSON.stringify(name)} is invalid: it becomes a directory and file name, so no slashes, dots-only names, spaces at the ends or control characters`);
    }
  }
  const version = str('version', true);
  if (version !== undefined) {
    const why = semVerProblem(version);
    if (why) problems.push(`version ${why}`);
  }
  const md: ChartMetadata = { apiVersion: apiVersion as ChartMetadata['apiVersion'], name: name ?? '', version: version ?? '' };
  for (const key of STRING_FIELDS) {
    const v = str(key, false);
    if (v !== undefined) md[key] = v;
  }
  const type = str('type', false);
  if (type !== undefined) {
    if (type !== 'application' && type !== 'library') problems.push(`type must be application or library, got ${JSON.stringify(type)}`);
    else md.type = type;
  }
  for (const key of ['sources', 'keywords'] as const) {
    const v = r[key];
    if (v === undefined || v === null) continue;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) problems.push(`${key} must be a list of strings`);
    else if (v.length > 0) md[key] = v as string[];
  }
  if (r.deprecated !== undefined && r.deprecated !== null) {
    if (typeof r.deprecated !== 'boolean') problems.push('deprecated must be true or false');
    else if (r.deprecated) md.deprecated = true;
  }
  if (r.annotations !== undefined && r.annotations !== null) {
    const a = r.annotations;
    if (typeof a !== 'object' || Array.isArray(a) || Object.values(a).some((v) => typeof v !== 'string')) {
      problems.push('annotations must be a mapping of strings to strings (quote numbers)');
    } else if (Object.keys(a).length > 0) md.annotations = { ...(a as Record<string, string>) };
  }
  const maintainers = validateMaintainers(r.maintainers, problems);
  if (maintainers) md.maintainers = maintainers;
  const dependencies = validateDependencies(r.dependencies, problems);
  if (dependencies) md.dependencies = dependencies;
  return problems.length === 0 ? md : undefined;
}

function validateMaintainers(v: unknown, problems: string[]): Maintainer[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) {
    problems.push('maintainers must be a list');
    return undefined;
  }
  const out: Maintainer[] = [];
  v.forEach((m, i) => {
    if (m === null || typeof m !== 'object' || Array.isArray(m)) return void problems.push(`maintainers[${i}] must be a mapping`);
    const mm = m as Record<string, unknown>;
    const entry: Maintainer = {};
    for (const key of ['name', 'email', 'url'] as const) {
      if (mm[key] === undefined || mm[key] === null || mm[key] === '') continue;
      if (typeof mm[key] !== 'string') problems.push(`maintainers[${i}].${key} must be a string`);
      else entry[key] = mm[key] as string;
    }
    if (!entry.name) problems.push(`maintainers[${i}] must have a name`);
    out.push(entry);
  });
  return out.length > 0 ? out : undefined;
}

function validateDependencies(v: unknown, problems: string[]): ChartDependency[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) {
    problems.push('dependencies must be a list');
    return undefined;
  }
  const seen = new Set<string>();
  const out: ChartDependency[] = [];
  v.forEach((d, i) => {
    if (d === null || typeof d !== 'object' || Array.isArray(d)) return void problems.push(`dependencies[${i}] must be a mapping`);
    const dd = d as Record<string, unknown>;
    if (typeof dd.name !== 'string' || dd.name === '') return void problems.push(`dependencies[${i}] must have a name`);
    const dep: ChartDependency = { name: dd.name };
    for (const key of ['version', 'repository', 'condition', 'alias'] as const) {
      if (dd[key] === undefined || dd[key] === null || dd[key] === '') continue;
      if (typeof dd[key] !== 'string') problems.push(`dependencies[${i}].${key} must be a string`);
      else dep[key] = dd[key] as string;
    }
    if (dep.alias !== undefined && !ALIAS.test(dep.alias)) problems.push(`dependencies[${i}].alias ${JSON.stringify(dep.alias)} may only contain letters, digits, "_" and "-"`);
    if (Array.isArray(dd.tags) && dd.tags.length > 0) dep.tags = dd.tags.map(String);
    if (dd.enabled === true) dep.enabled = true;
    if (Array.isArray(dd['import-values']) && dd['import-values'].length > 0) dep['import-values'] = dd['import-values'];
    const key = dep.alias ?? dep.name;
    if (seen.has(key)) problems.push(`more than one dependency with name or alias ${JSON.stringify(key)}`);
    seen.add(key);
    out.push(dep);
  });
  return out.length > 0 ? out : undefined;
}

/** The metadata as Helm's Go structs marshal it: empty fields dropped, dependency name and repository always present. */
export function metadataObject(md: ChartMetadata): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(md)) {
    if (key === 'dependencies') continue;
    if (value === undefined || value === '' || value === false) continue;
    if (Array.isArray(value) && value.length === 0) continue;
    out[key] = value;
  }
  if (md.dependencies && md.dependencies.length > 0) {
    out.dependencies = md.dependencies.map(dependencyObject);
  }
  return out;
}

/** A dependency with Go's field order; `name` and `repository` are never omitted. */
function dependencyObject(d: ChartDependency): Record<string, unknown> {
  const out: Record<string, unknown> = { name: d.name };
  if (d.version) out.version = d.version;
  out.repository = d.repository ?? '';
  if (d.condition) out.condition = d.condition;
  if (d.tags && d.tags.length > 0) out.tags = d.tags;
  if (d.enabled) out.enabled = true;
  if (d['import-values'] && d['import-values'].length > 0) out['import-values'] = d['import-values'];
  if (d.alias) out.alias = d.alias;
  return out;
}

/**
 * YAML as `sigs.k8s.io/yaml` (go-yaml v2) writes it: keys sorted at every level, sequences not
 * indented, strings that would read back as a number, boolean or null in double quotes, other
 * strings that cannot be plain in single quotes. Identical bytes for ordinary metadata; go-yaml
 * folds long strings a little differently (past column 80 rather than before it).
 */
export function metadataYaml(md: ChartMetadata): string {
  const doc = new Document(metadataObject(md), { sortMapEntries: true });
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && readsAsNonString(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString({ indentSeq: false, singleQuote: true });
}

function readsAsNonString(text: string): boolean {
  try {
    const back: unknown = parse(text, { version: '1.1' });
    return back === null || typeof back === 'number' || typeof back === 'boolean';
  } catch {
    return false;
  }
}

/** JSON with keys in the order Go's encoding/json writes `chart.Metadata` (Helm's OCI config blob). */
export function metadataJson(md: ChartMetadata): string {
  const order = ['name', 'home', 'sources', 'version', 'description', 'keywords', 'maintainers', 'icon', 'apiVersion', 'condition', 'tags', 'appVersion', 'deprecated', 'annotations', 'kubeVersion', 'dependencies', 'type'];
  const obj = metadataObject(md);
  const sorted: Record<string, unknown> = {};
  for (const key of order) if (obj[key] !== undefined) sorted[key] = obj[key];
  if (sorted.annotations) sorted.annotations = sortKeys(sorted.annotations as Record<string, string>);
  return JSON.stringify(sorted);
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]!]));
}

/** `<name>-<version>.tgz`, the file name `helm package` gives a chart. */
export function chartFileName(md: Pick<ChartMetadata, 'name' | 'version'>): string {
  return `${md.name}-${md.version}.tgz`;
}
