/**
 * A small deterministic tar writer (POSIX ustar; a PAX extended header only for an entry whose
 * path or link target is over 100 bytes, or whose size does not fit the 11-digit octal field); the
 * reader for the same family of archives is in tar-reader.ts, re-exported here.
 *
 * Determinism: entries sorted by the bytes of their UTF-8 path, mtime 0, uid/gid 0, empty
 * uname/gname, mode 0644 for files (0755 when the source has any execute bit), 0755 for
 * directories, 0777 for symlinks. Directories are entries of their own, named `path/`.
 *
 * Symlinks are stored as symlinks with their target verbatim and are never followed, so a link
 * pointing outside the tree can't pull outside content into the layer. Sockets, FIFOs and
 * devices are refused (BUILD_FAILED). No `./` prefix, no trailing padding to a 10 KiB record:
 * the archive ends with the two zero blocks POSIX asks for.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { CountersignError } from '../errors';

export { DEFAULT_TAR_LIMITS, listTar, type TarLimits } from './tar-reader';

export type TarEntryType = 'file' | 'directory' | 'symlink';

/** What the writer takes. `path` is relative, '/'-separated, no trailing '/' needed for dirs. */
export interface TarEntry {
  path: string;
  type: TarEntryType;
  /** Permission bits; normalised on write (see `normaliseMode`). Defaults to 0644 / 0755 / 0777. */
  mode?: number;
  /** File content (files only). */
  data?: Buffer;
  /** Link target (symlinks only), stored verbatim. */
  linkname?: string;
}

export type { TarListing } from './tar-reader';

const BLOCK = 512;
const MAX_OCTAL_11 = 0o77777777777; // 8 GiB - 1: the largest size an 11-digit octal field holds

export const FILE_MODE = 0o644;
export const EXEC_MODE = 0o755;
export const DIR_MODE = 0o755;
export const SYMLINK_MODE = 0o777;

/** The mode the writer stores: 0755 for dirs and for files with any execute bit, else 0644. */
export function normaliseMode(type: TarEntryType, sourceMode?: number): number {
  if (type === 'directory') return DIR_MODE;
  if (type === 'symlink') return SYMLINK_MODE;
  if (sourceMode === undefined) return FILE_MODE;
  return (sourceMode & 0o111) !== 0 ? EXEC_MODE : FILE_MODE;
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function cleanPath(p: string, type: TarEntryType): string {
  if (typeof p !== 'string' || p === '') throw new CountersignError('BAD_INPUT', 'tar entry with an empty path');
  let rel = p.replace(/\\/g, '/');
  if (rel.endsWith('/')) rel = rel.replace(/\/+$/, '');
  if (rel.startsWith('/') || rel.includes('\0')) {
    throw new CountersignError('BAD_INPUT', `tar entry path ${JSON.stringify(p)} must be relative and contain no NUL`);
  }
  for (const part of rel.split('/')) {
    if (part === '' || part === '.' || part === '..') {
      throw new CountersignError('BAD_INPUT', `tar entry path ${JSON.stringify(p)} has an empty, '.' or '..' component`);
    }
  }
  return type === 'directory' ? `${rel}/` : rel;
}

function writeString(header: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  bytes.copy(header, offset, 0, Math.min(bytes.length, length));
}

function writeOctal(header: Buffer, offset: number, length: number, value: number): void {
  // length-1 octal digits, zero padded, then NUL.
  const digits = value.toString(8).padStart(length - 1, '0');
  if (digits.length > length - 1) throw new CountersignError('INTERNAL', `value ${value} does not fit a ${length}-byte tar field`);
  header.write(digits, offset, length - 1, 'ascii');
  header[offset + length - 1] = 0;
}

/** Longest prefix of `s` whose UTF-8 encoding fits in `max` bytes, cut on a character boundary. */
function truncateUtf8(s: string, max: number): string {
  let out = '';
  let used = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (used + n > max) break;
    out += ch;
    used += n;
  }
  return out;
}

function paxRecord(key: string, value: string): Buffer {
  // "<len> <key>=<value>\n" where <len> counts the whole record, itself included.
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body, 'utf8');
  let len = bodyLen + 1;
  while (String(len).length + bodyLen !== len) len = String(len).length + bodyLen;
  return Buffer.from(`${len}${body}`, 'utf8');
}

interface HeaderFields {
  name: string;
  mode: number;
  size: number;
  typeflag: string;
  linkname: string;
}

function header(fields: HeaderFields): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  writeString(h, 0, 100, fields.name);
  writeOctal(h, 100, 8, fields.mode);
  writeOctal(h, 108, 8, 0); // uid
  writeOctal(h, 116, 8, 0); // gid
  writeOctal(h, 124, 12, fields.size);
  writeOctal(h, 136, 12, 0); // mtime
  h.fill(0x20, 148, 156); // checksum placeholder: spaces
  h.write(fields.typeflag, 156, 1, 'ascii');
  writeString(h, 157, 100, fields.linkname);
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  // uname (265..297) and gname (297..329) stay empty.
  writeOctal(h, 329, 8, 0); // devmajor
  writeOctal(h, 337, 8, 0); // devminor
  // prefix (345..500) stays empty: long paths go to a PAX header instead.
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

function padding(size: number): Buffer {
  const rem = size % BLOCK;
  return Buffer.alloc(rem === 0 ? 0 : BLOCK - rem, 0);
}

/**
 * Serialises `entries` into a tar archive, sorted by path. Duplicate paths are refused (BAD_INPUT).
 * Parent directories are not invented: pass them in (as `collectTree` does).
 */
export function createTar(entries: readonly TarEntry[]): Buffer {
  const prepared = entries.map((e) => {
    if (e.type !== 'file' && e.type !== 'directory' && e.type !== 'symlink') {
      throw new CountersignError('BAD_INPUT', `tar entry ${JSON.stringify(e.path)} has unsupported type ${String(e.type)}`);
    }
    const p = cleanPath(e.path, e.type);
    const data = e.type === 'file' ? e.data ?? Buffer.alloc(0) : Buffer.alloc(0);
    if (e.type === 'symlink' && (typeof e.linkname !== 'string' || e.linkname === '' || e.linkname.includes('\0'))) {
      throw new CountersignError('BAD_INPUT', `symlink tar entry ${JSON.stringify(e.path)} needs a non-empty link target`);
    }
    return { path: p, type: e.type, mode: normaliseMode(e.type, e.mode), data, linkname: e.type === 'symlink' ? e.linkname! : '' };
  });
  prepared.sort((a, b) => compareBytes(a.path, b.path));
  const seen = new Set<string>();
  for (const e of prepared) {
    const key = e.path.replace(/\/$/, '');
    if (seen.has(key)) throw new CountersignError('BAD_INPUT', `duplicate tar entry ${JSON.stringify(e.path)}`);
    seen.add(key);
  }

  const chunks: Buffer[] = [];
  for (const e of prepared) {
    const pathBytes = Buffer.byteLength(e.path, 'utf8');
    const linkBytes = Buffer.byteLength(e.linkname, 'utf8');
    const pax: Buffer[] = [];
    if (pathBytes > 100) pax.push(paxRecord('path', e.path));
    if (linkBytes > 100) pax.push(paxRecord('linkpath', e.linkname));
    if (e.data.length > MAX_OCTAL_11) pax.push(paxRecord('size', String(e.data.length)));
    if (pax.length > 0) {
      const body = Buffer.concat(pax);
      const base = path.posix.basename(e.path).replace(/[^A-Za-z0-9._-]/g, '_');
      chunks.push(header({ name: truncateUtf8(`PaxHeaders/${base}`, 100), mode: FILE_MODE, size: body.length, typeflag: 'x', linkname: '' }));
      chunks.push(body, padding(body.length));
    }
    const typeflag = e.type === 'file' ? '0' : e.type === 'directory' ? '5' : '2';
    chunks.push(
      header({
        name: truncateUtf8(e.path, 100),
        mode: e.mode,
        size: e.data.length > MAX_OCTAL_11 ? 0 : e.data.length,
        typeflag,
        linkname: truncateUtf8(e.linkname, 100),
      }),
    );
    if (e.data.length > 0) chunks.push(e.data, padding(e.data.length));
  }
  chunks.push(Buffer.alloc(BLOCK * 2, 0));
  return Buffer.concat(chunks);
}

/**
 * Walks `dir` (not following symlinks) and returns one entry per directory, regular file and
 * symlink below it, with file contents loaded, in tar order. `dir` itself is not an entry.
 * Unreadable files or directories and special files are BUILD_FAILED naming the path.
 */
export async function collectTree(dir: string): Promise<TarEntry[]> {
  const root = path.resolve(dir);
  const out: TarEntry[] = [];
  async function walk(abs: string, rel: string): Promise<void> {
    let names: string[];
    try {
      names = await fsp.readdir(abs);
    } catch (cause) {
      throw new CountersignError('BUILD_FAILED', `cannot read directory ${abs}: ${(cause as Error).message}`, { cause, details: { path: abs } });
    }
    names.sort(compareBytes);
    for (const name of names) {
      const childAbs = path.join(abs, name);
      const childRel = rel === '' ? name : `${rel}/${name}`;
      let st;
      try {
        st = await fsp.lstat(childAbs);
      } catch (cause) {
        throw new CountersignError('BUILD_FAILED', `cannot stat ${childAbs}: ${(cause as Error).message}`, { cause, details: { path: childAbs } });
      }
      if (st.isDirectory()) {
        out.push({ path: childRel, type: 'directory', mode: st.mode });
        await walk(childAbs, childRel);
      } else if (st.isFile()) {
        let data: Buffer;
        try {
          data = await fsp.readFile(childAbs);
        } catch (cause) {
          throw new CountersignError('BUILD_FAILED', `cannot read file ${childAbs}: ${(cause as Error).message}`, { cause, details: { path: childAbs } });
        }
        out.push({ path: childRel, type: 'file', mode: st.mode, data });
      } else if (st.isSymbolicLink()) {
        let linkname: string;
        try {
          linkname = await fsp.readlink(childAbs);
        } catch (cause) {
          throw new CountersignError('BUILD_FAILED', `cannot read symlink ${childAbs}: ${(cause as Error).message}`, { cause, details: { path: childAbs } });
        }
        out.push({ path: childRel, type: 'symlink', linkname });
      } else {
        throw new CountersignError('BUILD_FAILED', `${childAbs} is not a regular file, directory or symlink`, { details: { path: childAbs } });
      }
    }
  }
  await walk(root, '');
  return out;
}
