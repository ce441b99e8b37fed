/**
 * The Kinesis and DynamoDB clients the Kinesis source uses.
 *
 * Configuration is the SDK's own: the default credential chain, `AWS_REGION` (or the profile's region),
 * `AWS_ENDPOINT_URL_KINESIS` / `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL`, all read by the SDK
 * itself. The one thing decided here is the HTTP handler: `KinesisClient` defaults to HTTP/2 (AWS
 * needs it for SubscribeToShard), and every plain-http emulator answers HTTP/2 with a protocol error,
 * so a plain `http://` Kinesis endpoint gets the HTTP/1.1 handler.
 */
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { KinesisClient, type KinesisClientConfig } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * Environment variables the SDK reads for an endpoint, most specific first.
 *
 * @example
 * ENDPOINT_ENV.kinesis; // → ['AWS_ENDPOINT_URL_KINESIS', 'AWS_ENDPOINT_URL']
 */
export const ENDPOINT_ENV = {
  kinesis: ['AWS_ENDPOINT_URL_KINESIS', 'AWS_ENDPOINT_URL'],
  dynamodb: ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL'],
} as const;

export type AwsService = keyof typeof ENDPOINT_ENV;

export interface ClientOptions {
  /** Explicit endpoint; otherwise the SDK's own resolution (environment, AWS) */
  endpoint?: string;
  /** Region; otherwise the SDK's default chain (`AWS_REGION`, profile) */
  region?: string;
  /** SDK attempts per call, the first included (SDK default 3) */
  maxAttempts?: number;
  /** TCP connect timeout for plain-http endpoints (default 3 s), so a black-holed port fails fast */
  connectionTimeoutMs?: number;
}

/**
 * The endpoint configured through code or the environment for `service`, else `undefined` (the
 * SDK then resolves the AWS endpoint for the region).
 *
 * @example
 * configuredEndpoint('kinesis', undefined, { AWS_ENDPOINT_URL_KINESIS: 'http://127.0.0.1:4567' }); // → 'http://127.0.0.1:4567'
 */
export function configuredEndpoint(service: AwsService, explicit?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (explicit) return explicit;
  const ignore = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase();
  if (ignore === 'true' || ignore === '1') return undefined;
  for (const name of ENDPOINT_ENV[service]) {
    const value = env[name];
    if (value) return value;
  }
  return undefined;
}

/**
 * True for `http://` endpoints (local emulators).
 *
 * @example
 * isPlainHttp('http://127.0.0.1:4567'); // → true
 * isPlainHttp('https://kinesis.us-east-1.amazonaws.com'); // → false
 */
export function isPlainHttp(endpoint: string | undefined): boolean {
  return endpoint !== undefined && /^http:\/\//i.test(endpoint.trim());
}

/**
 * A Kinesis client from the SDK default chain; HTTP/1.1 for plain-http endpoints.
 *
 * @example
 * const aws = createKinesisClient();                                  // AWS_REGION, default chain
 * const local = createKinesisClient({ endpoint: 'http://127.0.0.1:4567', region: 'us-east-1' });
 */
export function createKinesisClient(opts: ClientOptions = {}, sdk: KinesisClientConfig = {}, env: NodeJS.ProcessEnv = process.env): KinesisClient {
  const config: KinesisClientConfig = { ...sdk };
  if (opts.endpoint) config.endpoint = opts.endpoint;
  if (opts.region) config.region = opts.region;
  if (opts.maxAttempts !== undefined) config.maxAttempts = opts.maxAttempts;
  if (config.requestHandler === undefined && isPlainHttp(configuredEndpoint('kinesis', opts.endpoint, env))) {
    config.requestHandler = new NodeHttpHandler({ connectionTimeout: opts.connectionTimeoutMs ?? 3_000 });
  }
  return new KinesisClient(config);
}

/**
 * A DynamoDB client (for the lease table) from the SDK default chain.
 *
 * @example
 * const ddb = createDynamoClient({ endpoint: 'http://127.0.0.1:4569', region: 'us-east-1' });
 */
export function createDynamoClient(opts: ClientOptions = {}, sdk: DynamoDBClientConfig = {}, env: NodeJS.ProcessEnv = process.env): DynamoDBClient {
  const config: DynamoDBClientConfig = { ...sdk };
  if (opts.endpoint) config.endpoint = opts.endpoint;
  if (opts.region) config.region = opts.region;
  if (opts.maxAttempts !== undefined) config.maxAttempts = opts.maxAttempts;
  if (config.requestHandler === undefined && isPlainHttp(configuredEndpoint('dynamodb', opts.endpoint, env))) {
    config.requestHandler = new NodeHttpHandler({ connectionTimeout: opts.connectionTimeoutMs ?? 3_000 });
  }
  return new DynamoDBClient(config);
}

/**
 * Where a client sends its calls, for error messages: the configured endpoint, or the AWS endpoint
 * of its region.
 *
 * @example
 * await endpointLabel(client, 'kinesis'); // → 'http://127.0.0.1:4567' or 'AWS Kinesis in eu-west-1'
 */
export async function endpointLabel(
  client: { config: { endpoint?: unknown; region: unknown } },
  service: AwsService,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const endpoint = client.config.endpoint;
  if (typeof endpoint === 'function') {
    try {
      const e = (await endpoint()) as { protocol?: string; hostname?: string; port?: number; path?: string } | undefined;
      if (e?.hostname) return `${e.protocol ?? 'https:'}//${e.hostname}${e.port ? `:${e.port}` : ''}${e.path && e.path !== '/' ? e.path : ''}`;
    } catch {
      // no static endpoint: fall through to the environment or the region
    }
  }
  const configured = configuredEndpoint(service, undefined, env);
  if (configured) return configured;
  let region = 'an unknown region';
  try {
    const r = typeof client.config.region === 'function' ? await (client.config.region as () => Promise<string>)() : client.config.region;
    if (typeof r === 'string' && r) region = r;
  } catch {
    // region missing: the call itself reports it
  }
  return `AWS ${service === 'kinesis' ? 'Kinesis' : 'DynamoDB'} in ${region}`;
}
