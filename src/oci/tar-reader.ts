/**
 * Reads tar archives from outside (image layers, chart archives): ustar (with the prefix field),
 * PAX `x` headers (path, linkpath, size), GNU `L`/`K` long names; global PAX headers are skipped.
 *
 * The archive is untrusted. Every header is checked before it moves the cursor, and the cursor
 * only moves forward, so reading always ends; sizes must be non-negative integers inside the
 * buffer, and entries, extended headers and paths are capped (DEFAULT_TAR_LIMITS, see
 * docs/limits.md). Malformed archives are ARCHIVE_INVALID, archives over a limit INPUT_TOO_LARGE,
 * each with the offset and the numbers.
 */
import { CountersignError } from '../errors';

/** What the reader returns. */
export interface TarListing {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  size: number;
  mode: number;
  /** Content, for regular files: a view into the archive's buffer, not a copy. */
  data?: Buffer;
  linkname?: string;
}

export interface TarLimits {
  /** Entries listed (metadata headers not counted). */
  maxEntries: number;
  /** Body of one PAX `x`/`g` header or GNU `L`/`K` long name. */
  maxExtendedHeaderBytes: number;
  /** An entry's path or link target, in UTF-8 bytes. */
  maxPathBytes: number;
}

/** Entries in one archive: far above any image layer or chart seen in practice. */
export const DEFAULT_TAR_MAX_ENTRIES = 100_000;
/** One extended header: real ones hold a few paths and times (well under 4 KiB). */
export const DEFAULT_TAR_MAX_EXTENDED_HEADER_BYTES = 1024 * 1024;
/** Linux PATH_MAX: nothing longer can be extracted anyway. */
export const DEFAULT_TAR_MAX_PATH_BYTES = 4096;

export const DEFAULT_TAR_LIMITS: Readonly<TarLimits> = Object.freeze({
  maxEntries: DEFAULT_TAR_MAX_ENTRIES,
  maxExtendedHeaderBytes: DEFAULT_TAR_MAX_EXTENDED_HEADER_BYTES,
  maxPathBytes: DEFAULT_TAR_MAX_PATH_BYTES,
});

const BLOCK = 512;
// Types whose size field says nothing about data that follows (Go's archive/tar, which
// docker and containerd extract with, skips no data for them either).
const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6']);

function invalid(message: string, details?: Record<string, unknown>): CountersignError {
  return new CountersignError('ARCHIVE_INVALID', `tar archive: ${message}`, details ? { details } : {});
}

function tooLarge(message: string, details: Record<string, unknown>): CountersignError {
  return new CountersignError('INPUT_TOO_LARGE', `tar archive: ${message}`, { details });
}

function readString(buf: Buffer, offset: number, length: number): string {
  const field = buf.subarray(offset, offset + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? field.length : nul).toString('utf8');
}

/** A numeric header field: octal text, or GNU base-256 (high bit of the first byte set). */
function readNumber(buf: Buffer, offset: number, length: number, what: string, at: number): number {
  const field = buf.subarray(offset, offset + length);
  if ((field[0]! & 0x80) !== 0) {
    // Two's complement: bit 6 of the first byte set means negative, which no size or mode is.
    if ((field[0]! & 0x40) !== 0) throw invalid(`header at offset ${at} has a negative ${what}`, { offset: at });
    let n = field[0]! & 0x3f;
    for (let i = 1; i < field.length; i++) {
      n = n * 256 + field[i]!;
      if (n > Number.MAX_SAFE_INTEGER) throw invalid(`header at offset ${at} has a ${what} beyond 2^53`, { offset: at });
    }
    return n;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw invalid(`header at offset ${at} has a malformed ${what} field ${JSON.stringify(text.slice(0, 24))}`, { offset: at });
  return parseInt(text, 8);
}

/** PAX records, "<len> <key>=<value>\n" each, as strictly as Go's archive/tar reads them. */
function parsePax(body: Buffer, at: number): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < body.length) {
    const space = body.indexOf(0x20, pos);
    const lenText = space < 0 ? '' : body.subarray(pos, space).toString('latin1');
    if (!/^[1-9][0-9]{0,8}$/.test(lenText)) throw invalid(`PAX header at offset ${at} has a malformed record length at byte ${pos}`, { offset: at });
    const len = Number(lenText);
    if (pos + len > body.length || len <= space - pos + 1 || body[pos + len - 1] !== 0x0a) {
      throw invalid(`PAX header at offset ${at}: record at byte ${pos} of length ${len} does not end inside the header with a newline`, { offset: at });
    }
    const record = body.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq <= 0) throw invalid(`PAX header at offset ${at}: record at byte ${pos} has no key=value`, { offset: at });
    out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

function paxSize(value: string, at: number): number {
  if (!/^[0-9]{1,16}$/.test(value) || Number(value) > Number.MAX_SAFE_INTEGER) {
    throw invalid(`PAX size ${JSON.stringify(value.slice(0, 24))} for the entry at offset ${at} is not a non-negative integer`, { offset: at });
  }
  return Number(value);
}

function checkPath(value: string, what: string, at: number, limits: TarLimits): string {
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > limits.maxPathBytes) {
    throw tooLarge(`${what} of the entry at offset ${at} is ${bytes} bytes, over the limit of ${limits.maxPathBytes}`, { offset: at, bytes, limit: limits.maxPathBytes });
  }
  return value;
}

function entryType(typeflag: string, name: string): TarListing['type'] {
  if (typeflag === '0' || typeflag === '7') return name.endsWith('/') ? 'directory' : 'file'; // pre-POSIX dirs: trailing '/'
  if (typeflag === '5') return 'directory';
  if (typeflag === '2') return 'symlink';
  if (typeflag === '1') return 'hardlink';
  return 'other';
}

/**
 * Lists the entries of an uncompressed tar archive, with file contents. Refuses (never loops on,
 * never over-reads) a malformed or oversized archive: ARCHIVE_INVALID / INPUT_TOO_LARGE.
 */
export function listTar(buf: Buffer, limits: Partial<TarLimits> = {}): TarListing[] {
  const lim: TarLimits = { ...DEFAULT_TAR_LIMITS, ...limits };
  const out: TarListing[] = [];
  let pos = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  while (pos < buf.length) {
    if (pos + BLOCK > buf.length) {
      if (buf.subarray(pos).every((b) => b === 0)) break;
      throw invalid(`truncated header at offset ${pos} (${buf.length - pos} of ${BLOCK} bytes)`, { offset: pos });
    }
    const h = buf.subarray(pos, pos + BLOCK);
    if (h.every((b) => b === 0)) break; // end of archive
    const stored = readNumber(h, 148, 8, 'checksum', pos);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (sum !== stored) throw invalid(`header at offset ${pos} has a bad checksum`, { offset: pos });

    const typeflag = String.fromCharCode(h[156] || 0x30);
    const meta = typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K';
    let size = readNumber(h, 124, 12, 'size', pos);
    if (pax.size !== undefined && !meta) size = paxSize(pax.size, pos);
    if (HEADER_ONLY.has(typeflag)) size = 0;
    if (meta && size > lim.maxExtendedHeaderBytes) {
      throw tooLarge(`extended header at offset ${pos} is ${size} bytes, over the limit of ${lim.maxExtendedHeaderBytes}`, { offset: pos, bytes: size, limit: lim.maxExtendedHeaderBytes });
    }
    const dataStart = pos + BLOCK;
    if (size > buf.length - dataStart) {
      throw invalid(`entry at offset ${pos} declares ${size} bytes, but only ${buf.length - dataStart} follow`, { offset: pos, declared: size });
    }
    const data = buf.subarray(dataStart, dataStart + size);
    const next = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (!(next > pos)) throw invalid(`entry at offset ${pos} does not advance`, { offset: pos }); // unreachable: size >= 0
    pos = next;

    if (typeflag === 'x') {
      pax = parsePax(data, dataStart - BLOCK);
      continue;
    }
    if (typeflag === 'g') continue;
    if (typeflag === 'L' || typeflag === 'K') {
      const value = readString(data, 0, data.length);
      if (typeflag === 'L') longName = value;
      else longLink = value;
      continue;
    }
    if (out.length >= lim.maxEntries) {
      throw tooLarge(`more than ${lim.maxEntries} entries`, { limit: lim.maxEntries });
    }

    const at = dataStart - BLOCK;
    let name = readString(h, 0, 100);
    if (h.subarray(257, 263).toString('latin1') === 'ustar\0') {
      const prefix = readString(h, 345, 155);
      if (prefix !== '') name = `${prefix}/${name}`;
    }
    if (longName !== undefined) name = longName;
    if (pax.path !== undefined) name = pax.path;
    let linkname = readString(h, 157, 100);
    if (longLink !== undefined) linkname = longLink;
    if (pax.linkpath !== undefined) linkname = pax.linkpath;
    checkPath(name, 'path', at, lim);
    checkPath(linkname, 'link target', at, lim);

    const type = entryType(typeflag, name);
    const entry: TarListing = { path: name, type, size, mode: readNumber(h, 100, 8, 'mode', at) & 0o7777 };
    if (type === 'file') entry.data = data;
    if (type === 'symlink' || type === 'hardlink') entry.linkname = linkname;
    out.push(entry);
    pax = {};
    longName = undefined;
    longLink = undefined;
  }
  return out;
}
