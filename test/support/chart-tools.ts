/**
 * The stock tools customers verify charts with (helm, gpg, cosign), run as customers run them: each
 * helper returns the exit code and the tool's own output. A missing tool is `undefined` from
 * locateTool, so tests can skip (`npm run toolchain` installs them).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { locateTool } from '../../src/stack/tools';

export const HELMS = [
  { label: 'helm v3.21.4', bin: locateTool('helm') },
  { label: 'helm v3.18.6 (x/crypto/openpgp)', bin: locateTool('helm-legacy') },
];
export const GPG = locateTool('gpg');
export const COSIGN = locateTool('cosign');

export interface ToolRun {
  code: number;
  out: string;
}

export function run(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(bin, args, { env: { ...process.env, ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: `${String(stdout)}${String(stderr)}` });
    });
  });
}

/** `gpg --verify` in a throwaway GNUPGHOME holding only `keyring`; an import failure is returned as the result. */
export async function gpgVerify(gpg: string, keyring: string, prov: string): Promise<ToolRun> {
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-gnupg-'));
  try {
    const env = { GNUPGHOME: home };
    const imported = await run(gpg, ['--batch', '--import', keyring], env);
    if (imported.code !== 0) return { code: imported.code, out: `gpg --import ${keyring}: ${imported.out}` };
    return await run(gpg, ['--batch', '--verify', prov], env);
  } finally {
    await run(gpg.replace(/gpg$/, 'gpgconf'), ['--kill', 'all'], { GNUPGHOME: home });
    await fs.rm(home, { recursive: true, force: true });
  }
}

/** `helm verify --keyring KEYRING TGZ` (reads TGZ.prov) with Helm's homes under `home`. */
export function helmVerify(helm: string, keyring: string, tgz: string, home: string): Promise<ToolRun> {
  const env = { HELM_CACHE_HOME: path.join(home, 'cache'), HELM_CONFIG_HOME: path.join(home, 'config'), HELM_DATA_HOME: path.join(home, 'data') };
  return run(helm, ['verify', '--keyring', keyring, tgz], env);
}

/** `cosign verify-blob --key PUB --bundle BUNDLE FILE`, offline (no transparency log), HOME at `home`. */
export function cosignVerifyBlob(cosign: string, publicKey: string, bundle: string, file: string, home: string): Promise<ToolRun> {
  return run(cosign, ['verify-blob', '--key', publicKey, '--bundle', bundle, '--insecure-ignore-tlog=true', file], { HOME: home });
}
