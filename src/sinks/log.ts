/**
 * The logger sinks write to. Structurally a subset of pino's `Logger`, so the service can pass its
 * pino instance; the default writes one line per message to stderr.
 */
export interface SinkLogger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/**
 * Writes `fnwatch: <level>: <msg>` lines to stderr.
 *
 * @example
 * const log = stderrLogger();
 * log.warn('outbox at 85% of its 256 MiB cap');
 */
export function stderrLogger(prefix = 'fnwatch'): SinkLogger {
  const line = (level: string, msg: string) => process.stderr.write(`${prefix}: ${level}: ${msg}\n`);
  return {
    info: (msg) => line('info', msg),
    warn: (msg) => line('warn', msg),
    error: (msg) => line('error', msg),
  };
}

/**
 * A logger that keeps its lines in memory (tests and eval assert on them).
 *
 * @example
 * const log = memoryLogger();
 * log.warn('x');
 * log.lines; // → ['warn: x']
 */
export function memoryLogger(): SinkLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (msg) => lines.push(`info: ${msg}`),
    warn: (msg) => lines.push(`warn: ${msg}`),
    error: (msg) => lines.push(`error: ${msg}`),
  };
}

/**
 * A URL safe to print: credentials in the userinfo and every query value are replaced, since
 * webhook endpoints often carry tokens there.
 *
 * @example
 * redactUrl('https://u:p@siem.example/hook?token=abc'); // → 'https://***:***@siem.example/hook?token=***'
 */
export function redactUrl(url: string | URL): string {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    return '<invalid url>';
  }
  if (u.username) u.username = '***';
  if (u.password) u.password = '***';
  for (const key of [...u.searchParams.keys()]) u.searchParams.set(key, '***');
  return u.toString().replace(/%2A%2A%2A/g, '***');
}
