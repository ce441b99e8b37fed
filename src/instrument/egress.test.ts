/**
 * The egress hook for real: child Node processes started with `--require egress.cjs` connect over
 * net, tls, http, https and fetch to servers on 127.0.0.1, and their output is checked line by line
 * and fed to the parser as Lambda would log it.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createParser } from '../parsers/index.ts';
import { RecordingSink } from '../parsers/test-sink.ts';

const HOOK = fileURLToPath(new URL('./egress.cjs', import.meta.url));
const CERT = readFileSync(new URL('./fixtures/localhost-cert.pem', import.meta.url), 'utf8');
const KEY = readFileSync(new URL('./fixtures/localhost-key.pem', import.meta.url), 'utf8');

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  egress: { fnwatch: string; host: string; port: number; proto: string }[];
}

/** Runs `code` (an ES module body) in `node --require egress.cjs`, with PORTS in its environment. */
function runChild(code: string, env: Record<string, string> = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', HOOK, '--input-type=module', '-e', code], {
      env: { PATH: process.env.PATH ?? '', PORTS: JSON.stringify(ports), FNWATCH_EGRESS_INCLUDE_LOOPBACK: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      const egress = stdout
        .split('\n')
        .filter((l) => l.startsWith('{"fnwatch"'))
        .map((l) => JSON.parse(l) as ChildResult['egress'][number]);
      resolve({ code: exitCode, stdout, stderr, egress });
    });
  });
}

const ports: Record<string, number> = {};
const servers: (NetServer | HttpServer)[] = [];

async function listen<S extends NetServer | HttpServer>(name: string, server: S): Promise<void> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ports[name] = (server.address() as { port: number }).port;
  servers.push(server);
}

beforeAll(async () => {
  const handler = (_req: unknown, res: { end(s: string): void }) => res.end('pong');
  await listen('tcp', createNetServer((s) => s.end('hi')));
  await listen('tcp2', createNetServer((s) => s.end('hi')));
  await listen('tcp3', createNetServer((s) => s.end('hi')));
  await listen('http', createHttpServer(handler));
  await listen('fetch', createHttpServer(handler));
  await listen('https', createHttpsServer({ cert: CERT, key: KEY }, handler));
  await listen('tls', createHttpsServer({ cert: CERT, key: KEY }, handler));
  await listen('runtime', createHttpServer(handler));
});

afterAll(async () => {
  for (const s of servers) {
    if ('closeAllConnections' in s) s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const PRELUDE = `
import net from 'node:net'; import tls from 'node:tls'; import http from 'node:http'; import https from 'node:https';
const P = JSON.parse(process.env.PORTS);
const tcp = (port, host = '127.0.0.1') => new Promise((res, rej) => { const s = net.connect(port, host, () => { s.end(); res(); }); s.on('error', rej); });
const get = (mod, url, opts = {}) => new Promise((res, rej) => mod.get(url, { agent: false, ...opts }, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => res(b)); }).on('error', rej));
`;

describe('egress.cjs in a child process', () => {
  it('reports net, http, fetch (undici), https and tls connections once each, and the function still works', async () => {
    const r = await runChild(
      `${PRELUDE}
      await tcp(P.tcp);
      const a = await get(http, 'http://localhost:' + P.http + '/');
      const b = await (await fetch('http://127.0.0.1:' + P.fetch + '/')).text();
      const c = await get(https, 'https://localhost:' + P.https + '/', { ca: process.env.CA });
      await new Promise((res, rej) => { const t = tls.connect({ host: '127.0.0.1', port: P.tls, ca: process.env.CA }, () => { t.end(); res(); }); t.on('error', rej); });
      console.log('results', a, b, c);`,
      { CA: CERT },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('results pong pong pong');
    expect(r.egress).toEqual([
      { fnwatch: 'egress', host: '127.0.0.1', port: ports.tcp, proto: 'tcp' },
      { fnwatch: 'egress', host: 'localhost', port: ports.http, proto: 'tcp' },
      { fnwatch: 'egress', host: '127.0.0.1', port: ports.fetch, proto: 'tcp' },
      { fnwatch: 'egress', host: 'localhost', port: ports.https, proto: 'tls' },
      { fnwatch: 'egress', host: '127.0.0.1', port: ports.tls, proto: 'tls' },
    ]);
  });

  it('reports a host:port once per window, again after the window, and re-reports entries evicted from the bounded map', async () => {
    const once = await runChild(`${PRELUDE} for (let i = 0; i < 5; i++) await tcp(P.tcp);`);
    expect(once.egress).toHaveLength(1);
    const windowed = await runChild(`${PRELUDE} await tcp(P.tcp); await new Promise((r) => setTimeout(r, 60)); await tcp(P.tcp);`, {
      FNWATCH_EGRESS_WINDOW_MS: '20',
    });
    expect(windowed.egress).toHaveLength(2);
    const bounded = await runChild(`${PRELUDE} await tcp(P.tcp); await tcp(P.tcp2); await tcp(P.tcp3); await tcp(P.tcp);`, {
      FNWATCH_EGRESS_MAX_ENTRIES: '2',
    });
    expect(bounded.egress.map((e) => e.port)).toEqual([ports.tcp, ports.tcp2, ports.tcp3, ports.tcp]);
  });

  it('skips loopback by default and always skips the Lambda Runtime API', async () => {
    const quiet = await runChild(`${PRELUDE} await tcp(P.tcp); await get(http, 'http://localhost:' + P.http + '/');`, { FNWATCH_EGRESS_INCLUDE_LOOPBACK: '0' });
    expect(quiet.code).toBe(0);
    expect(quiet.egress).toEqual([]);
    const runtime = await runChild(`${PRELUDE} await get(http, 'http://127.0.0.1:' + P.runtime + '/2018-06-01/runtime/invocation/next'); await tcp(P.tcp);`, {
      AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${ports.runtime}`,
    });
    expect(runtime.egress.map((e) => e.port)).toEqual([ports.tcp]);
  });

  it('reports a refused connection attempt and leaves the error to the function', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createNetServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const r = await runChild(`${PRELUDE} try { await tcp(${closed}); } catch (e) { console.log('caught', e.code); }`);
    expect(r.stdout).toContain('caught ECONNREFUSED');
    expect(r.egress).toEqual([{ fnwatch: 'egress', host: '127.0.0.1', port: closed, proto: 'tcp' }]);
  });

  it('does not change how Node reacts to bad connect arguments or unix sockets', async () => {
    const code = `${PRELUDE}
      const out = [];
      try { new net.Socket().connect(); } catch (e) { out.push(e.code); }
      try { net.connect({ port: -5 }); } catch (e) { out.push(e.code); }
      const u = net.connect('/nonexistent/fnwatch.sock'); await new Promise((r) => u.on('error', (e) => { out.push(e.code); r(); }));
      console.log('codes', JSON.stringify(out));`;
    const hooked = await runChild(code);
    const plain = await new Promise<string>((resolve) => {
      const c = spawn(process.execPath, ['--input-type=module', '-e', code], { env: { PATH: process.env.PATH ?? '', PORTS: JSON.stringify(ports) } });
      let s = '';
      c.stdout.on('data', (d: Buffer) => (s += d.toString()));
      c.on('close', () => resolve(s));
    });
    expect(hooked.stdout).toBe(plain);
    expect(hooked.stdout).toMatch(/codes \["ERR_MISSING_ARGS","ERR_SOCKET_BAD_PORT","ENOENT"\]/);
    expect(hooked.egress).toEqual([]);
  });

  it('can be disabled, and loading it twice hooks once', async () => {
    expect((await runChild(`${PRELUDE} await tcp(P.tcp);`, { FNWATCH_EGRESS_DISABLE: '1' })).egress).toEqual([]);
    const twice = await runChild(`${PRELUDE} import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); delete require.cache[${JSON.stringify(HOOK)}]; require(${JSON.stringify(HOOK)}); await tcp(P.tcp);`);
    expect(twice.egress).toHaveLength(1);
  });
});

describe('the parser reads the hook’s lines as Lambda logs them', () => {
  it('text and JSON log formats both become EgressEvents', async () => {
    const r = await runChild(`${PRELUDE} await tcp(P.tcp); await get(https, 'https://localhost:' + P.https + '/', { ca: process.env.CA });`, { CA: CERT });
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('{"fnwatch"'));
    expect(lines).toHaveLength(2);
    const requestId = '5a3f7c1e-0000-4000-8000-00000000abcd';
    const parser = createParser({ region: 'us-east-1' });
    const sink = new RecordingSink();
    lines.forEach((line, i) => {
      // Lambda's Node.js runtime: text format prefixes `<ts>\t<requestId>\tINFO\t`; JSON format wraps the line as `message`.
      const text = `2024-01-01T10:00:0${i}.000Z\t${requestId}\tINFO\t${line}\n`;
      const json = JSON.stringify({ timestamp: `2024-01-01T10:00:0${i}.000Z`, level: 'INFO', requestId, message: line });
      for (const message of [text, json]) {
        parser.logEvent({ logGroup: '/aws/lambda/orders-api', logStream: '2024/01/01/[$LATEST]abc', owner: '123456789012', timestamp: 1_704_103_200_000 + i, message }, {}, sink);
      }
    });
    expect(sink.ofKind('egress').map((e) => [e.fn.name, e.host, e.port, e.protocol, e.via])).toEqual([
      ['orders-api', '127.0.0.1', ports.tcp, 'tcp', 'instrumentation'],
      ['orders-api', '127.0.0.1', ports.tcp, 'tcp', 'instrumentation'],
      ['orders-api', 'localhost', ports.https, 'tls', 'instrumentation'],
      ['orders-api', 'localhost', ports.https, 'tls', 'instrumentation'],
    ]);
  });
});
