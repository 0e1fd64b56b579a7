/**
 * What a fault scenario left behind, read from the real registry: each promotion's end state, and
 * per image the platform signatures that verify with the platform key, in both storage formats
 * (the `.sig` tag's layers and sigstore bundle referrers: collectImageEvidence reads both), and
 * whether the release tag points at the image. Stock cosign is asked too when it is installed.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { collectImageEvidence } from '../../src/cosign/verify-image';
import { locateTool } from '../../src/stack/tools';
import { runCosign } from '../../test/vectors/cosign-bundle/produce';
import type { FaultStack } from './stack';

/** One promotion a scenario started. */
export interface Run {
  id: string;
  digest: string;
  /** The repository path in the registry (apps/hello), without the host the worker reached it through. */
  repository: string;
  releaseTag: string;
  /** The platform public key (PEM) of the run's target. */
  platformPem: string;
  /** The run's final state, filled by the scenario once it ended. */
  state?: string;
  error?: string;
}

export interface ScenarioResult {
  scenario: string;
  promotions: number;
  promoted: number;
  /** FAILED with no platform signature and no release tag: the fault outlasted the retry policy. */
  failedCleanly: number;
  /** Platform signatures per image (one entry per repository and digest), sorted. */
  signaturesPerImage: number[];
  /** Promotions neither PROMOTED (signed and released) nor cleanly FAILED: stuck, half-signed, or released unsigned. */
  lost: number;
  /** Images with more than one platform signature. */
  duplicate: number;
  /** Stock cosign's count matched ours for every image ('agrees'), did not ('DISAGREES: ...'), or was not asked ('-'). */
  cosign: string;
  seconds: number;
  /** Facts a scenario's test asserts on (attempts, stalled calls, ...). */
  facts: Record<string, number | string>;
  /** Why a promotion counted as lost, or what else is worth reading. */
  notes: string[];
  /** The scenario itself broke before it could be measured. */
  error?: boolean;
}

export async function measure(stack: FaultStack, scenario: string, runs: Run[], options: { seconds: number; facts?: Record<string, number | string>; cosign?: boolean }): Promise<ScenarioResult> {
  const { store } = stack.env;
  const images = new Map<string, { run: Run; signatures: number; released: boolean }>();
  for (const run of runs) {
    const key = `${run.repository}@${run.digest}`;
    if (!images.has(key)) {
      const evidence = await collectImageEvidence(store, run.repository, run.digest, run.platformPem);
      images.set(key, { run, signatures: evidence.signatures.legacy + evidence.signatures.bundle, released: false });
    }
    const image = images.get(key)!;
    if ((await store.getManifest(run.repository, run.releaseTag))?.digest === run.digest) image.released = true;
  }
  const notes: string[] = [];
  let promoted = 0;
  let failedCleanly = 0;
  for (const run of runs) {
    const image = images.get(`${run.repository}@${run.digest}`)!;
    const released = (await store.getManifest(run.repository, run.releaseTag))?.digest === run.digest;
    if (run.state === 'PROMOTED' && image.signatures >= 1 && released) promoted += 1;
    else if (run.state === 'FAILED' && image.signatures === 0 && !released) failedCleanly += 1;
    else notes.push(`${run.id}: ${run.state ?? 'never ended'} with ${image.signatures} platform signature(s), ${released ? 'released' : 'not released'}${run.error ? `: ${run.error}` : ''}`);
  }
  for (const image of images.values()) if (image.signatures > 1) notes.push(`${image.run.repository}@${image.run.digest}: ${image.signatures} platform signatures`);
  const counts = [...images.values()].map((i) => i.signatures).sort((a, b) => a - b);
  const cosign = options.cosign === false ? '-' : await cosignAgrees(stack, [...images.values()].map((i) => ({ run: i.run, ours: i.signatures })));
  return {
    scenario,
    promotions: runs.length,
    promoted,
    failedCleanly,
    signaturesPerImage: counts,
    lost: runs.length - promoted - failedCleanly,
    duplicate: counts.filter((c) => c > 1).length,
    cosign,
    seconds: Math.round(options.seconds),
    facts: options.facts ?? {},
    notes,
  };
}

/** `cosign verify --key` on each image (at the real registry); its count of verified signatures against ours. */
async function cosignAgrees(stack: FaultStack, images: Array<{ run: Run; ours: number }>): Promise<string> {
  const cosign = locateTool('cosign');
  if (!cosign) return '-';
  const { env } = stack;
  const disagree: string[] = [];
  for (const [i, { run, ours }] of images.entries()) {
    const pemFile = path.join(env.dir, `cosign-check-${i}.pub`);
    await fs.writeFile(pemFile, run.platformPem);
    const ref = `${env.stack.registry.address}/${run.repository}@${run.digest}`;
    const result = await runCosign(cosign, ['verify', '--key', pemFile, '--insecure-ignore-tlog=true', '--allow-http-registry', ref], env.dir);
    const theirs = result.code === 0 ? cosignVerified(result.stdout) : 0;
    if (theirs !== ours) disagree.push(`${run.repository}@${run.digest.slice(0, 19)}: cosign ${theirs}, ours ${ours}`);
  }
  return disagree.length === 0 ? `agrees (${images.length})` : `DISAGREES: ${disagree.join('; ')}`;
}

/** How many signatures `cosign verify` printed as verified (a JSON array on stdout). */
function cosignVerified(stdout: string): number {
  for (const line of stdout.split('\n')) {
    if (!line.trim().startsWith('[')) continue;
    try {
      const parsed = JSON.parse(line) as unknown;
      if (Array.isArray(parsed)) return parsed.length;
    } catch {
      // not the result line
    }
  }
  return 0;
}
