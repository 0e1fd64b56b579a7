/**
 * A chart start request: the initiator's signed statement of which chart (directory, name,
 * version and the sha256 of its deterministic package) they ask to release to which chart target.
 * It has a `_type` of its own, so a request signed for an image promotion can never start a chart
 * release (or the other way round), and it carries only chart fields: no build facts, no image.
 * No node:* imports: the workflow reads the claim before the worker has checked it.
 */
import { MAX_DEADLINE_MS } from '../limits';
import { readStatement, unknownFields, type SignedStatement } from './statement';

export const CHART_START_REQUEST_TYPE = 'https://countersign.dev/chart-start-request/v1';

export interface ChartStartRequest {
  _type: typeof CHART_START_REQUEST_TYPE;
  /** A chart target under the worker's `charts:`. */
  target: string;
  /** Absolute path of the chart directory on the worker; it must lie under one of the chart target's sources. */
  chartDir: string;
  /** Chart.yaml's name and version, and the hex sha256 of `<name>-<version>.tgz` as countersign packages it. */
  name: string;
  version: string;
  sha256: string;
  /** A shorter approval deadline than the chart target's (never longer). */
  deadlineMs?: number;
  initiator: string;
  issuedAt: string;
  expiresAt: string;
  /** Random; a request is used once. */
  nonce: string;
}

const FIELDS = ['_type', 'target', 'chartDir', 'name', 'version', 'sha256', 'deadlineMs', 'initiator', 'issuedAt', 'expiresAt', 'nonce'] as const;
const MAX_FIELD = 2048;
const TARGET = /^[a-z0-9][a-z0-9-]{0,62}$/;
// Helm allows more in a name; these also have to be a file name, a workflow id and an OCI path part.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const SHA256 = /^[0-9a-f]{64}$/;

/** The request inside a signed chart start request, checked for shape (not signature or authority). */
export function parseChartStartRequest(signed: SignedStatement | undefined): ChartStartRequest {
  const r = readStatement(signed, CHART_START_REQUEST_TYPE, 'the chart start request');
  const unknown = unknownFields(r, FIELDS);
  if (unknown.length > 0) throw new Error(`the chart start request has unknown fields: ${unknown.join(', ')}`);
  const text = (name: string, value: unknown, pattern?: RegExp): string => {
    if (typeof value !== 'string' || value === '') throw new Error(`the chart start request's ${name} must be a non-empty string`);
    if (value.length > MAX_FIELD) throw new Error(`the chart start request's ${name} is ${value.length} characters (at most ${MAX_FIELD})`);
    if (pattern && !pattern.test(value)) throw new Error(`the chart start request's ${name} "${value}" is malformed`);
    return value;
  };
  text('target', r.target, TARGET);
  text('chartDir', r.chartDir);
  text('name', r.name, NAME);
  text('version', r.version, SEMVER);
  if ((r.version as string).length > 128) throw new Error("the chart start request's version is longer than 128 characters");
  text('sha256', r.sha256, SHA256);
  text('initiator', r.initiator, /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/);
  text('nonce', r.nonce, /^[0-9a-f]{16,64}$/);
  for (const t of ['issuedAt', 'expiresAt'] as const) {
    if (Number.isNaN(Date.parse(text(t, r[t])))) throw new Error(`the chart start request's ${t} "${String(r[t])}" is not a timestamp`);
  }
  if (r.deadlineMs !== undefined && (typeof r.deadlineMs !== 'number' || !Number.isInteger(r.deadlineMs) || r.deadlineMs < 1000 || r.deadlineMs > MAX_DEADLINE_MS)) {
    throw new Error(`the chart start request's deadlineMs must be a whole number of milliseconds from 1000 to ${MAX_DEADLINE_MS} (90 days)`);
  }
  return r as unknown as ChartStartRequest;
}

/**
 * What a chart start request says it is for, read without trusting it: the workflow shows it in
 * `status` while the worker decides whether the request is authorised.
 */
export function readChartRequestClaim(request: unknown): { target: string; name: string; version: string; sha256: string } {
  const none = { target: '', name: '', version: '', sha256: '' };
  try {
    const text = (request as { statement?: unknown })?.statement;
    if (typeof text !== 'string' || text.length > 16 * 1024) return none;
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const short = (v: unknown, pattern: RegExp) => (typeof v === 'string' && v.length <= 128 && pattern.test(v) ? v : '');
    return { target: short(parsed?.target, TARGET), name: short(parsed?.name, NAME), version: short(parsed?.version, SEMVER), sha256: short(parsed?.sha256, SHA256) };
  } catch {
    return none;
  }
}
