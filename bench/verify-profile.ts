/**
 * Where one in-process verification's time goes (`npx tsx bench/verify-profile.ts`): for one image
 * in each format, every Store call of a verification with its start and end (ms), the median
 * latency and the client's CPU per verification; then the registry's CPU and the client's per
 * request, by kind of request. VERIFY_RUNS verifications per format (default 50), REQUESTS per
 * kind (default 2000, 8 in flight); VERIFY_PROFILE=<dir> leaves a V8 CPU profile per format there
 * (read it with bench/profile-summary.ts).
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { verifiedReferrers } from '../src/cosign/bundle-images';
import { signatureChecks } from '../src/keys/verification-memo';
import { attestImageAs, collectImageEvidence, signImageAs } from '../src/cosign/verify-image';
import type { SignatureFormat } from '../src/cosign/formats';
import { FileSigner } from '../src/keys/file-signer';
import { digestOf } from '../src/oci/digest';
import { RegistryStore } from '../src/oci/registry';
import type { Store } from '../src/oci/store';
import { MEDIA_TYPE } from '../src/oci/types';
import { createStatement } from '../src/provenance/statement';
import { startRegistry } from '../src/stack/registry';
import { ownCpuMs, processTreeCpuMs } from './process-cpu';

const KEYS = path.join(__dirname, '..', 'test', 'vectors', 'cosign-keys');
const SLSA = 'https://slsa.dev/provenance/v1';
const PREDICATE = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'test', 'vectors', 'cosign-image', 'slsa-predicate.json'), 'utf8'));
const RUNS = Number(process.env.VERIFY_RUNS ?? 50);
const REQUESTS = Number(process.env.REQUESTS ?? 2000);

/** The store, with every call's start and end (ms since `origin()`) written to `log`. */
function timed(store: Store, log: string[], origin: () => number): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const start = origin();
        try {
          return await value.apply(target, args);
        } finally {
          log.push(`${start.toFixed(2)}..${origin().toFixed(2)} ${String(prop)} ${String(args[1]).slice(0, 24)}`);
        }
      };
    },
  });
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-verify-profile-'));
  // Its output to a file, as in bench/verify.ts: the registry logs every 404.
  const registry = await startRegistry({ rootDir: path.join(work, 'registry'), logFile: path.join(work, 'registry.log') });
  try {
    const store = new RegistryStore(registry.address);
    const signer = await FileSigner.load(path.join(KEYS, 'cosign.key'), 'countersign-test');
    const pem = await signer.publicKeyPem();
    const config = Buffer.from('{}');
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE.imageManifest, config: { mediaType: MEDIA_TYPE.emptyJson, digest: digestOf(config), size: 2 }, layers: [] }));
    let digest = '';
    for (const format of ['legacy', 'bundle'] as SignatureFormat[]) {
      const repo = `profile/${format}`;
      await store.putBlob(repo, { data: config, descriptor: { mediaType: MEDIA_TYPE.emptyJson, digest: digestOf(config), size: 2 } });
      digest = await store.putManifest(repo, digestOf(manifest), manifest, MEDIA_TYPE.imageManifest);
      await signImageAs(format, store, repo, digest, signer);
      await attestImageAs(format, store, repo, digest, createStatement(`${registry.address}/${repo}`, digest, SLSA, PREDICATE), signer);
      for (let i = 0; i < 20; i++) await collectImageEvidence(store, repo, digest, pem);

      const log: string[] = [];
      let t0 = 0;
      const watched = timed(store, log, () => performance.now() - t0);
      const session = process.env.VERIFY_PROFILE ? new Session() : undefined;
      if (session) {
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.start');
      }
      const cpu = ownCpuMs();
      const runs: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        log.length = 0;
        // Each run checks the bundles and layers: the process's verified-referrer answers and
        // remembered signature checks would skip the check.
        verifiedReferrers.clear();
        signatureChecks.clear();
        t0 = performance.now();
        await collectImageEvidence(watched, repo, digest, pem);
        runs.push(performance.now() - t0);
      }
      const cpuPerRun = (ownCpuMs() - cpu) / RUNS;
      if (session) {
        const { profile } = await session.post('Profiler.stop');
        fs.writeFileSync(path.join(process.env.VERIFY_PROFILE!, `verify-${format}.cpuprofile`), JSON.stringify(profile));
        session.disconnect();
      }
      runs.sort((a, b) => a - b);
      console.log(`${format}: median ${runs[runs.length >> 1].toFixed(2)} ms, min ${runs[0].toFixed(2)} ms, client CPU ${cpuPerRun.toFixed(2)} ms per verification; the last one's store calls:`);
      for (const line of log.sort((a, b) => parseFloat(a) - parseFloat(b))) console.log(`  ${line}`);
    }

    const hex = digest.slice('sha256:'.length);
    const kinds: Record<string, string> = {
      'manifest by tag, 200': `/v2/profile/legacy/manifests/sha256-${hex}.sig`,
      'manifest by tag, 404': `/v2/profile/legacy/manifests/sha256-${hex}`,
      'manifest by digest, 200': `/v2/profile/legacy/manifests/${digest}`,
      'Referrers API, 404': `/v2/profile/legacy/referrers/${digest}`,
      'blob, 200': `/v2/profile/legacy/blobs/${digestOf(config)}`,
    };
    for (const [kind, urlPath] of Object.entries(kinds)) {
      const url = `http://${registry.address}${urlPath}`;
      const before = { registry: processTreeCpuMs(registry.pid), client: ownCpuMs() };
      const start = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next++ < REQUESTS) await (await fetch(url, { headers: { accept: MEDIA_TYPE.imageManifest } })).arrayBuffer();
        }),
      );
      const seconds = (performance.now() - start) / 1000;
      const registryMs = (processTreeCpuMs(registry.pid) - before.registry) / REQUESTS;
      const clientMs = (ownCpuMs() - before.client) / REQUESTS;
      console.log(`${kind}: ${(REQUESTS / seconds).toFixed(0)} requests/s, registry ${registryMs.toFixed(2)} ms CPU per request, client ${clientMs.toFixed(2)} ms`);
    }
  } finally {
    await registry.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
