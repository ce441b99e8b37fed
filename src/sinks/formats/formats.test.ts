import { describe, expect, it } from 'vitest';
import type { Alert } from '../../core/alert.ts';
import { sampleAlert, sampleAlerts } from '../testing/alerts.ts';
import { decodeBatch, encodeBatch, validatorFor } from './index.ts';
import { toEcs, unqualifiedArn, validateEcs } from './ecs.ts';
import { validateOcsf } from './ocsf.ts';
import { parseHecBatch, toSplunkHec, validateSplunkHec } from './splunk-hec.ts';

const egress = sampleAlert(4, { kind: 'new-egress-host' });

describe('OCSF', () => {
  it('accepts a finding with every required field', () => {
    for (const a of sampleAlerts(7)) expect(validateOcsf(a)).toEqual([]);
  });

  it('names each missing or inconsistent required field', () => {
    const a = structuredClone(sampleAlert(1)) as unknown as Record<string, any>;
    a.type_uid = 200402;
    delete a.time;
    delete a.metadata.version;
    a.finding_info.uid = '';
    expect(validateOcsf(a)).toEqual([
      'type_uid must be class_uid * 100 + activity_id',
      'time must be a number (epoch ms)',
      'metadata.version is required',
      'finding_info.uid is required',
    ]);
    expect(validateOcsf([])).toEqual(['not a JSON object']);
    expect(validateOcsf({ ...sampleAlert(1), severity_id: 9 })).toEqual(['severity_id must be one of 0-6, 99']);
  });
});

describe('Splunk HEC', () => {
  it('wraps the finding in an event envelope with seconds, host, source and flat fields', () => {
    const a = sampleAlert(1);
    const e = toSplunkHec(a, { index: 'security' });
    expect(e).toEqual({
      time: a.time / 1000,
      host: '123456789012/eu-west-1',
      source: 'fnwatch:cost-ramp',
      sourcetype: 'ocsf:detection_finding',
      index: 'security',
      event: a,
      fields: { function: 'fn-1', severity: 'high', kind: 'cost-ramp' },
    });
    expect(validateSplunkHec(e)).toEqual([]);
  });

  it('uses - for an unknown account and region', () => {
    const a: Alert = { ...sampleAlert(0), resources: [{ type: 'AWS::Lambda::Function', name: 'f' }], metadata: { version: '1.5.0', product: { name: 'fnwatch', vendor_name: 'x' } } };
    expect(toSplunkHec(a).host).toBe('-/-');
  });

  it('batches as concatenated objects, which the batch parser splits even with braces inside strings', () => {
    const alerts = sampleAlerts(3);
    alerts[1]!.finding_info.desc = 'tricky } { "quoted" \\ desc';
    const { body, contentType } = encodeBatch('splunk-hec', alerts.map((a) => Buffer.from(JSON.stringify(a))));
    const text = body.toString();
    expect(contentType).toBe('application/json');
    expect(text.startsWith('{"time":')).toBe(true);
    expect(text).toContain('}{"time":');
    expect(text.trimStart().startsWith('[')).toBe(false);
    const docs = parseHecBatch(text);
    expect(docs).toHaveLength(3);
    expect((docs[1] as any).event.finding_info.desc).toBe('tricky } { "quoted" \\ desc');
    for (const d of docs) expect(validateSplunkHec(d)).toEqual([]);
  });

  it('rejects malformed batches and envelopes', () => {
    expect(() => parseHecBatch('[{"event":1}]')).toThrow(/unexpected character "\["/);
    expect(() => parseHecBatch('{"event":1}{"ev')).toThrow(/truncated/);
    const e = toSplunkHec(sampleAlert(0)) as unknown as Record<string, any>;
    expect(validateSplunkHec({ ...e, time: sampleAlert(0).time })).toContain('time must be epoch seconds');
    expect(validateSplunkHec({ ...e, fields: { ...e.fields, severity: 4 } })).toContain('fields.severity must be a string or an array of strings');
    expect(validateSplunkHec({ ...e, event: undefined })).toContain('event is required');
  });
});

describe('Elastic ECS', () => {
  it('maps the finding to an external alert with rule, cloud and faas fields', () => {
    const a = sampleAlert(3);
    a.resources[0]!.uid += ':7'; // a qualified ARN
    const d = toEcs(a);
    expect(d).toMatchObject({
      '@timestamp': new Date(a.time).toISOString(),
      message: a.message,
      event: {
        kind: 'alert',
        category: ['intrusion_detection'],
        type: ['info'],
        severity: 4,
        risk_score: 73,
        dataset: 'fnwatch.finding',
        id: a.finding_info.uid,
        start: new Date(a.start_time!).toISOString(),
        end: new Date(a.end_time!).toISOString(),
      },
      rule: { id: 'duration-anomaly', name: 'Sample duration-anomaly', ruleset: 'fnwatch', version: '1' },
      cloud: { provider: 'aws', account: { id: '123456789012' }, region: 'eu-west-1' },
      faas: { id: 'arn:aws:lambda:eu-west-1:123456789012:function:fn-3', name: 'fn-3', version: '1' },
      tags: ['fnwatch', 'duration-anomaly', 'high'],
      labels: { fnwatch_finding_uid: a.finding_info.uid, fnwatch_kind: 'duration-anomaly', fnwatch_activity_id: '1' },
    });
    expect(d.destination).toBeUndefined();
    expect(validateEcs(d)).toEqual([]);
  });

  it('puts the egress destination in destination.* (domain or IP)', () => {
    expect(toEcs(egress)).toMatchObject({ event: { category: ['network'], type: ['connection'] }, destination: { domain: 'c2-4.example.net', port: 443 }, related: { hosts: ['c2-4.example.net'] } });
    const byIp = structuredClone(egress);
    byIp.evidences = [{ dst_endpoint: { hostname: '203.0.113.9', port: 8333 } }];
    expect(toEcs(byIp).destination).toEqual({ ip: '203.0.113.9', port: 8333 });
    expect(validateEcs(toEcs(byIp))).toEqual([]);
  });

  it('strips only a version or alias suffix from faas.id', () => {
    expect(unqualifiedArn('arn:aws:lambda:us-east-1:123456789012:function:f:prod')).toBe('arn:aws:lambda:us-east-1:123456789012:function:f');
    expect(unqualifiedArn('arn:aws:lambda:us-east-1:123456789012:function:f')).toBe('arn:aws:lambda:us-east-1:123456789012:function:f');
  });

  it('names what is missing', () => {
    const d = toEcs(egress) as Record<string, any>;
    delete d.destination;
    d.event.kind = 'signal';
    d.faas.id = 'arn:aws:lambda:eu-west-1:123456789012:function:fn-4:3';
    expect(validateEcs(d)).toEqual([
      "event.kind must be 'alert'",
      'faas.id must be a function ARN without a version or alias',
      'destination.domain or destination.ip is required on egress alerts',
    ]);
  });
});

describe('encodeBatch', () => {
  it('sends OCSF as the stored bytes, one per line, and every format round-trips through its validator', () => {
    const alerts = sampleAlerts(5);
    const stored = alerts.map((a) => Buffer.from(JSON.stringify(a)));
    const ocsf = encodeBatch('ocsf', stored);
    expect(ocsf.body.toString()).toBe(stored.map((b) => b.toString() + '\n').join(''));
    expect(ocsf.contentType).toBe('application/x-ndjson');
    for (const format of ['ocsf', 'splunk-hec', 'ecs'] as const) {
      const docs = decodeBatch(format, encodeBatch(format, stored, { splunkIndex: 'main' }).body.toString());
      expect(docs).toHaveLength(5);
      for (const d of docs) expect(validatorFor(format)(d)).toEqual([]);
    }
  });
});
