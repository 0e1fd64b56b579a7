/**
 * A trust store as a configuration resolves it: the store by name, its people's keys pinned, and
 * the digest of its ceremony plan. The CLI computes the digest from the initiator's copy of the
 * configuration to sign it; the worker computes it from its own and refuses a request whose
 * digest differs, so a ceremony runs only under the plan its initiator reviewed.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import type { Config } from '../config';
import { CountersignError } from '../errors';
import { pinRoster } from '../approval/roster';
import type { FileKeyRosterEntry } from '../promotion/plan';
import { canonicalJson } from '../requests/statement';
import type { TrustConfig } from './config';

/** The trust store `name` in `config`; TRUST_UNKNOWN when it has none by that name. */
export function trustStoreOf(config: Config, name: string): TrustConfig {
  const trust = Object.hasOwn(config.trust, name) ? config.trust[name] : undefined;
  if (!trust) throw new CountersignError('TRUST_UNKNOWN', `no trust store "${name}" in ${config.file} (trust stores: ${Object.keys(config.trust).join(', ') || 'none'})`);
  return trust;
}

/** The roster keys of `names`, pinned; a name missing from the roster is a configuration fault. */
export async function pinPeople(config: Config, names: string[], role: string): Promise<Record<string, FileKeyRosterEntry>> {
  const missing = names.filter((n) => !config.roster[n]);
  if (missing.length > 0) throw new CountersignError('BAD_CONFIG', `${role} ${missing.join(', ')} not in the roster of ${config.file}`);
  // Trust-store people sign with the CLI: a passkey signs console decisions only.
  const keyless = names.filter((n) => !config.roster[n].publicKey);
  if (keyless.length > 0) throw new CountersignError('BAD_CONFIG', `${role} ${keyless.join(', ')} have passkeys only in ${config.file}; give each a publicKey`);
  return (await pinRoster(Object.fromEntries(names.map((n) => [n, config.roster[n]])))) as Record<string, FileKeyRosterEntry>;
}

/**
 * sha256 over the store's ceremony settings as written: paths relative to the configuration file,
 * people by their key fingerprints. The same file gives the same digest wherever it is read.
 */
export async function ceremonyPlanDigest(config: Config, trust: TrustConfig): Promise<string> {
  const base = path.dirname(config.file);
  const rel = (p: string) => path.relative(base, p).split(path.sep).join('/');
  const fingerprints = async (names: string[], role: string) =>
    Object.fromEntries(Object.entries(await pinPeople(config, names, role)).map(([n, e]) => [n, e.fingerprint]));
  const custodianNames = [...new Set(trust.custodians.groups.flatMap((g) => g.members))];
  const settings = {
    trust: trust.name,
    kind: trust.kind,
    publishDir: rel(trust.publishDir),
    stateFile: rel(trust.stateFile),
    backend: trust.backend.type === 'file' ? { type: 'file', keyDir: rel(trust.backend.keyDir), passwordEnv: trust.backend.passwordEnv } : trust.backend,
    governance: await fingerprints(trust.governance, 'governance members'),
    custodians: { ...trust.custodians, roster: await fingerprints(custodianNames, 'custodians') },
    overlapMs: trust.overlapMs,
    userId: trust.userId,
  };
  return `sha256:${crypto.createHash('sha256').update(canonicalJson(settings)).digest('hex')}`;
}
