import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../core/contracts.ts';
import { createParser, type ParserOptions } from './index.ts';
import { RecordingSink } from './test-sink.ts';

const fixtureLines = (name: string) =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l !== '');

const networkMap = {
  eni: { 'eni-0a1b2c3d4e5f60718': ['orders-api', 'billing-worker'] },
  ip: { '10.0.1.25': ['orders-api', 'billing-worker'] },
};

function feed(group: string, messages: string[], opts: ParserOptions, owner = '123456789012'): RecordingSink {
  const parser = createParser({ region: 'us-east-1', ...opts });
  const sink = new RecordingSink();
  messages.forEach((message, i) => {
    parser.logEvent({ logGroup: group, logStream: 'eni-0a1b2c3d4e5f60718-all', owner, id: `${group}-${i}`, timestamp: 1_704_103_290_000, message }, { line: i + 1 }, sink);
    sink.endInput();
  });
  return sink;
}

describe('VPC flow logs (default v2 format)', () => {
  const sink = feed('/vpc/flow-logs', fixtureLines('flow-logs-v2.txt'), { flowLogGroups: ['/vpc/flow-logs'], networkMap });

  it('emits one egress event per mapped function for outbound ACCEPT and REJECT records', () => {
    const egress = sink.ofKind('egress');
    expect(egress.map((e) => [e.fn.name, e.host, e.port, e.protocol, e.bytes])).toEqual([
      ['orders-api', '52.94.133.131', 443, 'tcp', 4920],
      ['billing-worker', '52.94.133.131', 443, 'tcp', 4920],
      ['orders-api', '185.199.108.153', 22, 'tcp', 180],
      ['billing-worker', '185.199.108.153', 22, 'tcp', 180],
      ['orders-api', '10.0.0.2', 53, 'udp', 140],
      ['billing-worker', '10.0.0.2', 53, 'udp', 140],
    ]);
    expect(egress[0]).toMatchObject({ via: 'flow', time: 1_704_103_200_000, fn: { account: '123456789012', region: 'us-east-1' } });
  });

  it('skips the reply leg, NODATA/SKIPDATA and unmapped interfaces, each with a reason', () => {
    expect(sink.ignoredReasons).toEqual(['flow-inbound', 'flow-nodata', 'flow-skipdata', 'egress-unattributed']);
    expect(sink.misaccounted()).toEqual([]);
  });

  it('recognises the reply leg of a high-port connection from the ENI’s learned address', () => {
    const s = feed(
      '/vpc/flow-logs',
      [
        '2 123456789012 eni-0a1b2c3d4e5f60718 10.0.1.25 52.94.133.131 49152 443 6 12 4920 1704103200 1704103260 ACCEPT OK',
        '2 123456789012 eni-0a1b2c3d4e5f60718 10.0.1.25 172.16.5.9 49153 5432 6 12 4920 1704103200 1704103260 ACCEPT OK',
        '2 123456789012 eni-0a1b2c3d4e5f60718 172.16.5.9 10.0.1.25 5432 49153 6 12 4920 1704103200 1704103260 ACCEPT OK',
      ],
      { flowLogGroups: ['/vpc/flow-logs'], networkMap: { eni: networkMap.eni } },
    );
    expect(s.ofKind('egress').map((e) => `${e.host}:${e.port}`)).toEqual(['52.94.133.131:443', '52.94.133.131:443', '172.16.5.9:5432', '172.16.5.9:5432']);
    expect(s.ignoredReasons).toEqual(['flow-inbound']);
  });

  it('detects flow-log lines by content in an unconfigured group', () => {
    const s = feed('/some/group', fixtureLines('flow-logs-v2.txt').slice(0, 1), { networkMap });
    expect(s.ofKind('egress')).toHaveLength(2);
  });

  it('dead-letters malformed flow records in a flow-log group', () => {
    const s = feed('/vpc/flow-logs', ['2 123456789012 eni-1 10.0.1.25', '2 123456789012 eni-0a1b2c3d4e5f60718 10.0.1.25 1.2.3.4 40000 443 6 1 1 1 1 MAYBE OK'], { flowLogGroups: ['/vpc/flow-logs'], networkMap });
    expect(s.deadLetters.map((d) => [d.reason, d.position.line])).toEqual([
      ['bad-record', 1],
      ['bad-field', 2],
    ]);
  });
});

describe('VPC flow logs (custom format)', () => {
  const format =
    '${version} ${account-id} ${vpc-id} ${subnet-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${pkt-srcaddr} ${pkt-dstaddr} ${pkt-dst-aws-service} ${flow-direction} ${tcp-flags}';

  it('parses by the declared field list, drops ingress, attributes through pkt-srcaddr behind a NAT', () => {
    const s = feed(
      '/vpc/nat-flow',
      [
        '5 123456789012 vpc-0a1b subnet-0a1b eni-0nat000000000000 10.0.0.7 140.82.112.3 61000 443 6 20 9000 1704103200 1704103260 ACCEPT OK 10.0.1.25 140.82.112.3 - egress 19',
        '5 123456789012 vpc-0a1b subnet-0a1b eni-0nat000000000000 140.82.112.3 10.0.0.7 443 61000 6 20 9000 1704103200 1704103260 ACCEPT OK 140.82.112.3 10.0.1.25 - ingress 19',
      ],
      { flowLogGroups: ['/vpc/nat-flow'], flowLogFormat: format, networkMap: { ip: { '10.0.1.25': ['orders-api'] } } },
    );
    expect(s.ofKind('egress')).toMatchObject([{ fn: { name: 'orders-api' }, host: '140.82.112.3', port: 443, protocol: 'tcp', bytes: 9000 }]);
    expect(s.ignoredReasons).toEqual(['flow-ingress']);
  });

  it('rejects an invalid format as a usage error at construction', () => {
    expect(() => createParser({ flowLogFormat: '${version} ${srcaddr}' })).toThrow(UsageError);
    expect(() => createParser({ flowLogFormat: 'version srcaddr' })).toThrow(/is not of the form/);
  });
});

describe('Route 53 Resolver query logs', () => {
  const lines = fixtureLines('resolver-queries.ndjson');

  it('emits a dns egress per mapped function with the host lower-cased and the root dot stripped', () => {
    const s = feed('/route53/resolver', lines, { resolverLogGroups: ['/route53/resolver'], networkMap });
    expect(s.ofKind('egress').map((e) => [e.fn.name, e.host, e.protocol, e.via, e.time])).toEqual([
      ['orders-api', 'api.stripe.com', 'dns', 'resolver', Date.parse('2024-01-01T10:00:01Z')],
      ['billing-worker', 'api.stripe.com', 'dns', 'resolver', Date.parse('2024-01-01T10:00:01Z')],
      ['orders-api', 'x7f3k2.evil-dga.example', 'dns', 'resolver', Date.parse('2024-01-01T10:00:02Z')],
      ['billing-worker', 'x7f3k2.evil-dga.example', 'dns', 'resolver', Date.parse('2024-01-01T10:00:02Z')],
    ]);
    expect(s.ignoredReasons).toEqual(['egress-unattributed']);
  });

  it('detects resolver records by content and dead-letters broken ones in a resolver group', () => {
    expect(feed('/any', lines.slice(0, 1), { networkMap }).ofKind('egress')).toHaveLength(2);
    const s = feed('/route53/resolver', ['{"query_name":5,"srcaddr":"10.0.1.25"}', 'not json', '[1]'], { resolverLogGroups: ['/route53/resolver'], networkMap });
    expect(s.deadLetters.map((d) => d.reason)).toEqual(['bad-field', 'bad-json', 'bad-record']);
  });
});
