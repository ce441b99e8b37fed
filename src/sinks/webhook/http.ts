/**
 * One HTTP(S) POST with a connect timeout and a total response timeout, over a keep-alive agent.
 * TLS certificates are verified against Node's roots plus an optional CA file; verification is
 * only skipped with an explicit `insecureSkipVerify`, which logs a warning.
 */
import { readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { rootCertificates } from 'node:tls';
import { UsageError } from '../../core/contracts.ts';
import { redactUrl, type SinkLogger } from '../log.ts';

/** Response bodies kept for logs and dead letters. */
export const RESPONSE_BODY_MAX = 2048;

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** First {@link RESPONSE_BODY_MAX} bytes of the body, as text */
  body: string;
}

/** A request that did not produce a response: refused, reset, timed out, aborted. */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly kind: 'connect-timeout' | 'timeout' | 'network' | 'aborted',
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

export interface TransportOptions {
  connectTimeoutMs: number;
  /** Total time for one request, from start to the end of the response */
  timeoutMs: number;
  /** PEM file with extra CA certificates (added to Node's roots) */
  caFile?: string;
  insecureSkipVerify?: boolean;
  log: SinkLogger;
}

/**
 * @example
 * const t = new HttpTransport('https://siem.example/hook', { connectTimeoutMs: 5000, timeoutMs: 30000, log });
 * const res = await t.post(Buffer.from('{}\n'), { 'content-type': 'application/x-ndjson' });
 * t.close();
 */
export class HttpTransport {
  readonly url: URL;
  private readonly agent: http.Agent;
  private readonly secure: boolean;

  constructor(
    url: string,
    private readonly opts: TransportOptions,
  ) {
    this.url = new URL(url);
    this.secure = this.url.protocol === 'https:';
    if (!this.secure && this.url.protocol !== 'http:') throw new UsageError(`webhook url must be http or https: ${redactUrl(url)}`);
    if (this.secure) {
      let ca: string[] | undefined;
      if (opts.caFile) {
        try {
          ca = [...rootCertificates, readFileSync(opts.caFile, 'utf8')];
        } catch (err) {
          throw new UsageError(`cannot read the CA file ${opts.caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      }
      if (opts.insecureSkipVerify) opts.log.warn(`TLS certificate verification is disabled for ${redactUrl(url)} (insecureSkipVerify)`);
      this.agent = new https.Agent({ keepAlive: true, maxSockets: 2, ca, rejectUnauthorized: !opts.insecureSkipVerify });
    } else {
      this.agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    }
  }

  /** POSTs `body`; resolves with any HTTP response, rejects with {@link TransportError} otherwise. */
  post(body: Buffer, headers: Record<string, string>, signal?: AbortSignal): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const mod = this.secure ? https : http;
      let settled = false;
      const fail = (err: TransportError) => {
        if (settled) return;
        settled = true;
        clearTimeout(connectTimer);
        clearTimeout(totalTimer);
        signal?.removeEventListener('abort', onAbort);
        req.destroy();
        reject(err);
      };
      const req = mod.request(this.url, {
        method: 'POST',
        agent: this.agent,
        headers: { ...headers, 'content-length': String(body.length), 'user-agent': 'fnwatch' },
      });
      const where = redactUrl(this.url);
      const connectTimer = setTimeout(() => fail(new TransportError(`connect to ${where} timed out after ${this.opts.connectTimeoutMs} ms`, 'connect-timeout')), this.opts.connectTimeoutMs);
      const totalTimer = setTimeout(() => fail(new TransportError(`no complete response from ${where} within ${this.opts.timeoutMs} ms`, 'timeout')), this.opts.timeoutMs);
      const onAbort = () => fail(new TransportError('request aborted', 'aborted'));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('socket', (socket: Socket) => {
        if (!socket.connecting) return clearTimeout(connectTimer);
        socket.once(this.secure ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
      });
      req.on('error', (err: NodeJS.ErrnoException) => fail(new TransportError(`${where}: ${err.code ?? err.message}`, 'network')));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (c: Buffer) => {
          if (kept < RESPONSE_BODY_MAX) {
            chunks.push(c);
            kept += c.length;
          }
        });
        res.on('error', (err: NodeJS.ErrnoException) => fail(new TransportError(`${where}: response ${err.code ?? err.message}`, 'network')));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(connectTimer);
          clearTimeout(totalTimer);
          signal?.removeEventListener('abort', onAbort);
          const text = Buffer.concat(chunks).subarray(0, RESPONSE_BODY_MAX).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
        });
      });
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
