import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import type { Alert } from '../core/alert.ts';
import type { Batch, Sink, Source, SourceItem } from '../core/contracts.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { Runner } from './runner.ts';
import { WorkerPipeline } from './workers.ts';

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

  it('runs a worker pipeline: batches larger than a slice, the same alerts as one pipeline, acks after the writes', async () => {
    const T = Date.UTC(2024, 0, 1);
    // Three functions learn one host each for 40 hours, then each calls a new one: 120 items in the
    // first batch (more than one slice of 100), 3 in the second.
    const fns = ['api', 'billing', 'search'];
    const learn = Array.from({ length: 40 }, (_, h) => fns.map((fn) => payload(fn, [{ t: T + h * 3_600_000, msg: egressLine(`${fn}.internal`) }]))).flat();
    const attack = fns.map((fn, i) => payload(fn, [{ t: T + 41 * 3_600_000 + i, msg: egressLine(`exfil-${fn}.example`) }]));
    const run = async (pipeline: Pipeline | WorkerPipeline) => {
      const source = memorySource([learn, attack]);
      const written: Alert[] = [];
      const order: string[] = [];
      const sink: Sink = {
        name: 'memory',
        async write(alerts) {
          written.push(...alerts);
          order.push(`write ${alerts.length} after ${source.acked.length} acks`);
        },
        async flush() {},
        async close() {},
      };
      const runner = new Runner(source, pipeline, sink);
      await runner.run();
      return { written, order, acked: source.acked, items: runner.items };
    };
    const single = await run(new Pipeline());
    const wp = await WorkerPipeline.start({ workers: 2 });
    try {
      const parallel = await run(wp);
      expect(single.written.map((a) => a.finding_info.types[0])).toEqual(['new-egress-host', 'new-egress-host', 'new-egress-host']);
      expect(parallel.written.map((a) => a.finding_info.uid).sort()).toEqual(single.written.map((a) => a.finding_info.uid).sort());
      expect(parallel.order).toEqual(['write 3 after 1 acks']);
      expect(parallel.acked).toEqual([0, 1]);
      expect(parallel.items).toBe(123);
      // run() finished the worker pipeline: its final baselines are there, its threads stopped.
      expect(wp.snapshot()!.functions).toHaveLength(3);
      await expect(wp.processBatch(attack)).rejects.toThrow(/closed/);
    } finally {
      await wp.close();
    }
  }, 30_000);
});
