import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import type { Alert } from '../core/alert.ts';
import type { Batch, Sink, Source, SourceItem } from '../core/contracts.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { Runner } from './runner.ts';

/** A source over fixed batches that records acks. */
function memorySource(batches: SourceItem[][]): Source & { acked: number[] } {
  const acked: number[] = [];
  let closed = false;
  return {
    name: 'memory',
    acked,
    async *batches(): AsyncIterable<Batch> {
      for (let i = 0; i < batches.length && !closed; i++) yield { items: batches[i]!, ack: () => void acked.push(i) };
    },
    async close() {
      closed = true;
    },
  };
}

function payload(fn: string, events: { t: number; msg: string }[]): SourceItem {
  const body = {
    owner: '111111111111', logGroup: `/aws/lambda/${fn}`, logStream: '2024/01/01/[$LATEST]abc', subscriptionFilters: ['f'], messageType: 'DATA_MESSAGE',
    logEvents: events.map((e, i) => ({ id: `${e.t}${i}`, timestamp: e.t, message: e.msg })),
  };
  return { type: 'payload', data: gzipSync(JSON.stringify(body)), position: {} };
}

const egressLine = (host: string) => `2024-01-01T00:00:00.000Z\treq\tINFO\t${JSON.stringify({ fnwatch: 'egress', host, port: 443, proto: 'tls' })}\n`;

describe('Runner', () => {
  it('acks a batch only after the sink has its alerts, and retries a failing sink', async () => {
    const T = Date.UTC(2024, 0, 1);
    const learn = Array.from({ length: 30 }, (_, h) => payload('api', [{ t: T + h * 3_600_000, msg: egressLine('api.stripe.com') }]));
    const attack = payload('api', [{ t: T + 31 * 3_600_000, msg: egressLine('pool.minexmr.com') }]);
    const source = memorySource([learn, [attack]]);
    const written: Alert[] = [];
    let failures = 2;
    const events: string[] = [];
    const sink: Sink = {
      name: 'flaky',
      async write(alerts) {
        if (failures-- > 0) {
          events.push('fail');
          throw new Error('SIEM down');
        }
        written.push(...alerts);
        events.push(`write ${source.acked.length}`);
      },
      async flush() {},
      async close() {},
    };
    const runner = new Runner(source, new Pipeline(), sink, { onSinkError: () => events.push('retry') }, { sinkRetryMs: 1 });
    await runner.run();
    expect(written.map((a) => a.finding_info.types[0])).toEqual(['new-egress-host']);
    // The second batch was acked only after the write that followed two failures.
    expect(events).toEqual(['fail', 'retry', 'fail', 'retry', 'write 1']);
    expect(source.acked).toEqual([0, 1]);
    expect(runner.items).toBe(31);
  });
});
