/**
 * Webhook delivery throughput: alerts written through the fsync'd outbox and delivered to a local
 * receiver that verifies every signature and validates every document.
 * Run: `npx tsx src/sinks/bench.ts [alerts] [batchMaxAlerts] [alertsPerWrite]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryLogger } from './log.ts';
import { CountingSinkMetrics } from './metrics.ts';
import { sampleAlerts } from './testing/alerts.ts';
import { TestReceiver } from './testing/receiver.ts';
import { parseSecrets } from './webhook/sign.ts';
import { WEBHOOK_DEFAULTS, WebhookSink } from './webhook/sink.ts';

const total = Number(process.argv[2] ?? 20_000);
const batch = Number(process.argv[3] ?? 100);
const perWrite = Number(process.argv[4] ?? 100);
const secret = 'whsec_' + Buffer.from('benchmark secret 0123456789abcdef').toString('base64');

const rx = await TestReceiver.start({ format: 'ocsf', secret });
const dir = mkdtempSync(join(tmpdir(), 'fnwatch-bench-'));
const metrics = new CountingSinkMetrics();
const sink = await WebhookSink.open(
  { ...WEBHOOK_DEFAULTS, url: rx.url, format: 'ocsf', secrets: parseSecrets(secret, 'bench'), outboxDir: join(dir, 'outbox'), batchMaxAlerts: batch, flushTimeoutMs: 600_000 },
  { log: memoryLogger(), metrics },
);
const alerts = sampleAlerts(total);
const bytes = alerts.reduce((n, a) => n + JSON.stringify(a).length, 0);
const t0 = performance.now();
for (let i = 0; i < total; i += perWrite) await sink.write(alerts.slice(i, i + perWrite));
const tWritten = performance.now();
await sink.flush();
const tDone = performance.now();
await sink.close();
await rx.close();
rmSync(dir, { recursive: true, force: true });

const got = rx.accepted().length;
if (got !== total || rx.problems.length > 0) throw new Error(`delivered ${got}/${total}, problems: ${rx.problems.slice(0, 3).join('; ')}`);
const rate = (n: number, ms: number) => Math.round((n / ms) * 1000).toLocaleString('en-US');
console.log(
  `${total} alerts (${Math.round(bytes / total)} B avg), ${perWrite} per write, batches of ${batch}: ` +
    `durable writes ${rate(total, tWritten - t0)} alerts/s; delivered end to end ${rate(total, tDone - t0)} alerts/s ` +
    `(${(tDone - t0).toFixed(0)} ms, ${rx.requests.length} requests, peak outbox ${(metrics.peakBytes / 2 ** 20).toFixed(1)} MiB)`,
);
