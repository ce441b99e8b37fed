/**
 * Which part of a shard may be checkpointed. Batches are handed out in shard order and may be
 * acknowledged in any order; the checkpoint is the last sequence number of the longest prefix of
 * batches that are all acknowledged, so a restart re-delivers exactly the unacknowledged tail.
 */

/**
 * Contiguous-acknowledgement tracking for one shard (one lease tenure).
 *
 * @example
 * const t = new AckTracker();
 * const a = t.add('100', 3), b = t.add('200', 2);
 * t.ack(b); t.committed;  // → undefined: batch a is still out
 * t.ack(a); t.committed;  // → '200'
 */
export class AckTracker {
  /** Last sequence number of the acknowledged prefix; `undefined` until the first batch is acked */
  committed: string | undefined;
  /** Records in the acknowledged prefix not yet covered by a written checkpoint */
  unwrittenRecords = 0;
  /** True when `committed` is ahead of the written checkpoint */
  dirty = false;

  // A queue with a moving head: tickets are absolute positions, so acks need no search.
  private lastSeq: string[] = [];
  private records: number[] = [];
  private acked: boolean[] = [];
  private head = 0;
  private base = 0;

  /** Registers the next batch of the shard (its last sequence number and size); returns its ticket. */
  add(lastSequence: string, records: number): number {
    this.lastSeq.push(lastSequence);
    this.records.push(records);
    this.acked.push(false);
    return this.base + this.lastSeq.length - 1;
  }

  /** Acknowledges a batch. Unknown and repeated tickets are ignored. Returns true if `committed` moved. */
  ack(ticket: number): boolean {
    const i = ticket - this.base;
    if (i < this.head || i >= this.acked.length || this.acked[i]) return false;
    this.acked[i] = true;
    if (i !== this.head) return false;
    while (this.head < this.acked.length && this.acked[this.head]) {
      this.committed = this.lastSeq[this.head];
      this.unwrittenRecords += this.records[this.head]!;
      this.head++;
    }
    this.dirty = true;
    this.compact();
    return true;
  }

  /** Batches handed out and not yet acknowledged (or acknowledged behind an older one). */
  get outstanding(): number {
    return this.acked.length - this.head;
  }

  /**
   * The checkpoint store now holds `sequence`, which covered `records` records. Acks that arrived
   * while the write was in flight stay unwritten.
   */
  written(sequence: string, records: number): void {
    this.unwrittenRecords = Math.max(0, this.unwrittenRecords - records);
    this.dirty = this.committed !== sequence;
  }

  private compact(): void {
    if (this.head === this.acked.length) {
      this.base += this.head;
      this.head = 0;
      this.lastSeq.length = 0;
      this.records.length = 0;
      this.acked.length = 0;
      return;
    }
    if (this.head < 1024 || this.head * 2 < this.acked.length) return;
    this.lastSeq = this.lastSeq.slice(this.head);
    this.records = this.records.slice(this.head);
    this.acked = this.acked.slice(this.head);
    this.base += this.head;
    this.head = 0;
  }
}
