import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FnwatchError, UsageError } from '../core/contracts.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { startMoto, type Moto } from '../sources/cloudwatch-logs/testing/moto.ts';
import { freePort } from '../sources/kinesis/testing/servers.ts';
import { createS3Client, S3StateStore, s3EndpointOverride } from './s3-state-store.ts';
import { serviceSnapshot } from './state.ts';
import { describeStateStoreConformance } from './state-store-conformance.ts';
import type { StateStore } from './state-store.ts';
import { newStateWriter, parseStateWriter } from './state-writer.ts';
import { useFakeAws } from './testing.ts';

const BUCKET = 'fnwatch-state';
let moto: Moto;
let s3: S3Client;
let restoreEnv: () => void;
let savedEndpoint: string | undefined;

beforeAll(async () => {
  restoreEnv = useFakeAws();
  savedEndpoint = process.env.AWS_ENDPOINT_URL_S3;
  moto = await startMoto();
  // The store reads its endpoint the SDK's way, from the environment: nothing of ours to set.
  process.env.AWS_ENDPOINT_URL_S3 = moto.endpoint;
  s3 = createS3Client();
});
afterAll(async () => {
  s3?.destroy();
  await moto?.stop();
  if (savedEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL_S3;
  else process.env.AWS_ENDPOINT_URL_S3 = savedEndpoint;
  restoreEnv?.();
});
beforeEach(async () => {
  await moto.reset();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

const errorOf = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );

describe('S3StateStore on moto', () => {
  describeStateStoreConformance({
    open: async (tag) => new S3StateStore(`s3://${BUCKET}/fnwatch/${tag}`),
    writeRaw: async (store: StateStore, bytes) => {
      const { bucket, key } = (store as S3StateStore).target;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
    },
  });

  it('keeps the snapshot at prefix/baseline.json, the bytes of the local file, as JSON', async () => {
    const store = new S3StateStore(`s3://${BUCKET}/prod/eu-west-1/`);
    try {
      const snap = serviceSnapshot(new Pipeline().snapshot(), { logs: { s0: '5' } });
      expect(await store.save(snap)).toBe(`s3://${BUCKET}/prod/eu-west-1/baseline.json`);
      const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'prod/eu-west-1/baseline.json' }));
      expect(out.ContentType).toBe('application/json');
      expect(JSON.parse(await out.Body!.transformToString())).toEqual(JSON.parse(JSON.stringify(snap)));
    } finally {
      store.close();
    }
  });

  it('names the bucket and the field when the bucket does not exist, reading and writing', async () => {
    const store = new S3StateStore('s3://no-such-bucket/prod');
    try {
      const read = await errorOf(store.load());
      expect(read).toBeInstanceOf(UsageError);
      expect((read as Error).message).toBe('state.s3: cannot read s3://no-such-bucket/prod/baseline.json: bucket "no-such-bucket" does not exist (create it, or fix the bucket in state.s3)');
      const write = await errorOf(store.save(serviceSnapshot(new Pipeline().snapshot(), {})));
      expect(write).toBeInstanceOf(UsageError);
      expect((write as Error).message).toMatch(/^state\.s3: cannot write s3:\/\/no-such-bucket\/prod\/baseline\.json: bucket "no-such-bucket" does not exist/);
    } finally {
      store.close();
    }
  });

  it('fails promptly, naming the field and the endpoint, when the endpoint does not answer', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const store = new S3StateStore(`s3://${BUCKET}/prod`, { env: { ...process.env, AWS_ENDPOINT_URL_S3: closed } });
    try {
      const started = Date.now();
      const err = await errorOf(store.load());
      expect(err).toBeInstanceOf(FnwatchError);
      expect(err).not.toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(new RegExp(`^state\\.s3: cannot read s3://${BUCKET}/prod/baseline\\.json at ${closed}: `));
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      store.close();
    }
  });

  it('names the permissions when S3 denies access (moto has no IAM: a listener answers as S3 does)', async () => {
    const denied = createServer((req, res) => {
      req.resume();
      const body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>R</RequestId></Error>';
      res.writeHead(403, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    await new Promise<void>((r) => denied.listen(0, '127.0.0.1', () => r()));
    const endpoint = `http://127.0.0.1:${(denied.address() as AddressInfo).port}`;
    const store = new S3StateStore(`s3://${BUCKET}/prod`, { env: { ...process.env, AWS_ENDPOINT_URL_S3: endpoint } });
    try {
      const err = await errorOf(store.load());
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toBe(
        `state.s3: cannot read s3://${BUCKET}/prod/baseline.json: AccessDenied: the credentials need s3:GetObject and s3:PutObject on arn:aws:s3:::${BUCKET}/prod/*` +
          ` and s3:ListBucket on bucket "${BUCKET}" (without it a first start, with nothing saved yet, is denied too)`,
      );
    } finally {
      store.close();
      denied.close();
    }
  });

  it('refuses its claim when S3 lets it read but not write, naming PutObject', async () => {
    // Reads answer NoSuchKey (a first start, with s3:ListBucket), writes AccessDenied: moto has no IAM.
    const puts: string[] = [];
    const readOnly = createServer((req, res) => {
      req.resume();
      const [status, code] = req.method === 'PUT' ? [403, 'AccessDenied'] : [404, 'NoSuchKey'];
      if (req.method === 'PUT') puts.push(req.url ?? '');
      const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message><RequestId>R</RequestId></Error>`;
      res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    await new Promise<void>((r) => readOnly.listen(0, '127.0.0.1', () => r()));
    const endpoint = `http://127.0.0.1:${(readOnly.address() as AddressInfo).port}`;
    const store = new S3StateStore(`s3://${BUCKET}/prod`, { env: { ...process.env, AWS_ENDPOINT_URL_S3: endpoint } });
    try {
      expect(await store.load()).toBeUndefined();
      const err = await errorOf(store.claim(newStateWriter()));
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(new RegExp(`^state\\.s3: cannot write s3://${BUCKET}/prod/writer\\.json: AccessDenied: the credentials need s3:GetObject and s3:PutObject on arn:aws:s3:::${BUCKET}/prod/\\*`));
      expect(puts.map((u) => u.split('?')[0])).toEqual([`/${BUCKET}/prod/writer.json`]);
    } finally {
      store.close();
      readOnly.close();
    }
  });

  it('claims the prefix with prefix/writer.json, naming the instance', async () => {
    const store = new S3StateStore(`s3://${BUCKET}/checked`);
    try {
      const writer = newStateWriter();
      await store.claim(writer);
      const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'checked/writer.json' }));
      expect(parseStateWriter(await out.Body!.transformToString())).toEqual(writer);
    } finally {
      store.close();
    }
  });

  it('rejects a URL that is not s3://bucket/prefix', () => {
    expect(() => new S3StateStore('https://fnwatch-state/prod')).toThrow(/^state\.s3: must be an s3:\/\/bucket\/prefix URL/);
  });
});

describe('S3 endpoint override', () => {
  it('is read from AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, unless configured endpoints are ignored', () => {
    expect(s3EndpointOverride({})).toBeUndefined();
    expect(s3EndpointOverride({ AWS_ENDPOINT_URL: 'http://127.0.0.1:1' })).toBe('http://127.0.0.1:1');
    expect(s3EndpointOverride({ AWS_ENDPOINT_URL: 'http://127.0.0.1:1', AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:2' })).toBe('http://127.0.0.1:2');
    expect(s3EndpointOverride({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:2', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' })).toBeUndefined();
  });

  it('addresses buckets path-style with an override, also for a host name (virtual-host style would resolve bucket.localhost)', async () => {
    const client = createS3Client({ AWS_ENDPOINT_URL_S3: moto.endpoint.replace('127.0.0.1', 'localhost') });
    const hosts: string[] = [];
    client.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { hostname: string; path: string };
        hosts.push(`${req.hostname} ${req.path}`);
        return next(args);
      },
      { step: 'finalizeRequest', name: 'recordHost' },
    );
    try {
      expect(await client.config.forcePathStyle).toBe(true);
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'p/baseline.json', Body: '{}' }));
      expect(hosts).toEqual([`localhost /${BUCKET}/p/baseline.json`]);
    } finally {
      client.destroy();
    }
    const aws = createS3Client({});
    expect(aws.config.forcePathStyle ?? false).toBe(false);
    aws.destroy();
  });
});
