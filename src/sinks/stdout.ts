/**
 * The stdout sink: one human-readable line per alert, or the OCSF finding as NDJSON.
 */
import { alertKind, severityName, type Alert } from '../core/alert.ts';
import { FnwatchError, type Sink } from '../core/contracts.ts';
import { formatTime } from '../core/time.ts';

export type StdoutFormat = 'text' | 'ndjson';

const ACTIVITY: Record<number, string> = { 1: '', 2: ' (update)', 3: ' (closed)' };

/**
 * One line a person scans: time, severity, kind, function, the explanation, the finding id.
 *
 * @example
 * alertLine(alert);
 * // → '2026-01-08T18:20:35.215Z HIGH     denial-of-wallet    123456789012/us-east-1/orders-api  orders-api: 4,560 invocations/min vs 120 [fw-7c1e…]'
 */
export function alertLine(a: Alert): string {
  const r = a.resources[0];
  const fn = `${r?.owner?.account?.uid ?? a.metadata.tenant_uid ?? '-'}/${r?.region ?? '-'}/${r?.name ?? '-'}`;
  const desc = (a.finding_info.desc || a.message || a.finding_info.title).replace(/\s+/g, ' ');
  return `${formatTime(a.time)} ${severityName(a.severity_id).toUpperCase().padEnd(8)} ${alertKind(a).padEnd(19)} ${fn}  ${desc}${ACTIVITY[a.activity_id] ?? ''} [${a.finding_info.uid}]`;
}

/**
 * @example
 * const sink = new StdoutSink({ format: 'ndjson' });
 * await sink.write(alerts); // resolves once the stream accepted the lines
 */
export class StdoutSink implements Sink {
  readonly name: string;
  private readonly format: StdoutFormat;
  private readonly stream: NodeJS.WritableStream;

  constructor(opts: { format?: StdoutFormat; stream?: NodeJS.WritableStream; name?: string } = {}) {
    this.format = opts.format ?? 'text';
    this.stream = opts.stream ?? process.stdout;
    this.name = opts.name ?? 'stdout';
  }

  write(alerts: Alert[]): Promise<void> {
    if (alerts.length === 0) return Promise.resolve();
    const text = alerts.map((a) => (this.format === 'ndjson' ? JSON.stringify(a) : alertLine(a)) + '\n').join('');
    return this.put(text);
  }

  flush(): Promise<void> {
    return this.put('');
  }

  async close(): Promise<void> {
    await this.flush();
  }

  private put(text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.stream.write(text, (err?: Error | null) => {
        if (err) reject(new FnwatchError(`${this.name}: cannot write alerts: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
        else resolve();
      });
    });
  }
}
