/**
 * The service's snapshot in S3 (`state.s3: s3://bucket/prefix`): one object, `prefix/baseline.json`,
 * the same bytes as the local `baseline.json` (`aws s3 cp` it into a directory and `fnwatch replay
 * --baseline DIR` reads it). PutObject replaces an object atomically, so a reader sees the previous
 * snapshot or the new one, never a part of one: no temp object and rename are needed.
 *
 * AWS settings are the SDK's own: the default credential chain, `AWS_REGION`, and
 * `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` for another endpoint. Permissions: `s3:GetObject` and
 * `s3:PutObject` on `arn:aws:s3:::bucket/prefix/*`, and `s3:ListBucket` on the bucket (without it
 * S3 answers a GetObject for a key that does not exist yet, a first start, with AccessDenied
 * instead of NoSuchKey). At start the service claims the prefix with `prefix/writer.json` (see
 * state-store.ts), so that a missing PutObject permission refuses the start instead of failing the
 * first snapshot, and a second instance on the same prefix is noticed.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { FnwatchError, UsageError } from '../core/contracts.ts';
import { parseS3Url, type S3Location } from './s3-url.ts';
import { parseState, type ServiceSnapshot } from './state.ts';
import type { StateStore } from './state-store.ts';
import { parseStateWriter, StateTakenError, WRITER_FILE, type StateWriter } from './state-writer.ts';

/** Environment variables the SDK reads for the S3 endpoint, most specific first. */
const S3_ENDPOINT_ENV = ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'] as const;

/**
 * The S3 endpoint set in the environment (which the SDK reads by itself), else `undefined`.
 *
 * @example
 * s3EndpointOverride({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:5000' }); // → 'http://127.0.0.1:5000'
 */
export function s3EndpointOverride(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const ignore = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase();
  if (ignore === 'true' || ignore === '1') return undefined;
  for (const name of S3_ENDPOINT_ENV) if (env[name]) return env[name];
  return undefined;
}

/**
 * An S3 client from the SDK default chain. With an endpoint override, path-style addressing.
 *
 * @example
 * const s3 = createS3Client(); // AWS_REGION, credential chain, AWS_ENDPOINT_URL_S3 if set
 */
export function createS3Client(env: NodeJS.ProcessEnv = process.env): S3Client {
  const override = s3EndpointOverride(env);
  return new S3Client({
    // The value the SDK would read from process.env itself; passed on so that `env` alone decides.
    ...(override !== undefined ? { endpoint: override } : {}),
    // By itself the SDK addresses a bucket virtual-host style (`bucket.host`) unless the endpoint's
    // host is an IP address: with AWS_ENDPOINT_URL_S3=http://127.0.0.1:PORT it already sends
    // `/bucket/key`, but with http://localhost:PORT or http://minio.internal:9000 it resolves
    // `bucket.localhost` / `bucket.minio.internal`, which local and self-hosted S3 servers do not
    // answer (measured with moto, @aws-sdk/client-s3 3.1178). AWS's own endpoints keep the default.
    ...(override !== undefined ? { forcePathStyle: true } : {}),
    // A plain-http (local) endpoint that does not answer fails in seconds, not after the OS's TCP timeout.
    ...(override !== undefined && /^http:\/\//i.test(override) ? { requestHandler: new NodeHttpHandler({ connectionTimeout: 3_000 }) } : {}),
  });
}

export interface S3StateStoreOptions {
  /** A client to use (default: {@link createS3Client}); the store then does not destroy it */
  client?: S3Client;
  /** Where endpoint overrides are read from (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** The config field named in errors */
  field?: string;
}

/**
 * @example
 * const store = new S3StateStore('s3://fnwatch-state/prod');
 * const saved = await store.load();            // GetObject prod/baseline.json; undefined on NoSuchKey
 * await store.save(serviceSnapshot(pipeline.snapshot(), positions));   // PutObject
 */
export class S3StateStore implements StateStore {
  readonly location: string;
  readonly target: S3Location;
  private readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly field: string;
  private readonly env: NodeJS.ProcessEnv;
  private writer: StateWriter | undefined;

  constructor(url: string, opts: S3StateStoreOptions = {}) {
    this.field = opts.field ?? 'state.s3';
    try {
      this.target = parseS3Url(url);
    } catch (err) {
      throw new UsageError(`${this.field}: ${(err as Error).message}`);
    }
    this.location = `s3://${this.target.bucket}/${this.target.key}`;
    this.env = opts.env ?? process.env;
    this.ownsClient = opts.client === undefined;
    this.client = opts.client ?? createS3Client(this.env);
  }

  async load(): Promise<ServiceSnapshot | undefined> {
    const text = await this.getText(this.target.key);
    if (text === undefined) return undefined;
    try {
      return parseState(text, this.location);
    } catch (err) {
      throw new UsageError(`${this.field}: ${(err as Error).message}`);
    }
  }

  async save(snapshot: ServiceSnapshot): Promise<string> {
    if (this.writer) {
      const current = await this.currentWriter();
      if (current && current.id !== this.writer.id) throw new StateTakenError(this.field, this.location, current);
      if (!current) await this.putWriter(this.writer);
    }
    await this.putText(this.target.key, JSON.stringify(snapshot));
    return this.location;
  }

  /**
   * PutObject of `prefix/writer.json`, naming this instance: a missing `s3:PutObject` refuses the
   * start. It is replaced at each start and never deleted, which would need `s3:DeleteObject` too.
   */
  async claim(writer: StateWriter): Promise<void> {
    await this.putWriter(writer);
    this.writer = writer;
  }

  private writerKey(): string {
    return this.target.prefix ? `${this.target.prefix}/${WRITER_FILE}` : WRITER_FILE;
  }

  private putWriter(writer: StateWriter): Promise<void> {
    return this.putText(this.writerKey(), `${JSON.stringify(writer)}\n`);
  }

  /** The writer `writer.json` names now; undefined when there is none (or it is not one). */
  private async currentWriter(): Promise<StateWriter | undefined> {
    const text = await this.getText(this.writerKey());
    return text === undefined ? undefined : parseStateWriter(text);
  }

  /** The object's text; undefined when there is no such key. Other failures as {@link failure}. */
  private async getText(key: string): Promise<string | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.target.bucket, Key: key }));
      return (await out.Body?.transformToString('utf8')) ?? '';
    } catch (err) {
      if (errorName(err) === 'NoSuchKey') return undefined;
      throw await this.failure('read', err, `s3://${this.target.bucket}/${key}`);
    }
  }

  private async putText(key: string, body: string): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.target.bucket, Key: key, Body: body, ContentType: 'application/json' }));
    } catch (err) {
      throw await this.failure('write', err, `s3://${this.target.bucket}/${key}`);
    }
  }

  close(): void {
    if (this.ownsClient) this.client.destroy();
  }

  /** One line naming the field, the bucket and what to do; UsageError for what only the operator can fix. */
  private async failure(op: 'read' | 'write', err: unknown, location: string): Promise<FnwatchError> {
    const { bucket } = this.target;
    const name = errorName(err);
    const what = `${this.field}: cannot ${op} ${location}`;
    if (name === 'NoSuchBucket') return new UsageError(`${what}: bucket "${bucket}" does not exist (create it, or fix the bucket in ${this.field})`);
    if (name === 'AccessDenied' || name === 'Forbidden' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') {
      return new UsageError(
        `${what}: ${name}: the credentials need s3:GetObject and s3:PutObject on arn:aws:s3:::${bucket}/${this.target.prefix ? `${this.target.prefix}/` : ''}*` +
          ` and s3:ListBucket on bucket "${bucket}" (without it a first start, with nothing saved yet, is denied too)`,
      );
    }
    const message = err instanceof Error ? err.message : String(err);
    return new FnwatchError(`${what} at ${await this.endpointLabel()}: ${name}${message && message !== name ? `: ${message}` : ''}`);
  }

  private async endpointLabel(): Promise<string> {
    const override = s3EndpointOverride(this.env);
    if (override) return override;
    let region = 'an unknown region';
    try {
      const r = typeof this.client.config.region === 'function' ? await this.client.config.region() : this.client.config.region;
      if (typeof r === 'string' && r) region = r;
    } catch {
      // no region: the SDK's own message says so
    }
    return `AWS S3 in ${region}`;
  }
}

/** The S3 error code (`NoSuchKey`, `AccessDenied`), or the Node error code for a network failure. */
function errorName(err: unknown): string {
  const e = err as { name?: string; code?: string; Code?: string } | undefined;
  if (e?.code && /^E[A-Z]+$/.test(e.code)) return e.code;
  return e?.Code ?? e?.name ?? 'Error';
}
