import { describe, expect, it } from 'vitest';
import { BatchQueue } from './batch-queue.ts';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('BatchQueue', () => {
  it('hands batches out in order and counts them until released', async () => {
    const q = new BatchQueue<string>(4, 1000);
    q.push('a', 10);
    q.push('b', 20);
    expect(await q.take()).toBe('a');
    expect(await q.take()).toBe('b');
    expect(q.pending).toBe(2);
    expect(q.bytes).toBe(30);
    q.release(10);
    expect(q.pending).toBe(1);
    expect(q.bytes).toBe(20);
  });

  it('makes producers wait for room by count and by bytes', async () => {
    const q = new BatchQueue<string>(2, 100);
    q.push('a', 1);
    q.push('b', 1);
    let roomy = false;
    const waiting = q.room().then(() => (roomy = true));
    await tick();
    expect(roomy).toBe(false);
    q.release(1);
    await waiting;
    expect(roomy).toBe(true);

    const bytes = new BatchQueue<string>(10, 100);
    bytes.push('big', 150);
    let free = false;
    const w2 = bytes.room().then(() => (free = true));
    await tick();
    expect(free).toBe(false);
    bytes.release(150);
    await w2;
    expect(free).toBe(true);
  });

  it('lets an abort end the wait for room', async () => {
    const q = new BatchQueue<string>(1, 100);
    q.push('a', 1);
    const ac = new AbortController();
    const waiting = q.room(ac.signal);
    ac.abort();
    await expect(waiting).resolves.toBeUndefined();
    expect(q.pending).toBe(1);
  });

  it('drops matching queued batches and frees their room', async () => {
    const q = new BatchQueue<{ shard: string }>(10, 1000);
    q.push({ shard: 'x' }, 5);
    q.push({ shard: 'y' }, 6);
    q.push({ shard: 'x' }, 7);
    const dropped = q.drop((b) => b.shard === 'x');
    expect(dropped).toHaveLength(2);
    expect(q.pending).toBe(1);
    expect(q.bytes).toBe(6);
    expect(await q.take()).toEqual({ shard: 'y' });
  });

  it('ends takers on close and rejects them on failure', async () => {
    const q = new BatchQueue<string>(4, 100);
    const pending = q.take();
    q.push('a', 1);
    expect(await pending).toBe('a');
    const waiting = q.take();
    q.push('b', 1);
    expect(await waiting).toBe('b');
    const ended = q.take();
    expect(q.close()).toEqual([]);
    expect(await ended).toBeUndefined();
    expect(q.push('c', 1)).toBe(false);

    const f = new BatchQueue<string>(4, 100);
    const taker = f.take();
    f.fail(new Error('stream deleted'));
    await expect(taker).rejects.toThrow('stream deleted');
    await expect(f.take()).rejects.toThrow('stream deleted');
  });

  it('refuses a zero bound', () => {
    expect(() => new BatchQueue(0, 10)).toThrow(RangeError);
    expect(() => new BatchQueue(1, 0)).toThrow(RangeError);
  });
});
