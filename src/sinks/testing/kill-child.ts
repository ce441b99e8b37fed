/**
 * A small fnwatch stand-in for the crash test: writes alerts `--start`…`--count`-1 through the
 * webhook sink with a durable outbox, printing `durable <last seq>` after each write resolves,
 * then flushes and prints `flushed`. The test SIGKILLs it at arbitrary points and restarts it from
 * the first alert not reported durable, as a source would re-deliver unacknowledged input.
 *
 * Run: node --import tsx src/sinks/testing/kill-child.ts --url URL --outbox DIR --secret-file FILE
 *        [--count 200] [--start 0] [--chunk 3] [--batch 5] [--write-delay-ms 0]
 */
import { parseArgs } from 'node:util';
import { memoryLogger } from '../log.ts';
import { sleep } from '../outbox/sync.ts';
import { loadSecrets } from '../webhook/sign.ts';
import { WEBHOOK_DEFAULTS, WebhookSink } from '../webhook/sink.ts';
import { sampleAlerts } from './alerts.ts';

const { values: a } = parseArgs({
  options: {
    url: { type: 'string' },
    outbox: { type: 'string' },
    'secret-file': { type: 'string' },
    count: { type: 'string', default: '200' },
    start: { type: 'string', default: '0' },
    chunk: { type: 'string', default: '3' },
    batch: { type: 'string', default: '5' },
    'write-delay-ms': { type: 'string', default: '0' },
  },
});

const count = Number(a.count);
const chunk = Number(a.chunk);
const delay = Number(a['write-delay-ms']);
const sink = await WebhookSink.open(
  {
    ...WEBHOOK_DEFAULTS,
    url: a.url!,
    format: 'ocsf',
    secrets: loadSecrets({ file: a['secret-file'] }),
    outboxDir: a.outbox!,
    batchMaxAlerts: Number(a.batch),
    backoffBaseMs: 10,
    backoffCapMs: 100,
    flushTimeoutMs: 60_000,
  },
  { log: memoryLogger() },
);
for (let i = Number(a.start); i < count; i += chunk) {
  const n = Math.min(chunk, count - i);
  await sink.write(sampleAlerts(n, { start: i }));
  process.stdout.write(`durable ${i + n - 1}\n`);
  if (delay) await sleep(delay);
}
await sink.flush();
await sink.close();
process.stdout.write(`flushed ${sink.pending}\n`);
