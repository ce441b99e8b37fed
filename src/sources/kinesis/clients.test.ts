import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configuredEndpoint, createDynamoClient, createKinesisClient, endpointLabel, isPlainHttp } from './clients.ts';
import { createStream, useFakeAwsEnv } from './testing/aws.ts';
import { startDynalite, startKinesalite, type LocalServer } from './testing/servers.ts';

let restoreEnv: () => void;
let kinesalite: LocalServer;
let dynalite: LocalServer;

beforeAll(async () => {
  restoreEnv = useFakeAwsEnv();
  [kinesalite, dynalite] = await Promise.all([startKinesalite(), startDynalite()]);
});
afterAll(async () => {
  await Promise.all([kinesalite.stop(), dynalite.stop()]);
  restoreEnv();
});

describe('configuredEndpoint', () => {
  it('prefers the explicit endpoint, then the service variable, then AWS_ENDPOINT_URL', () => {
    const env = { AWS_ENDPOINT_URL: 'http://all:1', AWS_ENDPOINT_URL_KINESIS: 'http://kinesis:2' };
    expect(configuredEndpoint('kinesis', 'http://explicit:3', env)).toBe('http://explicit:3');
    expect(configuredEndpoint('kinesis', undefined, env)).toBe('http://kinesis:2');
    expect(configuredEndpoint('dynamodb', undefined, env)).toBe('http://all:1');
    expect(configuredEndpoint('dynamodb', undefined, { ...env, AWS_ENDPOINT_URL_DYNAMODB: 'http://ddb:4' })).toBe('http://ddb:4');
    expect(configuredEndpoint('kinesis', undefined, { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' })).toBeUndefined();
    expect(configuredEndpoint('kinesis', undefined, {})).toBeUndefined();
  });

  it('recognises plain-http endpoints', () => {
    expect(isPlainHttp('http://127.0.0.1:4567')).toBe(true);
    expect(isPlainHttp('HTTP://localhost')).toBe(true);
    expect(isPlainHttp('https://kinesis.eu-west-1.amazonaws.com')).toBe(false);
    expect(isPlainHttp(undefined)).toBe(false);
  });
});

describe('createKinesisClient', () => {
  it('talks HTTP/1.1 to a plain-http emulator given explicitly', async () => {
    const client = createKinesisClient({ endpoint: kinesalite.endpoint });
    expect((await client.send(new ListStreamsCommand({}))).StreamNames).toBeDefined();
    expect(await endpointLabel(client, 'kinesis')).toBe(kinesalite.endpoint);
    client.destroy();
  });

  it('picks up AWS_ENDPOINT_URL_KINESIS and AWS_REGION through the SDK, and still uses HTTP/1.1', async () => {
    process.env.AWS_ENDPOINT_URL_KINESIS = kinesalite.endpoint;
    try {
      const client = createKinesisClient();
      expect(client.config.requestHandler).toBeInstanceOf(NodeHttpHandler);
      await createStream(client, 'from-env', 1);
      expect((await client.send(new ListStreamsCommand({}))).StreamNames).toContain('from-env');
      expect(await client.config.region()).toBe('us-east-1');
      expect(await endpointLabel(client, 'kinesis')).toBe(kinesalite.endpoint);
      client.destroy();
    } finally {
      delete process.env.AWS_ENDPOINT_URL_KINESIS;
    }
  });

  it('keeps the SDK default (HTTP/2) handler for AWS endpoints', async () => {
    const client = createKinesisClient({ region: 'eu-west-1' });
    expect(client.config.requestHandler).not.toBeInstanceOf(NodeHttpHandler);
    expect(await endpointLabel(client, 'kinesis')).toBe('AWS Kinesis in eu-west-1');
    client.destroy();
  });
});

describe('createDynamoClient', () => {
  it('picks up AWS_ENDPOINT_URL_DYNAMODB through the SDK', async () => {
    process.env.AWS_ENDPOINT_URL_DYNAMODB = dynalite.endpoint;
    try {
      const client = createDynamoClient();
      expect((await client.send(new ListTablesCommand({}))).TableNames).toBeDefined();
      client.destroy();
    } finally {
      delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
    }
  });
});
