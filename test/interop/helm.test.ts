/**
 * countersign's charts against the real tools: helm v3.21.4 (ProtonMail/go-crypto) and v3.18.6
 * (golang.org/x/crypto/openpgp), gpg, cosign, and the real registry. Each tool missing skips its
 * tests (`npm run toolchain` installs them all).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as openpgp from 'openpgp';
import { signBlob } from '../../src/cosign/blob';
import { signImage } from '../../src/cosign/image-signatures';
import { FileSigner, writeKeyPair } from '../../src/keys/file-signer';
import { pushChart } from '../../src/helm/oci';
import { packageChart, type PackagedChart } from '../../src/helm/package';
import { generateSigningKey, publishKeyring, readSigningKey } from '../../src/helm/pgp-key';
import { signChart } from '../../src/helm/provenance';
import { publishToRepository } from '../../src/helm/repository';
import { verifyChart } from '../../src/helm/verify';
import { RegistryStore } from '../../src/oci/registry';
import { startRegistry, type RunningRegistry } from '../../src/stack/registry';
import { locateTool } from '../../src/stack/tools';
import { DEMO_DIR, TEST_KEY_PASSPHRASE, VECTORS, writeChart } from '../helm/helpers';

const HELMS = [
  { label: 'helm v3.21.4', bin: locateTool('helm') },
  { label: 'helm v3.18.6 (x/crypto/openpgp)', bin: locateTool('helm-legacy') },
];
const GPG = locateTool('gpg');
const COSIGN = locateTool('cosign');
const PASSWORD = 'interop-test-only';

function run(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { env: { ...process.env, ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: `${String(stdout)}${String(stderr)}` });
    });
  });
}

describe('Helm charts with the real helm, gpg, cosign and registry', () => {
  let dir: string;
  let pkg: PackagedChart;
  let keyringPath: string;
  let repoDir: string;
  let server: http.Server;
  let repoUrl: string;
  let registry: RunningRegistry | undefined;
  let ociDigest: string | undefined;
  let helmEnv: NodeJS.ProcessEnv;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-helm-interop-'));
    helmEnv = { HELM_CACHE_HOME: path.join(dir, 'helm/cache'), HELM_CONFIG_HOME: path.join(dir, 'helm/config'), HELM_DATA_HOME: path.join(dir, 'helm/data') };
    // What `countersign helm keygen` does: a fresh RSA 4096 key, its keyring published in binary form.
    const generated = await generateSigningKey({ name: 'Interop Charts', email: 'charts@countersign.invalid', passphrase: PASSWORD });
    const key = await readSigningKey(Buffer.from(generated.privateKeyArmored), PASSWORD);
    keyringPath = await publishKeyring(path.join(dir, 'trust'), key);
    pkg = await packageChart(DEMO_DIR);
    const prov = await signChart(pkg.data, { fileName: pkg.fileName, key });
    await fs.mkdir(path.join(dir, 'out'));
    await fs.writeFile(path.join(dir, 'out', pkg.fileName), pkg.data);
    await fs.writeFile(path.join(dir, 'out', `${pkg.fileName}.prov`), prov);
    repoDir = path.join(dir, 'repo');
    await publishToRepository(repoDir, { fileName: pkg.fileName, archive: pkg.data, provenance: prov });
    server = http.createServer((req, res) => {
      const file = path.join(repoDir, path.normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!)).replace(/^(\.\.[/\\])+/, ''));
      fs.readFile(file).then(
        (data) => res.writeHead(200).end(data),
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    repoUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    await writeKeyPair(path.join(dir, 'cosign'), 'cosign', PASSWORD);
    const cosignSigner = await FileSigner.load(path.join(dir, 'cosign', 'cosign.key'), PASSWORD);
    await fs.writeFile(path.join(dir, 'out', `${pkg.fileName}.sigstore.json`), JSON.stringify(await signBlob(pkg.data, cosignSigner)));
    if (locateTool('docker-registry')) {
      registry = await startRegistry({ rootDir: path.join(dir, 'registry') });
      const store = new RegistryStore(registry.address);
      const pushed = await pushChart(store, 'charts', { fileName: pkg.fileName, archive: pkg.data, provenance: prov, created: '2026-01-01T00:00:00Z' });
      ociDigest = pushed.digest;
      await signImage(store, pushed.repository, pushed.digest, cosignSigner);
    }
  });

  after(async () => {
    server?.close();
    await registry?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  for (const helm of HELMS) {
    test(`${helm.label}: helm verify --keyring <our published keyring> accepts our chart and refuses a tampered one`, async (t) => {
      if (!helm.bin) return t.skip('helm not installed (npm run toolchain)');
      const ok = await run(helm.bin, ['verify', '--keyring', keyringPath, path.join(dir, 'out', pkg.fileName)], helmEnv);
      assert.equal(ok.code, 0, ok.out);
      assert.match(ok.out, /Signed by: Interop Charts <charts@countersign.invalid>/);
      assert.match(ok.out, new RegExp(`Chart Hash Verified: sha256:${pkg.sha256}`));

      const bad = path.join(dir, `tampered-${HELMS.indexOf(helm)}`);
      await fs.mkdir(bad);
      const other = await packageChart(await writeChart({ 'Chart.yaml': 'apiVersion: v2\nname: demo\nversion: 1.2.3\n' }));
      await fs.writeFile(path.join(bad, pkg.fileName), other.data);
      await fs.copyFile(path.join(dir, 'out', `${pkg.fileName}.prov`), path.join(bad, `${pkg.fileName}.prov`));
      const refused = await run(helm.bin, ['verify', '--keyring', keyringPath, path.join(bad, pkg.fileName)], helmEnv);
      assert.notEqual(refused.code, 0);
      assert.match(refused.out, /sha256 sum does not match/);
    });
  }

  test('helm pull --verify from our chart repository served on loopback', async (t) => {
    const helm = HELMS[0]!.bin;
    if (!helm) return t.skip('helm not installed (npm run toolchain)');
    const dest = path.join(dir, 'pulled-repo');
    await fs.mkdir(dest);
    const pulled = await run(helm, ['pull', 'demo', '--repo', repoUrl, '--version', '1.2.3', '--verify', '--keyring', keyringPath, '-d', dest], helmEnv);
    assert.equal(pulled.code, 0, pulled.out);
    assert.ok((await fs.readFile(path.join(dest, pkg.fileName))).equals(pkg.data));
  });

  test('helm pull oci:// from the real registry gets our exact chart', async (t) => {
    const helm = HELMS[0]!.bin;
    if (!helm) return t.skip('helm not installed (npm run toolchain)');
    if (!registry) return t.skip('docker-registry not installed (npm run toolchain)');
    const dest = path.join(dir, 'pulled-oci');
    await fs.mkdir(dest);
    const pulled = await run(helm, ['pull', `oci://${registry.address}/charts/demo`, '--version', '1.2.3', '--plain-http', '-d', dest], helmEnv);
    assert.equal(pulled.code, 0, pulled.out);
    assert.match(pulled.out, new RegExp(`Digest: ${ociDigest}`));
    assert.ok((await fs.readFile(path.join(dest, pkg.fileName))).equals(pkg.data));
  });

  test('cosign verify accepts the signature on the chart OCI digest', async (t) => {
    if (!COSIGN) return t.skip('cosign not installed (npm run toolchain)');
    if (!registry) return t.skip('docker-registry not installed (npm run toolchain)');
    const ref = `${registry.address}/charts/demo@${ociDigest}`;
    const verified = await run(COSIGN, ['verify', '--key', path.join(dir, 'cosign', 'cosign.pub'), '--insecure-ignore-tlog=true', '--allow-http-registry', ref], { HOME: dir });
    assert.equal(verified.code, 0, verified.out);
    assert.match(verified.out, new RegExp(String(ociDigest)));
  });

  test('cosign verify-blob --bundle accepts the chart archive bundle', async (t) => {
    if (!COSIGN) return t.skip('cosign not installed (npm run toolchain)');
    const out = path.join(dir, 'out');
    const args = ['verify-blob', '--key', path.join(dir, 'cosign', 'cosign.pub'), '--bundle', path.join(out, `${pkg.fileName}.sigstore.json`), '--insecure-ignore-tlog=true'];
    const verified = await run(COSIGN, [...args, path.join(out, pkg.fileName)], { HOME: dir });
    assert.equal(verified.code, 0, verified.out);
    const wrong = await run(COSIGN, [...args, path.join(out, `${pkg.fileName}.prov`)], { HOME: dir });
    assert.notEqual(wrong.code, 0, 'cosign refuses the bundle for another file');
  });

  test('gpg --verify accepts our .prov', async (t) => {
    if (!GPG) return t.skip('gpg not installed (npm run toolchain)');
    const home = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-gnupg-'));
    try {
      const env = { GNUPGHOME: home };
      const imported = await run(GPG, ['--batch', '--import', keyringPath], env);
      assert.equal(imported.code, 0, imported.out);
      const verified = await run(GPG, ['--batch', '--verify', path.join(dir, 'out', `${pkg.fileName}.prov`)], env);
      assert.equal(verified.code, 0, verified.out);
      assert.match(verified.out, /Good signature from "Interop Charts <charts@countersign.invalid>"/);
    } finally {
      await run(GPG.replace(/gpg$/, 'gpgconf'), ['--kill', 'all'], { GNUPGHOME: home });
      await fs.rm(home, { recursive: true, force: true });
    }
  });

  test('a chart packaged and signed by helm package --sign now passes our verifier', async (t) => {
    const helm = HELMS[0]!.bin;
    if (!helm) return t.skip('helm not installed (npm run toolchain)');
    const work = path.join(dir, 'helm-signed');
    await fs.mkdir(work);
    // Helm reads secret keys from a binary keyring (secring.gpg shape).
    const secret = await openpgp.readPrivateKey({ armoredKey: await fs.readFile(path.join(VECTORS, 'test-key.asc'), 'utf8') });
    await fs.writeFile(path.join(work, 'secring.gpg'), secret.write());
    await fs.writeFile(path.join(work, 'pass'), TEST_KEY_PASSPHRASE);
    const chart = await writeChart({ 'Chart.yaml': 'apiVersion: v2\nname: fresh\nversion: 0.3.0-rc.1+build.7\ndescription: made by helm\n' });
    const made = await run(helm, ['package', '--sign', '--key', 'Countersign Helm Test', '--keyring', path.join(work, 'secring.gpg'), '--passphrase-file', path.join(work, 'pass'), '-d', work, chart], helmEnv);
    assert.equal(made.code, 0, made.out);
    const fileName = 'fresh-0.3.0-rc.1+build.7.tgz';
    const report = await verifyChart({
      archive: await fs.readFile(path.join(work, fileName)),
      fileName,
      provenance: await fs.readFile(path.join(work, `${fileName}.prov`)),
      keyring: await fs.readFile(path.join(VECTORS, 'keyring.gpg')),
    });
    assert.equal(report.ok, true, JSON.stringify(report.checks));
  });
});
