/**
 * Hand-made tar headers for tests that need archives no honest writer produces: any size field
 * (octal text or GNU base-256), any type flag, a PAX body, each with a correct checksum so the
 * reader gets past it and has to deal with what the header says.
 */
export interface RawHeader {
  name: string;
  typeflag?: string;
  /** Raw text of the 12-byte size field (octal digits), or a base-256 value. */
  size?: string | { base256: Buffer };
  mode?: string;
}

export function rawHeader(h: RawHeader): Buffer {
  const b = Buffer.alloc(512, 0);
  b.write(h.name, 0, 100, 'utf8');
  b.write(h.mode ?? '0000644', 100, 8, 'latin1');
  b.write('0000000', 108, 8, 'latin1');
  b.write('0000000', 116, 8, 'latin1');
  if (h.size === undefined || typeof h.size === 'string') b.write(h.size ?? '00000000000', 124, 12, 'latin1');
  else h.size.base256.copy(b, 124, 0, 12);
  b.write('00000000000', 136, 12, 'latin1');
  b.write(h.typeflag ?? '0', 156, 1, 'latin1');
  b.write('ustar\0', 257, 6, 'latin1');
  b.write('00', 263, 2, 'latin1');
  return withChecksum(b);
}

/** Recomputes the checksum of the header block at `offset` (in place) and returns `buf`. */
export function withChecksum(buf: Buffer, offset = 0): Buffer {
  buf.fill(0x20, offset + 148, offset + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += buf[offset + i]!;
  buf.write(`${sum.toString(8).padStart(6, '0')}\0 `, offset + 148, 8, 'latin1');
  return buf;
}

/** Content padded to whole 512-byte blocks. */
export function blocks(data: Buffer): Buffer {
  const rem = data.length % 512;
  return rem === 0 ? data : Buffer.concat([data, Buffer.alloc(512 - rem)]);
}

/** One PAX record, "<len> key=value\n" with the length counting itself. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** A PAX `x` header with its body, then the entry it describes. */
export function paxEntry(records: string, entry: Buffer): Buffer {
  const body = Buffer.from(records, 'utf8');
  return Buffer.concat([rawHeader({ name: 'PaxHeaders/x', typeflag: 'x', size: body.length.toString(8).padStart(11, '0') }), blocks(body), entry]);
}

export const END = Buffer.alloc(1024);
