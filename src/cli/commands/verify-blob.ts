/**
 * `countersign verify-blob`: a file against a sigstore bundle, by key (offline, as countersign
 * and `cosign sign-blob --key` sign) or, with a pinned trusted root, by keyless identity (or a
 * key whose signature was logged), as `cosign verify-blob --trusted-root` does.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { verifyBlob, verifyBlobAgainstRoot } from '../../cosign/blob';
import { CountersignError } from '../../errors';
import { loadPublicKeyFile, publicKeyToPem } from '../../keys/public-key';
import { regExpProblem, type KeylessIdentity } from '../../sigstore/identity';
import type { VerifiedSigner } from '../../sigstore/keyless';
import { loadTrustedRootFile } from '../../sigstore/trusted-root';
import { EXIT, printJson, write, type Command, type ParsedArgs } from '../command';

const str = (args: ParsedArgs, name: string) => (typeof args.values[name] === 'string' && args.values[name] !== '' ? (args.values[name] as string) : undefined);

async function readInput(file: string, what: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (cause) {
    throw new CountersignError('BAD_INPUT', `${what} ${file} cannot be read (${(cause as NodeJS.ErrnoException).code ?? cause})`, { cause });
  }
}

/** The identity the flags name: a subject and an issuer, each exact or a whole-value pattern. */
export function identityFromFlags(args: ParsedArgs): KeylessIdentity | undefined {
  const subject = str(args, 'certificate-identity');
  const subjectRegExp = str(args, 'certificate-identity-regexp');
  const issuer = str(args, 'certificate-oidc-issuer');
  const issuerRegExp = str(args, 'certificate-oidc-issuer-regexp');
  if ([subject, subjectRegExp, issuer, issuerRegExp].every((v) => v === undefined)) return undefined;
  if ((subject === undefined) === (subjectRegExp === undefined)) throw new CountersignError('BAD_INPUT', 'give one of --certificate-identity and --certificate-identity-regexp');
  if ((issuer === undefined) === (issuerRegExp === undefined)) throw new CountersignError('BAD_INPUT', 'give one of --certificate-oidc-issuer and --certificate-oidc-issuer-regexp');
  for (const [flag, pattern] of [['certificate-identity-regexp', subjectRegExp], ['certificate-oidc-issuer-regexp', issuerRegExp]] as const) {
    const problem = pattern === undefined ? undefined : regExpProblem(pattern);
    if (problem) throw new CountersignError('BAD_INPUT', `--${flag} ${problem}`);
  }
  return { ...(subject ? { subject } : { subjectRegExp }), ...(issuer ? { issuer } : { issuerRegExp }) };
}

/** The stock cosign command for the same verdict; patterns anchored, since cosign's match anywhere. */
function cosignCommand(file: string, bundle: string, key: string | undefined, root: string | undefined, id: KeylessIdentity | undefined): string {
  const who = key
    ? `--key ${key}`
    : [
        id!.subject ? `--certificate-identity '${id!.subject}'` : `--certificate-identity-regexp '^(?:${id!.subjectRegExp})$'`,
        id!.issuer ? `--certificate-oidc-issuer '${id!.issuer}'` : `--certificate-oidc-issuer-regexp '^(?:${id!.issuerRegExp})$'`,
      ].join(' ');
  return root ? `cosign verify-blob --bundle ${bundle} ${who} --trusted-root ${root} ${file}` : `cosign verify-blob ${who} --bundle ${bundle} --insecure-ignore-tlog=true ${file}`;
}

function describeSigner(signer: VerifiedSigner | undefined): Record<string, unknown> | undefined {
  if (!signer) return undefined;
  const { facts } = signer;
  const base = { signedAt: signer.signedAt.map((d) => d.toISOString()), tlogEntries: signer.tlogEntries, rfc3161Timestamps: signer.rfc3161 };
  if (!facts) return base;
  const { notBefore, notAfter, ...rest } = facts;
  return { ...rest, ...base, certificateValid: { from: notBefore.toISOString(), to: notAfter.toISOString() } };
}

export const verifyBlobCommand: Command = {
  name: 'verify-blob',
  summary: 'verify a file against a sigstore bundle: by public key, or keyless by certificate identity against a pinned trusted root (cosign verify-blob --bundle)',
  usage:
    'countersign verify-blob FILE --bundle BUNDLE (--key PUB [--trusted-root ROOT] | --trusted-root ROOT (--certificate-identity ID | --certificate-identity-regexp RE) (--certificate-oidc-issuer URL | --certificate-oidc-issuer-regexp RE)) [--json]',
  options: {
    key: { type: 'string', short: 'k' },
    bundle: { type: 'string' },
    'trusted-root': { type: 'string' },
    'certificate-identity': { type: 'string' },
    'certificate-identity-regexp': { type: 'string' },
    'certificate-oidc-issuer': { type: 'string' },
    'certificate-oidc-issuer-regexp': { type: 'string' },
  },
  optionHelp: {
    key: 'public key (cosign.pub, SPKI PEM)',
    bundle: 'the bundle JSON (sigstore v0.1 to v0.3, or cosign v2\'s own: from cosign sign-blob --bundle, countersign sign-blob, a keyless CI signer, a GitHub attestation)',
    'trusted-root': "a pinned sigstore trusted_root.json (Fulcio CAs, Rekor and CT log keys, timestamp authorities): checked offline, never fetched",
    'certificate-identity': "the signing certificate's subject, exactly (a CI workflow URI at a ref, an e-mail)",
    'certificate-identity-regexp': "a regular expression the whole subject must match (cosign's matches anywhere in it)",
    'certificate-oidc-issuer': 'the OIDC issuer the certificate was issued for, exactly (https://token.actions.githubusercontent.com)',
    'certificate-oidc-issuer-regexp': 'a regular expression the whole issuer must match',
  },
  details:
    'Keyless evidence needs one transparency-log entry (inclusion proof or signed entry timestamp), one SCT and one verified signing time, as cosign does. ' +
    'Exit codes: 0 verified, 4 not verified (the problem code says why: IDENTITY_MISMATCH, ISSUER_MISMATCH, WRONG_TRUSTED_ROOT, CERTIFICATE_EXPIRED, CERTIFICATE_EXPIRED_NO_TIMESTAMP, TLOG_ENTRY_MISMATCH, TLOG_PROOF_INVALID, SCT_INVALID, TIMESTAMP_INVALID, WRONG_KEY, WRONG_DIGEST, ...; docs/policy.md), 2 bad input (an unreadable bundle path, a trusted root that is not one).',
  async run(args, io) {
    if (args.positionals.length !== 1) throw new CountersignError('BAD_INPUT', 'give exactly one file');
    const file = path.resolve(args.positionals[0]);
    const bundleArg = str(args, 'bundle');
    if (!bundleArg) throw new CountersignError('BAD_INPUT', '--bundle is required');
    const bundleFile = path.resolve(bundleArg);
    const keyFile = str(args, 'key') && path.resolve(str(args, 'key')!);
    const rootFile = str(args, 'trusted-root') && path.resolve(str(args, 'trusted-root')!);
    const identity = identityFromFlags(args);
    if (keyFile && identity) throw new CountersignError('BAD_INPUT', 'give --key or a certificate identity, not both');
    if (!keyFile && !identity) throw new CountersignError('BAD_INPUT', 'give --key PUB, or --certificate-identity and --certificate-oidc-issuer with --trusted-root');
    if (identity && !rootFile) throw new CountersignError('BAD_INPUT', 'a certificate identity is checked against a pinned --trusted-root (nothing is fetched)');
    const key = keyFile ? publicKeyToPem(await loadPublicKeyFile(keyFile)) : undefined;
    const root = rootFile ? loadTrustedRootFile(rootFile) : undefined;
    const cosign = cosignCommand(file, bundleFile, keyFile, rootFile, identity);
    let signer: VerifiedSigner | undefined;
    let byKey: ReturnType<typeof verifyBlob> | undefined;
    try {
      const data = await readInput(file, 'file');
      const bundle = await readInput(bundleFile, 'bundle');
      if (root) signer = verifyBlobAgainstRoot(data, bundle, { root, ...(key ? { publicKey: key } : { identities: [identity!] }) });
      else byKey = verifyBlob(data, bundle, key!);
    } catch (err) {
      if (!(err instanceof CountersignError) || err.code !== 'SIGNATURE_INVALID') throw err;
      const problem = String(err.details?.problem ?? 'MALFORMED');
      if (args.values.json) printJson(io, { ok: false, problem, message: err.message, cosign });
      else write(io.stdout, `[NO] ${problem}: ${err.message.replace(/^SIGNATURE_INVALID: /, '')}\nthe same with stock cosign: ${cosign}`);
      return EXIT.rejected;
    }
    const signed = describeSigner(signer);
    // cosign v2's own bundle: its log entry, if any, is not read (as cosign's --insecure-ignore-tlog).
    const format = byKey ? { bundleFormat: byKey.format, ...(byKey.logged ? { tlogEntry: 'present, not checked' } : {}) } : {};
    if (args.values.json) printJson(io, { ok: true, ...format, ...(signed ? { signer: signed } : {}), ...(root ? { trustedRoot: root.digest } : {}), cosign });
    else {
      const who = signer?.facts ? ` (signed by ${signer.facts.subject} from ${signer.facts.issuer})` : byKey?.format === 'cosign-v2' ? ` (cosign v2 bundle${byKey.logged ? '; its Rekor entry is not checked' : ''})` : '';
      write(io.stdout, `Verified OK${who}\nthe same with stock cosign: ${cosign}`);
    }
    return EXIT.ok;
  },
};
