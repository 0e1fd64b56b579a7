/**
 * npm run bench:verify — verifying one image (signature + SLSA provenance) in-process versus the
 * stock `cosign verify` + `cosign verify-attestation` processes, same image, same registry, same
 * run (in-process also once warm: median of 100 after 20 untimed); then in-process verifications
 * per second over 1,000 signed images (BENCH_IMAGES), with the client's and the registry's CPU
 * over that pass, first as the bench always ran it (the blobs this process signed still in its
 * blob cache), then again with the cache emptied (every layer fetched once, as a worker that did
 * not sign the images would). Figures go to docs/benchmarks.md by hand; raw results to
 * bench/results/verify.json.
 *
 * BENCH_REGISTRY=olareg runs it all on olareg (a registry with the Referrers API) instead of
 * distribution 2.8, and the 1,000 images are signed and attested as sigstore bundles there.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { verifiedReferrers } from '../src/cosign/bundle-images';
import { attestImageAs, attestationCheck, collectImageEvidence, signImageAs, signatureCheck } from '../src/cosign/verify-image';
import type { SignatureFormat } from '../src/cosign/formats';
import { FileSigner } from '../src/keys/file-signer';
import { signatureChecks } from '../src/keys/verification-memo';
import { mapLimit } from '../src/map-limit';
import { blobCache } from '../src/oci/blob-cache';
import { digestOf } from '../src/oci/digest';
import { RegistryStore } from '../src/oci/registry';
import { MEDIA_TYPE } from '../src/oci/types';
import { createStatement } from '../src/provenance/statement';
import { startOlareg } from '../src/stack/olareg';
import { startRegistry } from '../src/stack/registry';
import { locateTool } from '../src/stack/tools';
import { runCosign } from '../test/vectors/cosign-bundle/produce';
import { ownCpuMs, processTreeCpuMs } from './process-cpu';
import { benchRegistryFromEnv, benchRegistryLabel, benchSignatureFormat, StopList } from './support';

const KEYS = path.join(__dirname, '..', 'test', 'vectors', 'cosign-keys');
const SLSA = 'https://slsa.dev/provenance/v1';
const PREDICATE = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'test', 'vectors', 'cosign-image', 'slsa-predicate.json'), 'utf8'));
const ROUNDS = 10;
const WARM_UP = 20;
const WARM_ROUNDS = 100;
const IMAGES = Number(process.env.BENCH_IMAGES ?? 1000);
/** Images signed at once while setting up: each signature write waits out its 250 ms read-back, so one at a time took minutes. */
const SETUP_CONCURRENCY = 32;

/** A tiny distinct image: empty config, no layers, an annotation that makes the digest unique. */
async function pushImage(store: RegistryStore, repo: string, n: number): Promise<string> {
  const config = Buffer.from('{}');
  await store.putBlob(repo, { data: config, descriptor: { mediaType: MEDIA_TYPE.emptyJson, digest: digestOf(config), size: 2 } });
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE.imageManifest, config: { mediaType: MEDIA_TYPE.emptyJson, digest: digestOf(config), size: 2 }, layers: [], annotations: { n: String(n) } }));
  return store.putManifest(repo, digestOf(manifest), manifest, MEDIA_TYPE.imageManifest);
}

/**
 * One verification of the image, signature and provenance checked. The process's verified-referrer
 * answers (src/cosign/verified-referrers.ts) and remembered signature checks
 * (src/keys/verification-memo.ts) are forgotten first: they would answer a referrer or a layer
 * this process signed or verified before without checking it, and what is timed is the check.
 * The blob cache is left as each pass describes.
 */
async function verifyInProcess(store: RegistryStore, repo: string, digest: string, pem: string): Promise<boolean> {
  verifiedReferrers.clear();
  signatureChecks.clear();
  const evidence = await collectImageEvidence(store, repo, digest, pem);
  return signatureCheck('s', evidence, digest, 'k').ok && attestationCheck('p', evidence, SLSA, 'k', digest).check.ok;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const kind = benchRegistryFromEnv();
  // The many images' format: what each registry is measured with in `npm run bench` too.
  const manyFormat = benchSignatureFormat(kind);
  console.log(`registry: ${benchRegistryLabel(kind)}; many images signed as: ${manyFormat}`);
  const results: Record<string, unknown> = { date: new Date().toISOString(), cpus: os.cpus().length, node: process.version, registry: kind, manyFormat };
  const stopping = new StopList();
  try {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-bench-verify-'));
    stopping.add(() => fs.rmSync(work, { recursive: true, force: true }));
    // distribution's output to a file: it logs every 404 (about 600 bytes, at error level), and a
    // worker does not read its registry's logs, so neither does the process being timed.
    const registry = kind === 'olareg' ? await startOlareg() : await startRegistry({ rootDir: path.join(work, 'registry'), logFile: path.join(work, 'registry.log') });
    stopping.add(() => registry.stop());
    const store = new RegistryStore(registry.address);
    const signer = await FileSigner.load(path.join(KEYS, 'cosign.key'), 'countersign-test');
    const pem = await signer.publicKeyPem();
    const cosign = locateTool('cosign');
    for (const format of ['legacy', 'bundle'] as SignatureFormat[]) {
      const repo = `bench/${format}`;
      const digest = await pushImage(store, repo, 0);
      await signImageAs(format, store, repo, digest, signer);
      await attestImageAs(format, store, repo, digest, createStatement(`${registry.address}/${repo}`, digest, SLSA, PREDICATE), signer);
      const ours: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        const t = performance.now();
        if (!(await verifyInProcess(store, repo, digest, pem))) throw new Error('in-process verify failed');
        ours.push(performance.now() - t);
      }
      const entry: Record<string, number> = { inProcessMs: median(ours) };
      // Also as a worker runs it, long since warm (compiled, connections open): after WARM_UP untimed, the median of WARM_ROUNDS.
      for (let i = 0; i < WARM_UP; i++) if (!(await verifyInProcess(store, repo, digest, pem))) throw new Error('in-process verify failed');
      const warm: number[] = [];
      for (let i = 0; i < WARM_ROUNDS; i++) {
        const t = performance.now();
        if (!(await verifyInProcess(store, repo, digest, pem))) throw new Error('in-process verify failed');
        warm.push(performance.now() - t);
      }
      entry.inProcessWarmMs = median(warm);
      if (cosign) {
        const ref = `${registry.address}/${repo}@${digest}`;
        const flags = ['--key', path.join(KEYS, 'cosign.pub'), '--insecure-ignore-tlog=true', '--allow-http-registry'];
        const theirs: number[] = [];
        for (let i = 0; i < ROUNDS; i++) {
          const t = performance.now();
          for (const args of [['verify', ...flags, ref], ['verify-attestation', ...flags, '--type', 'slsaprovenance1', ref]]) {
            const r = await runCosign(cosign, args, work);
            if (r.code !== 0) throw new Error(`cosign ${args[0]}: ${r.stderr}`);
          }
          theirs.push(performance.now() - t);
        }
        entry.cosignProcessesMs = median(theirs);
        entry.ratio = entry.cosignProcessesMs / entry.inProcessMs;
        entry.ratioWarm = entry.cosignProcessesMs / entry.inProcessWarmMs;
      }
      results[`one-image-${format}`] = entry;
      console.log(format, entry);
    }

    // Throughput: IMAGES distinct digests, each signed and attested (manyFormat), verified with concurrency 16.
    // Set-up only: signed several at a time (each write settles on its own manifests), not timed.
    const repo = 'bench/many';
    // The shared empty config first: images pushed at once would otherwise race to upload it.
    await pushImage(store, repo, 0);
    const digests = await mapLimit(Array.from({ length: IMAGES }, (_, i) => i), SETUP_CONCURRENCY, async (i) => {
      const digest = await pushImage(store, repo, i + 1);
      await signImageAs(manyFormat, store, repo, digest, signer);
      await attestImageAs(manyFormat, store, repo, digest, createStatement(`${registry.address}/${repo}`, digest, SLSA, PREDICATE), signer);
      return digest;
    });
    const pass = async (): Promise<Record<string, number>> => {
      const cpu = { client: ownCpuMs(), registry: processTreeCpuMs(registry.pid) };
      const start = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < digests.length) {
            const digest = digests[next++];
            if (!(await verifyInProcess(store, repo, digest, pem))) throw new Error(`verify failed for ${digest}`);
          }
        }),
      );
      const seconds = (performance.now() - start) / 1000;
      return {
        images: IMAGES,
        seconds,
        perSecond: IMAGES / seconds,
        clientCpuMsPerImage: (ownCpuMs() - cpu.client) / IMAGES,
        registryCpuMsPerImage: (processTreeCpuMs(registry.pid) - cpu.registry) / IMAGES,
      };
    };
    results.throughput = await pass();
    console.log('throughput', results.throughput);
    blobCache.clear();
    results.throughputColdBlobCache = await pass();
    console.log('throughput, blob cache emptied first', results.throughputColdBlobCache);
    fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
    fs.writeFileSync(path.join(__dirname, 'results', 'verify.json'), `${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await stopping.stopAll();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
