/**
 * What each kind of request a promotion sends costs the registry in CPU, read from /proc before and
 * after a run of one kind (`BENCH_REQUESTS` of them, default 300, one at a time, into one
 * repository that fills as the run goes, as the promotion bench's does), through countersign's own
 * registry client:
 *   npm run bench:registry                          (distribution 2.8, the embedded default)
 *   BENCH_REGISTRY=olareg npm run bench:registry    (olareg, with the Referrers API)
 * /proc counts in clock ticks (10 ms), so a kind's figure is good to about 10 ms over the run.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { digestOf } from '../src/oci/digest';
import { RegistryStore } from '../src/oci/registry';
import { startOlareg } from '../src/stack/olareg';
import { startRegistry } from '../src/stack/registry';
import { processTreeCpuMs } from './process-cpu';
import { benchBaseDir, benchRegistryFromEnv, benchRegistryLabel } from './support';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const EMPTY = { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(Buffer.from('{}')), size: 2 };
const REPOSITORY = 'bench/requests';

export interface RequestCost {
  kind: string;
  requests: number;
  registryCpuMsEach: number;
  wallMsEach: number;
}

function requestsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.BENCH_REQUESTS ?? 300);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new Error(`BENCH_REQUESTS must be a whole number from 1 to 100000, got "${env.BENCH_REQUESTS}"`);
  return n;
}

async function main(): Promise<void> {
  const registry = benchRegistryFromEnv();
  const n = requestsFromEnv();
  // Where npm run bench keeps its registry's storage, so the figures compare (BENCH_DIR, or /dev/shm when a tmpfs).
  const base = benchBaseDir();
  const dir = await fs.mkdtemp(path.join(base.dir, 'countersign-bench-requests-'));
  // Either registry's storage inside `dir`, removed with it.
  const running = registry === 'olareg' ? await startOlareg({ parentDir: dir }) : await startRegistry({ rootDir: dir });
  console.log(`registry: ${benchRegistryLabel(registry)}; ${n} requests of each kind; storage in ${base.label}`);
  const store = new RegistryStore(running.address);
  const costs: RequestCost[] = [];
  const measure = async (kind: string, run: (i: number) => Promise<unknown>) => {
    const cpuBefore = processTreeCpuMs(running.pid);
    const started = Date.now();
    for (let i = 0; i < n; i++) await run(i);
    costs.push({ kind, requests: n, registryCpuMsEach: (processTreeCpuMs(running.pid) - cpuBefore) / n, wallMsEach: (Date.now() - started) / n });
  };
  try {
    await store.putBlob(REPOSITORY, { data: Buffer.from('{}'), descriptor: EMPTY });
    const configs: string[] = [];
    const images: Array<{ digest: string; size: number }> = [];
    const bundles: Array<{ digest: string; size: number }> = [];
    const blob = (data: Buffer, mediaType: string) => ({ data, descriptor: { mediaType, digest: digestOf(data), size: data.length } });
    await measure('blob upload (small, fresh)', async (i) => {
      const config = blob(Buffer.from(JSON.stringify({ i, architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })), 'application/vnd.oci.image.config.v1+json');
      await store.putBlob(REPOSITORY, config, { fresh: true });
      configs.push(config.descriptor.digest);
    });
    await measure('image manifest PUT', async (i) => {
      const data = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configs[i], size: 100 }, layers: [] }));
      images.push({ digest: await store.putManifest(REPOSITORY, digestOf(data), data, MANIFEST), size: data.length });
    });
    for (let i = 0; i < n; i++) {
      // A signed statement's size: a bundle is a few KiB.
      const b = blob(Buffer.from(JSON.stringify({ i, pad: 'x'.repeat(3000) })), BUNDLE);
      await store.putBlob(REPOSITORY, b, { fresh: true });
      bundles.push({ digest: b.descriptor.digest, size: b.descriptor.size });
    }
    await measure('referrer manifest PUT (a bundle)', async (i) => {
      const data = Buffer.from(
        JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST, artifactType: BUNDLE, config: { ...EMPTY, artifactType: BUNDLE }, layers: [{ mediaType: BUNDLE, ...bundles[i] }], subject: { mediaType: MANIFEST, ...images[i] } }),
      );
      await store.putReferrerManifest(REPOSITORY, data, MANIFEST);
    });
    await measure('referrers listing', (i) => store.getReferrers(REPOSITORY, images[i].digest));
    await measure('tag read, absent (.att)', (i) => store.getManifest(REPOSITORY, `${images[i].digest.replace(':', '-')}.att`));
    await measure('manifest read by digest', (i) => store.getManifest(REPOSITORY, images[i].digest));
    await measure('blob read', (i) => store.getBlob(REPOSITORY, configs[i]));
    const image = await store.getManifest(REPOSITORY, images[0].digest);
    await measure('tag PUT (the release tag)', () => store.putManifest(REPOSITORY, 'prod', image!.data, MANIFEST));
  } finally {
    await running.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
  console.log('\n| request | registry CPU ms each | wall ms each |\n|---|---:|---:|');
  for (const c of costs) console.log(`| ${c.kind} | ${c.registryCpuMsEach.toFixed(2)} | ${c.wallMsEach.toFixed(2)} |`);
  console.error(JSON.stringify({ registry, requests: n, costs }));
}

main().catch((err) => {
  console.error('benchmark failed:', err);
  process.exit(1);
});
