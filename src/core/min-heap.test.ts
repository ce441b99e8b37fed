import { describe, expect, it } from 'vitest';
import { MinHeap } from './min-heap.ts';

describe('MinHeap', () => {
  it('pops in order, whatever the push order (duplicates included)', () => {
    // A scrambled order with every value five times (7919 is prime, so i·7919 mod 500 visits all).
    const values = Array.from({ length: 500 }, (_, i) => ((i * 7919) % 500) % 100);
    const heap = new MinHeap<number>((a, b) => a < b);
    for (const v of values) heap.push(v);
    expect(heap.size).toBe(500);
    const out: number[] = [];
    while (heap.size > 0) out.push(heap.pop()!);
    expect(out).toEqual([...values].sort((a, b) => a - b));
    expect(heap.pop()).toBeUndefined();
    expect(heap.peek()).toBeUndefined();
  });

  it('keeps a k-way merge in order when the top key grows in place (siftDown)', () => {
    // Three sorted runs, merged by advancing the top cursor, as the replay and FilterLogEvents merges do.
    const runs = [[1, 4, 9, 12], [2, 3, 10], [5, 6, 7, 8, 11]];
    const cursors = runs.map((run) => ({ run, i: 0 }));
    const heap = new MinHeap<{ run: number[]; i: number }>((a, b) => a.run[a.i]! < b.run[b.i]!);
    for (const c of cursors) heap.push(c);
    const out: number[] = [];
    while (heap.size > 0) {
      const top = heap.peek()!;
      out.push(top.run[top.i++]!);
      if (top.i < top.run.length) heap.siftDown();
      else heap.pop();
    }
    expect(out).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('breaks ties by whatever the ordering says (input order, for the file merge)', () => {
    const heap = new MinHeap<{ key: number; seq: number }>((a, b) => a.key < b.key || (a.key === b.key && a.seq < b.seq));
    [3, 1, 2, 0].forEach((seq) => heap.push({ key: 5, seq }));
    expect([heap.pop(), heap.pop(), heap.pop(), heap.pop()].map((n) => n!.seq)).toEqual([0, 1, 2, 3]);
  });
});
