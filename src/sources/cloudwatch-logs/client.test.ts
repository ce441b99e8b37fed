import { CloudWatchLogsClient, DescribeLogGroupsCommand, StartLiveTailCommand } from '@aws-sdk/client-cloudwatch-logs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FnwatchError, UsageError } from '../../core/contracts.ts';
import { configuredLogsEndpoint, createLogsClient, isLocalEndpoint, isRetriableLogsError, logsError } from './client.ts';
import { useFakeAwsEnv } from './testing/aws-env.ts';
import { startLiveTailServer, type LiveTailServer } from './testing/live-tail-server.ts';

const restoreEnv = useFakeAwsEnv();
afterAll(restoreEnv);

/** Where the SDK would send a request, caught after serialization and before anything is sent. */
async function hostnameOf(client: CloudWatchLogsClient, command: StartLiveTailCommand | DescribeLogGroupsCommand): Promise<string> {
  class Caught extends Error {
    constructor(readonly hostname: string) {
      super('caught');
    }
  }
  client.middlewareStack.add(
    (_next) => async (args) => {
      throw new Caught((args.request as { hostname: string }).hostname);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'catchHostname' },
  );
  const err = await client.send(command as StartLiveTailCommand).catch((e: unknown) => e);
  if (!(err instanceof Caught)) throw err;
  return err.hostname;
}

const liveTail = () => new StartLiveTailCommand({ logGroupIdentifiers: ['arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f'] });

describe('endpoint resolution', () => {
  it('takes the explicit endpoint, then AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, then AWS_ENDPOINT_URL', () => {
    expect(configuredLogsEndpoint('http://a', { AWS_ENDPOINT_URL: 'http://b' })).toBe('http://a');
    expect(configuredLogsEndpoint(undefined, { AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: 'http://c', AWS_ENDPOINT_URL: 'http://b' })).toBe('http://c');
    expect(configuredLogsEndpoint(undefined, { AWS_ENDPOINT_URL: 'http://b' })).toBe('http://b');
    expect(configuredLogsEndpoint(undefined, { AWS_ENDPOINT_URL: 'http://b', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' })).toBeUndefined();
    expect(configuredLogsEndpoint(undefined, {})).toBeUndefined();
  });

  it('calls plain-http, loopback and IP endpoints local', () => {
    expect(isLocalEndpoint('http://127.0.0.1:5000')).toBe(true);
    expect(isLocalEndpoint('http://logs.internal.example:80')).toBe(true);
    expect(isLocalEndpoint('https://localhost:4566')).toBe(true);
    expect(isLocalEndpoint('https://10.0.0.5')).toBe(true);
    expect(isLocalEndpoint('https://[::1]:8443')).toBe(true);
    expect(isLocalEndpoint('https://logs.us-east-1.amazonaws.com')).toBe(false);
    expect(isLocalEndpoint('not a url')).toBe(false);
  });
});

describe('host prefix for StartLiveTail', () => {
  it('the SDK alone prefixes a local endpoint with stream-, which cannot resolve', async () => {
    const bare = new CloudWatchLogsClient({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1' });
    expect(await hostnameOf(bare, liveTail())).toBe('stream-127.0.0.1');
  });

  it('createLogsClient disables the prefix for a local endpoint, given or from the environment', async () => {
    expect(await hostnameOf(createLogsClient({ endpoint: 'http://127.0.0.1:9' }), liveTail())).toBe('127.0.0.1');
    const fromEnv = createLogsClient({}, { AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: 'http://127.0.0.1:9' });
    expect(fromEnv.config.disableHostPrefix).toBe(true);
  });

  it('keeps the prefix for AWS endpoints', async () => {
    const aws = createLogsClient({ region: 'eu-west-1' }, {});
    expect(aws.config.disableHostPrefix).toBe(false);
    expect(await hostnameOf(aws, liveTail())).toBe('stream-logs.eu-west-1.amazonaws.com');
    expect(await hostnameOf(createLogsClient({ region: 'eu-west-1' }, {}), new DescribeLogGroupsCommand({}))).toBe('logs.eu-west-1.amazonaws.com');
  });
});

describe('environment endpoints reach a real local listener', () => {
  let server: LiveTailServer | undefined;
  afterEach(async () => {
    delete process.env.AWS_ENDPOINT_URL_CLOUDWATCH_LOGS;
    delete process.env.AWS_ENDPOINT_URL;
    await server?.close();
  });

  for (const name of ['AWS_ENDPOINT_URL_CLOUDWATCH_LOGS', 'AWS_ENDPOINT_URL'] as const) {
    it(`${name} is honoured by the SDK`, async () => {
      server = await startLiveTailServer({ logGroups: ['/aws/lambda/env'], onSession: () => undefined });
      process.env[name] = server.endpoint;
      const client = createLogsClient();
      expect(client.config.disableHostPrefix).toBe(true);
      const res = await client.send(new DescribeLogGroupsCommand({}));
      expect(res.logGroups?.map((g) => g.logGroupName)).toEqual(['/aws/lambda/env']);
      expect(server.operations).toEqual(['DescribeLogGroups']);
    });
  }
});

describe('logsError', () => {
  const awsError = (name: string, message: string, status = 400) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

  it('turns what the user must fix into one-line UsageErrors naming the group', () => {
    expect(logsError(awsError('ResourceNotFoundException', 'The specified log group does not exist.'), 'FilterLogEvents', '/aws/lambda/x')).toEqual(
      new UsageError('log group /aws/lambda/x does not exist (FilterLogEvents: The specified log group does not exist.)'),
    );
    const denied = logsError(awsError('AccessDeniedException', 'not authorized\nmore detail'), 'StartLiveTail', '/aws/lambda/x');
    expect(denied).toBeInstanceOf(UsageError);
    expect(denied.message).toBe('StartLiveTail denied for log group /aws/lambda/x: AccessDeniedException: not authorized');
    expect(logsError(new Error('Region is missing'), 'FilterLogEvents')).toBeInstanceOf(UsageError);
    expect(logsError(awsError('CredentialsProviderError', 'Could not load credentials from any providers'), 'FilterLogEvents').message).toMatch(/^no AWS credentials/);
  });

  it('keeps service trouble as FnwatchErrors that say whether to retry', () => {
    const throttled = logsError(awsError('ThrottlingException', 'Rate exceeded'), 'FilterLogEvents', '/g');
    expect(throttled).not.toBeInstanceOf(UsageError);
    expect(throttled).toBeInstanceOf(FnwatchError);
    expect(throttled.retriable).toBe(true);
    expect(logsError(awsError('InternalFailure', 'oops', 500), 'FilterLogEvents').retriable).toBe(true);
    expect(logsError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'FilterLogEvents').retriable).toBe(true);
    expect(logsError(awsError('DataAlreadyAcceptedException', 'x'), 'PutLogEvents').retriable).toBe(false);
  });

  it('does not retry aborts or client mistakes', () => {
    expect(isRetriableLogsError(Object.assign(new Error('Request aborted'), { name: 'AbortError' }))).toBe(false);
    expect(isRetriableLogsError(awsError('InvalidParameterException', 'bad'))).toBe(false);
    expect(isRetriableLogsError(awsError('SessionStreamingException', 'stream failed'))).toBe(true);
  });
});
