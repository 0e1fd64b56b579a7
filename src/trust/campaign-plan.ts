/**
 * What a compromise campaign runs on once the worker has authorised its signed request: the key,
 * the store's active key that re-signs, each target's policy and developer key as the worker's
 * configuration gives them, the approvers, and (after the find step) every item with its action.
 * Returned by activities and so pinned in history. Types only: the workflow imports them.
 */
import type { ApprovalConfig } from '../approval/config';
import type { SignatureFormat } from '../cosign/formats';
import type { TargetPolicy } from '../policy/policy';
import type { KeyTrust, PinnedRosterEntry } from '../promotion/plan';
import type { CampaignAction, VerifyFailureAction } from './campaign-config';
import type { CosignKeyPin } from '../helm/plan';
import type { KeyKind } from './index-file';
import type { StoreLocation } from './plan';

/** What a target's images are re-verified against and re-signed into, from the worker's configuration. */
export interface CampaignTarget {
  target: string;
  /** "registry-host/path". */
  repository: string;
  releaseTag: string;
  signatureFormat: SignatureFormat;
  policy: TargetPolicy;
  developer: { publicKeyPem: string; fingerprint: string; trust?: KeyTrust };
  action: CampaignAction;
}

/**
 * A chart target whose `.prov` files the store's OpenPGP key signs (item target `chart:<name>`):
 * where its releases were published, from the worker's configuration.
 */
export interface CampaignChartTarget {
  target: string;
  /** The chart target's name under the worker's `charts:`. */
  chart: string;
  repositoryDir?: string;
  repositoryUrl?: string;
  /** `<registry host>/<namespace>`. */
  oci?: string;
  /**
   * The chart target's cosign key (its `cosign`), when it has one: a re-signed release's new OCI
   * manifest is cosign-signed with it, so `cosign verify --key` passes for the tag as before.
   */
  cosign?: CosignKeyPin;
  action: CampaignAction;
}

/** The key that re-signs: the store's active key when the campaign was authorised. */
export interface CampaignSigningKey {
  id: string;
  ref: string;
  passwordEnv: string;
  /** A cosign key's PEM; empty for an OpenPGP key (keyringPath instead). */
  publicKeyPem: string;
  /** Upper-case v4 fingerprint for an OpenPGP key. */
  fingerprint: string;
  trust: KeyTrust;
  /** An OpenPGP key's published binary keyring: every new `.prov` is verified against it before it is written. */
  keyringPath?: string;
}

export interface CampaignPlan {
  trust: string;
  keyId: string;
  fingerprint: string;
  kind: KeyKind;
  /** The compromised key's public key (from the index: its published file is a tombstone now). */
  publicKeyPem: string;
  reason: string;
  requester: string;
  requestedAt: string;
  /** sha256 of the signed request's statement bytes. */
  requestDigest: string;
  signingKey?: CampaignSigningKey;
  /** The store's targets (platform key from this store), by name. */
  targets: Record<string, CampaignTarget>;
  /** An OpenPGP store's chart targets (signing with this store), by item target `chart:<name>`. */
  charts?: Record<string, CampaignChartTarget>;
  onVerifyFailure: VerifyFailureAction;
  perMinute: number;
  windowMs: number;
  /** Items done per run before the campaign continues as new. */
  itemsPerRun: number;
  /** The approvers' gate: group "campaign", the requester excluded. */
  approvers: ApprovalConfig & { roster: Record<string, PinnedRosterEntry> };
  location: StoreLocation;
  configFile: string;
}

/** `report`: nothing is changed; a person looks at it (its target or chart target is gone from the configuration). */
export type ItemAction = CampaignAction | 'report';

/** One image (or chart) the key signed, and what the campaign will do with it. */
export interface CampaignItem {
  /** `<target>@<digest>`: stable, one per target and digest (a chart's target is `chart:<name>`, its digest the archive's sha256). */
  id: string;
  target: string;
  repository: string;
  digest: string;
  action: ItemAction;
  /** Why the action, when it is not the target's configured one. */
  note?: string;
  /** Where it was found: the promotions' results in Temporal, the signatures in the registry, or both. */
  found: Array<'temporal' | 'registry'>;
  /** The promotions (or chart releases) whose decision records name it. */
  runs: string[];
  /**
   * A chart item's release as its own run's sealed plan gave it: the only place an OCI-only chart
   * target's archive digest is mapped to a chart name and version (no index.yaml to read).
   */
  release?: CampaignChartRelease;
}

/** A chart release's name, version and OCI namespace, from the chart release run's sealed plan. */
export interface CampaignChartRelease {
  name: string;
  version: string;
  /** `<registry host>/<namespace>` it was published to, when it was. */
  oci?: string;
  /** The chart release run it came from. */
  releaseId: string;
}

/** The list approvers approve: its digest is what their statements name. */
export interface CampaignFindings {
  items: CampaignItem[];
  /** sha256 over the request digest, the key, the items with their actions and the failure policy. */
  planDigest: string;
  /** More were found than a campaign holds (MAX_CAMPAIGN_ITEMS): run another after this one. */
  capped: boolean;
  /** What could not be searched, and why (a repository that did not answer, a run without a result). */
  notes: string[];
}

export type ItemOutcome = 'resigned' | 'quarantined' | 'reported' | 'unchanged' | 'failed';

export interface ItemResult {
  id: string;
  outcome: ItemOutcome;
  /** One line: what was done and why (the failed checks of a re-verify, where the tag went). */
  detail: string;
  /** The rate window it was done in (0, 1, ...): at most perMinute items share one. */
  window: number;
  at: string;
  /** Re-signing: whether the signature was written now or was there already. */
  signatureAdded?: boolean;
}

/** What the quarantine of one item did to its release tag. */
export interface QuarantineResult {
  /** deleted: the registry removed the tag (or a chart left its repository's index); notice: it now names a quarantine notice; elsewhere: it did not name this digest; absent: no such tag. */
  tag: 'deleted' | 'notice' | 'elsewhere' | 'absent';
  reference: string;
}
