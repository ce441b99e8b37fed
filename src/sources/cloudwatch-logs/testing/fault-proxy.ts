/**
 * A tiny HTTP proxy in front of an emulator that injects AWS faults the emulators never produce:
 * ThrottlingException, AccessDeniedException, empty pages. Requests are awsJson1_1 (`X-Amz-Target`
 * names the operation); the test's `decide` sees each one and says what to do. 127.0.0.1 only.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the proxy saw. */
export interface ProxiedRequest {
  /** 1-based count of requests for this operation */
  n: number;
  operation: string;
  body: Record<string, unknown>;
}

/** What to do with a request. */
export type FaultDecision =
  | { forward: true }
  | { status: number; errorType: string; message: string }
  | { status: 200; json: unknown };

export interface FaultProxy {
  readonly endpoint: string;
  /** Every request, in order, with what was done */
  readonly log: { operation: string; action: 'forward' | 'fault' | 'reply'; errorType?: string }[];
  close(): Promise<void>;
}

/** The awsJson error every throttled call gets. */
export const THROTTLE: FaultDecision = { status: 400, errorType: 'ThrottlingException', message: 'Rate exceeded' };

/**
 * Starts the proxy on a free 127.0.0.1 port.
 *
 * @example
 * const proxy = await startFaultProxy(moto.endpoint, (r) => (r.operation === 'FilterLogEvents' && r.n <= 2 ? THROTTLE : { forward: true }));
 */
export async function startFaultProxy(target: string, decide: (req: ProxiedRequest) => FaultDecision): Promise<FaultProxy> {
  const upstream = new URL(target);
  const counts = new Map<string, number>();
  const log: FaultProxy['log'] = [];
  const sockets = new Set<Socket>();
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? req.method ?? '';
    const n = (counts.get(operation) ?? 0) + 1;
    counts.set(operation, n);
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      // not JSON (a moto admin call): forwarded as it is
    }
    const decision = decide({ n, operation, body });
    if ('forward' in decision) {
      log.push({ operation, action: 'forward' });
      const headers: IncomingHttpHeaders = { ...req.headers, host: upstream.host };
      const up = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      up.on('error', (err) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
      up.end(raw);
      return;
    }
    const json = 'json' in decision ? decision.json : { __type: decision.errorType, message: decision.message };
    const out = JSON.stringify(json);
    const headers: Record<string, string | number> = { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(out) };
    if ('errorType' in decision) headers['x-amzn-errortype'] = decision.errorType;
    log.push({ operation, action: 'json' in decision ? 'reply' : 'fault', errorType: 'errorType' in decision ? decision.errorType : undefined });
    res.writeHead(decision.status, headers);
    res.end(out);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    log,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
