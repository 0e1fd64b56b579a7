/**
 * cosign v2 from v2.6.3 on reads sigstore bundles (the `bundle` and `both` formats, blob bundles)
 * only with a trusted root, even with a key and offline, and fetches one from Sigstore's TUF
 * repository when given none, which fails here. With a key and --insecure-ignore-tlog=true nothing
 * in the root is used, so one that names no services does (docs/cosign-interop.md).
 */
import fs from 'node:fs';
import path from 'node:path';

export const NO_SERVICES_ROOT = '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}';

/** `--trusted-root FILE` with a root naming no services, written into `dir`. */
export function noServicesRootArgs(dir: string): string[] {
  const file = path.join(dir, 'no-services-root.json');
  if (!fs.existsSync(file)) fs.writeFileSync(file, `${NO_SERVICES_ROOT}\n`);
  return ['--trusted-root', file];
}
