import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../log.ts';
import { CountingSinkMetrics } from '../metrics.ts';
import { sampleAlerts } from '../testing/alerts.ts';
import { TestReceiver } from '../testing/receiver.ts';
import { parseSecrets } from './sign.ts';
import { WEBHOOK_DEFAULTS, WebhookSink, type WebhookSinkOptions } from './sink.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../testing/fixtures/${name}`, import.meta.url));
const tls = { keyFile: fixture('receiver-key.pem'), certFile: fixture('receiver-cert.pem') };
const SECRET = 'whsec_' + Buffer.from('tls test secret 0123456789').toString('base64');

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function deliver(over: Partial<WebhookSinkOptions>) {
  const rx = await TestReceiver.start({ format: 'ocsf', secret: SECRET, tls });
  cleanup.push(() => rx.close());
  const dir = mkdtempSync(join(tmpdir(), 'fnwatch-tls-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const log = memoryLogger();
  const metrics = new CountingSinkMetrics();
  const sink = await WebhookSink.open(
    { ...WEBHOOK_DEFAULTS, url: rx.url, format: 'ocsf', secrets: parseSecrets(SECRET, 't'), outboxDir: dir, backoffBaseMs: 20, backoffCapMs: 50, flushTimeoutMs: 400, ...over },
    { log, metrics },
  );
  cleanup.push(() => sink.close());
  await sink.write(sampleAlerts(3));
  await sink.flush();
  return { rx, log, metrics, sink };
}

describe('webhook over TLS', () => {
  it('verifies the certificate by default: an unknown CA gets nothing delivered, and retries', async () => {
    const { rx, log, metrics, sink } = await deliver({});
    expect(rx.requests).toHaveLength(0);
    expect(metrics.deliveredCount).toBe(0);
    expect(metrics.retriedCount).toBeGreaterThan(0);
    expect(sink.pending).toBe(3);
    expect(log.lines.join('\n')).toMatch(/SELF_SIGNED|self-signed|UNABLE_TO_VERIFY/i);
  });

  it('delivers when the CA file is added to the trusted roots', async () => {
    const { rx, log } = await deliver({ caFile: tls.certFile });
    expect(rx.problems).toEqual([]);
    expect(rx.accepted()).toHaveLength(3);
    expect(log.lines.join('\n')).not.toMatch(/verification is disabled/);
  });

  it('skips verification only when told to, with a warning', async () => {
    const { rx, log } = await deliver({ insecureSkipVerify: true });
    expect(rx.accepted()).toHaveLength(3);
    expect(log.lines[0]).toMatch(/^warn: TLS certificate verification is disabled for https:\/\/127\.0\.0\.1:\d+\/fnwatch \(insecureSkipVerify\)$/);
  });

  it('gives up on a handshake that never completes after connectTimeoutMs, and retries', async () => {
    // Accepts TCP connections and never speaks TLS.
    const sockets: Socket[] = [];
    const silent = createServer((sock) => void sockets.push(sock));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise<void>((r) => (sockets.forEach((s) => s.destroy()), silent.close(() => r()))));
    const url = `https://127.0.0.1:${(silent.address() as AddressInfo).port}/fnwatch`;
    const dir = mkdtempSync(join(tmpdir(), 'fnwatch-tls-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const log = memoryLogger();
    const sink = await WebhookSink.open(
      { ...WEBHOOK_DEFAULTS, url, format: 'ocsf', secrets: parseSecrets(SECRET, 't'), outboxDir: dir, connectTimeoutMs: 100, timeoutMs: 10_000, backoffBaseMs: 10, backoffCapMs: 20, flushTimeoutMs: 350 },
      { log },
    );
    cleanup.push(() => sink.close());
    const t0 = Date.now();
    await sink.write(sampleAlerts(1));
    await sink.flush();
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(sockets.length).toBeGreaterThanOrEqual(2);
    expect(log.lines.join('\n')).toMatch(new RegExp(`connect to https://127\\.0\\.0\\.1:\\d+/fnwatch timed out after 100 ms\\); retry 1`));
    expect(sink.pending).toBe(1);
  });
});
