/**
 * The outbox record: a length-prefixed, CRC-checked frame, so a record torn by a crash mid-write is
 * recognised and never mistaken for data.
 *
 * ```
 * u32 len   bytes after this 8-byte prefix
 * u32 crc   CRC-32 of those bytes
 * u32 seqHi, u32 seqLo   the entry's sequence number
 * u16 keyLen, key (UTF-8)  the message key (webhook-id of the entry alone)
 * data      the payload (an alert's JSON)
 * ```
 */
import { crc32 } from 'node:zlib';

export const PREFIX_BYTES = 8;
export const HEADER_BYTES = PREFIX_BYTES + 10;
/** Lengths beyond this are garbage, not records. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export interface OutboxEntry {
  seq: number;
  key: string;
  data: Buffer;
  /** Bytes the record takes on disk */
  size: number;
}

/**
 * @example
 * const rec = encodeRecord(7, 'fw-a.1.00ff', Buffer.from('{"class_uid":2004}'));
 * decodeRecord(rec, 0); // → { entry: { seq: 7, key: 'fw-a.1.00ff', data, size: rec.length } }
 */
export function encodeRecord(seq: number, key: string, data: Buffer): Buffer {
  const keyLen = Buffer.byteLength(key);
  if (keyLen > 0xffff) throw new RangeError('outbox key longer than 65535 bytes');
  const buf = Buffer.allocUnsafe(HEADER_BYTES + keyLen + data.length);
  buf.writeUInt32BE(buf.length - PREFIX_BYTES, 0);
  buf.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), 8);
  buf.writeUInt32BE(seq >>> 0, 12);
  buf.writeUInt16BE(keyLen, 16);
  buf.write(key, HEADER_BYTES, 'utf8');
  data.copy(buf, HEADER_BYTES + keyLen);
  buf.writeUInt32BE(crc32(buf.subarray(PREFIX_BYTES)), 4);
  return buf;
}

export type Decoded =
  | { entry: OutboxEntry; error?: undefined; incomplete?: undefined }
  | { error: string; entry?: undefined; incomplete?: undefined }
  | { incomplete: true; entry?: undefined; error?: undefined };

/**
 * Decodes the record at `offset`: an entry, `incomplete` when `buf` ends inside it, or an error
 * (bad length, CRC mismatch) when the bytes are not a record.
 */
export function decodeRecord(buf: Buffer, offset: number): Decoded {
  if (buf.length - offset < PREFIX_BYTES) return { incomplete: true };
  const len = buf.readUInt32BE(offset);
  if (len < HEADER_BYTES - PREFIX_BYTES || len > MAX_RECORD_BYTES) return { error: `bad record length ${len}` };
  if (buf.length - offset - PREFIX_BYTES < len) return { incomplete: true };
  const body = buf.subarray(offset + PREFIX_BYTES, offset + PREFIX_BYTES + len);
  if (crc32(body) !== buf.readUInt32BE(offset + 4)) return { error: 'CRC mismatch' };
  const seq = body.readUInt32BE(0) * 0x1_0000_0000 + body.readUInt32BE(4);
  const keyLen = body.readUInt16BE(8);
  if (10 + keyLen > len) return { error: 'bad key length' };
  const key = body.toString('utf8', 10, 10 + keyLen);
  // A copy, so a batch does not pin the whole read chunk in memory.
  const data = Buffer.from(body.subarray(10 + keyLen));
  return { entry: { seq, key, data, size: PREFIX_BYTES + len } };
}

/** Why a decoded record is not the entry `expectedSeq` (undefined when it is). */
export function problemOf(d: Decoded, expectedSeq: number): string | undefined {
  if (d.incomplete) return 'record cut short';
  if (d.entry === undefined) return d.error;
  return d.entry.seq === expectedSeq ? undefined : `sequence ${d.entry.seq} where ${expectedSeq} was expected`;
}
