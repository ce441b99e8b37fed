/**
 * The webhook sink: `write()` puts alerts in the durable outbox (resolving once they are fsync'd),
 * and a delivery loop sends them from there, in outbox order, as signed batches.
 *
 * Delivery policy (see retry.ts): 2xx settles the batch; 408/429/5xx, network errors and timeouts
 * retry with full-jitter exponential backoff (or `Retry-After`) for up to `maxRetryDurationMs`, then
 * dead-letter; other 4xx bisect a batch down to the offending alerts, each of which gets
 * `maxRejectedAttempts` tries before it is dead-lettered with the status and response; 410 stops
 * delivery (alerts stay in the outbox). Only one request is in flight, so order is preserved per
 * function (and overall). A slow or absent receiver never blocks `write()` beyond the outbox cap.
 */
import { alertKind, type Alert } from '../../core/alert.ts';
import { FnwatchError, type Sink } from '../../core/contracts.ts';
import { DeadLetterFile, type SinkDeadLetter, type SinkDeadLetterReason } from '../dead-letter.ts';
import { encodeBatch, type WebhookFormat } from '../formats/index.ts';
import { validateOcsf } from '../formats/ocsf.ts';
import { redactUrl, stderrLogger, type SinkLogger } from '../log.ts';
import { noMetrics, type SinkMetrics } from '../metrics.ts';
import { Outbox, type OnFull, type OutboxEntry } from '../outbox/outbox.ts';
import { Signal, sleep } from '../outbox/sync.ts';
import { HttpTransport, TransportError, type HttpResponse } from './http.ts';
import { backoffDelay, classifyResponse, type Outcome } from './retry.ts';
import { batchMessageId, messageKey, signatureHeaders } from './sign.ts';

export interface WebhookSinkOptions {
  /** Name in logs, metrics and dead letters (default `webhook`) */
  name?: string;
  url: string;
  format: WebhookFormat;
  /** Standard Webhooks signing keys (from {@link loadSecrets}); unsigned when absent */
  secrets?: Buffer[];
  /** Splunk HEC token, sent as `Authorization: Splunk <token>` */
  splunkToken?: string;
  splunkIndex?: string;
  outboxDir: string;
  maxOutboxBytes: number;
  onFull: OnFull;
  batchMaxAlerts: number;
  batchMaxBytes: number;
  connectTimeoutMs: number;
  timeoutMs: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  /** Tries for an alert the receiver rejects with a 4xx before it is dead-lettered */
  maxRejectedAttempts: number;
  /** How long retriable failures of one batch go on before it is dead-lettered */
  maxRetryDurationMs: number;
  /** How long `flush()` waits for the outbox to drain */
  flushTimeoutMs: number;
  caFile?: string;
  insecureSkipVerify?: boolean;
  /** Default `<outboxDir>/dead-letter.ndjson` */
  deadLetterPath?: string;
}

export interface WebhookSinkDeps {
  log?: SinkLogger;
  metrics?: SinkMetrics;
  /** Jitter source (tests) */
  random?: () => number;
}

/** Defaults for everything but url, format and outboxDir. */
export const WEBHOOK_DEFAULTS = {
  maxOutboxBytes: 256 * 2 ** 20,
  onFull: 'block',
  batchMaxAlerts: 100,
  batchMaxBytes: 1 * 2 ** 20,
  connectTimeoutMs: 5_000,
  timeoutMs: 30_000,
  backoffBaseMs: 1_000,
  backoffCapMs: 300_000,
  maxRejectedAttempts: 3,
  maxRetryDurationMs: 72 * 3_600_000,
  flushTimeoutMs: 30_000,
} as const satisfies Partial<WebhookSinkOptions>;

class Closing extends Error {}
class Stopped extends Error {}

/**
 * @example
 * const sink = await WebhookSink.open({ ...WEBHOOK_DEFAULTS, url: 'https://siem.example/fnwatch', format: 'ocsf',
 *   secrets: loadSecrets({ env: 'FNWATCH_WEBHOOK_SECRET' }), outboxDir: '/var/lib/fnwatch/outbox' });
 * await sink.write(alerts); // durable in the outbox
 * await sink.flush();       // delivered (or still queued after flushTimeoutMs)
 * await sink.close();
 */
export class WebhookSink implements Sink {
  readonly name: string;
  readonly deadLetters: DeadLetterFile;
  private readonly log: SinkLogger;
  private readonly metrics: SinkMetrics;
  private readonly random: () => number;
  private readonly endpoint: string;
  private readonly abort = new AbortController();
  /** Notified when delivery stops (410) or the sink closes, so `flush()` returns at once. */
  private readonly ended = new Signal();
  private readonly maxRecordBytes: number;
  private release: (() => void) | undefined;
  private loop: Promise<void> = Promise.resolve();
  private closing = false;
  private stopped = false;

  private constructor(
    private readonly o: WebhookSinkOptions,
    private readonly outbox: Outbox,
    private readonly transport: HttpTransport,
    deps: Required<WebhookSinkDeps>,
    deadLetters: DeadLetterFile,
  ) {
    this.name = o.name ?? 'webhook';
    this.log = deps.log;
    this.metrics = deps.metrics;
    this.random = deps.random;
    this.endpoint = redactUrl(o.url);
    this.deadLetters = deadLetters;
    this.maxRecordBytes = Math.floor(o.maxOutboxBytes / 4);
  }

  /** Opens the outbox (re-sending what a previous run left) and starts delivering. */
  static async open(o: WebhookSinkOptions, deps: WebhookSinkDeps = {}): Promise<WebhookSink> {
    const full = { log: deps.log ?? stderrLogger(), metrics: deps.metrics ?? noMetrics, random: deps.random ?? Math.random };
    const transport = new HttpTransport(o.url, { connectTimeoutMs: o.connectTimeoutMs, timeoutMs: o.timeoutMs, caFile: o.caFile, insecureSkipVerify: o.insecureSkipVerify, log: full.log });
    const dlq = new DeadLetterFile(o.deadLetterPath ?? `${o.outboxDir}/dead-letter.ndjson`);
    const name = o.name ?? 'webhook';
    const endpoint = redactUrl(o.url);
    const outbox = await Outbox.open(o.outboxDir, {
      maxBytes: o.maxOutboxBytes,
      onFull: o.onFull,
      log: full.log,
      metrics: full.metrics,
      onDrop: async (entries) => {
        await dlq.append(entries.map((e) => droppedRecord(name, endpoint, e)));
        full.metrics.deadLettered(entries.length);
      },
      onCorrupt: async (c) => {
        await dlq.append([{ time: new Date().toISOString(), sink: name, reason: 'outbox-corrupt', endpoint, seq: [c.fromSeq, c.toSeq - 1], error: `${c.segment} at offset ${c.offset}: ${c.reason}` }]);
        full.metrics.deadLettered(c.toSeq - c.fromSeq);
      },
    });
    if (!o.secrets?.length && o.format !== 'splunk-hec') full.log.warn(`webhook ${name}: no signing secret configured; requests to ${endpoint} are not signed`);
    const sink = new WebhookSink(o, outbox, transport, full, dlq);
    sink.loop = sink.run();
    return sink;
  }

  /** Alerts in the outbox, not yet delivered or dead-lettered. */
  get pending(): number {
    return this.outbox.pending;
  }

  /** `running`, `stopped` (the endpoint answered 410) or `closed`. */
  get state(): 'running' | 'stopped' | 'closed' {
    return this.closing ? 'closed' : this.stopped ? 'stopped' : 'running';
  }

  /**
   * Resolves once the alerts are fsync'd in the outbox (or, for invalid and oversized alerts, in
   * the dead-letter file). Waits while the outbox is full under `onFull: block`.
   */
  async write(alerts: Alert[]): Promise<void> {
    if (this.closing) throw new FnwatchError(`webhook sink ${this.name} is closed`);
    const items: { key: string; data: Buffer }[] = [];
    const rejected: SinkDeadLetter[] = [];
    for (const alert of alerts) {
      const problems = validateOcsf(alert);
      let data: Buffer | undefined;
      try {
        data = Buffer.from(JSON.stringify(alert));
      } catch (err) {
        problems.push(`not serialisable: ${(err as Error).message}`);
      }
      if (problems.length > 0 || !data) {
        rejected.push({ ...this.letter('invalid-alert'), error: problems.join('; '), alert: safeCopy(alert) });
      } else if (data.length > this.maxRecordBytes) {
        rejected.push({ ...this.letter('too-large'), error: `${data.length} bytes; the outbox takes alerts up to ${this.maxRecordBytes} bytes`, alert });
      } else {
        items.push({ key: messageKey(alert, data), data });
      }
    }
    if (rejected.length > 0) {
      await this.deadLetters.append(rejected);
      this.metrics.deadLettered(rejected.length);
      this.log.error(`webhook ${this.name}: dead-lettered ${rejected.length} alert(s) that cannot be sent (${rejected[0]!.reason}: ${rejected[0]!.error}) → ${this.deadLetters.path}`);
    }
    if (items.length > 0) {
      await this.outbox.append(items);
      this.metrics.queued(items.length);
    }
  }

  /**
   * Waits until the outbox is empty, delivery has stopped (410), or `flushTimeoutMs` passed; what
   * is left stays queued on disk for the next run.
   */
  async flush(): Promise<void> {
    const timer = new AbortController();
    let timedOut = false;
    const timeout = sleep(this.o.flushTimeoutMs, timer.signal).then(() => (timedOut = true));
    const ended = this.ended.wait();
    try {
      while (this.outbox.pending > 0 && !this.stopped && !this.closing && !timedOut) {
        await Promise.race([this.outbox.nextChange(), ended, timeout]);
      }
    } finally {
      timer.abort();
    }
    if (this.outbox.pending > 0) {
      this.log.warn(`webhook ${this.name}: ${this.outbox.pending} alert(s) not delivered yet; they stay in the outbox ${this.outbox.dir} and are sent when ${this.endpoint} accepts them`);
    }
  }

  /** Stops delivery (aborting a request in flight: it is re-sent next time, same webhook-id) and closes files. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.abort.abort();
    this.ended.notify();
    await this.loop;
    await this.outbox.close();
    await this.deadLetters.close();
    this.transport.close();
  }

  // ---- delivery ----

  private async run(): Promise<void> {
    while (!this.closing && !this.stopped) {
      await this.outbox.waitForEntries(this.abort.signal);
      if (this.closing) break;
      if (this.outbox.pending === 0) continue;
      this.release = await this.outbox.head.acquire();
      try {
        const batch = await this.outbox.nextBatch(this.o.batchMaxAlerts, this.o.batchMaxBytes);
        if (batch.length > 0) await this.deliver(batch);
      } catch (err) {
        if (err instanceof Closing || err instanceof Stopped) break;
        // Disk trouble (cursor or dead-letter write): nothing was settled; try again shortly.
        this.log.error(`webhook ${this.name}: delivery loop: ${(err as Error).message}; retrying in 1 s`);
        this.releaseHead();
        await sleep(1_000, this.abort.signal);
      } finally {
        this.releaseHead();
      }
    }
  }

  private releaseHead(): void {
    this.release?.();
    this.release = undefined;
  }

  /** Sends `entries` until each is delivered or dead-lettered; settles them in the outbox. Head held. */
  private async deliver(group: OutboxEntry[]): Promise<void> {
    const started = Date.now();
    let retries = 0;
    let rejections = 0;
    for (;;) {
      if (this.closing) throw new Closing();
      // Entries may have been dropped (onFull: drop-oldest) while the head was released.
      const entries = group.filter((e) => e.seq >= this.outbox.deliveredSeq);
      if (entries.length === 0) return;
      group = entries;
      const last = entries.at(-1)!.seq + 1;
      const id = batchMessageId(entries.map((e) => e.key));
      let body: Buffer;
      let contentType: string;
      try {
        ({ body, contentType } = encodeBatch(this.o.format, entries.map((e) => e.data), { splunkIndex: this.o.splunkIndex }));
      } catch (err) {
        if (entries.length > 1) return this.bisect(entries);
        await this.deadLetter(entries, 'invalid-alert', { id, attempts: 0, error: `cannot format as ${this.o.format}: ${(err as Error).message}` });
        return this.outbox.settle(last);
      }
      const headers: Record<string, string> = {
        'content-type': contentType,
        ...signatureHeaders(id, Math.floor(Date.now() / 1000), body, this.o.secrets),
        ...(this.o.splunkToken ? { authorization: `Splunk ${this.o.splunkToken}` } : {}),
      };
      let res: HttpResponse | undefined;
      let outcome: Outcome;
      try {
        res = await this.transport.post(body, headers, this.abort.signal);
        outcome = classifyResponse(res.status, res.headers, Date.now());
      } catch (err) {
        if (this.closing) throw new Closing();
        outcome = { kind: 'retry', reason: err instanceof TransportError ? err.message : String(err) };
      }
      switch (outcome.kind) {
        case 'ok':
          this.metrics.delivered(entries.length);
          return this.outbox.settle(last);
        case 'stop':
          this.stopped = true;
          this.ended.notify();
          this.log.error(
            `webhook ${this.name}: ${this.endpoint} answered ${outcome.reason} (gone): delivery stopped; ` +
              `${this.outbox.pending} alert(s) stay in the outbox ${this.outbox.dir} until the endpoint is fixed and fnwatch restarted`,
          );
          throw new Stopped();
        case 'retry': {
          retries++;
          if (Date.now() - started >= this.o.maxRetryDurationMs) {
            await this.deadLetter(entries, 'retries-exhausted', { id, attempts: retries, res, error: outcome.reason });
            return this.outbox.settle(last);
          }
          this.metrics.retried(1);
          const delay = outcome.retryAfterMs ?? backoffDelay(retries, { baseMs: this.o.backoffBaseMs, capMs: this.o.backoffCapMs }, this.random);
          this.log.warn(`webhook ${this.name}: ${entries.length} alert(s) not delivered (${outcome.reason}); retry ${retries} in ${delay} ms${outcome.retryAfterMs !== undefined ? ' (Retry-After)' : ''}`);
          await this.pause(delay);
          break;
        }
        case 'permanent':
          if (entries.length > 1) return this.bisect(entries);
          rejections++;
          if (rejections >= this.o.maxRejectedAttempts) {
            await this.deadLetter(entries, 'rejected', { id, attempts: rejections, res, error: outcome.reason });
            return this.outbox.settle(last);
          }
          this.metrics.retried(1);
          await this.pause(backoffDelay(rejections, { baseMs: this.o.backoffBaseMs, capMs: this.o.backoffCapMs }, this.random));
          break;
      }
    }
  }

  /** A rejected batch: send each half on its own so only the offending alerts are dead-lettered. */
  private async bisect(entries: OutboxEntry[]): Promise<void> {
    const mid = Math.ceil(entries.length / 2);
    await this.deliver(entries.slice(0, mid));
    await this.deliver(entries.slice(mid));
  }

  /** Waits without holding the head, so a full outbox can drop entries meanwhile. */
  private async pause(ms: number): Promise<void> {
    this.releaseHead();
    await sleep(ms, this.abort.signal);
    this.release = await this.outbox.head.acquire();
  }

  private letter(reason: SinkDeadLetterReason): SinkDeadLetter {
    return { time: new Date().toISOString(), sink: this.name, reason, endpoint: this.endpoint };
  }

  private async deadLetter(
    entries: OutboxEntry[],
    reason: SinkDeadLetterReason,
    info: { id: string; attempts: number; res?: HttpResponse; error?: string },
  ): Promise<void> {
    await this.deadLetters.append(
      entries.map((e) => ({
        ...this.letter(reason),
        ...(info.res ? { status: info.res.status, response: info.res.body } : {}),
        webhook_id: e.key,
        attempts: info.attempts,
        ...(info.error ? { error: info.error } : {}),
        alert: parseOrRaw(e.data),
      })),
    );
    this.metrics.deadLettered(entries.length);
    this.log.error(
      `webhook ${this.name}: dead-lettered ${entries.length} alert(s) after ${info.attempts} tries (${info.error ?? reason}` +
        `${info.res?.body ? `: ${oneLine(info.res.body)}` : ''}) → ${this.deadLetters.path}`,
    );
  }
}

function droppedRecord(sink: string, endpoint: string, e: OutboxEntry): SinkDeadLetter {
  const a = parseOrRaw(e.data) as Partial<Alert>;
  return {
    time: new Date().toISOString(),
    sink,
    reason: 'outbox-full',
    endpoint,
    webhook_id: e.key,
    seq: e.seq,
    finding_uid: a.finding_info?.uid,
    kind: a.finding_info ? alertKind(a as Alert) : undefined,
    function: a.resources?.[0]?.name,
    alert_time: a.time,
  };
}

function parseOrRaw(data: Buffer): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch {
    return data.toString('utf8').slice(0, 4096);
  }
}

function safeCopy(v: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(v)) as unknown;
  } catch {
    return String(v);
  }
}

function oneLine(s: string): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > 200 ? `${t.slice(0, 200)}…` : t;
}
