/**
 * The service end to end on a local Kinesis: `fnwatch run` as a child process (production
 * defaults: 200 ms between GetRecords on a shard, backing off to 1 s while a shard stays empty),
 * pinned to one CPU with `taskset` where available, kinesalite and dynalite in their own child
 * processes, this process as the producer and the alert reader.
 *
 * 1. Capacity: the first half of a generated dataset (re-packed into ~100-event payloads, see
 *    payloads.ts, in delivery order) is put into the stream before the service starts; the time the
 *    service takes to consume it is its sustained single-core rate (log events/s and normalized
 *    events/s). RSS and heap are sampled meanwhile.
 * 2. Live: the rest is put at 50% of that measured capacity (or `--rate`) while the service reads at
 *    the tip. Each PutRecords is stamped; each alert is stamped when its line lands in the file sink
 *    (polled every 5 ms). Every alert is raised by one event of its function at the alert's `time`
 *    (detectors are event-driven), so its latency is its arrival minus the put time of the first
 *    payload (in put order) holding an event of that function at that time: the triggering payload
 *    or an earlier one, so an upper bound on the true PutRecords → durable alert latency, and a tight
 *    one. (The cruder bound, the first payload of any function at or after the alert's time, is kept
 *    for the rare alert whose trigger cannot be found that way, and counted.)
 *
 * The stream has 4 shards by default: at 50% of one core the producer writes 2 – 3 MB/s, above the
 * 1 MB/s per shard that Kinesis accepts, and a shard's reader keeps to its 2 MB/s read budget, so
 * fewer shards would measure the emulated shard limits rather than the service.
 *
 * Run standalone: `npx tsx bench/service-latency.ts [--quick] [--rate EVENTS_PER_S] [--shards N] [--workers N] [--no-pin]`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodePayload } from '../src/parsers/index.ts';
import { cloudTrailOwner } from '../src/service/workers.ts';
import { createStream, putRecords, type ProducerRecord } from '../src/service/embedded.ts';
import { FAKE_AWS_ENV } from '../src/service/testing.ts';
import { createKinesisClient } from '../src/sources/kinesis/index.ts';
import { freePort, startDynalite, startKinesalite } from '../src/sources/kinesis/testing/servers.ts';
import { canPin, percentile } from './measure.ts';
import { buildPayloads, type DatasetSpec } from './payloads.ts';

const CLI = fileURLToPath(new URL('../bin/fnwatch.js', import.meta.url));

export interface ServiceLatencyOptions {
  /** Live phase of 15 s instead of 60 s */
  quick?: boolean;
  /** Rate of the live phase in log events/s (default: 50% of the capacity measured in the backlog phase) */
  eventsPerSecond?: number;
  /** Shards of the stream (default 4) */
  shards?: number;
  /** `workers` of the service config (worker threads; default 1, the single pipeline) */
  workers?: number;
  /** Pin the service to one CPU with taskset (default: when taskset exists) */
  pin?: boolean;
  spec?: DatasetSpec;
  /** Progress lines on stderr */
  verbose?: boolean;
}

export interface ServiceLatencyResult {
  spec: DatasetSpec;
  payloads: number;
  logEvents: number;
  backlog: { payloads: number; logEvents: number; events: number; seconds: number; logEventsPerSecond: number; eventsPerSecond: number; putRecordsPerSecond: number };
  live: {
    payloads: number;
    logEvents: number;
    seconds: number;
    /** what the rate is: 50% of the measured capacity, or the --rate given */
    rateFrom: 'capacity' | 'option';
    targetLogEventsPerSecond: number;
    achievedLogEventsPerSecond: number;
    alerts: number;
    measuredAlerts: number;
    /** measured alerts whose trigger was found by function and time (the rest: the cruder bound) */
    exactAlerts: number;
    /** MB/s put per shard: above 1, Kinesis would throttle the producer, and near 2 the reader's read budget caps the consumer */
    mbPerShardPerSecond: number;
  };
  shards: number;
  workers: number;
  /** service pinned to one CPU */
  pinned: boolean;
  latency_ms_p50: number | null;
  latency_ms_p99: number | null;
  latency_ms_max: number | null;
  /** the five slowest alerts: latency, kind, function, whether found by function and time, put time (s into the live phase) */
  slowest: Array<{ ms: number; kind: string | undefined; fn: string | undefined; exact: boolean; putAtS: number }>;
  memory: { samples: Array<{ atFraction: number; rssMiB: number; heapUsedMiB: number }>; rssMiBAfter: number; heapUsedMiBAfter: number; rssMiBPeak: number };
  eventTimeSpanHours: number;
  sigtermExitCode: number | null;
}

/**
 * @example
 * const r = await measureServiceLatency({ quick: true });
 * console.log(r.backlog.eventsPerSecond, r.latency_ms_p50, r.latency_ms_p99);
 */
export async function measureServiceLatency(opts: ServiceLatencyOptions = {}): Promise<ServiceLatencyResult> {
  const say = (s: string): void => void (opts.verbose && process.stderr.write(`service-latency: ${s}\n`));
  const spec = opts.spec ?? { seed: 11, days: 7, functions: 40, scale: 1.2 };
  say(`payloads for ${JSON.stringify(spec)}`);
  const set = await buildPayloads(spec);
  // Delivery order: a subscription payload leaves once its last event is in, so sort by that.
  const decoded = set.data.map((d, idx) => {
    const doc = decodePayload(d) as { logStream: string; logEvents: Array<{ timestamp: number }> };
    let last = -Infinity;
    let first = Infinity;
    for (const e of doc.logEvents) {
      if (e.timestamp > last) last = e.timestamp;
      if (e.timestamp < first) first = e.timestamp;
    }
    return { idx, last, first, key: doc.logStream };
  });
  decoded.sort((a, b) => a.last - b.last || a.idx - b.idx);
  const triggers = triggerIndex(decoded.map((p) => set.data[p.idx]!));
  const records: ProducerRecord[] = decoded.map((p) => ({ data: Buffer.from(set.data[p.idx]!, 'base64'), partitionKey: p.key }));
  const eventsIn = decoded.map((p) => set.events[p.idx]!);
  const maxTime = decoded.map((p) => p.last);
  const minTime = Math.min(...decoded.map((p) => p.first));
  const half = Math.floor(records.length / 2);
  const sumEvents = (from: number, to: number): number => {
    let n = 0;
    for (let i = from; i < to; i++) n += eventsIn[i]!;
    return n;
  };

  const env = { ...process.env, ...FAKE_AWS_ENV };
  Object.assign(process.env, FAKE_AWS_ENV);
  const [kinesalite, dynalite] = await Promise.all([startKinesalite({ childProcess: true }), startDynalite({ childProcess: true })]);
  const kinesis = createKinesisClient({ endpoint: kinesalite.endpoint, region: 'us-east-1' });
  const dir = mkdtempSync(join(tmpdir(), 'fnwatch-service-bench-'));
  let child: ChildProcess | undefined;
  try {
    const shards = opts.shards ?? 4;
    await createStream(kinesis, 'bench', shards);
    say(`backlog: putting ${half} payloads (${sumEvents(0, half)} log events)`);
    const putStart = performance.now();
    await putRecords(kinesis, 'bench', records.slice(0, half));
    const putRecordsPerSecond = half / ((performance.now() - putStart) / 1000);

    const port = await freePort();
    const alertsPath = join(dir, 'alerts.ndjson');
    const config = {
      sources: [{ type: 'kinesis', streamName: 'bench', applicationName: 'fnwatch-bench', endpoint: kinesalite.endpoint, dynamodbEndpoint: dynalite.endpoint }],
      sinks: [{ type: 'file', path: alertsPath }],
      state: { dir: join(dir, 'state') },
      http: { port },
      log: { level: 'warn' },
      ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    // One CPU for the service (the second is left to kinesalite, dynalite and this producer): the
    // capacity measured is a single core's, and the live rate is half of it.
    const pinned = (opts.pin ?? true) && canPin();
    const argv = [CLI, 'run', '--config', join(dir, 'config.json')];
    child = pinned
      ? spawn('taskset', ['-c', '1', process.execPath, ...argv], { env, stdio: ['ignore', 'ignore', 'inherit'] })
      : spawn(process.execPath, argv, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = once(child, 'exit');

    const metric = async (): Promise<Record<string, number>> => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const out: Record<string, number> = {};
      for (const line of text.split('\n')) {
        if (line.startsWith('#') || line === '') continue;
        const sp = line.lastIndexOf(' ');
        out[line.slice(0, sp)] = Number(line.slice(sp + 1));
      }
      return out;
    };
    const eventsOf = (m: Record<string, number>): number =>
      ['invocation', 'resource_access', 'egress', 'change'].reduce((n, k) => n + (m[`fnwatch_events_total{kind="${k}"}`] ?? 0), 0);
    const waitReady = async (): Promise<void> => {
      for (;;) {
        try {
          if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return;
        } catch {
          // not listening yet
        }
        if (child!.exitCode !== null) throw new Error(`service exited with ${child!.exitCode}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await waitReady();
    const t0 = performance.now();
    const samples: ServiceLatencyResult['memory']['samples'] = [];
    let rssPeak = 0;
    // RSS from /proc: /metrics answers late while the service is saturated, /proc does not.
    const rssOf = (): number => {
      try {
        const line = readFileSync(`/proc/${child!.pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
        return line ? Number(line.split(/\s+/)[1]) / 1024 : NaN;
      } catch {
        return NaN;
      }
    };
    let m = await metric();
    let lastProgress = 0;
    const sampler = setInterval(() => {
      const rss = rssOf();
      if (Number.isFinite(rss)) rssPeak = Math.max(rssPeak, rss);
    }, 50);
    for (;;) {
      const seen = m.fnwatch_records_total ?? 0;
      const frac = seen / half;
      if (samples.length === 0 || frac - lastProgress >= 0.1 || seen >= half) {
        lastProgress = frac;
        samples.push({ atFraction: Math.round(frac * 100) / 100, rssMiB: Math.round(rssOf()), heapUsedMiB: Math.round((m.fnwatch_nodejs_heap_size_used_bytes ?? 0) / 2 ** 20) });
      }
      if (seen >= half) break;
      await new Promise((r) => setTimeout(r, 50));
      m = await metric();
    }
    clearInterval(sampler);
    const backlogSeconds = (performance.now() - t0) / 1000;
    const backlogEvents = eventsOf(m);
    const backlogLogEvents = sumEvents(0, half);
    say(`backlog consumed in ${backlogSeconds.toFixed(1)} s: ${Math.round(backlogLogEvents / backlogSeconds)} log events/s, ${Math.round(backlogEvents / backlogSeconds)} events/s`);

    // Live phase: paced puts, alerts stamped as they land in the file.
    const target = opts.eventsPerSecond ?? (backlogLogEvents / backlogSeconds) * 0.5;
    say(`live: ${Math.round(target)} log events/s for ${opts.quick ? 15 : 60} s`);
    const liveSeconds = opts.quick ? 15 : 60;
    const putAt = new Float64Array(records.length).fill(NaN);
    const arrivals: Array<{ time: number; fn: string | undefined; kind: string | undefined; at: number }> = [];
    let offset = statSync(alertsPath, { throwIfNoEntry: false })?.size ?? 0;
    let partial = '';
    const poll = setInterval(() => {
      const size = statSync(alertsPath, { throwIfNoEntry: false })?.size ?? 0;
      if (size <= offset) return;
      const at = performance.now();
      const buf = Buffer.alloc(size - offset);
      const fd = openSync(alertsPath, 'r');
      readSync(fd, buf, 0, buf.length, offset);
      closeSync(fd);
      offset = size;
      const lines = (partial + buf.toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        if (!l) continue;
        const a = JSON.parse(l) as { time: number; resources?: Array<{ name?: string }> };
        arrivals.push({ time: a.time, fn: a.resources?.[0]?.name, kind: (a as { finding_info?: { types?: string[] } }).finding_info?.types?.[0], at });
      }
    }, 5);
    const liveStart = performance.now();
    let i = half;
    let liveEvents = 0;
    while (i < records.length && performance.now() - liveStart < liveSeconds * 1000) {
      // One PutRecords per 50 ms tick, sized to the target rate.
      const tick = performance.now();
      const budget = (target * (tick - liveStart)) / 1000 - liveEvents;
      let end = i;
      let ev = 0;
      while (end < records.length && ev < budget && end - i < 500) ev += eventsIn[end++]!;
      if (end > i) {
        await putRecords(kinesis, 'bench', records.slice(i, end));
        const now = performance.now();
        for (let k = i; k < end; k++) putAt[k] = now;
        liveEvents += ev;
        i = end;
      }
      const wait = 50 - (performance.now() - tick);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const liveSecondsActual = (performance.now() - liveStart) / 1000;
    const livePayloads = i - half;
    let liveBytes = 0;
    for (let k = half; k < i; k++) liveBytes += records[k]!.data.length;
    const mbPerShardPerSecond = liveBytes / liveSecondsActual / shards / 1e6;
    if (mbPerShardPerSecond > 1) say(`warning: ${mbPerShardPerSecond.toFixed(2)} MB/s per shard is above Kinesis's 1 MB/s write limit: use more --shards`);
    // Let the tail arrive.
    for (let s = 0; s < 100; s++) {
      m = await metric();
      if ((m.fnwatch_records_total ?? 0) >= i) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 300));
    clearInterval(poll);
    m = await metric();
    const rssAfter = rssOf();
    const heapAfter = (m.fnwatch_nodejs_heap_size_used_bytes ?? 0) / 2 ** 20;

    // Latency: the first payload (in put order) holding the alert's function's event at its time;
    // failing that, the first payload holding any event at or after the alert's time.
    const latencies: number[] = [];
    const timed: ServiceLatencyResult['slowest'] = [];
    const liveAlerts = arrivals.length;
    let exactAlerts = 0;
    for (const a of arrivals) {
      const exact = a.fn === undefined ? undefined : triggerOf(triggers, a.fn, a.time, a.kind);
      if (exact !== undefined) {
        if (exact >= half && exact < i && Number.isFinite(putAt[exact]!)) {
          latencies.push(a.at - putAt[exact]!);
          timed.push({ ms: Math.round(a.at - putAt[exact]!), kind: a.kind, fn: a.fn, exact: true, putAtS: Math.round((putAt[exact]! - liveStart) / 100) / 10 });
          exactAlerts++;
        }
        continue;
      }
      // maxTime is sorted: binary search for the first payload at or after the alert's time.
      let lo = 0;
      let hi = i;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (maxTime[mid]! >= a.time) hi = mid;
        else lo = mid + 1;
      }
      if (lo >= half && lo < i && Number.isFinite(putAt[lo]!)) {
        latencies.push(a.at - putAt[lo]!);
        timed.push({ ms: Math.round(a.at - putAt[lo]!), kind: a.kind, fn: a.fn, exact: false, putAtS: Math.round((putAt[lo]! - liveStart) / 100) / 10 });
      }
    }
    latencies.sort((x, y) => x - y);
    timed.sort((x, y) => y.ms - x.ms);

    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    child = undefined;
    const round = (x: number | null): number | null => (x === null ? null : Math.round(x * 10) / 10);
    return {
      spec,
      payloads: records.length,
      logEvents: set.logEvents,
      backlog: {
        payloads: half,
        logEvents: backlogLogEvents,
        events: backlogEvents,
        seconds: Math.round(backlogSeconds * 10) / 10,
        logEventsPerSecond: Math.round(backlogLogEvents / backlogSeconds),
        eventsPerSecond: Math.round(backlogEvents / backlogSeconds),
        putRecordsPerSecond: Math.round(putRecordsPerSecond),
      },
      live: {
        payloads: livePayloads,
        logEvents: liveEvents,
        seconds: Math.round(liveSecondsActual * 10) / 10,
        rateFrom: opts.eventsPerSecond !== undefined ? 'option' : 'capacity',
        targetLogEventsPerSecond: Math.round(target),
        achievedLogEventsPerSecond: Math.round(liveEvents / liveSecondsActual),
        alerts: liveAlerts,
        measuredAlerts: latencies.length,
        exactAlerts,
        mbPerShardPerSecond: Math.round(mbPerShardPerSecond * 100) / 100,
      },
      shards,
      workers: opts.workers ?? 1,
      pinned,
      latency_ms_p50: round(latencies.length ? percentile(latencies, 0.5) : null),
      latency_ms_p99: round(latencies.length ? percentile(latencies, 0.99) : null),
      latency_ms_max: round(latencies.length ? latencies[latencies.length - 1]! : null),
      slowest: timed.slice(0, 5),
      memory: { samples, rssMiBAfter: Math.round(rssAfter), heapUsedMiBAfter: Math.round(heapAfter), rssMiBPeak: Math.round(rssPeak) },
      eventTimeSpanHours: Math.round((maxTime[i - 1]! - minTime) / 3_600_000),
      sigtermExitCode: code,
    };
  } finally {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    kinesis.destroy();
    await Promise.all([kinesalite.stop(), dynalite.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Which log events can raise an alert of a kind: REPORT lines (invocations), egress lines, CloudTrail records. */
type TriggerSource = 'report' | 'egress' | 'cloudtrail' | 'any';
const TRIGGER_OF_KIND: Record<string, TriggerSource> = {
  'denial-of-wallet': 'report',
  'cost-ramp': 'report',
  'dormant-wakeup': 'report',
  'duration-anomaly': 'report',
  'error-spike': 'report',
  'new-egress-host': 'egress',
  'new-resource-access': 'cloudtrail',
};
const triggerKey = (fn: string, time: number, source: TriggerSource = 'any'): string => `${fn}\u0000${time}\u0000${source}`;

/** The first payload that can hold the event that raised an alert of `kind` for `fn` at `time`. */
function triggerOf(index: Map<string, number>, fn: string, time: number, kind: string | undefined): number | undefined {
  const source = kind === undefined ? undefined : TRIGGER_OF_KIND[kind];
  return (source && index.get(triggerKey(fn, time, source))) ?? index.get(triggerKey(fn, time));
}

/**
 * For each (function, event time) in the payloads, the first payload (in put order) holding such an
 * event: Lambda log events by their group's function and timestamp; CloudTrail records by the
 * assumed-role session (the caller) and, for Lambda API calls, the function named in the request,
 * each at the record's `eventTime` and at the log event's timestamp.
 */
function triggerIndex(payloads: readonly string[]): Map<string, number> {
  const first = new Map<string, number>();
  const add = (fn: string, time: number, k: number, source: TriggerSource): void => {
    for (const key of [triggerKey(fn, time), triggerKey(fn, time, source)]) if (!first.has(key)) first.set(key, k);
  };
  payloads.forEach((data, k) => {
    const doc = decodePayload(data) as { logGroup: string; logEvents: Array<{ timestamp: number; message: string }> };
    const lambda = doc.logGroup.startsWith('/aws/lambda/') ? doc.logGroup.slice('/aws/lambda/'.length) : undefined;
    for (const e of doc.logEvents) {
      if (lambda !== undefined) {
        const m = e.message;
        const source = m.startsWith('REPORT ') || m.includes('"platform.report"') ? 'report' : m.includes('"fnwatch":"egress"') || m.includes('\\"fnwatch\\":\\"egress\\"') ? 'egress' : 'any';
        add(lambda, e.timestamp, k, source);
        continue;
      }
      const owner = cloudTrailOwner(e.message);
      let rec: { eventTime?: string; requestParameters?: { functionName?: string } } = {};
      try {
        rec = JSON.parse(e.message);
      } catch {
        continue;
      }
      const times = [e.timestamp, Date.parse(rec.eventTime ?? '')].filter(Number.isFinite);
      const fns: string[] = [];
      if (typeof owner === 'object') fns.push(owner.session);
      const target = rec.requestParameters?.functionName;
      if (typeof target === 'string') fns.push(target.slice(target.lastIndexOf(':') + 1));
      for (const fn of fns) for (const t of times) add(fn, t, k, 'cloudtrail');
    }
  });
  return first;
}

export default measureServiceLatency;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const num = (flag: string): number | undefined => {
    const at = args.indexOf(flag);
    return at >= 0 ? Number(args[at + 1]) : undefined;
  };
  const result = await measureServiceLatency({
    quick: args.includes('--quick'),
    eventsPerSecond: num('--rate'),
    shards: num('--shards'),
    workers: num('--workers'),
    pin: !args.includes('--no-pin'),
    verbose: true,
  });
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}
