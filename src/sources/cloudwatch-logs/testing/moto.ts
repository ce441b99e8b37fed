/**
 * `moto_server` for integration tests: one process serving CloudWatch Logs and Kinesis (including
 * subscription-filter delivery into its Kinesis) on a free 127.0.0.1 port. Tests start it, reset it
 * between cases and stop it after. A missing `moto_server` fails loudly: these tests never skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../kinesis/testing/servers.ts';

export interface Moto {
  readonly endpoint: string;
  readonly port: number;
  /** Clears every service's state (`POST /moto-api/reset`) */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts `moto_server -H 127.0.0.1 -p <free port>` and waits until it answers.
 *
 * @example
 * const moto = await startMoto();
 * afterAll(() => moto.stop());
 * beforeEach(() => moto.reset());
 */
export async function startMoto(opts: { command?: string; timeoutMs?: number } = {}): Promise<Moto> {
  const command = opts.command ?? process.env.MOTO_SERVER ?? 'moto_server';
  let lastError: unknown;
  // Another process can take the port between freePort() and moto binding it; try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await launch(command, port, opts.timeoutMs ?? 30_000);
    } catch (err) {
      lastError = err;
      if ((err as { code?: string }).code === 'ENOENT') break;
    }
  }
  const e = lastError as { code?: string; message?: string };
  if (e?.code === 'ENOENT') {
    throw new Error(`${command} is not installed or not on PATH: install it with \`pip install 'moto[server]'\` (these tests need it and never skip)`);
  }
  throw lastError;
}

async function launch(command: string, port: number, timeoutMs: number): Promise<Moto> {
  const child: ChildProcess = spawn(command, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    // Flask logs one line per request on stderr; keep only the tail for error messages.
    stderr = (stderr + d).slice(-4000);
  });
  const exited = new Promise<{ code: number | null; err?: Error }>((resolve) => {
    child.once('error', (err) => resolve({ code: null, err }));
    child.once('exit', (code) => resolve({ code }));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const early = await Promise.race([exited, sleep(100).then(() => undefined)]);
    if (early) {
      if (early.err) throw early.err;
      throw new Error(`${command} exited with code ${early.code} before answering on ${endpoint}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    }
    try {
      const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${command} did not answer on ${endpoint} within ${timeoutMs} ms: ${stderr.slice(-500)}`);
    }
  }
  return {
    endpoint,
    port,
    async reset() {
      const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
      if (!stopped) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
