/**
 * The points between and inside a promotion's steps where a fault lands: a request the step makes
 * to the registry, held by a holding proxy (test/support/holding-proxy.ts) until the fault is in
 * place, or the gate, where the run is parked and no activity runs. Shared by the worker-crash
 * test and the fault suite's worker and Temporal kills.
 */
import { cosignTag } from '../../src/cosign/tags';
import type { ProxyRule } from '../../test/support/holding-proxy';
import type { PromotionState } from '../../workflows/promotion-messages';

export interface BoundaryUrls {
  image: string;
  sig: string;
  att: string;
  fallback: string;
  release: string;
  /** Where blob uploads start (POST, with or without `?digest=`). */
  uploads: string;
}

export interface Boundary {
  name: string;
  /** The state the run is in while its request is held (or parked). */
  state: PromotionState;
  /** Approve before the fault (the hold is in production signing or release). */
  approveFirst?: boolean;
  hold?: (urls: BoundaryUrls) => ProxyRule;
}

/** The registry URLs a promotion of `digest` to `repositoryPath` writes and reads. */
export function boundaryUrls(repositoryPath: string, digest: string, releaseTag: string): BoundaryUrls {
  const manifests = `/v2/${repositoryPath}/manifests`;
  return {
    image: `${manifests}/${digest}`,
    sig: `${manifests}/${cosignTag(digest, 'sig')}`,
    att: `${manifests}/${cosignTag(digest, 'att')}`,
    fallback: `${manifests}/sha256-${digest.slice('sha256:'.length)}`,
    release: `${manifests}/${releaseTag}`,
    uploads: `/v2/${repositoryPath}/blobs/uploads/`,
  };
}

/** The n-th request matching `match` (1-based), and only that one. */
export function nth(n: number, match: (method: string, url: string) => boolean): ProxyRule {
  let seen = 0;
  return (method, url) => match(method, url) && ++seen === n;
}

const put = (url: string) => (m: string, u: string) => m === 'PUT' && u === url;
const get = (url: string) => (m: string, u: string) => m === 'GET' && u === url;

export const BOUNDARIES: Boundary[] = [
  // build has pushed the layers, not yet the image manifest
  { name: 'build', state: 'BUILDING', hold: (u) => nth(1, put(u.image)) },
  // attest has started: the first upload of its statements, after build pushed the image manifest
  // (the worker that built the image reads it back from its blob cache, so attest asks the registry nothing before)
  {
    name: 'attest',
    state: 'ATTESTING',
    hold: (u) => {
      let built = false;
      return nth(1, (m, url) => {
        if (put(u.image)(m, url)) built = true;
        return built && m === 'POST' && url.startsWith(u.uploads);
      });
    },
  },
  // developer signing, before its signature is written
  { name: 'dev-sign', state: 'DEV_SIGNING', hold: (u) => nth(1, put(u.sig)) },
  // platform verify has started: after the developer attestations (one .att write for both), its read of the referrers index
  {
    name: 'platform-verify',
    state: 'VERIFYING',
    hold: (u) => {
      let attestations = 0;
      return (m, url) => {
        if (put(u.att)(m, url)) attestations += 1;
        return attestations >= 1 && get(u.fallback)(m, url);
      };
    },
  },
  // parked at the approval gate, nothing running
  { name: 'approval', state: 'AWAITING_APPROVAL' },
  // production signing, before the platform signature is written
  { name: 'prod-sign', state: 'PROD_SIGNING', approveFirst: true, hold: (u) => nth(2, put(u.sig)) },
  // production signing, after the platform signature, before the approval record (written with the verification summary, the second .att write)
  { name: 'prod-sign-record', state: 'PROD_SIGNING', approveFirst: true, hold: (u) => nth(2, put(u.att)) },
  // production signing, after the approval record too, while it reads back what it wrote
  {
    name: 'prod-sign-end',
    state: 'PROD_SIGNING',
    approveFirst: true,
    hold: (u) => {
      let attestations = 0;
      return (m, url) => {
        if (put(u.att)(m, url)) attestations += 1;
        return attestations >= 2 && get(u.sig)(m, url);
      };
    },
  },
  // release, before the release tag is written
  { name: 'release', state: 'RELEASING', approveFirst: true, hold: (u) => nth(1, put(u.release)) },
];
