/**
 * The size and range limits on what people and the configuration hand countersign, in one place:
 * the CLI checks its flags against them before anything starts (src/cli/limits.ts), the config
 * parsers and schema/countersign.schema.json hold the configuration to them, and docs/limits.md
 * lists every one (a test keeps the three in step). No imports: workflow code reads them too.
 */

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** The longest an approval (or custodian) deadline may be, configured or asked for in a request. */
export const MAX_DEADLINE_MS = 90 * DAY;
/** Reminders more often than this flood approvers and the run's history. */
export const MIN_REMINDER_MS = MINUTE;
/**
 * A promotion's gate reads its evidence pack again at most this often on its own (and a vote over
 * a pack newer than the gate's last read makes it read at most this often too): each read is a
 * wake of the workflow and two registry reads, for every open gate.
 */
export const MIN_EVIDENCE_CHECK_MS = MINUTE;
/** How often when a target does not say (and for runs whose plan was pinned before it could). */
export const DEFAULT_EVIDENCE_CHECK_EVERY_MS = 60 * MINUTE;
/**
 * Reminders a gate that keeps its whole history in one run may send before its deadline (chart
 * releases, ceremonies, campaigns; a promotion's gate continues as new instead). About five
 * events each: 2,000 stay well under Temporal's 51,200-event history limit.
 */
export const MAX_REMINDERS_ONE_HISTORY = 2000;
/** The most reminders before an escalation (the schema's maximum for escalateAfter). */
export const MAX_ESCALATE_AFTER = 1000;
/** The longest rotation overlap a trust store may ask for. */
export const MAX_OVERLAP_MS = 365 * DAY;
/** A duration is written in at most this many characters ("1h30m", "72h"). */
export const MAX_DURATION_TEXT = 32;
/** Text the CLI signs into a statement (source repo, build command, reason, ...): the statements' own field cap. */
export const MAX_STATEMENT_TEXT = 2048;
/** A file or directory path. */
export const MAX_PATH = 4096;
/** A URL or an image reference. */
export const MAX_URL = 2048;
/** A person's or initiator's name in the roster. */
export const MAX_PERSON_NAME = 128;
/** A target, chart target, trust store or group name. */
export const MAX_NAME = 63;
/** An environment variable's name. */
export const MAX_ENV_NAME = 128;
/** The configuration file itself. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** A positional argument (an id, a file). */
export const MAX_POSITIONAL = MAX_PATH;

/** How one flag's value is bounded. */
export type FlagLimit =
  | { kind: 'text'; maxLength: number; what: string }
  | { kind: 'duration'; maxMs: number; what: string }
  | { kind: 'integer'; min: number; max: number; what: string };

const text = (maxLength: number, what: string): FlagLimit => ({ kind: 'text', maxLength, what });
const path = text(MAX_PATH, 'a path');

/** Every string flag of every command, with its limit (a test holds the CLI to this table). */
export const FLAG_LIMITS: Readonly<Record<string, FlagLimit>> = {
  // Facts and words signed into statements.
  'source-repo': text(MAX_STATEMENT_TEXT, 'signed into the start request'),
  'build-command': text(MAX_STATEMENT_TEXT, 'signed into the start request'),
  'builder-id': text(MAX_STATEMENT_TEXT, 'signed into the start request'),
  ref: text(256, 'a git ref'),
  commit: text(64, 'a hex commit id'),
  reason: text(MAX_STATEMENT_TEXT, 'signed into the statement'),
  evidence: text(71, 'an evidence pack digest, sha256:<64 hex>'),
  note: text(1024, 'a schedule note'),
  // Names from the worker's configuration.
  as: text(MAX_PERSON_NAME, 'a roster or initiator name'),
  initiator: text(MAX_PERSON_NAME, 'an initiator name'),
  target: text(MAX_NAME + 6, 'a target name (chart: prefix allowed)'),
  trust: text(MAX_NAME, 'a trust store name'),
  name: text(256, 'an OpenPGP user name'),
  email: text(256, 'an e-mail address'),
  prefix: text(MAX_PERSON_NAME, 'a key file prefix'),
  kind: text(32, 'a listing kind'),
  state: text(32, 'a state name'),
  type: text(64, 'an attestation type'),
  pause: text(256, 'a schedule id'),
  unpause: text(256, 'a schedule id'),
  trigger: text(256, 'a schedule id'),
  namespace: text(255, 'a Temporal namespace'),
  address: text(256, 'host:port'),
  listen: text(256, 'host:port'),
  'password-env': text(MAX_ENV_NAME, 'an environment variable name'),
  'passphrase-env': text(MAX_ENV_NAME, 'an environment variable name'),
  'cosign-password-env': text(MAX_ENV_NAME, 'an environment variable name'),
  // References and URLs.
  image: text(MAX_URL, 'an image reference'),
  oci: text(MAX_URL, 'an OCI reference'),
  url: text(MAX_URL, 'a URL'),
  'repo-url': text(MAX_URL, 'a URL'),
  // dev sigstore: the GitHub-style repository its tokens name.
  repository: text(256, 'owner/name'),
  // Keyless identities: a CI workflow URI at a ref, or a pattern for one.
  'certificate-identity': text(MAX_URL, 'a certificate identity'),
  'certificate-identity-regexp': text(MAX_URL, 'a regular expression'),
  'certificate-oidc-issuer': text(MAX_URL, 'an OIDC issuer URL'),
  'certificate-oidc-issuer-regexp': text(MAX_URL, 'a regular expression'),
  // Files and folders.
  config: path,
  dir: path,
  'data-dir': path,
  key: path,
  reopen: path,
  output: path,
  'output-dir': path,
  'trust-dir': path,
  destination: path,
  keyring: path,
  prov: path,
  bundle: path,
  'trusted-root': path,
  'repo-dir': path,
  'staging-dir': path,
  'cosign-key': path,
  'cosign-public-key': path,
  'index-key': path,
  root: path,
  'trust-state': path,
  // Times, durations and numbers.
  start: text(64, 'an RFC 3339 time'),
  deadline: { kind: 'duration', maxMs: MAX_DEADLINE_MS, what: 'an approval deadline' },
  every: { kind: 'duration', maxMs: 365 * DAY, what: 'a rotation interval' },
  'retire-poll': { kind: 'duration', maxMs: 30 * DAY, what: 'a polling interval' },
  limit: { kind: 'integer', min: 1, max: 10_000, what: 'a count' },
  'min-version': { kind: 'integer', min: 1, max: Number.MAX_SAFE_INTEGER, what: 'an index version' },
  'temporal-port': { kind: 'integer', min: 1, max: 65535, what: 'a port' },
  'ui-port': { kind: 'integer', min: 1, max: 65535, what: 'a port' },
  'registry-port': { kind: 'integer', min: 1, max: 65535, what: 'a port' },
  'console-port': { kind: 'integer', min: 1, max: 65535, what: 'a port' },
};

/** "90d", "1m", "36h": a limit in the units a person writes. */
export function durationText(ms: number): string {
  if (ms % DAY === 0) return `${ms / DAY}d`;
  if (ms % (60 * MINUTE) === 0) return `${ms / (60 * MINUTE)}h`;
  if (ms % MINUTE === 0) return `${ms / MINUTE}m`;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
