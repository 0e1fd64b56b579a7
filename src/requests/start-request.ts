/**
 * A start request: the initiator's signed statement of what they ask to promote. It is the whole
 * of a promotion's input besides an optional re-open, so nothing a caller can write is unsigned;
 * the worker checks it against its own configuration before any step runs. No node:* imports.
 */
import { MAX_DEADLINE_MS } from '../limits';
import { readStatement, unknownFields, type SignedStatement } from './statement';

export const START_REQUEST_TYPE = 'https://countersign.dev/start-request/v1';
/** How long a start request is valid by default, and at most. */
export const DEFAULT_REQUEST_VALIDITY_MS = 10 * 60_000;
export const MAX_REQUEST_VALIDITY_MS = 60 * 60_000;
/** How far the initiator's clock may run ahead of the worker's. */
export const REQUEST_CLOCK_SKEW_MS = 5 * 60_000;

/** Build facts the initiator claims for a directory build (written into the provenance). */
export interface ClaimedBuild {
  sourceRepo: string;
  commit: string;
  buildCommand: string;
  builderId: string;
  ref?: string;
}

export type RequestedArtifact =
  /** A directory the worker builds deterministically; it must lie under one of the target's sources. */
  | { kind: 'directory'; path: string }
  /** An image the developer's CI built, signed and attested: `registry/repo@sha256:...`. */
  | { kind: 'image'; reference: string };

export interface StartRequest {
  _type: typeof START_REQUEST_TYPE;
  target: string;
  digest: string;
  artifact: RequestedArtifact;
  /** For a directory build: the facts the provenance will record. */
  build?: ClaimedBuild;
  /** For an image: the commit the initiator means to promote (checked against its provenance). */
  commit?: string;
  /** A shorter approval deadline than the target's (never longer). */
  deadlineMs?: number;
  initiator: string;
  issuedAt: string;
  expiresAt: string;
  /** Random; a request is used once. */
  nonce: string;
}

const FIELDS = ['_type', 'target', 'digest', 'artifact', 'build', 'commit', 'deadlineMs', 'initiator', 'issuedAt', 'expiresAt', 'nonce'] as const;
const MAX_FIELD = 2048;

/** The request inside a signed start request, checked for shape (not signature or authority). */
export function parseStartRequest(signed: SignedStatement | undefined): StartRequest {
  const r = readStatement(signed, START_REQUEST_TYPE, 'the start request');
  const unknown = unknownFields(r, FIELDS);
  if (unknown.length > 0) throw new Error(`the start request has unknown fields: ${unknown.join(', ')}`);
  const text = (name: string, value: unknown, pattern?: RegExp): string => {
    if (typeof value !== 'string' || value === '') throw new Error(`the start request's ${name} must be a non-empty string`);
    if (value.length > MAX_FIELD) throw new Error(`the start request's ${name} is ${value.length} characters (at most ${MAX_FIELD})`);
    if (pattern && !pattern.test(value)) throw new Error(`the start request's ${name} "${value}" is malformed`);
    return value;
  };
  text('target', r.target, /^[a-z0-9][a-z0-9-]{0,62}$/);
  text('digest', r.digest, /^sha256:[0-9a-f]{64}$/);
  text('initiator', r.initiator, /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/);
  text('nonce', r.nonce, /^[0-9a-f]{16,64}$/);
  for (const t of ['issuedAt', 'expiresAt'] as const) {
    if (Number.isNaN(Date.parse(text(t, r[t])))) throw new Error(`the start request's ${t} "${String(r[t])}" is not a timestamp`);
  }
  const artifact = r.artifact as Partial<RequestedArtifact> | undefined;
  if (artifact?.kind === 'directory') {
    text('artifact.path', artifact.path);
    if (unknownFields(artifact as Record<string, unknown>, ['kind', 'path']).length > 0) throw new Error("the start request's artifact has unknown fields");
  } else if (artifact?.kind === 'image') {
    text('artifact.reference', artifact.reference);
    if (unknownFields(artifact as Record<string, unknown>, ['kind', 'reference']).length > 0) throw new Error("the start request's artifact has unknown fields");
  } else {
    throw new Error("the start request's artifact must be { kind: directory, path } or { kind: image, reference }");
  }
  if (r.build !== undefined) {
    const b = r.build as Record<string, unknown>;
    if (typeof b !== 'object' || b === null) throw new Error("the start request's build must be an object");
    const unknownBuild = unknownFields(b, ['sourceRepo', 'commit', 'buildCommand', 'builderId', 'ref']);
    if (unknownBuild.length > 0) throw new Error(`the start request's build has unknown fields: ${unknownBuild.join(', ')}`);
    for (const k of ['sourceRepo', 'commit', 'buildCommand', 'builderId'] as const) if (b[k] !== undefined && b[k] !== '') text(`build.${k}`, b[k]);
    if (b.ref !== undefined) text('build.ref', b.ref);
  }
  if (r.commit !== undefined) text('commit', r.commit);
  if (r.deadlineMs !== undefined && (typeof r.deadlineMs !== 'number' || !Number.isInteger(r.deadlineMs) || r.deadlineMs < 1000 || r.deadlineMs > MAX_DEADLINE_MS)) {
    throw new Error(`the start request's deadlineMs must be a whole number of milliseconds from 1000 to ${MAX_DEADLINE_MS} (90 days)`);
  }
  return r as unknown as StartRequest;
}
