/**
 * The verifier's side of the root: from the root the customer pinned, follow each newer version
 * the source publishes, accepting one only when `threshold` members of the root before it signed
 * it (TUF's rule), then refuse a chain shorter than one seen before (rolled back) or ending in an
 * expired root. What it yields is the index key the newest root names.
 */
import { CountersignError } from '../errors';
import {
  MAX_ROOT_BYTES,
  MAX_ROOT_SIGNATURES_BYTES,
  parseRoot,
  rootDigest,
  rootFileName,
  rootSignaturesFileName,
  rootSigners,
  type TrustRoot,
} from './root-file';
import type { VersionMemory } from './signed-index';
import type { TrustSource } from './source';

/** A chain longer than this is refused rather than followed: a CDN must not keep a verifier walking. */
export const MAX_ROOT_CHAIN = 1000;

export interface RootChainOptions {
  /** The exact bytes of the root the customer trusts (their copy, compared with the digest governance announced). */
  pinned: Buffer;
  versions?: VersionMemory;
  now?: Date;
  /** Waits before reading a root and its signatures again (a CDN copies them one after the other). */
  retryMs?: number;
}

export interface FollowedRoot {
  root: TrustRoot;
  digest: string;
  /** The versions accepted after the pinned one, in order. */
  followed: number[];
}

export async function followRootChain(source: TrustSource, options: RootChainOptions): Promise<FollowedRoot> {
  let trusted: TrustRoot;
  try {
    trusted = parseRoot(options.pinned, 'the pinned root');
  } catch (err) {
    throw new CountersignError('BAD_INPUT', (err as Error).message.replace(/^TRUST_INDEX_CORRUPT: /, ''));
  }
  let digest = rootDigest(options.pinned);
  const followed: number[] = [];
  for (let version = trusted.version + 1; followed.length < MAX_ROOT_CHAIN; version++) {
    const next = await readSignedRoot(source, trusted, version, options.retryMs ?? 1000);
    if (!next) break;
    trusted = next.root;
    digest = next.digest;
    followed.push(version);
  }
  if (followed.length >= MAX_ROOT_CHAIN) throw new CountersignError('TRUST_INDEX_CORRUPT', `${source.where} has more than ${MAX_ROOT_CHAIN} roots after the pinned one; pin a newer root`);

  const where = `${source.where}/${rootFileName(trusted.trust, trusted.version)}`;
  const memoryKey = `root:${trusted.trust}`;
  const seen = (await options.versions?.highest(memoryKey, source.where)) ?? 0;
  if (trusted.version < seen) {
    throw new CountersignError('TRUST_ROOT_ROLLED_BACK', `the newest root ${source.where} serves for store ${trusted.trust} is version ${trusted.version}, but version ${seen} was seen before (${options.versions?.file}): newer roots were removed`);
  }
  if (Date.parse(trusted.expires) <= (options.now ?? new Date()).getTime()) {
    throw new CountersignError('TRUST_ROOT_EXPIRED', `${where} expired at ${trusted.expires}: governance has signed no newer root, so the index key it names is not vouched for now`);
  }
  await options.versions?.record(memoryKey, source.where, trusted.version);
  return { root: trusted, digest, followed };
}

/** Root `version` signed by threshold members of `trusted`, or undefined when the source has none. */
async function readSignedRoot(source: TrustSource, trusted: TrustRoot, version: number, retryMs: number): Promise<{ root: TrustRoot; digest: string } | undefined> {
  const name = rootFileName(trusted.trust, version);
  const where = `${source.where}/${name}`;
  const read = async () => ({ bytes: await source.read(name, MAX_ROOT_BYTES), sigs: await source.read(rootSignaturesFileName(trusted.trust, version), MAX_ROOT_SIGNATURES_BYTES) });
  let { bytes, sigs } = await read();
  if (!bytes) return undefined;
  let signers = countSigners(bytes, sigs, trusted);
  if (signers.length < trusted.threshold) {
    await new Promise((r) => setTimeout(r, retryMs));
    ({ bytes, sigs } = await read());
    if (!bytes) return undefined;
    signers = countSigners(bytes, sigs, trusted);
  }
  if (signers.length < trusted.threshold) {
    const have = signers.length === 0 ? 'none' : `only ${signers.join(', ')}`;
    throw new CountersignError(
      'TRUST_ROOT_SIGNATURE_INVALID',
      `${where} needs signatures by ${trusted.threshold} of root ${trusted.version}'s governance (${trusted.governance.map((m) => m.name).join(', ')}), and has ${have}${sigs ? '' : ` (no ${rootSignaturesFileName(trusted.trust, version)})`}: it was not made by governance`,
    );
  }
  const root = parseRoot(bytes, where);
  if (root.trust !== trusted.trust || root.version !== version) {
    throw new CountersignError('TRUST_ROOT_SIGNATURE_INVALID', `${where} says it is root ${root.version} of store ${root.trust}: signed roots are not moved between names`);
  }
  return { root, digest: rootDigest(bytes) };
}

function countSigners(bytes: Buffer, sigs: Buffer | undefined, trusted: TrustRoot): string[] {
  if (!sigs) return [];
  try {
    return rootSigners(bytes, JSON.parse(sigs.toString('utf8')), trusted);
  } catch {
    return [];
  }
}
