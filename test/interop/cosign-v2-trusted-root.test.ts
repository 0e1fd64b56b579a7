/**
 * docs/cosign-interop.md's commands for cosign v2 and sigstore bundles (`--trusted-root` with a
 * root that names no services), run as printed with the toolchain's cosign v2.6.4 and v3 against
 * `legacy`, `bundle` and `both` images in the real registry and a countersign blob bundle; another
 * key fails them. Without `--trusted-root` cosign v2.6.4 refuses the blob bundle and the `bundle`
 * and `both` images (it reads `legacy` ones), which is why the docs give the flag.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { signBlob } from '../../src/cosign/blob';
import { signImageBundle } from '../../src/cosign/bundle-images';
import { signImage } from '../../src/cosign/image-signatures';
import { locateTool } from '../../src/stack/tools';
import { pushMultiPlatformImage } from '../support/multi-platform';
import { useRegistryFixture } from '../support/registry-fixture';

const DOC = path.resolve(__dirname, '../../docs/cosign-interop.md');
const HELLO = path.resolve(__dirname, '../../examples/hello');
const COSIGNS = [
  { label: 'cosign v2.6.4', bin: locateTool('cosign-v2') },
  { label: 'cosign v3.1.2', bin: locateTool('cosign') },
];
const registryBin = locateTool('docker-registry');

describe('the cosign v2 --trusted-root commands in docs/cosign-interop.md', { skip: registryBin ? false : 'docker-registry not installed (npm run toolchain)' }, () => {
  const fx = useRegistryFixture({ name: 'cosign-v2-root', keys: ['platform', 'stranger'] });
  let dir: string;
  const images = new Map<'legacy' | 'bundle' | 'both', string>();
  let script: string;

  before(async () => {
    dir = fx.dir;
    const match = /<!-- cosign-v2-trusted-root -->\n```bash\n([\s\S]*?)```/.exec(await fs.readFile(DOC, 'utf8'));
    assert.ok(match, 'docs/cosign-interop.md has the cosign v2 --trusted-root commands');
    script = path.join(dir, 'verify.sh');
    await fs.writeFile(script, match[1]!);
    const { registry, store } = fx;
    const signer = fx.key('platform').signer;
    for (const format of ['legacy', 'bundle', 'both'] as const) {
      const pushed = await pushMultiPlatformImage(store, `apps/${format}`, HELLO, path.join(dir, `image-${format}`));
      if (format !== 'bundle') await signImage(store, `apps/${format}`, pushed.digest, signer);
      if (format !== 'legacy') await signImageBundle(store, `apps/${format}`, pushed.digest, signer);
      images.set(format, `${registry.address}/apps/${format}@${pushed.digest}`);
    }
    const blob = Buffer.from('a chart archive, as far as cosign can tell\n');
    await fs.writeFile(path.join(dir, 'chart.tgz'), blob);
    await fs.writeFile(path.join(dir, 'chart.tgz.bundle'), JSON.stringify(await signBlob(blob, signer)));
  });

  async function customer(cosign: string, name: string, publicKey: string, image: string) {
    const work = path.join(dir, name);
    await fs.mkdir(work);
    await fs.copyFile(publicKey, path.join(work, 'platform.pub'));
    await fs.copyFile(path.join(dir, 'chart.tgz'), path.join(work, 'chart.tgz'));
    await fs.copyFile(path.join(dir, 'chart.tgz.bundle'), path.join(work, 'chart.tgz.bundle'));
    const env = { PATH: `${path.dirname(cosign)}:${process.env.PATH}`, HOME: dir, IMAGE: image, COSIGN_FLAGS: '--allow-http-registry' };
    return spawnSync('bash', ['-eo', 'pipefail', script], { cwd: work, encoding: 'utf8', env, timeout: 120_000 });
  }

  for (const { label, bin } of COSIGNS) {
    it(`${label}: run as printed, they verify a legacy, bundle and both image and the blob bundle; with another key they fail`, { skip: bin ? false : `${label} not installed (npm run toolchain)` }, async () => {
      const tag = label.replace(/\W+/g, '-');
      for (const [format, image] of images) {
        const ok = await customer(bin!, `ok-${tag}-${format}`, path.join(dir, 'keys', 'platform.pub'), image);
        assert.equal(ok.status, 0, `${format}\n${ok.stdout}${ok.stderr}`);
        assert.match(ok.stderr, /The signatures were verified against the specified public key/);
        assert.match(ok.stderr, /Verified OK/);
        const refused = await customer(bin!, `stranger-${tag}-${format}`, path.join(dir, 'keys', 'stranger.pub'), image);
        assert.notEqual(refused.status, 0, `${format}: another platform key must not verify`);
      }
    });
  }

  it('cosign v2.6.4 without --trusted-root: refuses the blob bundle and the bundle and both images even with a key, reads the legacy image', { skip: COSIGNS[0]!.bin ? false : 'cosign v2 not installed' }, () => {
    const v2 = (args: string[]) => spawnSync(COSIGNS[0]!.bin!, [...args, '--key', path.join(dir, 'keys', 'platform.pub'), '--insecure-ignore-tlog=true'], { encoding: 'utf8', env: { ...process.env, HOME: dir }, timeout: 120_000 });
    const blob = v2(['verify-blob', '--bundle', path.join(dir, 'chart.tgz.bundle'), path.join(dir, 'chart.tgz')]);
    assert.notEqual(blob.status, 0, blob.stdout + blob.stderr);
    assert.match(blob.stderr, /trusted root is required when using new bundle format/);
    for (const format of ['bundle', 'both'] as const) {
      const r = v2(['verify', '--allow-http-registry', images.get(format)!]);
      assert.notEqual(r.status, 0, `${format}: ${r.stdout}`);
      assert.match(r.stderr, /trusted root is required when using new bundle format/, format);
    }
    const legacy = v2(['verify', '--allow-http-registry', images.get('legacy')!]);
    assert.equal(legacy.status, 0, legacy.stderr);
  });
});
