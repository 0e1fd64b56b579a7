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
import { generateSigningKey, loadSigningKey, publishKeyring, readSigningKey } from '../../src/helm/pgp-key';
import { signChart } from '../../src/helm/provenance';
import { publishToRepository } from '../../src/helm/repository';
import { verifyChart } from '../../src/helm/verify';
import { RegistryStore } from '../../src/oci/registry';
import { startRegistry, type RunningRegistry } from '../../src/stack/registry';
import { locateTool } from '../../src/stack/tools';
import { COSIGN, GPG, gpgVerify, HELMS, run } from '../support/chart-tools';
import { createKey } from '../../src/trust/create-key';
import type { TrustKey } from '../../src/trust/index-file';
import { publishKey } from '../../src/trust/publish';
import { TrustStore } from '../../src/trust/store';
import { DEMO_DIR, TEST_KEY_PASSPHRASE, VECTORS, writeChart } from '../helm/helpers';

const PASSWORD = 'interop-test-only';
const DOC = path.resolve(__dirname, '../../docs/helm.md');

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

  test('the customer commands in docs/helm.md run as printed, and fail with another platform key', async (t) => {
    const helm = HELMS[0]!.bin;
    if (!helm || !COSIGN) return t.skip('helm or cosign not installed (npm run toolchain)');
    if (!registry) return t.skip('docker-registry not installed (npm run toolchain)');
    const match = /<!-- helm-customer-script -->\n```bash\n([\s\S]*?)```/.exec(await fs.readFile(DOC, 'utf8'));
    assert.ok(match, 'docs/helm.md has the customer script');
    const customer = async (name: string, publicKey: string) => {
      const work = path.join(dir, name);
      await fs.mkdir(work);
      await fs.copyFile(keyringPath, path.join(work, path.basename(keyringPath)));
      await fs.copyFile(publicKey, path.join(work, 'platform.pub'));
      await fs.copyFile(path.join(dir, 'out', `${pkg.fileName}.sigstore.json`), path.join(work, `${pkg.fileName}.sigstore.json`));
      await fs.writeFile(path.join(dir, `${name}.sh`), match[1]!);
      const tools = [path.dirname(helm), path.dirname(COSIGN!)].join(':');
      const vars = { ...helmEnv, HOME: dir, PATH: `${tools}:${process.env.PATH}`, REPO: repoUrl, CHART: `${registry!.address}/charts/demo`, DIGEST: String(ociDigest), HELM_FLAGS: '--plain-http', COSIGN_FLAGS: '--allow-http-registry' };
      return new Promise<{ code: number; out: string }>((resolve) => {
        execFile('bash', ['-eo', 'pipefail', path.join(dir, `${name}.sh`)], { cwd: work, env: vars, timeout: 120_000 }, (err, stdout, stderr) => {
          resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, out: `${stdout}${stderr}` });
        });
      });
    };
    const ok = await customer('customer', path.join(dir, 'cosign', 'cosign.pub'));
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, new RegExp(`Chart Hash Verified: sha256:${pkg.sha256}`));
    assert.match(ok.out, /Verified OK/);
    assert.match(ok.out, new RegExp(`Digest: ${ociDigest}`));
    assert.ok((await fs.readFile(path.join(dir, 'customer', pkg.fileName))).equals(pkg.data));

    await writeKeyPair(path.join(dir, 'stranger'), 'cosign', PASSWORD);
    const refused = await customer('customer-stranger', path.join(dir, 'stranger', 'cosign.pub'));
    assert.notEqual(refused.code, 0, 'another platform key must not verify');
    assert.match(refused.out, /Chart Hash Verified/, 'helm passed; the cosign step refused');
  });

  test('gpg --verify accepts our .prov', async (t) => {
    if (!GPG) return t.skip('gpg not installed (npm run toolchain)');
    const verified = await gpgVerify(GPG, keyringPath, path.join(dir, 'out', `${pkg.fileName}.prov`));
    assert.equal(verified.code, 0, verified.out);
    assert.match(verified.out, /Good signature from "Interop Charts <charts@countersign.invalid>"/);
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

  test("our .prov of helm's own signed archive has helm's bytes up to the signature and LF line ends; both helms and gpg accept it", async (t) => {
    const helm = HELMS[0]!.bin;
    if (!helm) return t.skip('helm not installed (npm run toolchain)');
    const work = path.join(dir, 'helm-signed-lf');
    await fs.mkdir(work);
    const secret = await openpgp.readPrivateKey({ armoredKey: await fs.readFile(path.join(VECTORS, 'test-key.asc'), 'utf8') });
    await fs.writeFile(path.join(work, 'secring.gpg'), secret.write());
    await fs.writeFile(path.join(work, 'pass'), TEST_KEY_PASSPHRASE);
    const made = await run(helm, ['package', '--sign', '--key', 'Countersign Helm Test', '--keyring', path.join(work, 'secring.gpg'), '--passphrase-file', path.join(work, 'pass'), '-d', work, DEMO_DIR], helmEnv);
    assert.equal(made.code, 0, made.out);
    const fileName = 'demo-1.2.3.tgz';
    const helms = await fs.readFile(path.join(work, `${fileName}.prov`), 'utf8');
    const key = await readSigningKey(Buffer.from(await fs.readFile(path.join(VECTORS, 'test-key.asc'), 'utf8')), TEST_KEY_PASSPHRASE);
    const ours = await signChart(await fs.readFile(path.join(work, fileName)), { fileName, key });
    const SIGNATURE = '-----BEGIN PGP SIGNATURE-----\n\n';
    const head = (prov: string) => prov.slice(0, prov.indexOf(SIGNATURE) + SIGNATURE.length);
    assert.ok(helms.includes(SIGNATURE), helms);
    assert.equal(head(ours), head(helms));
    assert.deepEqual([ours.includes('\r'), ours.endsWith('-----END PGP SIGNATURE-----')], [helms.includes('\r'), helms.endsWith('-----END PGP SIGNATURE-----')]);

    await fs.writeFile(path.join(work, `${fileName}.prov`), ours);
    for (const { bin, label } of HELMS) {
      if (!bin) continue;
      const ok = await run(bin, ['verify', '--keyring', path.join(VECTORS, 'keyring.gpg'), path.join(work, fileName)], helmEnv);
      assert.equal(ok.code, 0, `${label}: ${ok.out}`);
    }
    if (GPG) {
      const verified = await gpgVerify(GPG, path.join(VECTORS, 'keyring.gpg'), path.join(work, `${fileName}.prov`));
      assert.equal(verified.code, 0, verified.out);
      assert.match(verified.out, /Good signature/);
    }
  });
});

describe('the OpenPGP key a key ceremony makes, with the real helm and gpg', () => {
  const PASSWORD_ENV = 'COUNTERSIGN_INTEROP_CEREMONY_PASSPHRASE';
  let dir: string;
  let published: TrustKey;
  let keyringFile: string;
  let tgz: string;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-helm-ceremony-'));
    // The key ceremony's activities (activities/keys.ts) without the workflow around them: the
    // same library calls, so the file checked here is the one a ceremony publishes.
    const location = { publishDir: path.join(dir, 'trust'), stateFile: path.join(dir, 'private', 'state.json') };
    const env: NodeJS.ProcessEnv = { [PASSWORD_ENV]: PASSWORD };
    const created = await createKey(
      { kind: 'openpgp', backend: { type: 'file', keyDir: path.join(dir, 'private', 'keys'), passwordEnv: PASSWORD_ENV }, name: 'ceremony:helm:1', userId: { name: 'Ceremony Charts', email: 'ceremony@countersign.invalid' } },
      env,
    );
    published = (await publishKey(location, created, { ceremony: 'ceremony-helm-1', overlapMs: 0 })).key;
    keyringFile = path.join(location.publishDir, published.file);

    // Signed as a release signs with `--trust`: the private reference found through the trust store.
    const store = new TrustStore(location);
    const active = await store.active('openpgp');
    const secret = await store.privateRef(active.id);
    const key = await loadSigningKey(secret.ref, env[secret.passwordEnv!]);
    const pkg = await packageChart(DEMO_DIR);
    tgz = path.join(dir, 'out', pkg.fileName);
    await fs.mkdir(path.dirname(tgz));
    await fs.writeFile(tgz, pkg.data);
    await fs.writeFile(`${tgz}.prov`, await signChart(pkg.data, { fileName: pkg.fileName, key }));
  });

  after(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  test('is published as keyring-YYYY-MM-DD-<FINGERPRINT>.gpg, the only key in the trust directory', async () => {
    assert.match(published.fingerprint, /^[0-9A-F]{40}$/);
    assert.equal(published.file, `keyring-${published.created.slice(0, 10)}-${published.fingerprint}.gpg`);
    assert.deepEqual((await fs.readdir(path.dirname(keyringFile))).filter((f) => f.endsWith('.gpg')), [published.file]);
  });

  for (const helm of HELMS) {
    test(`${helm.label}: helm verify --keyring <the ceremony's published keyring> accepts a chart signed with its key`, async (t) => {
      if (!helm.bin) return t.skip('helm not installed (npm run toolchain)');
      const home = path.join(dir, `helm-${HELMS.indexOf(helm)}`);
      const helmEnv = { HELM_CACHE_HOME: path.join(home, 'cache'), HELM_CONFIG_HOME: path.join(home, 'config'), HELM_DATA_HOME: path.join(home, 'data') };
      const ok = await run(helm.bin, ['verify', '--keyring', keyringFile, tgz], helmEnv);
      assert.equal(ok.code, 0, ok.out);
      assert.match(ok.out, /Signed by: Ceremony Charts <ceremony@countersign.invalid>/);
      assert.match(ok.out, new RegExp(`Using Key With Fingerprint: ${published.fingerprint}`, 'i'));
      // The interop key's keyring does not hold the ceremony's key: helm must say so, not pass.
      const stranger = await run(helm.bin, ['verify', '--keyring', path.join(VECTORS, 'keyring.gpg'), tgz], helmEnv);
      assert.notEqual(stranger.code, 0, stranger.out);
    });
  }

  test('gpg --verify accepts the .prov against the ceremony keyring', async (t) => {
    if (!GPG) return t.skip('gpg not installed (npm run toolchain)');
    const verified = await gpgVerify(GPG, keyringFile, `${tgz}.prov`);
    assert.equal(verified.code, 0, verified.out);
    assert.match(verified.out, /Good signature from "Ceremony Charts <ceremony@countersign.invalid>"/);
    assert.match(verified.out.replace(/ /g, ''), new RegExp(published.fingerprint));
  });
});
