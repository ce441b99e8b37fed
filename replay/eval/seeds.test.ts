import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/contracts.ts';
import { parseSeeds, seedsCli } from './seeds.ts';

const root = mkdtempSync(join(tmpdir(), 'fnwatch-seeds-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('parseSeeds', () => {
  it('expands ranges and lists in order, once each', () => {
    expect(parseSeeds('907-909')).toEqual([907, 908, 909]);
    expect(parseSeeds('11-12, 21,12,4243')).toEqual([11, 12, 21, 4243]);
  });

  it('rejects what is not a seed, naming --seeds', () => {
    for (const bad of ['', 'x', '9-3', '1-5000', '1.5']) expect(() => parseSeeds(bad), bad).toThrow(UsageError);
    expect(() => parseSeeds('abc')).toThrow(/--seeds/);
  });
});

describe('replay/eval/seeds.ts', () => {
  const args = (out: string, scale = '0.05') => [
    '--seeds', '5-6', '--days', '2', '--functions', '6', '--scale', scale, '--attacks', 'denial-of-wallet,secret-grab',
    '--data', join(root, 'data'), '--out', join(root, out), '--quiet',
  ];

  it('generates a dataset per seed, scores each and writes the combined scorecard; a second run reuses the datasets', async () => {
    const first = await seedsCli(args('a'));
    expect(first.seeds.map((s) => [s.seed, s.generated])).toEqual([[5, true], [6, true]]);
    expect(first.combined.attacks).toHaveLength(4);
    expect(first.combined.functionDays.learning + first.combined.functionDays.afterLearning).toBeCloseTo(2 * 6 * 2, 6);
    const doc = JSON.parse(readFileSync(join(root, 'a', 'scorecard.json'), 'utf8'));
    expect(doc.schema).toBe('fnwatch.scorecard/1');
    expect(doc.datasets.map((d: { seed: number }) => d.seed)).toEqual([5, 6]);
    expect(doc.combined.recall).toBe(first.combined.recall);
    const md = readFileSync(join(root, 'a', 'scorecard.md'), 'utf8');
    expect(md).toContain('npx tsx replay/eval/seeds.ts --seeds 5-6');
    expect(md).toMatch(/\| 5 \| \d\/2 \|/);
    expect(md).toContain('p90 time to detect');

    const mtime = statSync(join(root, 'data', 'ds-5', 'labels.json')).mtimeMs;
    const second = await seedsCli(args('b'));
    expect(second.seeds.map((s) => s.generated)).toEqual([false, false]);
    expect(statSync(join(root, 'data', 'ds-5', 'labels.json')).mtimeMs).toBe(mtime);
    expect(second.combined.attacks.map((a) => a.detected)).toEqual(first.combined.attacks.map((a) => a.detected));

    // Other options are another dataset: it is generated again.
    const third = await seedsCli(args('c', '0.06'));
    expect(third.seeds.map((s) => s.generated)).toEqual([true, true]);
  }, 120_000);

  it('fails before any work on a bad option, naming it', async () => {
    await expect(seedsCli(['--seeds', '1', '--days', '0', '--data', join(root, 'x'), '--out', join(root, 'y'), '--quiet'])).rejects.toThrow(/--days/);
    await expect(seedsCli(['--seeds', '1', '--attacks', 'nope', '--data', join(root, 'x'), '--out', join(root, 'y'), '--quiet'])).rejects.toThrow(/--attacks/);
  });
});
