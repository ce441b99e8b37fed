/**
 * An HTTP proxy in front of an emulator that answers chosen operations with AccessDeniedException,
 * as AWS does for a missing IAM permission (the emulators have no IAM). 127.0.0.1 only.
 */
import { createServer, request } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface DenyProxy {
  readonly endpoint: string;
  /** Operations answered with AccessDeniedException so far */
  readonly denied: string[];
  close(): Promise<void>;
}

/**
 * @example
 * const proxy = await startDenyProxy(dynalite.endpoint, ['DescribeTable', 'CreateTable']);
 */
export async function startDenyProxy(target: string, deny: readonly string[]): Promise<DenyProxy> {
  const upstream = new URL(target);
  const denied: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    if (deny.includes(operation)) {
      req.resume();
      denied.push(operation);
      const body = JSON.stringify({
        __type: 'com.amazon.coral.service#AccessDeniedException',
        message: `User: arn:aws:iam::000000000000:user/fnwatch is not authorized to perform: dynamodb:${operation} because no identity-based policy allows the dynamodb:${operation} action`,
      });
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': 'AccessDeniedException', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const up = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    denied,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
