import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../core/contracts.ts';
import { loadServiceConfig, parseServiceConfig, parseServiceConfigText } from './config.ts';

const dir = mkdtempSync(join(tmpdir(), 'fnwatch-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const errorOf = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
};

describe('service config', () => {
  it('fills defaults and freezes the result', () => {
    const c = parseServiceConfigText('sources:\n  - type: kinesis\n    streamName: logs\n    applicationName: fnwatch-prod\n', 'c.yaml');
    expect(c.sources[0]).toMatchObject({ type: 'kinesis', initialPosition: 'TRIM_HORIZON', efo: false, pollInterval: 200, idleInterval: 1000, failover: 10_000 });
    expect(c.sinks).toEqual([{ type: 'stdout', format: 'text' }]);
    expect(c.http).toEqual({ host: '127.0.0.1', port: 9464, enabled: true });
    expect(c.log.level).toBe('info');
    expect(c.state).toBeUndefined();
    expect(Object.isFrozen(c.sources[0])).toBe(true);
  });

  it('reads durations, AT_TIMESTAMP positions, EFO and live tail sources', () => {
    const c = parseServiceConfig({
      sources: [
        { type: 'kinesis', streamName: 's', applicationName: 'app', efo: true, consumerName: 'c', pollInterval: '500ms', initialPosition: '2026-01-05T00:00:00Z', checkpointInterval: 1500 },
        { type: 'cloudwatch-logs', logGroups: ['/aws/lambda/orders'], filterPattern: 'REPORT' },
      ],
      state: { dir: '/var/lib/fnwatch', snapshotInterval: '2m' },
    });
    expect(c.sources[0]).toMatchObject({ efo: true, pollInterval: 500, initialPosition: { timestamp: Date.UTC(2026, 0, 5) }, checkpointInterval: 1500 });
    expect(c.sources[1]).toMatchObject({ type: 'cloudwatch-logs', logGroups: ['/aws/lambda/orders'] });
    expect(c.state).toEqual({ dir: '/var/lib/fnwatch', snapshotInterval: 120_000 });
  });

  it('names the file, line, column and field of each problem, and rejects unknown keys', () => {
    const text = ['sources:', '  - type: kinesis', '    applicationName: app', '    pollInterval: soon', '    streamname: typo', 'sinks:', '  - type: file', 'metrics: {}', ''].join('\n');
    const msg = errorOf(() => parseServiceConfigText(text, 'config.yaml'));
    expect(msg).toContain('config.yaml:2:5: sources[0].streamName: Required');
    expect(msg).toContain('config.yaml:4:19: sources[0].pollInterval: "soon" is not a duration');
    expect(msg).toContain('config.yaml:2:5: sources[0]: unknown key "streamname"');
    expect(msg).toContain('config.yaml:7:5: sinks[0].path: Required');
    expect(msg).toContain('config.yaml:1:1: (top level): unknown key "metrics"');
    expect(msg.includes('\n')).toBe(false);
  });

  it('explains wrong types, unknown source types, bad regions, endpoints and positions', () => {
    expect(errorOf(() => parseServiceConfig({ sources: [{ type: 'kafka' }] }))).toBe('config: sources[0].type: type must be one of kinesis, cloudwatch-logs');
    expect(errorOf(() => parseServiceConfig({ sources: [] }))).toContain('sources: configure at least one source');
    expect(errorOf(() => parseServiceConfig({}))).toContain('sources: Required');
    const bad = errorOf(() =>
      parseServiceConfig({ sources: [{ type: 'kinesis', streamName: 's', applicationName: 'ab', region: 'mars', endpoint: 'ftp://x', initialPosition: 'YESTERDAY' }], http: { port: 70000 } }),
    );
    expect(bad).toContain('sources[0].applicationName: must be a DynamoDB table name');
    expect(bad).toContain('sources[0].region: must be an AWS region');
    expect(bad).toContain('sources[0].endpoint: must be an http:// or https:// URL');
    expect(bad).toContain('sources[0].initialPosition: must be TRIM_HORIZON, LATEST or an ISO-8601 time');
    expect(bad).toContain('http.port:');
    expect(errorOf(() => parseServiceConfigText('sources: [', 'c.yaml'))).toMatch(/^c\.yaml:1:\d+: /);
    expect(errorOf(() => parseServiceConfigText('- a\n- b\n', 'c.yaml'))).toBe('c.yaml: the config must be a mapping (sources, sinks, state, …)');
  });

  it('reads workers (default 1) and names the field when it is not a positive integer', () => {
    const base = 'sources:\n  - type: kinesis\n    streamName: logs\n    applicationName: fnwatch-prod\n';
    expect(parseServiceConfigText(base, 'c.yaml').workers).toBe(1);
    expect(parseServiceConfigText(`${base}workers: 2\n`, 'c.yaml').workers).toBe(2);
    expect(errorOf(() => parseServiceConfigText(`${base}workers: 0\n`, 'c.yaml'))).toMatch(/^c\.yaml:5:10: workers: .*>=1/);
    expect(errorOf(() => parseServiceConfigText(`${base}workers: 1.5\n`, 'c.yaml'))).toMatch(/^c\.yaml:5:10: workers: .*expected int/);
    expect(errorOf(() => parseServiceConfigText(`${base}workers: two\n`, 'c.yaml'))).toMatch(/^c\.yaml:5:10: workers: .*expected number/);
    expect(errorOf(() => parseServiceConfigText(`${base}workers: 65\n`, 'c.yaml'))).toMatch(/^c\.yaml:5:10: workers: .*<=64/);
  });

  it('reads state as a directory or an s3:// prefix, exactly one of them, naming the field otherwise', () => {
    const base = 'sources:\n  - type: kinesis\n    streamName: logs\n    applicationName: fnwatch-prod\n';
    expect(parseServiceConfigText(`${base}state:\n  s3: s3://fnwatch-state/prod/\n  snapshotInterval: 1m\n`, 'c.yaml').state).toEqual({ s3: 's3://fnwatch-state/prod/', snapshotInterval: 60_000 });
    expect(parseServiceConfigText(`${base}state:\n  dir: /var/lib/fnwatch\n`, 'c.yaml').state).toEqual({ dir: '/var/lib/fnwatch', snapshotInterval: 300_000 });
    expect(errorOf(() => parseServiceConfigText(`${base}state:\n  dir: /var/lib/fnwatch\n  s3: s3://fnwatch-state/prod\n`, 'c.yaml'))).toBe(
      'c.yaml:7:7: state.s3: set state.dir or state.s3, not both',
    );
    expect(errorOf(() => parseServiceConfigText(`${base}state:\n  snapshotInterval: 1m\n`, 'c.yaml'))).toBe(
      'c.yaml:6:3: state: set state.dir (a directory) or state.s3 (an s3://bucket/prefix URL)',
    );
    expect(errorOf(() => parseServiceConfigText(`${base}state:\n  s3: https://fnwatch-state.s3.amazonaws.com/prod\n`, 'c.yaml'))).toMatch(
      /^c\.yaml:6:7: state\.s3: must be an s3:\/\/bucket\/prefix URL/,
    );
    expect(errorOf(() => parseServiceConfigText(`${base}state:\n  s3: s3://Fnwatch_State/prod\n`, 'c.yaml'))).toMatch(/^c\.yaml:6:7: state\.s3: "Fnwatch_State" is not an S3 bucket name/);
    expect(errorOf(() => parseServiceConfig({ sources: [{ type: 'kinesis', streamName: 's', applicationName: 'app' }], state: { s3: 's3://b/p', bucket: 'b' } }))).toContain(
      'state: unknown key "bucket"',
    );
  });

  it('validates the sinks with the sinks schema', () => {
    const msg = errorOf(() => parseServiceConfig({ sources: [{ type: 'kinesis', streamName: 's', applicationName: 'app' }], sinks: [{ type: 'webhook', url: 'https://x.example', outboxDir: '/o', colour: 'red' }] }));
    expect(msg).toContain('sinks[0]: unknown key "colour"');
  });

  it('loads JSON files with positions, and names a missing file', () => {
    const path = join(dir, 'c.json');
    writeFileSync(path, '{\n  "sources": [\n    { "type": "kinesis", "streamName": "s", "applicationName": "app", "efo": "yes" }\n  ]\n}\n');
    expect(errorOf(() => loadServiceConfig(path))).toBe(`${path}:3:78: sources[0].efo: Invalid input: expected boolean, received string`);
    expect(errorOf(() => loadServiceConfig(join(dir, 'none.yaml')))).toBe(`cannot read config ${join(dir, 'none.yaml')}: ENOENT`);
  });
});
