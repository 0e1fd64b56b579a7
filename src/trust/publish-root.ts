/**
 * Publishes a signed root: its signatures file first, then the root itself, so a verifier that
 * finds the root finds what vouches for it. Before writing, the signatures are checked the way a
 * customer checks them (src/trust/root-file.ts rootSigners), against the root the new one follows.
 */
import path from 'node:path';
import { CountersignError } from '../errors';
import type { RootPlan } from './authorize-root';
import { writeFileAtomic } from './index-file';
import type { RecordedVote } from './plan';
import { latestPublishedRoot, parseRoot, rootDigest, rootFileName, rootSignaturesFileName, rootSigners } from './root-file';

export interface PublishedRoot {
  file: string;
  digest: string;
  signers: string[];
  /** A retry found this very root published already: nothing was written. */
  already?: boolean;
}

export async function publishRoot(plan: RootPlan, votes: RecordedVote[]): Promise<PublishedRoot> {
  const dir = plan.location.publishDir;
  const file = rootFileName(plan.trust, plan.version);
  if (rootDigest(plan.text) !== plan.digest) throw new CountersignError('SEAL_INVALID', `the drafted root's text does not have the digest ${plan.digest} its signers approved`);
  const latest = await latestPublishedRoot(dir, plan.trust);
  if (latest?.root.version === plan.version) {
    if (rootDigest(latest.text) === plan.digest) return { file, digest: plan.digest, signers: [], already: true };
    throw new CountersignError('REQUEST_INVALID', `root ${plan.version} of store ${plan.trust} was published meanwhile with other content (${rootDigest(latest.text)}): request the next one`);
  }
  const previous = latest ? { version: latest.root.version, digest: rootDigest(latest.text) } : undefined;
  if (JSON.stringify(previous) !== JSON.stringify(plan.previous)) {
    throw new CountersignError('REQUEST_INVALID', `the draft follows root ${plan.previous?.version ?? 'none'}, but ${dir} now has ${previous ? `root ${previous.version} (${previous.digest})` : 'none'}: request a new root`);
  }
  const root = parseRoot(Buffer.from(plan.text), `the drafted ${file}`);
  const signatures = votes.filter((v) => v.decision === 'approve').map((v) => ({ approver: v.approver, statement: v.statement, signature: v.signature }));
  const signedBy = latest?.root ?? root;
  const signers = rootSigners(Buffer.from(plan.text), signatures, signedBy);
  if (signers.length < signedBy.threshold) {
    throw new CountersignError('APPROVAL_REFUSED', `${file} carries signatures by ${signers.join(', ') || 'nobody'} of root ${signedBy.version}'s governance; it needs ${signedBy.threshold}: refusing to publish it`);
  }
  await writeFileAtomic(path.join(dir, rootSignaturesFileName(plan.trust, plan.version)), `${JSON.stringify(signatures, null, 2)}\n`);
  await writeFileAtomic(path.join(dir, file), plan.text);
  return { file, digest: plan.digest, signers };
}
