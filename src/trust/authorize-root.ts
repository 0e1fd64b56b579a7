/**
 * The first step of a root: the worker checks the governance member's signed root request
 * against its own configuration and drafts the next root from it (governance members and their
 * roster keys, threshold, the index key's public half). Who must sign the draft follows TUF's
 * rule: the first root, `threshold` of its own governance; every later one, `threshold` of the
 * governance the newest published root lists, with the keys that root lists (a member who left
 * the configuration, or whose roster key changed since, signs with the key customers trust).
 */
import fs from 'node:fs/promises';
import { publicKeyPointHex } from '../approval/roster';
import { CountersignError } from '../errors';
import { keyFingerprint } from '../keys/public-key';
import type { PinnedRosterEntry } from '../promotion/plan';
import { REQUEST_CLOCK_SKEW_MS } from '../requests/start-request';
import { parseRootRequest, ROOT_REQUEST_VALIDITY_MS, rootWorkflowId } from '../requests/root-request';
import type { SignedStatement } from '../requests/statement';
import type { ApprovalConfig } from '../approval/config';
import { checkGovernanceSignature, checkNotReplayed, parsed, workerConfig, type GovernanceDeps } from './governance';
import type { StoreLocation } from './plan';
import { pinPeople, trustStoreOf } from './resolve';
import { latestPublishedRoot, ROOT_TYPE, rootDigest, rootText, type TrustRoot } from './root-file';

/** How long governance members have to sign a drafted root. */
export const ROOT_SIGN_DEADLINE_MS = 24 * 60 * 60_000;

/** The seal kind of a root plan (src/seal/seal.ts). */
export const ROOT_PLAN_SEAL = 'key-root-plan';

export interface RootPlan {
  trust: string;
  version: number;
  requester: string;
  /** The root file's exact text, and sha256 of it: what each signer's approval statement names. */
  text: string;
  digest: string;
  /** Who signs: group "governance of root N" (or "governance" for the first root), threshold of them. */
  signers: ApprovalConfig & { roster: Record<string, PinnedRosterEntry> };
  /** The root the new one follows: its version and the file's digest. */
  previous?: { version: number; digest: string };
  location: StoreLocation;
  configFile: string;
}

export interface RootAuthorizeInput {
  request: SignedStatement;
  workflowId: string;
  runId: string;
}

export async function authorizeRoot(deps: GovernanceDeps, input: RootAuthorizeInput): Promise<RootPlan> {
  const config = workerConfig(deps);
  const request = parsed(input.request, parseRootRequest, 'root');
  const store = trustStoreOf(config, request.trust);
  checkGovernanceSignature(config, store, input.request, request.requester, 'root request');
  const now = (deps.now ?? (() => new Date()))();
  const signedAt = Date.parse(request.time);
  if (signedAt > now.getTime() + REQUEST_CLOCK_SKEW_MS) throw new CountersignError('REQUEST_INVALID', `the root request is dated in the future (${request.time})`);
  if (now.getTime() - signedAt > ROOT_REQUEST_VALIDITY_MS) {
    throw new CountersignError('REQUEST_EXPIRED', `the root request was signed at ${request.time}; it is good for ${ROOT_REQUEST_VALIDITY_MS / 60_000} minutes: sign a new one`);
  }
  if (!store.root || !store.index) throw new CountersignError('REQUEST_INVALID', `trust store ${store.name} publishes no root: give it root: { threshold } (and index:) in ${config.file}`);
  const latest = await latestPublishedRoot(store.publishDir, store.name);
  const version = (latest?.root.version ?? 0) + 1;
  if (request.version !== version) {
    throw new CountersignError('REQUEST_INVALID', `the root request is for root ${request.version} of store ${store.name}, but the next one is ${version} (${latest ? `root ${latest.root.version} is the newest published` : 'none is published yet'}): sign a new request`);
  }
  const expectedId = rootWorkflowId(store.name, version);
  if (input.workflowId !== expectedId) throw new CountersignError('REQUEST_INVALID', `the root request is for ${expectedId}, but this run is ${input.workflowId}`);
  await checkNotReplayed(deps, [{ workflowId: input.workflowId, runId: input.runId }], request.nonce, 'root request');

  const governance = await pinPeople(config, store.governance, 'governance members');
  const indexKeyPem = await fs.readFile(store.index.publicKey, 'utf8');
  const root: TrustRoot = {
    _type: ROOT_TYPE,
    trust: store.name,
    version,
    created: now.toISOString(),
    expires: new Date(now.getTime() + store.root.expiresMs).toISOString(),
    threshold: store.root.threshold,
    governance: store.governance.map((name) => ({ name, fingerprint: governance[name].fingerprint, publicKey: governance[name].publicKeyPem })),
    indexKey: { fingerprint: keyFingerprint(indexKeyPem), publicKey: indexKeyPem },
  };
  const text = rootText(root);
  // The first root is vouched for by its own governance; each later one by the root before it.
  const signedBy = latest?.root ?? root;
  const roster: Record<string, PinnedRosterEntry> = Object.fromEntries(
    signedBy.governance.map((m) => [m.name, { publicKeyPem: m.publicKey, publicKeyHex: publicKeyPointHex(m.publicKey), fingerprint: m.fingerprint, identities: [], signingKeyFingerprints: [] }]),
  );
  return {
    trust: store.name,
    version,
    requester: request.requester,
    text,
    digest: rootDigest(text),
    signers: {
      groups: [{ name: latest ? `governance of root ${latest.root.version}` : 'governance', members: signedBy.governance.map((m) => m.name), required: signedBy.threshold }],
      // A root changes what every customer trusts: one member's objection stops it.
      vetoOnReject: true,
      deadlineMs: ROOT_SIGN_DEADLINE_MS,
      roster,
    },
    ...(latest ? { previous: { version: latest.root.version, digest: rootDigest(latest.text) } } : {}),
    location: { name: store.name, publishDir: store.publishDir, stateFile: store.stateFile },
    configFile: config.file,
  };
}
