import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ownedBase64Bytes, payloadText } from './envelope.ts';

const doc = (n: number) =>
  JSON.stringify({
    messageType: 'DATA_MESSAGE',
    logEvents: Array.from({ length: n }, (_, i) => ({ id: String(i), timestamp: i, message: `END RequestId: ${i}\n` })),
  });

/** The gzip with its trailer's ISIZE (uncompressed length mod 2^32) overwritten. */
function withIsize(gz: Buffer, isize: number): Buffer {
  const copy = Buffer.from(gz);
  copy.writeUInt32LE(isize, copy.length - 4);
  return copy;
}

describe('payloadText', () => {
  it('inflates payloads below, at and far above one output chunk', () => {
    for (const n of [1, 500, 40_000]) expect(payloadText(gzipSync(doc(n)))).toBe(doc(n));
  });

  it('a trailer announcing the wrong size sizes the buffer only, never the result', () => {
    const text = doc(2000); // ~60 KB
    const gz = gzipSync(text);
    // zlib checks ISIZE after inflating, so a lie is a gunzip failure whatever buffer it sized.
    for (const isize of [0, 100, 0xffffffff]) {
      const r = payloadText(withIsize(gz, isize));
      expect(r).toMatchObject({ failed: true, reason: 'bad-gzip' });
    }
    expect(payloadText(gz)).toBe(text);
  });

  it('reads concatenated gzip members as one text', () => {
    expect(payloadText(Buffer.concat([gzipSync('{"messageType":'), gzipSync('"CONTROL_MESSAGE"}')]))).toBe('{"messageType":"CONTROL_MESSAGE"}');
  });

  it('tells invalid UTF-8 from a genuine U+FFFD', () => {
    const genuine = '{"message":"a\uFFFDb"}';
    expect(payloadText(gzipSync(genuine))).toBe(genuine);
    const invalid = Buffer.concat([Buffer.from('{"message":"a'), Buffer.from([0xc3]), Buffer.from('"}')]);
    expect(payloadText(gzipSync(invalid))).toMatchObject({ failed: true, reason: 'bad-utf8' });
    expect(payloadText(invalid)).toMatchObject({ failed: true, reason: 'bad-utf8' });
  });
});

describe('ownedBase64Bytes', () => {
  it('decodes strict base64 into a buffer of its own, which can be moved to another thread', () => {
    for (const size of [1, 2, 3, 100, 5000]) {
      const bytes = gzipSync(Buffer.alloc(size, 7));
      const out = ownedBase64Bytes(bytes.toString('base64'))!;
      expect(Buffer.compare(out, bytes)).toBe(0);
      expect([out.byteOffset, out.buffer.byteLength]).toEqual([0, out.length]);
    }
  });

  it('refuses what Node would decode by skipping characters, and impossible lengths', () => {
    const text = gzipSync('x'.repeat(300)).toString('base64');
    expect(ownedBase64Bytes(text.slice(0, 20) + '!!!!' + text.slice(24))).toBeUndefined();
    expect(ownedBase64Bytes(text.slice(0, 20) + '\n' + text.slice(20))).toBeUndefined();
    expect(ownedBase64Bytes('QUJDR')).toBeUndefined();
    expect(ownedBase64Bytes('')).toBeUndefined();
    expect(ownedBase64Bytes('QUJD===')).toBeUndefined();
  });
});
