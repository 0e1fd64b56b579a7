/**
 * `helm verify`, with every check reported: the archive is a valid chart named by its file name,
 * the `.prov` signature verifies under a key in the keyring and is not dated in the future, the
 * signed `files:` entry for the file name matches the archive's sha256, and the signed metadata
 * names the same chart and version. Helm itself checks the signature and the sha256 only.
 */
import * as openpgp from 'openpgp';
import { CountersignError, type ErrorCode } from '../errors';
import { sha256Hex } from '../oci/digest';
import { assertArchiveName, readChartArchive } from './archive';
import type { ChartMetadata } from './metadata';
import { keyInfo, readKeyring, type KeyInfo } from './pgp-key';
import { parseProvenance, type ParsedProvenance } from './provenance';

/** Signatures dated up to this far ahead of the verifier's clock pass (hosts are never exactly in step). */
export const DEFAULT_CLOCK_SKEW_SECONDS = 0;

export type ChartCheckName = 'archive' | 'file-name' | 'signature' | 'digest' | 'metadata' | 'bundle';

export interface ChartCheck {
  name: ChartCheckName;
  ok: boolean;
  message: string;
  code?: ErrorCode;
}

export interface ChartVerification {
  ok: boolean;
  fileName: string;
  sha256: string;
  checks: ChartCheck[];
  metadata?: ChartMetadata;
  signer?: KeyInfo;
  signedAt?: string;
}

export interface VerifyChartInput {
  archive: Buffer;
  /** The archive's file name, as Helm looks it up in `files:`. */
  fileName: string;
  provenance: string | Buffer;
  keyring: Buffer;
  /** Names the keyring in errors. */
  keyringName?: string;
  allowArmoredKeyring?: boolean;
  now?: Date;
  clockSkewSeconds?: number;
}

/** Runs every check; keyring problems (which make all checks meaningless) are thrown. */
export async function verifyChart(input: VerifyChartInput): Promise<ChartVerification> {
  const keys = await readKeyring(input.keyring, input.keyringName ?? 'keyring', { allowArmored: input.allowArmoredKeyring });
  const sha256 = sha256Hex(input.archive);
  const checks: ChartCheck[] = [];
  const report: ChartVerification = { ok: false, fileName: input.fileName, sha256, checks };
  const fail = (name: ChartCheckName, err: unknown) => {
    const code = err instanceof CountersignError ? err.code : 'INTERNAL';
    checks.push({ name, ok: false, code, message: err instanceof Error ? err.message : String(err) });
  };

  try {
    report.metadata = readChartArchive(input.archive, input.fileName).metadata;
    checks.push({ name: 'archive', ok: true, message: `chart ${report.metadata.name} ${report.metadata.version}` });
  } catch (err) {
    fail('archive', err);
  }
  if (report.metadata) {
    try {
      assertArchiveName(input.fileName, report.metadata);
      checks.push({ name: 'file-name', ok: true, message: `${input.fileName} matches the chart's name and version` });
    } catch (err) {
      fail('file-name', err);
    }
  }

  let prov: ParsedProvenance | undefined;
  try {
    prov = await parseProvenance(input.provenance.toString(), `${input.fileName}.prov`);
    const signed = await checkSignature(prov, keys, input);
    report.signer = signed.signer;
    report.signedAt = prov.signature.created.toISOString();
    checks.push({ name: 'signature', ok: true, message: `signed by ${signed.signer.userIds.join(', ')} (${signed.signer.fingerprint}) at ${report.signedAt}` });
  } catch (err) {
    fail('signature', err);
  }
  if (prov) {
    checks.push(digestCheck(prov, input.fileName, sha256));
    if (report.metadata) checks.push(metadataCheck(prov, report.metadata));
  }
  report.ok = checks.every((c) => c.ok) && checks.some((c) => c.name === 'signature');
  return report;
}

async function checkSignature(prov: ParsedProvenance, keys: openpgp.PublicKey[], input: VerifyChartInput): Promise<{ signer: KeyInfo }> {
  const { keyId, created } = prov.signature;
  const key = keys.find((k) => k.getKeys().some((sub) => sub.getKeyID().toHex().toUpperCase() === keyId));
  if (!key) {
    const known = keys.map((k) => k.getFingerprint().toUpperCase()).join(', ');
    throw new CountersignError('PROVENANCE_UNKNOWN_KEY', `signed by key ${keyId}, which is not in ${input.keyringName ?? 'the keyring'} (it holds ${known})`, {
      details: { keyId },
    });
  }
  const now = input.now ?? new Date();
  const skew = (input.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS) * 1000;
  if (created.getTime() > now.getTime() + skew) {
    throw new CountersignError('PROVENANCE_FUTURE_DATED', `the signature is dated ${created.toISOString()}, after now (${now.toISOString()}); Helm and gpg refuse it`, {
      details: { signedAt: created.toISOString() },
    });
  }
  if (prov.signature.hash !== 'SHA512') {
    // Helm signs with SHA512 and gpg shows the Hash header; other hashes verify but are not Helm's.
    throw new CountersignError('PROVENANCE_INVALID', `signature hash is ${prov.signature.hash}, not SHA512 as Helm writes it`);
  }
  try {
    // openpgp.js throws from verify() itself for some corrupt signatures (a mangled packet field), not only from `verified`.
    const result = await openpgp.verify({ message: prov.message, verificationKeys: key, date: new Date(Math.max(now.getTime(), created.getTime())) });
    await result.signatures[0]!.verified;
  } catch (cause) {
    throw new CountersignError('PROVENANCE_SIGNATURE_INVALID', `the signature by ${key.getFingerprint().toUpperCase()} does not verify: ${(cause as Error).message} (the signed body was changed, or the signature is corrupt)`, { cause });
  }
  return { signer: keyInfo(key) };
}

function digestCheck(prov: ParsedProvenance, fileName: string, sha256: string): ChartCheck {
  const recorded = prov.files[fileName];
  if (recorded === undefined) {
    return { name: 'digest', ok: false, code: 'PROVENANCE_DIGEST_MISMATCH', message: `the provenance has no sha256 for a file named ${fileName} (it lists ${Object.keys(prov.files).join(', ') || 'nothing'})` };
  }
  if (recorded !== `sha256:${sha256}`) {
    return { name: 'digest', ok: false, code: 'PROVENANCE_DIGEST_MISMATCH', message: `${fileName} has sha256:${sha256}, the provenance signed ${recorded} (the archive was changed after signing)` };
  }
  return { name: 'digest', ok: true, message: `${fileName} sha256:${sha256} matches the provenance` };
}

function metadataCheck(prov: ParsedProvenance, md: ChartMetadata): ChartCheck {
  const name = prov.metadata.name;
  const version = prov.metadata.version;
  if (name !== md.name || version !== md.version) {
    return {
      name: 'metadata',
      ok: false,
      code: 'PROVENANCE_METADATA_MISMATCH',
      message: `the provenance describes ${String(name)} ${String(version)}, the archive holds ${md.name} ${md.version}`,
    };
  }
  return { name: 'metadata', ok: true, message: 'the signed metadata names the same chart and version' };
}

/** Throws the first failed check's code, with every failure in the message. */
export function assertChartVerified(report: ChartVerification): void {
  if (report.ok) return;
  const failed = report.checks.filter((c) => !c.ok);
  const first = failed[0];
  throw new CountersignError(first?.code ?? 'VERIFICATION_FAILED', failed.map((c) => `${c.name}: ${stripCode(c.message, c.code)}`).join('; ') || 'no signature was checked', {
    details: { checks: report.checks },
  });
}

function stripCode(message: string, code: string | undefined): string {
  return code && message.startsWith(`${code}: `) ? message.slice(code.length + 2) : message;
}
