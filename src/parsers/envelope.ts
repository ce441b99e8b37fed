/**
 * Decoding of one subscription payload (a Kinesis record's Data): base64 text, raw gzip bytes or
 * already-decoded JSON, into the parsed JSON value. Failures are values with a reason code, not
 * exceptions, because bad input is routine here and must become a dead letter.
 */
import { gunzipSync } from 'node:zlib';
import { isUtf8 } from 'node:buffer';

/** A payload that could not be decoded: `reason` is the dead-letter reason code. */
export interface DecodeFailure {
  failed: true;
  reason: 'bad-base64' | 'bad-gzip' | 'bad-utf8' | 'bad-json' | 'bad-payload';
  detail: string;
}

/**
 * Largest decompressed payload accepted. CloudWatch Logs sends at most ~1 MB compressed per record;
 * gzip of log text rarely exceeds 20:1, so anything past this is a decompression bomb, not logs.
 */
export const MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

const CH_OPEN_BRACE = 0x7b;
const CH_OPEN_BRACKET = 0x5b;

function isJsonStartByte(b: number): boolean {
  return b === CH_OPEN_BRACE || b === CH_OPEN_BRACKET;
}

function isSpaceByte(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

function isBase64Byte(b: number): boolean {
  return (
    (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2b || b === 0x2f
  );
}

const BASE64_LENIENT = /^[A-Za-z0-9+/\-_\s]*={0,2}\s*$/;

function failure(reason: DecodeFailure['reason'], detail: string): DecodeFailure {
  return { failed: true, reason, detail };
}

/** Base64 text to bytes, rejecting characters Node would silently skip. */
function fromBase64(text: string): Buffer | DecodeFailure {
  const buf = Buffer.from(text, 'base64');
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x3d) end--;
  if (buf.length === Math.floor((end * 3) / 4) && end % 4 !== 1 && text.length - end <= 2) return buf;
  // Length mismatch: Node skipped something. Whitespace (MIME line breaks) is harmless; anything else is not.
  if (BASE64_LENIENT.test(text) && buf.length > 0) return buf;
  return failure('bad-base64', `payload is not valid base64 (${text.length} chars)`);
}

/**
 * Base64 payload text to bytes in a buffer of their own (never a slice of Node's shared pool), so the
 * caller may transfer it to another thread; undefined when the text is not strict base64 (the caller
 * then passes the text on, and the parser dead-letters it with the reason).
 *
 * @example
 * const bytes = ownedBase64Bytes(record.Data); // Uint8Array whose .buffer may go in a postMessage transfer list
 */
export function ownedBase64Bytes(text: string): Uint8Array | undefined {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x3d) end--;
  if (end === 0 || end % 4 === 1 || text.length - end > 2) return undefined;
  const expected = Math.floor((end * 3) / 4);
  const out = Buffer.allocUnsafeSlow(expected);
  // Node skips characters outside the alphabet instead of failing: a short write means there were some.
  return out.write(text, 'base64') === expected ? out : undefined;
}

/** Largest output buffer sized up front from the gzip trailer; bigger payloads take several chunks. */
const MAX_GUNZIP_CHUNK = 1024 * 1024;

/**
 * Output chunk size for one gunzip: the size the gzip trailer (ISIZE, the last four bytes) announces,
 * plus slack, so a typical payload inflates into one buffer. With zlib's default 16 KB chunks a
 * 20 KB subscription payload took two chunks and a concatenating copy (~0.15 µs per log event on the
 * bench payloads, a fifth of the gunzip). ISIZE is untrusted: it only sizes the buffer (clamped);
 * a wrong value costs extra chunks, never a wrong result, and `maxOutputLength` still bounds the output.
 */
function gunzipChunkSize(bytes: Uint8Array): number {
  const n = bytes.length;
  if (n < 18) return 1024;
  const isize = (bytes[n - 4] | (bytes[n - 3] << 8) | (bytes[n - 2] << 16) | (bytes[n - 1] << 24)) >>> 0;
  return Math.min(Math.max(isize + 64, 1024), MAX_GUNZIP_CHUNK);
}

function gunzip(bytes: Uint8Array): Buffer | DecodeFailure {
  try {
    return gunzipSync(bytes, { maxOutputLength: MAX_DECOMPRESSED_BYTES, chunkSize: gunzipChunkSize(bytes) });
  } catch (err) {
    return failure('bad-gzip', `gunzip failed: ${(err as Error).message}`);
  }
}

function bytesToText(bytes: Uint8Array): string | DecodeFailure {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  // Decoding replaces every invalid sequence with U+FFFD, so only a text holding one can come from
  // invalid UTF-8; the byte check then tells it from a genuine U+FFFD. Cheaper than checking first.
  if (text.indexOf('\uFFFD') !== -1 && !isUtf8(bytes)) return failure('bad-utf8', 'payload is not valid UTF-8');
  return text;
}

function firstNonSpace(bytes: Uint8Array): number {
  const n = Math.min(bytes.length, 64);
  for (let i = 0; i < n; i++) if (!isSpaceByte(bytes[i])) return bytes[i];
  return -1;
}

/**
 * Payload bytes or text → the JSON text inside it (base64 and gzip undone, UTF-8 checked).
 *
 * @example
 * payloadText(gzipSync('{"messageType":"CONTROL_MESSAGE"}')); // → '{"messageType":"CONTROL_MESSAGE"}'
 * payloadText('not base64!');                                 // → { failed: true, reason: 'bad-base64', … }
 */
export function payloadText(data: Uint8Array | string): string | DecodeFailure {
  let bytes: Uint8Array;
  if (typeof data === 'string') {
    let i = 0;
    while (i < data.length && i < 64 && isSpaceByte(data.charCodeAt(i))) i++;
    if (i < data.length && isJsonStartByte(data.charCodeAt(i))) return data;
    if (data.length === 0) return failure('bad-payload', 'empty payload');
    const decoded = fromBase64(data);
    if ('failed' in decoded) return decoded;
    bytes = decoded;
  } else if (data instanceof Uint8Array) {
    bytes = data;
    // Some transports hand over the base64 text as bytes (Lambda event sources, Firehose, fixtures).
    if (bytes.length > 0 && !(bytes[0] === 0x1f && bytes[1] === 0x8b) && isBase64Byte(bytes[0])) {
      const first = firstNonSpace(bytes);
      if (!isJsonStartByte(first)) {
        const decoded = fromBase64(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'));
        if ('failed' in decoded) return decoded;
        bytes = decoded;
      }
    }
  } else {
    return failure('bad-payload', `payload is ${data === null ? 'null' : typeof data}, not bytes or text`);
  }
  if (bytes.length === 0) return failure('bad-payload', 'empty payload');
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    const unzipped = gunzip(bytes);
    if ('failed' in unzipped) return unzipped;
    bytes = unzipped;
  } else if (!isJsonStartByte(firstNonSpace(bytes))) {
    return failure('bad-payload', 'payload is neither gzip, JSON nor base64 of either');
  }
  return bytesToText(bytes);
}

/**
 * The decode-only floor for benchmarks: base64 (if a string that is not JSON), gunzip (if gzip magic),
 * JSON.parse. Throws on bad input, unlike the parser.
 *
 * @example
 * const doc = decodePayload(record.Data) as { logEvents: unknown[] };
 */
export function decodePayload(data: Uint8Array | string): unknown {
  let bytes: Uint8Array;
  if (typeof data === 'string') {
    const c = data.charCodeAt(0);
    if (c === CH_OPEN_BRACE || c === CH_OPEN_BRACKET) return JSON.parse(data);
    bytes = Buffer.from(data, 'base64');
  } else {
    bytes = data;
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
}
