import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../core/contracts.ts';
import { CollectSink } from './collect.ts';
import { createSink, createSinks, parseSinksConfig } from './config.ts';
import { FanoutSink } from './fanout.ts';
import { memoryLogger } from './log.ts';
import { promSinkMetrics } from './metrics.ts';
import { sampleAlerts } from './testing/alerts.ts';
import { TestReceiver } from './testing/receiver.ts';
import { WebhookSink } from './webhook/sink.ts';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fnwatch-config-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

describe('parseSinksConfig', () => {
  it('fills in defaults and freezes the result', () => {
    const [w, f, s] = parseSinksConfig([
      { type: 'webhook', url: 'https://siem.example/hook', outboxDir: '/var/lib/fnwatch/outbox', secretEnv: 'S' },
      { type: 'file', path: '/var/log/fnwatch/alerts.ndjson' },
      { type: 'stdout' },
    ]);
    expect(w).toMatchObject({ format: 'ocsf', onFull: 'block', maxOutboxBytes: 256 * 2 ** 20, batchMaxAlerts: 100, timeoutMs: 30_000, connectTimeoutMs: 5_000, maxRejectedAttempts: 3, insecureSkipVerify: false });
    expect(f).toEqual({ type: 'file', path: '/var/log/fnwatch/alerts.ndjson', maxBytes: 100 * 2 ** 20, keep: 5, truncate: false });
    expect(s).toEqual({ type: 'stdout', format: 'text' });
    expect(Object.isFrozen(w)).toBe(true);
  });

  it('rejects unknown keys and bad values with one line naming each field', () => {
    const err = (raw: unknown) => {
      try {
        parseSinksConfig(raw);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(err([{ type: 'webhook', url: 'ftp://x', outboxDir: 'o', retries: 3 }])).toBe('sinks[0].url: must be an http:// or https:// URL; sinks[0]: unknown key "retries"');
    expect(err([{ type: 'stdout' }, { type: 'kafka' }])).toBe('sinks[1].type: must be one of webhook, file, stdout, collect');
    expect(err([{ type: 'webhook', url: 'http://x', format: 'splunk-hec', outboxDir: 'o', insecureSkipVerify: true }])).toBe(
      'sinks[0].splunkTokenEnv: format splunk-hec needs splunkTokenEnv or splunkTokenFile; sinks[0].insecureSkipVerify: only applies to https:// URLs',
    );
    expect(err([{ type: 'webhook', url: 'http://x', outboxDir: 'o', secretEnv: 'A', secretFile: 'b', backoffBaseMs: 10, backoffCapMs: 5 }])).toBe(
      'sinks[0].secretFile: give secretEnv or secretFile, not both; sinks[0].backoffCapMs: must be at least backoffBaseMs',
    );
    expect(err([{ type: 'webhook', url: 'http://x', outboxDir: 'o', onFull: 'drop-newest' }])).toMatch(/^sinks\[0\]\.onFull: /);
    expect(err([{ type: 'file', path: 'a', keep: 0 }])).toMatch(/^sinks\[0\]\.keep: /);
    expect(err([])).toBe('sinks: configure at least one sink');
  });
});

describe('createSink', () => {
  it('builds a webhook sink whose secret comes from the environment, reporting to a prom-client registry', async () => {
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const rx = await TestReceiver.start({ format: 'ecs', secret });
    cleanup.push(() => rx.close());
    const registry = new Registry();
    const [config] = parseSinksConfig([{ type: 'webhook', name: 'siem', url: rx.url, format: 'ecs', outboxDir: tempDir(), secretEnv: 'MY_SECRET' }]);
    const sink = await createSink(config!, { env: { MY_SECRET: secret }, log: memoryLogger(), metrics: (name) => promSinkMetrics(registry, name) });
    cleanup.push(() => sink.close());
    expect(sink).toBeInstanceOf(WebhookSink);
    await sink.write(sampleAlerts(3));
    await sink.flush();
    expect(rx.problems).toEqual([]);
    expect(rx.accepted()).toHaveLength(3);
    const text = await registry.metrics();
    expect(text).toContain('fnwatch_sink_queued_total{sink="siem"} 3');
    expect(text).toContain('fnwatch_sink_delivered_total{sink="siem"} 3');
    expect(text).toContain('fnwatch_sink_outbox_cap_bytes{sink="siem"} 268435456');
  });

  it('refuses a missing secret variable without opening anything', async () => {
    const dir = join(tempDir(), 'outbox');
    const [config] = parseSinksConfig([{ type: 'webhook', url: 'http://127.0.0.1:9/x', outboxDir: dir, secretEnv: 'NOT_SET_ANYWHERE' }]);
    await expect(createSink(config!, { env: {} })).rejects.toThrow('environment variable NOT_SET_ANYWHERE (the webhook secret) is not set');
  });

  it('combines several sinks into a fanout', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const sink = await createSinks(parseSinksConfig([{ type: 'stdout', format: 'ndjson' }, { type: 'collect' }]), { stdout: out });
    expect(sink).toBeInstanceOf(FanoutSink);
    await sink.write(sampleAlerts(2));
    expect(text.trimEnd().split('\n')).toHaveLength(2);
    expect(((sink as FanoutSink).sinks[1] as CollectSink).alerts).toHaveLength(2);
    expect(await createSinks(parseSinksConfig([{ type: 'collect' }]))).toBeInstanceOf(CollectSink);
  });
});
