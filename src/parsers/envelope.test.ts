import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { payloadText } from './envelope.ts';

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
