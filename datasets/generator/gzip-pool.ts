/**
 * Compresses subscription payloads on worker threads. One gzip per Kinesis record is the single
 * largest cost of generating a dataset; batching payloads to a worker lets the simulation keep
 * running on the main thread meanwhile. Output is identical to compressing inline (gzip is
 * deterministic for fixed options), and results come back in submission order per caller.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ZlibOptions } from 'node:zlib';

/** The worker: plain CommonJS, so it runs without a TypeScript loader. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { gzipSync } = require('node:zlib');
parentPort.on('message', ({ id, payloads }) => {
  const out = new Array(payloads.length);
  for (let i = 0; i < payloads.length; i++) out[i] = gzipSync(payloads[i], workerData).toString('base64');
  parentPort.postMessage({ id, out });
});
`;

interface Job {
  resolve: (out: string[]) => void;
  reject: (err: Error) => void;
}

/**
 * A small pool of gzip workers.
 *
 * @example
 * const pool = new GzipPool({ level: 1 });
 * const [b64] = await pool.compress(['{"messageType":"DATA_MESSAGE",…}']);
 * await pool.close();
 */
export class GzipPool {
  private readonly workers: Worker[];
  private readonly jobs = new Map<number, Job>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(options: ZlibOptions, size = Math.max(1, Math.min(2, availableParallelism() - 1))) {
    this.workers = Array.from({ length: size }, () => {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: options });
      w.on('message', ({ id, out }: { id: number; out: string[] }) => {
        const job = this.jobs.get(id);
        this.jobs.delete(id);
        job?.resolve(out);
      });
      w.on('error', (err) => this.fail(err));
      return w;
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const job of this.jobs.values()) job.reject(err);
    this.jobs.clear();
  }

  /** Base64 of gzip of each payload, in the same order. */
  compress(payloads: string[]): Promise<string[]> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<string[]>((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      this.workers[id % this.workers.length]!.postMessage({ id, payloads });
    });
  }

  /** Jobs submitted and not yet returned. */
  get pending(): number {
    return this.jobs.size;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
