import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError, type Sink } from '../core/contracts.ts';
import { addSinkOptions, defaultOutboxDir, sinksFromOptions, type SinkCliOptions } from './cli.ts';
import { FanoutSink } from './fanout.ts';
import { FileSink } from './file.ts';
import { memoryLogger } from './log.ts';
import { sampleAlerts } from './testing/alerts.ts';
import { TestReceiver } from './testing/receiver.ts';
import { WebhookSink } from './webhook/sink.ts';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fnwatch-cli-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function parse(args: string[]): SinkCliOptions {
  const cmd = addSinkOptions(new Command('replay').exitOverride().configureOutput({ writeErr: () => {} }));
  cmd.parse(args, { from: 'user' });
  return cmd.opts<SinkCliOptions>();
}

async function open(opts: SinkCliOptions, env: NodeJS.ProcessEnv = {}): Promise<Sink[]> {
  const log = memoryLogger();
  const sinks = await sinksFromOptions(opts, { env, log });
  cleanup.push(() => Promise.all(sinks.map((s) => s.close())).then(() => {}));
  return sinks;
}

describe('addSinkOptions / sinksFromOptions', () => {
  it('gives no sinks without options', async () => {
    expect(await open(parse([]))).toEqual([]);
  });

  it('writes --alerts as NDJSON, replacing the file, and delivers to a Splunk HEC --webhook-url with a token file', async () => {
    const dir = tempDir();
    const alertsPath = join(dir, 'alerts.ndjson');
    writeFileSync(alertsPath, 'old content\n');
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'b0c2d1f4-hec\n');
    const rx = await TestReceiver.start({ format: 'splunk-hec', splunkToken: 'b0c2d1f4-hec' });
    cleanup.push(() => rx.close());
    const opts = parse(['--alerts', alertsPath, '--webhook-url', rx.url, '--webhook-format', 'splunk-hec', '--webhook-token-file', tokenFile, '--outbox', join(dir, 'outbox')]);
    const sinks = await open(opts);
    expect(sinks.map((s) => s.constructor)).toEqual([FileSink, WebhookSink]);
    const fan = new FanoutSink(sinks);
    await fan.write(sampleAlerts(4));
    await fan.flush();
    expect(readFileSync(alertsPath, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l).unmapped.seq)).toEqual([0, 1, 2, 3]);
    expect(rx.problems).toEqual([]);
    expect(rx.accepted()).toHaveLength(4);
  });

  it('signs with $FNWATCH_WEBHOOK_SECRET when no secret file is given', async () => {
    const secret = 'whsec_' + Buffer.from('a test secret of some length').toString('base64');
    const rx = await TestReceiver.start({ format: 'ocsf', secret });
    cleanup.push(() => rx.close());
    const [sink] = await open(parse(['--webhook-url', rx.url, '--outbox', join(tempDir(), 'o')]), { FNWATCH_WEBHOOK_SECRET: secret });
    await sink!.write(sampleAlerts(2));
    await sink!.flush();
    expect(rx.problems).toEqual([]);
    expect(rx.accepted()).toHaveLength(2);
  });

  it('refuses inconsistent options with errors naming the option', async () => {
    await expect(open(parse(['--outbox', '/tmp/x']))).rejects.toThrow('--outbox needs --webhook-url');
    await expect(open(parse(['--webhook-url', 'http://127.0.0.1:9/h', '--webhook-format', 'splunk-hec', '--outbox', join(tempDir(), 'o')]))).rejects.toThrow(
      '--webhook-format splunk-hec needs --webhook-token-file FILE or $FNWATCH_SPLUNK_HEC_TOKEN',
    );
    await expect(open(parse(['--webhook-url', 'http://127.0.0.1:9/h', '--webhook-token-file', 'f', '--outbox', join(tempDir(), 'o')]))).rejects.toThrow(
      '--webhook-token-file applies to --webhook-format splunk-hec only',
    );
    await expect(open(parse(['--webhook-url', 'siem.example/hook', '--outbox', join(tempDir(), 'o')]))).rejects.toThrow(UsageError);
    await expect(open(parse(['--webhook-url', 'ftp://siem.example/hook', '--outbox', join(tempDir(), 'o')]))).rejects.toThrow('--webhook-url: must be an http:// or https:// URL');
    await expect(open(parse(['--webhook-url', 'http://127.0.0.1:9/h', '--webhook-secret-file', '/nonexistent/secret', '--outbox', join(tempDir(), 'o')]))).rejects.toThrow(
      'cannot read the webhook secret file /nonexistent/secret: ENOENT',
    );
    expect(() => parse(['--webhook-format', 'json'])).toThrow(/Allowed choices are ocsf, splunk-hec, ecs/);
  });

  it('keeps one default outbox per endpoint under the XDG state directory', () => {
    const a = defaultOutboxDir('https://siem.example/hook', { XDG_STATE_HOME: '/state' });
    expect(a).toMatch(/^\/state\/fnwatch\/outbox\/siem\.example-[0-9a-f]{12}$/);
    expect(defaultOutboxDir('https://siem.example/other', { XDG_STATE_HOME: '/state' })).not.toBe(a);
    expect(defaultOutboxDir('https://siem.example/hook', { HOME: '/home/ana' })).toMatch(/^\/home\/ana\/\.local\/state\/fnwatch\/outbox\//);
  });
});
