/**
 * A real webhook receiver for tests: a node:http (or https) server on 127.0.0.1 that verifies
 * Standard Webhooks signatures (with fnwatch's verifier and with the `standardwebhooks` reference
 * library), checks the Splunk HEC token and path, validates every document of the body against its
 * format, and records what it accepted. Tests script failures with `respond`.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { decodeBatch, validatorFor, type WebhookFormat } from '../formats/index.ts';
import { verifyWebhook } from '../webhook/verify.ts';

export interface ReceivedRequest {
  id: string;
  timestamp: number;
  /** Documents of the body, in order */
  docs: unknown[];
  /** Status answered */
  status: number;
  /** ms since the receiver started */
  at: number;
}

export interface Scripted {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering */
  delayMs?: number;
}

export interface ReceiverOptions {
  format: WebhookFormat;
  /** `whsec_…` secret(s) the receiver accepts; signatures are required when set */
  secret?: string | string[];
  /** Required `Authorization: Splunk <token>` (HEC) */
  splunkToken?: string;
  /** Listen on this port (default: a free one) */
  port?: number;
  /** Serve HTTPS with this key and certificate (PEM files) */
  tls?: { keyFile: string; certFile: string };
  /** Decide the answer per request (after verification); undefined → 200 */
  respond?: (req: { id: string; docs: unknown[]; n: number }) => Scripted | undefined;
}

/**
 * @example
 * const rx = await TestReceiver.start({ format: 'ocsf', secret });
 * // … deliver to rx.url …
 * expect(rx.problems).toEqual([]);
 * await rx.close();
 */
export class TestReceiver {
  /** Every request that passed verification, with what it was answered */
  readonly requests: ReceivedRequest[] = [];
  /** Signature, authentication and validation failures (should stay empty) */
  readonly problems: string[] = [];
  private readonly t0 = Date.now();
  private count = 0;

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    readonly port: number,
    private readonly opts: ReceiverOptions,
  ) {}

  static async start(opts: ReceiverOptions): Promise<TestReceiver> {
    let rx: TestReceiver | undefined;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => rx!.handle(req, res);
    const server = opts.tls
      ? https.createServer({ key: readFileSync(opts.tls.keyFile), cert: readFileSync(opts.tls.certFile) }, handler)
      : http.createServer(handler);
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const path = opts.format === 'splunk-hec' ? '/services/collector/event' : '/fnwatch';
    rx = new TestReceiver(server, `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}${path}`, port, opts);
    return rx;
  }

  /** Documents of accepted (2xx) requests, in arrival order, each with the request's webhook-id. */
  accepted(): { id: string; doc: unknown }[] {
    return this.requests.filter((r) => r.status < 300).flatMap((r) => r.docs.map((doc) => ({ id: r.id, doc })));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const answer = (s: Scripted) => {
        const send = () => {
          if (res.destroyed) return;
          res.writeHead(s.status, s.headers ?? {});
          res.end(s.body ?? '');
        };
        if (s.delayMs) setTimeout(send, s.delayMs);
        else send();
      };
      const fail = (status: number, problem: string) => {
        this.problems.push(problem);
        answer({ status, body: JSON.stringify({ error: problem }) });
      };
      if (req.method !== 'POST') return fail(405, `method ${req.method}`);
      const id = String(req.headers['webhook-id'] ?? '');
      const timestamp = Number(req.headers['webhook-timestamp']);
      if (this.opts.secret) {
        try {
          verifyWebhook(req.headers, raw, this.opts.secret);
          // The reference implementation must agree (it takes one secret; try each).
          const secrets = Array.isArray(this.opts.secret) ? this.opts.secret : [this.opts.secret];
          const agree = secrets.some((s) => {
            try {
              new Webhook(s).verify(raw.toString('utf8'), req.headers as Record<string, string>, { jsonParse: false });
              return true;
            } catch {
              return false;
            }
          });
          if (!agree) return fail(401, `standardwebhooks rejected the signature of ${id}`);
        } catch (err) {
          return fail(401, `signature of ${id}: ${(err as Error).message}`);
        }
      }
      if (this.opts.format === 'splunk-hec') {
        if (req.url !== '/services/collector/event') return fail(404, `HEC path ${req.url}`);
        if (req.headers.authorization !== `Splunk ${this.opts.splunkToken}`) return fail(401, 'HEC authorization header');
      }
      let docs: unknown[];
      try {
        docs = decodeBatch(this.opts.format, raw.toString('utf8'));
      } catch (err) {
        return fail(400, `body of ${id} is not ${this.opts.format}: ${(err as Error).message}`);
      }
      const validate = validatorFor(this.opts.format);
      for (const [i, doc] of docs.entries()) {
        const errors = validate(doc);
        if (errors.length > 0) return fail(400, `${id} document ${i}: ${errors.join('; ')}`);
      }
      const scripted = this.opts.respond?.({ id, docs, n: this.count++ }) ?? { status: 200, body: '{"text":"Success","code":0}' };
      this.requests.push({ id, timestamp, docs, status: scripted.status, at: Date.now() - this.t0 });
      answer(scripted);
    });
  }
}

/** The `unmapped.seq` of a test alert inside a document of any format. */
export function seqOf(format: WebhookFormat, doc: unknown): number {
  const d = doc as Record<string, any>;
  if (format === 'ocsf') return d.unmapped.seq as number;
  if (format === 'splunk-hec') return d.event.unmapped.seq as number;
  return Number(/finding (\d+)/.exec(d.message as string)![1]);
}

/** The function name of a document of any format. */
export function functionOf(format: WebhookFormat, doc: unknown): string {
  const d = doc as Record<string, any>;
  if (format === 'ocsf') return d.resources[0].name as string;
  if (format === 'splunk-hec') return d.fields.function as string;
  return d.faas.name as string;
}

/** A port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
