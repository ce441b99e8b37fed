import { describe, expect, it } from 'vitest';
import { AckTracker } from './ack-tracker.ts';

describe('AckTracker', () => {
  it('commits only the contiguous acknowledged prefix, whatever the ack order', () => {
    const t = new AckTracker();
    const a = t.add('10', 2);
    const b = t.add('20', 3);
    const c = t.add('30', 4);
    expect(t.ack(c)).toBe(false);
    expect(t.committed).toBeUndefined();
    expect(t.ack(b)).toBe(false);
    expect(t.committed).toBeUndefined();
    expect(t.outstanding).toBe(3);
    expect(t.ack(a)).toBe(true);
    expect(t.committed).toBe('30');
    expect(t.unwrittenRecords).toBe(9);
    expect(t.outstanding).toBe(0);
  });

  it('ignores repeated and unknown tickets', () => {
    const t = new AckTracker();
    const a = t.add('10', 1);
    t.add('20', 1);
    expect(t.ack(a)).toBe(true);
    expect(t.ack(a)).toBe(false);
    expect(t.ack(99)).toBe(false);
    expect(t.ack(-1)).toBe(false);
    expect(t.committed).toBe('10');
  });

  it('keeps acks that arrive during a checkpoint write unwritten', () => {
    const t = new AckTracker();
    const a = t.add('10', 5);
    const b = t.add('20', 7);
    t.ack(a);
    const writing = { seq: t.committed!, n: t.unwrittenRecords };
    t.ack(b);
    t.written(writing.seq, writing.n);
    expect(t.dirty).toBe(true);
    expect(t.unwrittenRecords).toBe(7);
    t.written('20', 7);
    expect(t.dirty).toBe(false);
    expect(t.unwrittenRecords).toBe(0);
  });

  it('stays correct across many batches with a hole that is filled late', () => {
    const t = new AckTracker();
    const tickets = Array.from({ length: 5000 }, (_, i) => t.add(String(i), 1));
    for (let i = 1; i < tickets.length; i++) t.ack(tickets[i]!);
    expect(t.committed).toBeUndefined();
    expect(t.outstanding).toBe(5000);
    t.ack(tickets[0]!);
    expect(t.committed).toBe('4999');
    expect(t.outstanding).toBe(0);
    // Tickets keep counting after the internal arrays are reset.
    const next = t.add('5000', 1);
    const after = t.add('5001', 1);
    t.ack(after);
    expect(t.committed).toBe('4999');
    t.ack(next);
    expect(t.committed).toBe('5001');
  });

  it('compacts while a long prefix is acknowledged and the tail is not', () => {
    const t = new AckTracker();
    const tickets = Array.from({ length: 3000 }, (_, i) => t.add(String(i), 1));
    for (let i = 0; i < 2500; i++) t.ack(tickets[i]!);
    expect(t.committed).toBe('2499');
    expect(t.outstanding).toBe(500);
    for (let i = 2999; i >= 2500; i--) t.ack(tickets[i]!);
    expect(t.committed).toBe('2999');
  });
});
