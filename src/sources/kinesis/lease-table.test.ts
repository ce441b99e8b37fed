import { DescribeTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient } from './clients.ts';
import { LeaseManager } from './lease-manager.ts';
import { LeaseLostError, LeaseTable, newLease, SHARD_END } from './lease-table.ts';
import { injectFaults, useFakeAwsEnv } from './testing/aws.ts';
import { startDynalite, type LocalServer } from './testing/servers.ts';

let restoreEnv: () => void;
let server: LocalServer;
let ddb: ReturnType<typeof createDynamoClient>;
let n = 0;
const freshTable = async (): Promise<LeaseTable> => {
  const table = new LeaseTable(ddb, `leases-${++n}`, server.endpoint);
  await table.ensure();
  return table;
};

beforeAll(async () => {
  restoreEnv = useFakeAwsEnv();
  server = await startDynalite();
  ddb = createDynamoClient({ endpoint: server.endpoint });
});
afterAll(async () => {
  ddb.destroy();
  await server.stop();
  restoreEnv();
});

describe('LeaseTable on dynalite', () => {
  it('creates the table on demand (PAY_PER_REQUEST) once, keyed by leaseKey', async () => {
    const table = await freshTable();
    await table.ensure();
    const out = await ddb.send(new DescribeTableCommand({ TableName: table.tableName }));
    expect(out.Table?.KeySchema).toEqual([{ AttributeName: 'leaseKey', KeyType: 'HASH' }]);
    expect(out.Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
  });

  it('creates a lease only once and stores it with KCL attribute names', async () => {
    const table = await freshTable();
    const lease = newLease('shardId-000000000002', 'TRIM_HORIZON', ['shardId-000000000000'], { startingHashKey: '0', endingHashKey: '99' });
    expect(await table.create(lease)).toBe(true);
    expect(await table.create({ ...lease, checkpoint: 'LATEST' })).toBe(false);
    const raw = await ddb.send(new GetItemCommand({ TableName: table.tableName, Key: { leaseKey: { S: lease.leaseKey } }, ConsistentRead: true }));
    expect(raw.Item).toEqual({
      leaseKey: { S: 'shardId-000000000002' },
      leaseCounter: { N: '0' },
      checkpoint: { S: 'TRIM_HORIZON' },
      checkpointSubSequenceNumber: { N: '0' },
      ownerSwitchesSinceCheckpoint: { N: '0' },
      parentShardId: { SS: ['shardId-000000000000'] },
      startingHashKey: { S: '0' },
      endingHashKey: { S: '99' },
    });
  });

  it('bumps the counter on every write and refuses writes at a stale counter or by another owner', async () => {
    const table = await freshTable();
    await table.create(newLease('s0', 'TRIM_HORIZON'));
    const [fresh] = await table.list();
    const mine = await table.take(fresh!, 'w1');
    expect(mine).toMatchObject({ leaseOwner: 'w1', leaseCounter: 1, ownerSwitchesSinceCheckpoint: 0 });
    const renewed = await table.renew(mine, 'w1');
    expect(renewed.leaseCounter).toBe(2);
    await expect(table.renew(mine, 'w1')).rejects.toThrow(LeaseLostError);
    await expect(table.renew(renewed, 'w2')).rejects.toThrow(LeaseLostError);
    const cp = await table.checkpoint(renewed, 'w1', '12345');
    expect(cp).toMatchObject({ checkpoint: '12345', leaseCounter: 3, leaseOwner: 'w1' });
    await expect(table.checkpoint(renewed, 'w1', '99999')).rejects.toThrow(LeaseLostError);

    const stolen = await table.take(cp, 'w2');
    expect(stolen).toMatchObject({ leaseOwner: 'w2', leaseCounter: 4, ownerSwitchesSinceCheckpoint: 1, checkpoint: '12345' });
    await expect(table.checkpoint(cp, 'w1', '99999')).rejects.toThrow(LeaseLostError);
    expect((await table.get('s0'))?.checkpoint).toBe('12345');

    const released = await table.release(stolen, 'w2');
    expect(released.leaseOwner).toBeUndefined();
    expect(released.leaseCounter).toBe(5);
    const end = await table.checkpoint(await table.take(released, 'w1'), 'w1', SHARD_END, { childShardIds: ['s1', 's2'], release: true });
    expect(end).toMatchObject({ checkpoint: SHARD_END, childShardIds: ['s1', 's2'] });
    expect(end.leaseOwner).toBeUndefined();
    await expect(table.renew(newLease('missing', 'x'), 'w1')).rejects.toThrow(LeaseLostError);
  });

  it('lets exactly one of 20 concurrent takers win', async () => {
    const table = await freshTable();
    await table.create(newLease('s0', 'TRIM_HORIZON'));
    const [seen] = await table.list();
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => table.take(seen!, `w${i}`)));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof LeaseLostError)).toHaveLength(19);
    expect((await table.get('s0'))?.leaseOwner).toBe((won[0] as PromiseFulfilledResult<{ leaseOwner: string }>).value.leaseOwner);
  });

  it('lists more leases than one scan page holds', async () => {
    const table = await freshTable();
    const pad = 'x'.repeat(30_000);
    for (let i = 0; i < 40; i++) await table.create(newLease(`shard-${i}`, 'TRIM_HORIZON', [], { startingHashKey: pad, endingHashKey: String(i) }));
    const client = createDynamoClient({ endpoint: server.endpoint });
    const calls = injectFaults(client);
    const leases = await new LeaseTable(client, table.tableName).list();
    client.destroy();
    expect(new Set(leases.map((l) => l.leaseKey)).size).toBe(40);
    expect(calls.filter((c) => c.operation === 'Scan').length).toBeGreaterThan(1);
  });
});

describe('LeaseManager on dynalite', () => {
  it('renews held leases, and a worker whose lease was taken stops checkpointing it (zombie)', async () => {
    const table = await freshTable();
    await table.create(newLease('s0', 'TRIM_HORIZON'));
    const lost: string[] = [];
    const acquired: string[] = [];
    const failed: unknown[] = [];
    const a = new LeaseManager(table, { workerId: 'a', failoverMs: 600 }, {
      acquired: (l) => acquired.push(l.leaseKey),
      lost: (k) => lost.push(k),
      failed: (e) => failed.push(e),
    });
    a.start();
    await expect.poll(() => acquired, { timeout: 5000 }).toEqual(['s0']);
    expect(await a.checkpoint('s0', '100')).toBe(true);
    const before = (await table.get('s0'))!.leaseCounter;
    await new Promise((r) => setTimeout(r, 700));
    expect((await table.get('s0'))!.leaseCounter).toBeGreaterThan(before);

    // Another worker takes it at the counter it reads.
    await table.take((await table.get('s0'))!, 'b');
    expect(await a.checkpoint('s0', '200')).toBe(false);
    expect(lost).toEqual(['s0']);
    expect(a.heldKeys()).toEqual([]);
    const now = (await table.get('s0'))!;
    expect(now).toMatchObject({ leaseOwner: 'b', checkpoint: '100' });
    a.stopRenewing();
    expect(failed).toEqual([]);
  });

  it('takes an abandoned lease only after the failover time', async () => {
    const table = await freshTable();
    await table.create(newLease('s0', 'TRIM_HORIZON'));
    await table.take((await table.get('s0'))!, 'crashed');
    let acquiredAt = 0;
    const started = performance.now();
    const b = new LeaseManager(table, { workerId: 'b', failoverMs: 800, takeIntervalMs: 100 }, {
      acquired: () => (acquiredAt = performance.now()),
      lost: () => {},
      failed: () => {},
    });
    b.start();
    await expect.poll(() => acquiredAt, { timeout: 5000, interval: 50 }).toBeGreaterThan(0);
    b.stopRenewing();
    expect(acquiredAt - started).toBeGreaterThanOrEqual(800);
    expect((await table.get('s0'))).toMatchObject({ leaseOwner: 'b', ownerSwitchesSinceCheckpoint: 1 });
  });
});
