'use strict';
/**
 * fnwatch egress instrumentation, loaded inside a Lambda function with
 * `NODE_OPTIONS=--require /opt/fnwatch/egress.cjs` (a layer puts it under /opt).
 *
 * It wraps `net.Socket.prototype.connect`, through which every outbound TCP connection in Node.js
 * passes: `net.connect`, `tls.connect` (TLSSocket extends net.Socket), `http`/`https` agents and
 * undici's `fetch` (whose connector calls `net.connect`/`tls.connect`). For each new host:port it
 * writes one log line that fnwatch's parser turns into an egress event:
 *
 *   {"fnwatch":"egress","host":"api.stripe.com","port":443,"proto":"tls"}
 *
 * at most once per host:port per execution environment per 5 minutes, from a bounded map.
 * Loopback and the Lambda Runtime API are skipped. Nothing here may throw into the function: any
 * failure of the observer is swallowed and the original connect always runs.
 *
 * Environment:
 *   FNWATCH_EGRESS_WINDOW_MS       re-emit interval per host:port (default 300000)
 *   FNWATCH_EGRESS_MAX_ENTRIES     host:port entries remembered (default 1024)
 *   FNWATCH_EGRESS_INCLUDE_LOOPBACK=1  also report loopback (tests)
 *   FNWATCH_EGRESS_DISABLE=1       load without hooking anything
 */
const net = require('node:net');

const INSTALLED = Symbol.for('fnwatch.egress.installed');

function positiveInt(value, fallback) {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

function install() {
  if (globalThis[INSTALLED] || process.env.FNWATCH_EGRESS_DISABLE === '1') return;
  globalThis[INSTALLED] = true;

  const windowMs = positiveInt(process.env.FNWATCH_EGRESS_WINDOW_MS, 5 * 60 * 1000);
  const maxEntries = positiveInt(process.env.FNWATCH_EGRESS_MAX_ENTRIES, 1024);
  const includeLoopback = process.env.FNWATCH_EGRESS_INCLUDE_LOOPBACK === '1';
  const runtimeApi = (process.env.AWS_LAMBDA_RUNTIME_API || '').toLowerCase();
  /** host:port → last time it was reported (ms) */
  const lastReported = new Map();
  let tls; // loaded on first use: most connects happen after the runtime has loaded it anyway

  function isLoopback(host) {
    return (
      host === 'localhost' ||
      host.startsWith('127.') ||
      host === '::1' ||
      host === '[::1]' ||
      host === '0.0.0.0' ||
      host.startsWith('::ffff:127.')
    );
  }

  /** connect(options[, cb]) | connect(port[, host][, cb]) | connect(path[, cb]) | Node's internal normalized [options, cb] */
  function targetOf(args) {
    let first = args[0];
    if (Array.isArray(first)) first = first[0];
    if (first !== null && typeof first === 'object') {
      if (first.path !== undefined && first.port === undefined) return undefined; // IPC / unix socket
      return { host: first.host, port: first.port };
    }
    if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      return { host: typeof args[1] === 'string' ? args[1] : undefined, port: first };
    }
    return undefined; // a path string: unix socket
  }

  function observe(socket, args) {
    const target = targetOf(args);
    if (target === undefined) return;
    const host = String(target.host === undefined || target.host === '' ? 'localhost' : target.host).toLowerCase();
    const port = Number(target.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) return;
    const key = `${host}:${port}`;
    if (runtimeApi !== '' && (key === runtimeApi || host === runtimeApi)) return;
    if (!includeLoopback && isLoopback(host)) return;
    const now = Date.now();
    const last = lastReported.get(key);
    if (last !== undefined && now - last < windowMs) return;
    lastReported.delete(key); // re-insert so Map order is least-recently-reported first
    if (lastReported.size >= maxEntries) lastReported.delete(lastReported.keys().next().value);
    lastReported.set(key, now);
    if (tls === undefined) tls = require('node:tls');
    const proto = socket instanceof tls.TLSSocket ? 'tls' : 'tcp';
    console.log(JSON.stringify({ fnwatch: 'egress', host, port, proto }));
  }

  const originalConnect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function fnwatchEgressConnect(...args) {
    try {
      observe(this, args);
    } catch {
      // never let observation break the function's connection
    }
    return originalConnect.apply(this, args);
  };
}

try {
  install();
} catch {
  // a broken install must not stop the function from starting
}
