/**
 * Local servers for the Kinesis source's tests and benchmarks, on 127.0.0.1 and a free port, started
 * and stopped by the test: kinesalite (Kinesis), dynalite (DynamoDB) in this process (through the
 * service's {@link startEmbedded}, with test settings) or in a child process, and kinesis-local
 * (Kinesis with enhanced fan-out) in a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startEmbedded, type EmbeddedServer } from '../../../service/embedded.ts';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

/** A running local server. */
export type LocalServer = EmbeddedServer;

export interface EmulatorOptions {
  /** Run in a child process instead of this one (fairer benchmarks; survives this event loop being busy) */
  childProcess?: boolean;
}

/**
 * A port that was free a moment ago on 127.0.0.1.
 *
 * @example
 * const closed = `http://127.0.0.1:${await freePort()}`; // nothing listens there
 */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/**
 * kinesalite with 50 ms stream state transitions, in memory.
 *
 * @example
 * const kinesis = await startKinesalite();
 * afterAll(() => kinesis.stop());
 */
export function startKinesalite(opts: EmulatorOptions = {}): Promise<LocalServer> {
  const options = { createStreamMs: 50, deleteStreamMs: 50, updateStreamMs: 50, shardLimit: 100 };
  return opts.childProcess ? startModuleInChild('kinesalite', options) : startEmbedded('kinesalite', options);
}

/**
 * dynalite with instant table state transitions, in memory.
 *
 * @example
 * const ddb = await startDynalite();
 * afterAll(() => ddb.stop());
 */
export function startDynalite(opts: EmulatorOptions = {}): Promise<LocalServer> {
  const options = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };
  return opts.childProcess ? startModuleInChild('dynalite', options) : startEmbedded('dynalite', options);
}

async function startModuleInChild(name: string, options: object): Promise<LocalServer> {
  const script = `
    const server = require(${JSON.stringify(require.resolve(name))})(${JSON.stringify(options)});
    server.listen(0, '127.0.0.1', () => process.stdout.write('PORT ' + server.address().port + '\\n'));
    process.on('SIGTERM', () => process.exit(0));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-2000)));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${name} exited with code ${code} before listening: ${err.trim()}`)));
  });
  return { endpoint: `http://127.0.0.1:${port}`, port, stop: () => stopChild(child) };
}

export interface KinesisLocalOptions {
  /** Stream, consumer and reshard state transitions (default 100 ms; the emulator's own default is 500 ms) */
  transitionMs?: number;
  /** How long to wait for it to answer (default 30 s) */
  timeoutMs?: number;
}

/**
 * kinesis-local (a JS build of kinesis-mock) on its plain-http port. It is the only local server
 * with enhanced fan-out (RegisterStreamConsumer, SubscribeToShard over HTTP/1.1). Its own TLS port
 * is bound too, also on 127.0.0.1.
 *
 * @example
 * const kl = await startKinesisLocal();
 * const kinesis = createKinesisClient({ endpoint: kl.endpoint, region: 'us-east-1' });
 */
export async function startKinesisLocal(opts: KinesisLocalOptions = {}): Promise<LocalServer> {
  const pkg = dirname(require.resolve('kinesis-local/package.json'));
  const [plain, tls] = [await freePort(), await freePort()];
  const duration = `${opts.transitionMs ?? 100}ms`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KINESIS_MOCK_PLAIN_PORT: String(plain),
    KINESIS_MOCK_TLS_PORT: String(tls),
    KINESIS_MOCK_CERT_PATH: join(pkg, 'server.json'),
    LOG_LEVEL: 'ERROR',
    ROOT_LOG_LEVEL: 'ERROR',
    SHOULD_PERSIST_DATA: 'false',
  };
  for (const name of [
    'CREATE_STREAM_DURATION',
    'DELETE_STREAM_DURATION',
    'REGISTER_STREAM_CONSUMER_DURATION',
    'DEREGISTER_STREAM_CONSUMER_DURATION',
    'MERGE_SHARDS_DURATION',
    'SPLIT_SHARD_DURATION',
    'UPDATE_SHARD_COUNT_DURATION',
  ]) {
    env[name] = duration;
  }
  const child = spawn(process.execPath, ['--require', join(here, 'loopback-only.cjs'), join(pkg, 'main.js')], {
    env,
    cwd: pkg,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (d: Buffer): void => {
    log = (log + d.toString('utf8')).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const endpoint = `http://127.0.0.1:${plain}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const early = await Promise.race([exited, sleep(150).then(() => 'running' as const)]);
    if (early !== 'running') throw new Error(`kinesis-local exited with code ${early} before answering on ${endpoint}: ${log.trim().slice(-500)}`);
    try {
      // Any HTTP answer (an unsigned request gets a 400) means it is listening.
      await fetch(endpoint, { method: 'POST', headers: { 'x-amz-target': 'Kinesis_20131202.ListStreams' }, body: '{}' });
      break;
    } catch {
      if (Date.now() > deadline) {
        await stopChild(child);
        throw new Error(`kinesis-local did not answer on ${endpoint} within ${opts.timeoutMs ?? 30_000} ms: ${log.slice(-500)}`);
      }
    }
  }
  return { endpoint, port: plain, stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const stopped = await Promise.race([exited.then(() => true), sleep(3_000).then(() => false)]);
  if (!stopped) {
    child.kill('SIGKILL');
    await exited;
  }
}
