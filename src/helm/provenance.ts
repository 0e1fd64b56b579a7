/**
 * Helm's `.prov` file: an OpenPGP cleartext-signed message (`Hash: SHA512`) whose body is the
 * chart's metadata as YAML, the YAML end marker `...`, and a `files:` map from the archive's file
 * name to `sha256:<hex>` of it. Signed here with openpgp.js; `helm verify` and `gpg --verify`
 * accept the result (tested with the real tools).
 */
import * as openpgp from 'openpgp';
import { stringify, parse } from 'yaml';
import { CountersignError } from '../errors';
import { sha256Hex } from '../oci/digest';
import { assertArchiveName, readChartArchive } from './archive';
import { metadataYaml, type ChartMetadata } from './metadata';

/**
 * A `.prov` as read: its body repeats Chart.yaml, which Helm lets grow to its 5 MiB file limit;
 * the rest (armor, signature, file sums) is a few kilobytes.
 */
export const DEFAULT_PROVENANCE_MAX_BYTES = 8 * 1024 * 1024;
/** Alias expansions in the signed body's YAML; Helm writes none (see docs/limits.md). */
export const DEFAULT_PROVENANCE_MAX_ALIASES = 100;

/** Separates the metadata from the file sums in the body (Helm splits on exactly this). */
export const BODY_SEPARATOR = '\n...\n';

/** The body Helm signs for `fileName` (metadata YAML, blank line, `...`, `files:`). */
export function provenanceBody(metadata: ChartMetadata, fileName: string, sha256: string): string {
  return `${metadataYaml(metadata)}${BODY_SEPARATOR}${stringify({ files: { [fileName]: `sha256:${sha256}` } })}`;
}

export interface SignChartOptions {
  /** The archive's file name; must be `<name>-<version>.tgz` of the chart inside. */
  fileName: string;
  key: openpgp.PrivateKey;
  /** Signature time; defaults to now, refused when in the future. */
  date?: Date;
}

/** Clearsigns the provenance of a chart archive; returns the `.prov` text. */
export async function signChart(archive: Buffer, opts: SignChartOptions): Promise<string> {
  const { metadata } = readChartArchive(archive, opts.fileName);
  assertArchiveName(opts.fileName, metadata);
  const now = Date.now();
  const date = opts.date ?? new Date(now);
  if (date.getTime() > now) throw new CountersignError('BAD_INPUT', `signature time ${date.toISOString()} is in the future; verifiers refuse such signatures`);
  if (opts.key.getCreationTime().getTime() > date.getTime()) {
    throw new CountersignError('KEY_INVALID', `key ${opts.key.getFingerprint().toUpperCase()} was created at ${opts.key.getCreationTime().toISOString()}, after the signature time ${date.toISOString()}`);
  }
  const text = provenanceBody(metadata, opts.fileName, sha256Hex(archive));
  const signed = await openpgp.sign({
    message: await openpgp.createCleartextMessage({ text }),
    signingKeys: opts.key,
    date,
    config: { preferredHashAlgorithm: openpgp.enums.hash.sha512 },
  });
  if (!/^Hash: SHA512\r?$/m.test(signed.slice(0, 200))) {
    throw new CountersignError('KEY_INVALID', `key ${opts.key.getFingerprint().toUpperCase()} prefers a hash other than SHA512; Helm provenance is signed with SHA512`);
  }
  return asHelmWritesIt(signed);
}

/**
 * openpgp.js writes the cleartext with CRLF line ends and a final newline; Helm (both the
 * ProtonMail and the x/crypto signer) writes LF and none. Line ends are not part of what is signed
 * (a cleartext signature covers the text canonicalised to CRLF), so the signature stays valid and
 * the file matches Helm's byte for byte up to the signature block.
 */
function asHelmWritesIt(armored: string): string {
  return armored.replace(/\r\n/g, '\n').replace(/\n$/, '');
}

export interface ParsedProvenance {
  /** The signed text as openpgp.js canonicalises it. */
  body: string;
  /** Metadata YAML (unvalidated: Helm does not compare it) as parsed from the body. */
  metadata: Record<string, unknown>;
  /** File name -> `sha256:<hex>`. */
  files: Record<string, string>;
  message: openpgp.CleartextMessage;
  signature: { keyId: string; created: Date; hash: string };
}

function invalid(what: string, reason: string, cause?: unknown): CountersignError {
  return new CountersignError('PROVENANCE_INVALID', `${what}: ${reason}`, { cause });
}

/** Reads a `.prov`: one clearsigned message with one signature and a body in Helm's shape. */
export async function parseProvenance(text: string, what = 'provenance'): Promise<ParsedProvenance> {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > DEFAULT_PROVENANCE_MAX_BYTES) {
    throw new CountersignError('INPUT_TOO_LARGE', `${what} is ${bytes} bytes, over the limit of ${DEFAULT_PROVENANCE_MAX_BYTES}`, {
      details: { bytes, limit: DEFAULT_PROVENANCE_MAX_BYTES },
    });
  }
  let message: openpgp.CleartextMessage;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: text });
  } catch (cause) {
    throw invalid(what, `not an OpenPGP cleartext-signed message (${(cause as Error).message})`, cause);
  }
  // `signature` is public at runtime but missing from openpgp's type declarations.
  const packets = (message as unknown as { signature: openpgp.Signature }).signature.packets;
  if (packets.length !== 1) throw invalid(what, `expected one signature, found ${packets.length}`);
  const packet = packets[0]!;
  if (packet.created === null) throw invalid(what, 'the signature has no creation time');
  let hash: string;
  try {
    hash = String(openpgp.enums.read(openpgp.enums.hash, packet.hashAlgorithm as number));
  } catch (cause) {
    throw invalid(what, `the signature names hash algorithm ${String(packet.hashAlgorithm ?? 'none')}, which OpenPGP does not define`, cause);
  }
  const body = message.getText();
  const at = body.indexOf(BODY_SEPARATOR);
  if (at < 0) throw invalid(what, `the signed body has no "..." line between the metadata and the files`);
  let metadata: unknown;
  let sums: unknown;
  try {
    metadata = parse(body.slice(0, at + 1), { maxAliasCount: DEFAULT_PROVENANCE_MAX_ALIASES });
    sums = parse(body.slice(at + BODY_SEPARATOR.length), { maxAliasCount: DEFAULT_PROVENANCE_MAX_ALIASES });
  } catch (cause) {
    throw invalid(what, `the signed body is not YAML (${(cause as Error).message.split('\n')[0]})`, cause);
  }
  const files = (sums as { files?: unknown } | null)?.files;
  if (files === null || typeof files !== 'object' || Array.isArray(files) || Object.values(files).some((v) => typeof v !== 'string')) {
    throw invalid(what, 'the signed body has no "files:" map of file name to sha256');
  }
  return {
    body,
    metadata: metadata !== null && typeof metadata === 'object' ? (metadata as Record<string, unknown>) : {},
    files: files as Record<string, string>,
    message,
    signature: { keyId: packet.issuerKeyID.toHex().toUpperCase(), created: packet.created, hash: String(hash).toUpperCase() },
  };
}
