/**
 * A Kinesis source worker in its own process, for failover tests: the test can SIGKILL it, which
 * stops its shard loops and heartbeats without releasing anything, as a crashed host would.
 *
 * Usage: node --import tsx worker-process.ts '<JSON KinesisSourceOptions + {ackBatches?}>'
 * Prints one JSON line per batch ({type:'batch', acked, records:[[shard, sequence], …]}) before
 * acknowledging it, and one per source event ({type:'event', event}).
 */
import { KinesisSource, type KinesisSourceOptions } from '../source.ts';

const config = JSON.parse(process.argv[2] ?? '{}') as KinesisSourceOptions & { ackBatches?: number };
const { ackBatches, ...opts } = config;
const print = (o: unknown): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
const source = new KinesisSource({ ...opts, onEvent: (event) => event.type !== 'lag' && print({ type: 'event', event }) });
process.on('SIGTERM', () => void source.close());
let delivered = 0;
try {
  for await (const batch of source.batches()) {
    const acked = ackBatches === undefined || delivered < ackBatches;
    print({ type: 'batch', acked, records: batch.items.map((i) => [i.position.shard, i.position.sequence]) });
    if (acked) await batch.ack();
    delivered++;
  }
  print({ type: 'end' });
} catch (err) {
  print({ type: 'error', message: (err as Error).message });
  process.exitCode = 1;
}
