import { describe, expect, it } from 'vitest';
import { NoveltySet, STRING_TABLE_MAX, intern } from './novelty.ts';

const T = Date.parse('2026-01-05T00:00:00Z');

describe('NoveltySet', () => {
  it('keeps first/last/count per item in first-seen order, and the overflow past the cap', () => {
    const s = new NoveltySet(3);
    expect(s.observe('b', T + 5)).toBe(true);
    expect(s.observe('a', T + 1)).toBe(true);
    expect(s.observe('b', T + 9)).toBe(false);
    expect(s.observe('b', T + 7)).toBe(false); // late: last seen stays T + 9
    expect(s.observe('c', T + 2)).toBe(true);
    expect(s.observe('d', T + 3)).toBe(true); // over the cap: new, not kept
    expect(s.observe('d', T + 4)).toBe(true);
    expect([...s.keys()]).toEqual(['b', 'a', 'c']);
    expect([...s.items]).toEqual([
      ['b', [T + 5, T + 9, 3]],
      ['a', [T + 1, T + 1, 1]],
      ['c', [T + 2, T + 2, 1]],
    ]);
    expect([s.size, s.overflow, s.total, s.has('d'), s.has('a')]).toEqual([3, 2, 7, false, true]);
  });

  it('holds hundreds of items, and times or counts that do not fit the compact records', () => {
    const s = new NoveltySet(1000);
    for (let i = 0; i < 600; i++) s.observe(`arn:aws:s3:::bucket-${i}/k`, T + i);
    expect(s.size).toBe(600);
    for (let i = 0; i < 600; i += 7) expect(s.observe(`arn:aws:s3:::bucket-${i}/k`, T + 1000 + i)).toBe(false);
    // A fractional and a negative time: the table switches to 8-byte numbers and keeps every value.
    s.observe('odd', 1.5);
    s.observe('odd', -20);
    s.observe('arn:aws:s3:::bucket-3/k', T + 0.25);
    const items = s.items;
    expect(items.get('odd')).toEqual([1.5, 1.5, 2]);
    expect(items.get('arn:aws:s3:::bucket-7/k')).toEqual([T + 7, T + 1007, 2]);
    expect(items.get('arn:aws:s3:::bucket-3/k')).toEqual([T + 3, T + 3, 2]);
    expect(items.get('arn:aws:s3:::bucket-599/k')).toEqual([T + 599, T + 599, 1]);
    const restored = NoveltySet.fromJSON(JSON.parse(JSON.stringify(s.toJSON())), 1000);
    expect(restored.toJSON()).toEqual(s.toJSON());
    expect(restored.discoveryRate()).toBe(s.discoveryRate());
  });

  it('restores the discovery rate exactly when items overflowed (saved since schema 2)', () => {
    const s = new NoveltySet(2);
    for (const k of ['a', 'b', 'c', 'd', 'a']) s.observe(k, T);
    const restored = NoveltySet.fromJSON(JSON.parse(JSON.stringify(s.toJSON())), 2);
    expect(restored.discoveryRate()).toBe(s.discoveryRate());
    // A schema-1 set (no total/singletons) recounts them from the items, as before.
    const v1 = NoveltySet.fromJSON({ items: [['a', [T, T, 2]], ['b', [T, T, 1]]], overflow: 2 }, 2);
    expect([v1.total, v1.singletons]).toEqual([5, 1]);
  });

  it('shares one copy of a string across sets', () => {
    const a = new NoveltySet(4);
    const b = new NoveltySet(4);
    a.observe(['arn:aws:dynamodb:us-east-1:1:table/', 'orders'].join(''), T);
    b.observe(['arn:aws:dynamodb:us-east-1:1:table/', 'orders'].join(''), T);
    expect([...a.keys()][0]).toBe([...b.keys()][0]);
    expect(intern('arn:aws:dynamodb:us-east-1:1:table/orders')).toBe([...a.keys()][0]);
    expect(STRING_TABLE_MAX).toBeGreaterThan(100_000);
  });
});
