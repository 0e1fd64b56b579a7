/**
 * A running registry with the fixture image and keys, for the tests that sign, attest and read
 * images on the real registry (Debian's docker-registry, distribution 2.8, on a free loopback
 * port; fails, not skips, without it). useRegistryFixture() registers node:test hooks in the
 * scope it is called in (a file or a describe block): before() starts the registry in a fresh
 * temporary directory, builds test/fixtures/hello-image and writes the named cosign-format key
 * pairs; after() runs what the test deferred (proxies, other servers) last first, then stops
 * the registry and removes the directory, so nothing a test started outlives what it stands on.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { FileSigner, writeKeyPair } from '../../src/keys/file-signer';
import { buildImageFromDirectory, type BuiltImage } from '../../src/oci/build';
import { RegistryStore } from '../../src/oci/registry';
import type { Store } from '../../src/oci/store';
import { createProvenance } from '../../src/provenance/slsa';
import { startRegistry, type RunningRegistry } from '../../src/stack/registry';
import { requireTool } from '../../src/stack/tools';
import { startHoldingProxy, type HoldingProxy } from './holding-proxy';

export const FIXTURE_IMAGE_DIR = path.join(__dirname, '..', 'fixtures', 'hello-image');
/** Every fixture key is encrypted with this; tests hand it to the code under test through an env var. */
export const FIXTURE_KEY_PASSWORD = 'registry-fixture-test-only';

export interface FixtureKey {
  /** dir/keys/<name>.key, cosign format, encrypted with FIXTURE_KEY_PASSWORD */
  privateKeyPath: string;
  /** dir/keys/<name>.pub, SPKI PEM */
  publicKeyPath: string;
  publicKeyPem: string;
  /** The private key, loaded once at set-up. */
  signer: FileSigner;
}

export interface RegistryFixture {
  /** The temporary directory the registry stores under (dir/registry) and the keys live in (dir/keys); free for the test's own files. */
  readonly dir: string;
  readonly registry: RunningRegistry;
  /** A store reaching the registry directly. */
  readonly store: RegistryStore;
  /** test/fixtures/hello-image, built once. */
  readonly image: BuiltImage;
  /** A key pair named in the options. */
  key(name: string): FixtureKey;
  /** Pushes the fixture image to `repo`, or to a fresh repository (`<name>/hello-<n>`) so tests do not see each other's signatures; returns the repository. */
  pushImage(repo?: string): Promise<string>;
  /** A holding proxy in front of the registry (another worker's view of it, or one the test can hold), or of `upstream` (a KMS the test started), closed at teardown. */
  proxy(upstream?: string): Promise<HoldingProxy>;
  /** Runs `close` at teardown, before the registry stops: what is deferred last is closed first. */
  defer(close: () => Promise<unknown> | unknown): void;
  /** SLSA v1 provenance for the fixture image in `repo`, with the example's build facts; the same input gives the same statement. */
  provenance(repo: string, overrides?: { commit?: string; invocationId?: string }): ReturnType<typeof createProvenance>;
}

/** Pushes an image (blobs, then the manifest by digest, then `tag` when given) to any store: the fixture's, or another registry's. */
export async function pushImageTo(store: Store, repo: string, image: BuiltImage, tag?: string): Promise<string> {
  for (const blob of [...image.layers, image.config]) await store.putBlob(repo, blob);
  await store.putManifest(repo, image.digest, image.manifest.data, image.manifest.descriptor.mediaType);
  if (tag) await store.putManifest(repo, tag, image.manifest.data, image.manifest.descriptor.mediaType);
  return repo;
}

interface Started {
  dir: string;
  registry: RunningRegistry;
  store: RegistryStore;
  image: BuiltImage;
  keys: Map<string, FixtureKey>;
}

/**
 * `name` names the temporary directory (countersign-<name>-) and the fresh repositories
 * (<name>/hello-<n>), so it must be a valid repository path component; `keys` are the key pairs to
 * write, e.g. ['dev', 'platform'].
 */
export function useRegistryFixture(options: { name: string; keys?: readonly string[] }): RegistryFixture {
  let started: Started | undefined;
  let dir: string | undefined;
  let registry: RunningRegistry | undefined;
  const deferred: Array<() => Promise<unknown> | unknown> = [];
  let repos = 0;

  before(async () => {
    requireTool('docker-registry');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `countersign-${options.name}-`));
    registry = await startRegistry({ rootDir: path.join(dir, 'registry') });
    const image = await buildImageFromDirectory(FIXTURE_IMAGE_DIR);
    const keys = new Map<string, FixtureKey>();
    for (const name of options.keys ?? []) {
      const written = await writeKeyPair(path.join(dir, 'keys'), name, FIXTURE_KEY_PASSWORD);
      const signer = await FileSigner.load(written.privateKeyPath, FIXTURE_KEY_PASSWORD);
      keys.set(name, { ...written, publicKeyPem: fs.readFileSync(written.publicKeyPath, 'utf8'), signer });
    }
    started = { dir, registry, store: new RegistryStore(registry.address), image, keys };
  });

  after(async () => {
    // Everything is closed even when something fails to; the first failure is the one reported.
    const failures: unknown[] = [];
    for (const close of deferred.splice(0).reverse()) await Promise.resolve().then(close).catch((e: unknown) => failures.push(e));
    await registry?.stop().catch((e: unknown) => failures.push(e));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (failures.length) throw failures[0];
  });

  const ready = (): Started => {
    if (!started) throw new Error(`the registry fixture ${options.name} is used before its before() hook ran`);
    return started;
  };

  return {
    get dir() {
      return ready().dir;
    },
    get registry() {
      return ready().registry;
    },
    get store() {
      return ready().store;
    },
    get image() {
      return ready().image;
    },
    key(name) {
      const key = ready().keys.get(name);
      if (!key) throw new Error(`the registry fixture ${options.name} has no key ${name} (it has: ${[...ready().keys.keys()].join(', ')})`);
      return key;
    },
    pushImage(repo) {
      const { store, image } = ready();
      return pushImageTo(store, repo ?? `${options.name}/hello-${++repos}`, image);
    },
    async proxy(upstream) {
      const proxy = await startHoldingProxy(upstream ?? ready().registry.address);
      deferred.push(() => proxy.close());
      return proxy;
    },
    defer(close) {
      deferred.push(close);
    },
    provenance(repo, overrides = {}) {
      const { registry, image } = ready();
      return createProvenance({
        subjectName: `${registry.address}/${repo}`,
        digest: image.digest,
        sourceRepo: 'https://github.com/acme/hello',
        commit: overrides.commit ?? '4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e',
        buildCommand: 'countersign build examples/hello',
        builderId: 'https://countersign.dev/builders/local@v1',
        invocationId: overrides.invocationId ?? 'test-1',
        startedOn: '2026-01-01T00:00:00Z',
        finishedOn: '2026-01-01T00:00:05Z',
      });
    },
  };
}
