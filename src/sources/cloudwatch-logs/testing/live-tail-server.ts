/**
 * A small CloudWatch Logs server for Live Tail tests (moto has no StartLiveTail). It speaks the real
 * wire protocol: awsJson1_1 requests (`X-Amz-Target: Logs_20140328.*`) and, for StartLiveTail, an
 * `application/vnd.amazon.eventstream` response of binary frames (`:message-type`, `:event-type`,
 * `:content-type` headers) encoded with the SDK's own EventStreamCodec. It also answers
 * DescribeLogGroups so that sources can turn names into ARNs.
 *
 * Each StartLiveTail request becomes a {@link TailSession} handed to the test's script, which sends
 * frames, fails, or drops the connection as the test needs. Listens on 127.0.0.1 only.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { EventStreamCodec } from '@smithy/core/event-streams';

export const TEST_ACCOUNT = '123456789012';
export const TEST_REGION = 'us-east-1';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const codec = new EventStreamCodec(
  (bytes: Uint8Array) => decoder.decode(bytes),
  (text: string) => encoder.encode(text),
);

/**
 * The ARN the server reports for a log group name.
 *
 * @example
 * testLogGroupArn('/aws/lambda/f'); // → 'arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f'
 */
export function testLogGroupArn(name: string): string {
  return `arn:aws:logs:${TEST_REGION}:${TEST_ACCOUNT}:log-group:${name}`;
}

/** One event as the service sends it in `sessionResults`. */
export interface TailEvent {
  logStreamName: string;
  logGroupIdentifier: string;
  message: string;
  timestamp: number;
  ingestionTime: number;
}

/** One StartLiveTail request, from the server's side. */
export interface TailSession {
  /** 0-based order of arrival */
  readonly index: number;
  readonly logGroupIdentifiers: string[];
  readonly filterPattern?: string;
  /** The Host header the client sent (shows whether a `stream-` prefix was applied) */
  readonly host: string;
  /** Sends the `sessionStart` frame (and the response headers) */
  start(): void;
  /** Sends a `sessionUpdate` frame */
  update(events: TailEvent[], sampled?: boolean): void;
  /** Sends an exception frame and ends the response, as the service does on a stream error or timeout */
  exception(type: 'SessionStreamingException' | 'SessionTimeoutException', message: string): void;
  /** Answers with an awsJson error instead of a stream (before `start`) */
  reject(status: number, type: string, message: string): void;
  /** Ends the response cleanly */
  end(): void;
  /** Destroys the connection mid-stream */
  drop(): void;
  /** True once the client closed the connection or the server ended it */
  readonly isClosed: boolean;
  /** Resolves when the connection is gone */
  readonly closed: Promise<void>;
}

export interface LiveTailServer {
  readonly endpoint: string;
  readonly sessions: TailSession[];
  /** Requests by X-Amz-Target operation name */
  readonly operations: string[];
  close(): Promise<void>;
}

export interface LiveTailServerOptions {
  /** Log group names DescribeLogGroups knows; StartLiveTail on any other ARN is ResourceNotFoundException */
  logGroups: string[];
  /** Called for each StartLiveTail request that names known groups */
  onSession: (session: TailSession) => void | Promise<void>;
}

function header(value: string): { type: 'string'; value: string } {
  return { type: 'string', value };
}

function sendJsonError(res: ServerResponse, status: number, type: string, message: string): void {
  const body = JSON.stringify({ __type: type, message });
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts the server on a free 127.0.0.1 port.
 *
 * @example
 * const server = await startLiveTailServer({
 *   logGroups: ['/aws/lambda/f'],
 *   onSession: (s) => { s.start(); s.update([{ logStreamName: 's', logGroupIdentifier: testLogGroupArn('/aws/lambda/f'), message: 'hi', timestamp: 1, ingestionTime: 2 }]); },
 * });
 * const client = createLogsClient({ endpoint: server.endpoint, region: 'us-east-1' });
 */
export async function startLiveTailServer(opts: LiveTailServerOptions): Promise<LiveTailServer> {
  const sessions: TailSession[] = [];
  const operations: string[] = [];
  const sockets = new Set<Socket>();
  const known = new Set(opts.logGroups);

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJsonError(res, 500, 'InternalFailure', String(err));
      else res.destroy();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.split('.')[1] ?? '';
    operations.push(op);
    const body = JSON.parse((await readBody(req)) || '{}') as Record<string, unknown>;
    if (op === 'DescribeLogGroups') {
      const prefix = typeof body.logGroupNamePrefix === 'string' ? body.logGroupNamePrefix : '';
      const logGroups = [...known]
        .filter((n) => n.startsWith(prefix))
        .sort()
        .map((n) => ({ logGroupName: n, arn: `${testLogGroupArn(n)}:*`, logGroupArn: testLogGroupArn(n), creationTime: 0 }));
      const out = JSON.stringify({ logGroups });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(out) });
      res.end(out);
      return;
    }
    if (op !== 'StartLiveTail') return sendJsonError(res, 400, 'UnknownOperationException', `not implemented here: ${op}`);
    const ids = Array.isArray(body.logGroupIdentifiers) ? (body.logGroupIdentifiers as string[]) : [];
    const unknown = ids.find((id) => !known.has(id.replace(/^arn:.*?:log-group:/, '').replace(/:\*$/, '')));
    if (ids.length === 0 || ids.length > 10) return sendJsonError(res, 400, 'InvalidParameterException', 'logGroupIdentifiers must hold 1 to 10 ARNs');
    if (unknown) return sendJsonError(res, 400, 'ResourceNotFoundException', `The specified log group does not exist: ${unknown}`);

    let closed = false;
    let markClosed!: () => void;
    const closedPromise = new Promise<void>((resolve) => (markClosed = resolve));
    res.on('close', () => {
      closed = true;
      markClosed();
    });
    const write = (headers: Record<string, { type: 'string'; value: string }>, payload: unknown): void => {
      if (closed || res.writableEnded) return;
      if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': `req-${sessions.length}` });
      res.write(codec.encode({ headers, body: encoder.encode(JSON.stringify(payload)) }));
    };
    const session: TailSession = {
      index: sessions.length,
      logGroupIdentifiers: ids,
      filterPattern: typeof body.logEventFilterPattern === 'string' ? body.logEventFilterPattern : undefined,
      host: String(req.headers.host ?? ''),
      start() {
        write(
          { ':message-type': header('event'), ':event-type': header('sessionStart'), ':content-type': header('application/json') },
          { requestId: `req-${this.index}`, sessionId: `session-${this.index}`, logGroupIdentifiers: ids },
        );
      },
      update(events, sampled = false) {
        write(
          { ':message-type': header('event'), ':event-type': header('sessionUpdate'), ':content-type': header('application/json') },
          { sessionMetadata: { sampled }, sessionResults: events },
        );
      },
      exception(type, message) {
        write({ ':message-type': header('exception'), ':exception-type': header(type), ':content-type': header('application/json') }, { message });
        if (!closed) res.end();
      },
      reject(status, type, message) {
        if (!res.headersSent) sendJsonError(res, status, type, message);
      },
      end() {
        if (!closed && !res.writableEnded) {
          if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
          res.end();
        }
      },
      drop() {
        req.socket.destroy();
      },
      get isClosed() {
        return closed;
      },
      closed: closedPromise,
    };
    sessions.push(session);
    await opts.onSession(session);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    sessions,
    operations,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
