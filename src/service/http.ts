/**
 * The operations endpoint: `/healthz` (the process is up and not failed), `/readyz` (the sources are
 * started: leases acquired, tail sessions open) and `/metrics` (Prometheus text). Bound to
 * 127.0.0.1 unless the config says otherwise: metrics name functions and shards.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../core/contracts.ts';
import type { Registry } from 'prom-client';

export interface OpsStatus {
  /** Liveness: false once the service failed and is exiting */
  healthy(): boolean;
  /** Readiness: the sources are consuming */
  ready(): boolean;
  /** Short JSON-able detail shown by /healthz and /readyz */
  detail(): Record<string, unknown>;
}

/** A listening ops server. */
export interface OpsServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Starts the ops server. A port in use is a {@link UsageError} naming it.
 *
 * @example
 * const ops = await startOpsServer({ host: '127.0.0.1', port: 9464 }, metrics.registry, status);
 * // curl http://127.0.0.1:9464/metrics
 * await ops.close();
 */
export async function startOpsServer(listen: { host: string; port: number }, registry: Registry, status: OpsStatus): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (code: number, body: string, type = 'application/json'): void => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, JSON.stringify({ error: 'method not allowed' }));
    switch (path) {
      case '/healthz': {
        const ok = status.healthy();
        return reply(ok ? 200 : 503, JSON.stringify({ status: ok ? 'ok' : 'failed', ...status.detail() }));
      }
      case '/readyz': {
        const ok = status.healthy() && status.ready();
        return reply(ok ? 200 : 503, JSON.stringify({ status: ok ? 'ready' : 'not ready', ...status.detail() }));
      }
      case '/metrics':
        registry.metrics().then(
          (text) => reply(200, text, registry.contentType),
          (err: unknown) => reply(500, JSON.stringify({ error: String(err) })),
        );
        return;
      default:
        return reply(404, JSON.stringify({ error: 'not found', endpoints: ['/healthz', '/readyz', '/metrics'] }));
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new UsageError(`cannot listen on ${listen.host}:${listen.port} for /metrics: ${err.code ?? err.message} (set http.port, or 0 for any free port)`)),
    );
    server.listen(listen.port, listen.host, () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
