/**
 * The contract every {@link Source} keeps, as one shared test suite (`describeSourceConformance`).
 * Each source module runs it with a harness that loads the same small Lambda fixture into whatever
 * backs the source (a file, kinesalite, moto, a Live Tail server), so a newcomer can see in one place
 * what "a source" promises the runner:
 *
 * - the pipeline gets exactly the events it would get from the log events themselves, each once;
 * - items are well-formed `SourceItem`s with a position; a watermark, when given, is a time;
 * - `ack()` may be called out of order and more than once;
 * - `close()` mid-stream ends the iteration promptly, and a second `close()` is harmless.
 */
import { describe, expect, it } from 'vitest';
import type { Batch, Source, SourceItem } from '../core/contracts.ts';
import type { FnEvent } from '../core/events.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { HOUR, LambdaLogWriter, MIN, type WrittenEvent } from './cloudwatch-logs/testing/lambda-dataset.ts';

/** What a harness hands the suite for one test: a fresh source over the fixture. */
export interface OpenedSource {
  source: Source;
  /** Account and region the source attaches to log events (the reference pipeline gets the same) */
  owner?: string;
  region?: string;
}

/** How to run one kind of source under the suite. */
export interface SourceHarness {
  /** Shown in the test names */
  name: string;
  /** True when the source ends by itself once the data is read (files, a FilterLogEvents range) */
  bounded: boolean;
  /** Loads `fixture` into fresh storage (a new stream, new log groups, a new file) and opens a source on it */
  open(fixture: readonly WrittenEvent[], tag: string): Promise<OpenedSource>;
}

/**
 * The fixture: two functions (one busy, one sparse) over two hours with egress lines and API calls
 * through CloudTrail. `tag` makes the function names unique per test, so harnesses backed by one
 * server never see another test's data.
 *
 * @example
 * const events = conformanceFixture(Date.UTC(2026, 0, 5), 'a'); // → WrittenEvent[] in write order
 */
export function conformanceFixture(t0: number, tag: string): WrittenEvent[] {
  const w = new LambdaLogWriter(11);
  const api = `orders-api-${tag}`;
  const cron = `billing-cron-${tag}`;
  w.steady(api, t0, t0 + 2 * HOUR, 180, { streams: 2 });
  w.steady(cron, t0, t0 + 2 * HOUR, 12, { durationMs: () => 900 });
  w.invocation(cron, t0 + HOUR + 7 * MIN, { durationMs: 3000, status: 'timeout' });
  for (let t = t0 + MIN; t < t0 + 2 * HOUR; t += 20 * MIN) w.egress(api, t, 'api.stripe.com', 443);
  w.apiCall(api, t0 + 30 * MIN, 's3.amazonaws.com', 'GetObject', ['arn:aws:s3:::orders-bucket/2026/01/05/o-1.json'], `aws-cloudtrail-logs-${tag}`);
  w.apiCall(api, t0 + 90 * MIN, 'secretsmanager.amazonaws.com', 'GetSecretValue', ['arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf'], `aws-cloudtrail-logs-${tag}`);
  return w.events;
}

/** Events without their delivery id, which legitimately differs by source (subscription ids, FilterLogEvents ids, Live Tail digests). */
function canonical(events: readonly FnEvent[]): string[] {
  return events.map((e) => JSON.stringify({ ...e, id: undefined })).sort();
}

/** What the pipeline makes of the fixture's log events given to it directly, in time order. */
function referenceEvents(fixture: readonly WrittenEvent[], owner?: string, region?: string): FnEvent[] {
  const out: FnEvent[] = [];
  const p = new Pipeline({ onEvent: (e) => out.push(e), parser: region ? { region } : undefined });
  for (const e of [...fixture].sort((a, b) => a.timestamp - b.timestamp)) p.processLogEvent({ ...e, owner, region });
  p.finish();
  return out;
}

function checkItem(item: SourceItem): void {
  expect(item.position, 'every item has a position').toBeTypeOf('object');
  switch (item.type) {
    case 'payload':
      expect(typeof item.data === 'string' || item.data instanceof Uint8Array, 'payload data is bytes or text').toBe(true);
      if (item.arrival !== undefined) expect(Number.isFinite(item.arrival)).toBe(true);
      break;
    case 'log-event':
      expect(item.event.logGroup).toBeTypeOf('string');
      expect(item.event.logStream).toBeTypeOf('string');
      expect(Number.isFinite(item.event.timestamp)).toBe(true);
      expect(item.event.message).toBeTypeOf('string');
      break;
    case 'cloudtrail':
      expect(item.record).toBeTypeOf('object');
      break;
    default:
      throw new Error(`unknown item type ${(item as { type: string }).type}`);
  }
}

interface Drained {
  events: FnEvent[];
  batches: number;
  items: number;
}

/**
 * Reads the source through a pipeline until it ends (bounded) or `want` events arrived (then closes
 * it). `ackOrder: 'swapped'` acknowledges batches in reversed pairs and each twice.
 */
async function drain(opened: OpenedSource, want: number, bounded: boolean, ackOrder: 'in-order' | 'swapped', timeoutMs = 30_000): Promise<Drained> {
  const events: FnEvent[] = [];
  const p = new Pipeline({ onEvent: (e) => events.push(e), parser: opened.region ? { region: opened.region } : undefined });
  const { source } = opened;
  let batches = 0;
  let items = 0;
  let held: Batch | undefined;
  const timer = setTimeout(() => void source.close(), timeoutMs);
  try {
    for await (const batch of source.batches()) {
      batches++;
      items += batch.items.length;
      if (batch.watermark !== undefined) expect(Number.isFinite(batch.watermark), 'a watermark is a time').toBe(true);
      for (const item of batch.items) checkItem(item);
      p.processBatch(batch.items);
      if (ackOrder === 'in-order') await batch.ack();
      else if (held === undefined) held = batch;
      else {
        await batch.ack();
        await held.ack();
        await held.ack();
        held = undefined;
      }
      if (!bounded && events.length >= want) break;
    }
    if (held) await held.ack();
  } finally {
    clearTimeout(timer);
    await source.close();
  }
  p.finish();
  return { events, batches, items };
}

/**
 * Declares the shared Source suite for one harness.
 *
 * @example
 * describeSourceConformance({
 *   name: 'files (log-event NDJSON)',
 *   bounded: true,
 *   open: async (fixture) => ({ source: openReplaySource([writeNdjson(fixture)]) }),
 * });
 */
export function describeSourceConformance(h: SourceHarness): void {
  const t0 = Math.floor((Date.now() - 2 * 86_400_000) / HOUR) * HOUR;
  let n = 0;
  const tag = (): string => `${h.name.replace(/[^a-z0-9]+/gi, '').toLowerCase().slice(0, 10)}${++n}`;

  describe(`Source conformance: ${h.name}`, () => {
    it('gives the pipeline exactly the events of the log events themselves, each once', async () => {
      const t = tag();
      const fixture = conformanceFixture(t0, t);
      const opened = await h.open(fixture, t);
      const want = referenceEvents(fixture, opened.owner, opened.region);
      expect(want.filter((e) => e.kind === 'invocation')).toHaveLength(193);
      expect(want.filter((e) => e.kind === 'egress')).toHaveLength(6);
      expect(want.filter((e) => e.kind === 'resource_access')).toHaveLength(2);
      const got = await drain(opened, want.length, h.bounded, 'in-order');
      expect(got.batches).toBeGreaterThan(0);
      expect(canonical(got.events)).toEqual(canonical(want));
    });

    it('accepts acks out of order and more than once, and still delivers everything', async () => {
      const t = tag();
      const fixture = conformanceFixture(t0, t);
      const opened = await h.open(fixture, t);
      const want = referenceEvents(fixture, opened.owner, opened.region);
      const got = await drain(opened, want.length, h.bounded, 'swapped');
      expect(canonical(got.events)).toEqual(canonical(want));
    });

    it('ends the iteration promptly when closed mid-stream, and a second close is harmless', async () => {
      const t = tag();
      const fixture = conformanceFixture(t0, t);
      const { source } = await h.open(fixture, t);
      const started = Date.now();
      let batches = 0;
      const iterate = (async () => {
        for await (const batch of source.batches()) {
          batches++;
          await batch.ack();
          if (batches === 1) await source.close();
        }
      })();
      const ended = await Promise.race([iterate.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 10_000))]);
      if (!ended) await source.close();
      expect(ended, 'batches() ended after close()').toBe(true);
      expect(batches).toBeGreaterThanOrEqual(1);
      expect(Date.now() - started).toBeLessThan(10_000);
      await source.close();
    });
  });
}
