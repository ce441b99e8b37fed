import { afterAll, describe, expect, it } from 'vitest';
import { isGzipFile, openFile, readHead, splitLines, type Line } from './read.ts';
import { fixtureDir } from './testing.ts';

const fx = fixtureDir();
afterAll(() => fx.remove());

async function* chunksOf(...parts: (string | Buffer)[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p) : p;
}

async function allLines(chunks: AsyncIterable<Buffer>, max?: number): Promise<Line[]> {
  const out: Line[] = [];
  for await (const lines of splitLines(chunks, max)) out.push(...lines);
  return out;
}

describe('splitLines', () => {
  it('numbers lines from 1, joins lines split across chunks, drops blank lines and \\r', async () => {
    const lines = await allLines(chunksOf('{"a":1}\r\n\n{"b"', ':2}\n   \n{"c":3}'));
    expect(lines).toEqual([
      { line: 1, text: '{"a":1}' },
      { line: 3, text: '{"b":2}' },
      { line: 5, text: '{"c":3}' },
    ]);
  });

  it('keeps a multi-byte character split between chunks, and strips a byte-order mark', async () => {
    const bytes = Buffer.from('\ufeff{"m":"café ☕"}\n');
    const cut = bytes.indexOf(Buffer.from('☕')) + 1;
    const lines = await allLines(chunksOf(bytes.subarray(0, cut), bytes.subarray(cut)));
    expect(lines).toEqual([{ line: 1, text: '{"m":"café ☕"}' }]);
  });

  it('reports an over-long line with a sample instead of holding it, and goes on with the next', async () => {
    const long = 'x'.repeat(5000);
    const lines = await allLines(chunksOf('{"ok":1}\n', long.slice(0, 3000), long.slice(3000), '\n{"ok":2}\n'), 1000);
    expect(lines.map((l) => [l.line, l.tooLong ?? false, l.length])).toEqual([
      [1, false, undefined],
      [2, true, 5000],
      [3, false, undefined],
    ]);
    expect(lines[1]!.text.length).toBeLessThanOrEqual(4096);
  });
});

describe('gzip detection', () => {
  it('goes by the magic bytes, not the name', async () => {
    const gz = fx.write('looks-plain.json', 'hello\nworld\n', true);
    const plain = fx.write('looks-gzipped.json.gz', 'hello\nworld\n');
    expect(isGzipFile(gz)).toBe(true);
    expect(isGzipFile(plain)).toBe(false);
    for (const path of [gz, plain]) {
      const lines = await allLines(openFile(path).chunks);
      expect(lines.map((l) => l.text)).toEqual(['hello', 'world']);
    }
  });

  it('reads a head of at most the asked size and says whether it is the whole file', async () => {
    const path = fx.write('big.gz', 'y'.repeat(200_000), true);
    const part = await readHead(path, 1000);
    expect(part).toMatchObject({ complete: false, gzip: true });
    expect(part.head.length).toBe(1000);
    const whole = await readHead(fx.write('small', 'abc'), 1000);
    expect(whole).toMatchObject({ complete: true, gzip: false });
    expect(whole.head.toString()).toBe('abc');
  });
});
