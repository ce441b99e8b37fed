/**
 * Shard leases and checkpoints in DynamoDB, in the KCL lease-table model: one table per application
 * (the table name is the application name), one item per shard, and every write conditional on
 * `leaseCounter`, which every write also bumps. A failed condition means another worker changed the
 * lease: the caller has lost it and must stop the shard without checkpointing.
 *
 * Attribute names follow KCL's DynamoDBLeaseSerializer so that a table stays readable by both:
 * `leaseKey`, `leaseOwner`, `leaseCounter`, `checkpoint`, `checkpointSubSequenceNumber`,
 * `ownerSwitchesSinceCheckpoint`, `parentShardId` (string set), `childShardIds` (string set),
 * `startingHashKey`, `endingHashKey`.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { FnwatchError } from '../../core/contracts.ts';
import { awsErrorName, isConditionFailed, leaseTableError, withTimeout } from './errors.ts';

/**
 * Checkpoint sentinel: the shard is closed and every record in it was processed.
 *
 * @example
 * if (lease.checkpoint === SHARD_END) return; // nothing left to read
 */
export const SHARD_END = 'SHARD_END';

/** One shard lease as stored. */
export interface Lease {
  leaseKey: string;
  leaseOwner?: string;
  leaseCounter: number;
  /** A sequence number, or `TRIM_HORIZON` / `LATEST` / `AT_TIMESTAMP` / `SHARD_END` */
  checkpoint: string;
  checkpointSubSequenceNumber: number;
  ownerSwitchesSinceCheckpoint: number;
  parentShardIds: string[];
  childShardIds: string[];
  startingHashKey?: string;
  endingHashKey?: string;
}

/**
 * The lease changed under us (taken, stolen or deleted): stop the shard, do not checkpoint.
 *
 * @example
 * try { await table.renew(lease, me); } catch (err) { if (err instanceof LeaseLostError) stopShard(err.leaseKey); }
 */
export class LeaseLostError extends FnwatchError {
  constructor(readonly leaseKey: string, operation: string) {
    super(`lease ${leaseKey} lost (${operation}: the lease counter or owner changed)`, false, 'lease-lost');
    this.name = 'LeaseLostError';
  }
}

/** What a checkpoint write may also change. */
export interface CheckpointExtras {
  /** Record the shard's children (at SHARD_END) */
  childShardIds?: string[];
  /** Give up ownership in the same write (at SHARD_END) */
  release?: boolean;
}

/**
 * @example
 * const table = new LeaseTable(ddb, 'fnwatch-prod', 'AWS DynamoDB in eu-west-1');
 * await table.ensure();
 * await table.create({ ...newLease('shardId-000000000000', 'TRIM_HORIZON') });
 * const mine = await table.take(lease, 'worker-1');
 * const renewed = await table.renew(mine, 'worker-1');
 * await table.checkpoint(renewed, 'worker-1', '4959…');
 */
export class LeaseTable {
  constructor(
    private readonly ddb: DynamoDBClient,
    readonly tableName: string,
    /** Where the table lives, for error messages */
    readonly endpoint: string = 'DynamoDB',
    /** A call without an answer after this long fails as transient */
    private readonly timeoutMs: number = 10_000,
  ) {}

  /** Runs one call with the call time limit. */
  private limited<T>(send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    return withTimeout(this.timeoutMs, undefined, send);
  }

  /** Creates the table (on-demand) when it is absent and waits until it is ACTIVE. */
  async ensure(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let status = await this.status();
    if (status === undefined) {
      try {
        const create = new CreateTableCommand({
          TableName: this.tableName,
          AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        });
        await this.limited((abortSignal) => this.ddb.send(create, { abortSignal }));
      } catch (err) {
        // Another worker created it first.
        if (awsErrorName(err) !== 'ResourceInUseException') throw leaseTableError(err, 'CreateTable', this.tableName, this.endpoint);
      }
      status = await this.status();
    }
    while (status !== 'ACTIVE') {
      if (Date.now() > deadline) {
        throw new FnwatchError(`lease table "${this.tableName}" at ${this.endpoint} is ${status ?? 'missing'} after ${timeoutMs} ms`, true, 'table-not-active');
      }
      await new Promise((r) => setTimeout(r, 100));
      status = await this.status();
    }
  }

  private async status(): Promise<string | undefined> {
    try {
      const describe = new DescribeTableCommand({ TableName: this.tableName });
      const out = await this.limited((abortSignal) => this.ddb.send(describe, { abortSignal }));
      return out.Table?.TableStatus ?? 'UNKNOWN';
    } catch (err) {
      if (awsErrorName(err) === 'ResourceNotFoundException') return undefined;
      throw leaseTableError(err, 'DescribeTable', this.tableName, this.endpoint);
    }
  }

  /** Every lease (consistent read). */
  async list(): Promise<Lease[]> {
    const leases: Lease[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const scan = new ScanCommand({ TableName: this.tableName, ConsistentRead: true, ExclusiveStartKey: start });
      const out = await this.call('Scan', (abortSignal) => this.ddb.send(scan, { abortSignal }));
      for (const item of out.Items ?? []) leases.push(fromItem(item));
      start = out.LastEvaluatedKey;
    } while (start);
    return leases;
  }

  /** One lease (consistent read), or `undefined`. */
  async get(leaseKey: string): Promise<Lease | undefined> {
    const get = new GetItemCommand({ TableName: this.tableName, Key: { leaseKey: { S: leaseKey } }, ConsistentRead: true });
    const out = await this.call('GetItem', (abortSignal) => this.ddb.send(get, { abortSignal }));
    return out.Item ? fromItem(out.Item) : undefined;
  }

  /** Creates a lease unless one exists for the key. Returns false when it already existed. */
  async create(lease: Lease): Promise<boolean> {
    try {
      const put = new PutItemCommand({ TableName: this.tableName, Item: toItem(lease), ConditionExpression: 'attribute_not_exists(leaseKey)' });
      await this.limited((abortSignal) => this.ddb.send(put, { abortSignal }));
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw leaseTableError(err, 'PutItem', this.tableName, this.endpoint);
    }
  }

  /** Heartbeat: bumps the counter if we still own the lease at the counter we last saw. */
  renew(lease: Lease, owner: string): Promise<Lease> {
    return this.update(lease, 'renew', 'SET leaseCounter = leaseCounter + :one', 'leaseOwner = :me AND leaseCounter = :seen', {
      ':me': { S: owner },
    });
  }

  /** Takes an expired, free or stolen lease, if its counter is still the one we saw. */
  take(lease: Lease, owner: string): Promise<Lease> {
    const switches = lease.leaseOwner !== undefined && lease.leaseOwner !== owner;
    return this.update(
      lease,
      'take',
      `SET leaseOwner = :me, leaseCounter = leaseCounter + :one${switches ? ', ownerSwitchesSinceCheckpoint = ownerSwitchesSinceCheckpoint + :one' : ''}`,
      'leaseCounter = :seen',
      { ':me': { S: owner } },
    );
  }

  /** Writes a checkpoint if we still own the lease at the counter we last saw. */
  checkpoint(lease: Lease, owner: string, checkpoint: string, extras: CheckpointExtras = {}): Promise<Lease> {
    const values: Record<string, AttributeValue> = { ':me': { S: owner }, ':cp': { S: checkpoint }, ':zero': { N: '0' } };
    let set = 'SET checkpoint = :cp, checkpointSubSequenceNumber = :zero, ownerSwitchesSinceCheckpoint = :zero, leaseCounter = leaseCounter + :one';
    if (extras.childShardIds && extras.childShardIds.length > 0) {
      set += ', childShardIds = :children';
      values[':children'] = { SS: extras.childShardIds };
    }
    return this.update(lease, 'checkpoint', extras.release ? `${set} REMOVE leaseOwner` : set, 'leaseOwner = :me AND leaseCounter = :seen', values);
  }

  /** Gives the lease up (shutdown): removes the owner and bumps the counter. */
  release(lease: Lease, owner: string): Promise<Lease> {
    return this.update(lease, 'release', 'SET leaseCounter = leaseCounter + :one REMOVE leaseOwner', 'leaseOwner = :me AND leaseCounter = :seen', {
      ':me': { S: owner },
    });
  }

  private async update(lease: Lease, operation: string, expression: string, condition: string, values: Record<string, AttributeValue>): Promise<Lease> {
    try {
      const update = new UpdateItemCommand({
        TableName: this.tableName,
        Key: { leaseKey: { S: lease.leaseKey } },
        UpdateExpression: expression,
        ConditionExpression: `attribute_exists(leaseKey) AND ${condition}`,
        ExpressionAttributeValues: { ...values, ':one': { N: '1' }, ':seen': { N: String(lease.leaseCounter) } },
        ReturnValues: 'ALL_NEW',
      });
      const out = await this.limited((abortSignal) => this.ddb.send(update, { abortSignal }));
      return fromItem(out.Attributes ?? {});
    } catch (err) {
      if (isConditionFailed(err)) throw new LeaseLostError(lease.leaseKey, operation);
      throw leaseTableError(err, `UpdateItem (${operation})`, this.tableName, this.endpoint);
    }
  }

  private async call<T>(operation: string, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await this.limited(send);
    } catch (err) {
      throw leaseTableError(err, operation, this.tableName, this.endpoint);
    }
  }
}

/**
 * A fresh, unowned lease for a shard.
 *
 * @example
 * newLease('shardId-000000000002', 'TRIM_HORIZON', ['shardId-000000000000']);
 */
export function newLease(
  leaseKey: string,
  checkpoint: string,
  parentShardIds: string[] = [],
  hashRange?: { startingHashKey: string; endingHashKey: string },
): Lease {
  return {
    leaseKey,
    leaseCounter: 0,
    checkpoint,
    checkpointSubSequenceNumber: 0,
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds,
    childShardIds: [],
    ...hashRange,
  };
}

function toItem(l: Lease): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    leaseKey: { S: l.leaseKey },
    leaseCounter: { N: String(l.leaseCounter) },
    checkpoint: { S: l.checkpoint },
    checkpointSubSequenceNumber: { N: String(l.checkpointSubSequenceNumber) },
    ownerSwitchesSinceCheckpoint: { N: String(l.ownerSwitchesSinceCheckpoint) },
  };
  if (l.leaseOwner !== undefined) item.leaseOwner = { S: l.leaseOwner };
  // DynamoDB refuses empty sets: absent means none.
  if (l.parentShardIds.length > 0) item.parentShardId = { SS: l.parentShardIds };
  if (l.childShardIds.length > 0) item.childShardIds = { SS: l.childShardIds };
  if (l.startingHashKey !== undefined) item.startingHashKey = { S: l.startingHashKey };
  if (l.endingHashKey !== undefined) item.endingHashKey = { S: l.endingHashKey };
  return item;
}

function fromItem(item: Record<string, AttributeValue>): Lease {
  const lease: Lease = {
    leaseKey: item.leaseKey?.S ?? '',
    leaseCounter: Number(item.leaseCounter?.N ?? 0),
    checkpoint: item.checkpoint?.S ?? 'TRIM_HORIZON',
    checkpointSubSequenceNumber: Number(item.checkpointSubSequenceNumber?.N ?? 0),
    ownerSwitchesSinceCheckpoint: Number(item.ownerSwitchesSinceCheckpoint?.N ?? 0),
    parentShardIds: item.parentShardId?.SS ?? [],
    childShardIds: item.childShardIds?.SS ?? [],
  };
  if (item.leaseOwner?.S !== undefined) lease.leaseOwner = item.leaseOwner.S;
  if (item.startingHashKey?.S !== undefined) lease.startingHashKey = item.startingHashKey.S;
  if (item.endingHashKey?.S !== undefined) lease.endingHashKey = item.endingHashKey.S;
  return lease;
}
