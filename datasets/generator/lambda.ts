/**
 * One function's simulated life: invocations arriving by its load profile, execution environments
 * created on cold starts and reclaimed after idle, and the platform and application log lines
 * (text or JSON format) each invocation writes, plus the CloudTrail calls its code makes.
 *
 * Line shapes follow /work/shared/reference/lambda-logs.md.
 */
import type { ChangeEvent, EgressEvent, FnEvent, FunctionRef, InvocationEvent, InvocationStatus, LogFormat } from '../../src/core/events.ts';
import type { ApiCall, FunctionSpec, HostUse } from './catalog.ts';
import { functionCallRecord, type CallError, type EnvIdentity, type TrailRecord } from './cloudtrail.ts';
import type { Effect } from './plan.ts';
import type { Rng } from './prng.ts';
import { iso } from './time.ts';

/** One CloudWatch log event on its way to the subscription, with the truth it carries. */
export interface LogItem {
  /** Position in the stream: event time for Lambda logs, delivery time for CloudTrail */
  sort: number;
  /** The log event's timestamp */
  ts: number;
  /** Creation order: the deterministic tie-break */
  seq: number;
  owner: string;
  group: string;
  stream: string;
  id: string;
  message: string;
  truth?: FnEvent;
}

/** Where a simulator sends what it produces. */
export interface SimOutput {
  /** A Lambda log event (goes to the function's log group) */
  log(fn: FunctionSpec, stream: string, ts: number, message: string, truth?: FnEvent): void;
  /** A CloudTrail record made at `rec.time` (delivered minutes later) */
  trail(account: string, rec: TrailRecord<FnEvent>): void;
}

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const EGRESS_REPEAT_MS = 5 * MIN;

interface Env {
  id: string;
  stream: string;
  version: string;
  generation: number;
  created: number;
  lastUsed: number;
  busyUntil: number;
  idleTtl: number;
  maxLife: number;
  maxMem: number;
  identity: EnvIdentity;
  egressAt: Map<string, number>;
}

/** Local hour-of-day curve: 0 at 04:00, 1 at 16:00. */
function dayCurve(hour: number): number {
  const x = 0.5 * (1 - Math.cos((2 * Math.PI * (hour - 4)) / 24));
  return x * Math.sqrt(x);
}

function streamDate(ms: number): string {
  return iso(ms).slice(0, 10).replace(/-/g, '/');
}

/** Start of the nightly burst on the UTC day that begins at `dayStart`. */
export function nightlyBurstStart(spec: FunctionSpec, dayStart: number): number {
  return dayStart + ((((spec.nightlyHour - spec.tzOffsetH) % 24) + 24) % 24) * HOUR;
}

const ERRORS: readonly [string, string][] = [
  ['Error', 'upstream returned 502'],
  ['TypeError', "Cannot read properties of undefined (reading 'id')"],
  ['ValidationError', 'request body failed schema validation'],
  ['ConditionalCheckFailedException', 'The conditional request failed'],
  ['TimeoutError', 'Connection timed out after 3000 ms'],
];

const PROBE_ACTIONS: readonly string[] = ['dynamodb:Scan', 's3:ListAllMyBuckets', 'iam:ListUsers', 'secretsmanager:ListSecrets', 'lambda:ListFunctions', 'ec2:DescribeInstances'];

/**
 * Simulates one function window by window. Deterministic for a given spec, effects and rng.
 *
 * @example
 * const sim = new FunctionSim(spec, effects, rng.fork(`sim:${spec.name}`), start, output);
 * for (let t = start; t < end; t += 60_000) sim.step(t, t + 60_000);
 */
export class FunctionSim {
  private envs: Env[] = [];
  private version: string;
  private versionNumber: number;
  private generation = 0;
  private format: LogFormat;
  private durationFactor = 1;
  private burstEnd = 0;
  private burstRate = 0;
  private versionAnnounced: string;
  /** Dormant functions are invoked once after deployment (a smoke test), then left alone */
  private smokeTestAt: number | undefined;
  private readonly pendingChanges: { at: number; apply: () => void }[] = [];
  /** Invocations simulated, by outcome */
  readonly stats = { invocations: 0, coldStarts: 0, timeouts: 0, errors: 0 };

  constructor(
    readonly spec: FunctionSpec,
    private readonly effects: readonly Effect[],
    private readonly rng: Rng,
    private readonly datasetStart: number,
    private readonly out: SimOutput,
  ) {
    this.versionNumber = spec.initialVersion;
    this.version = spec.versioned ? String(spec.initialVersion) : '$LATEST';
    this.versionAnnounced = this.version;
    this.format = spec.format;
    if (spec.profile === 'dormant') this.smokeTestAt = datasetStart + Math.round(rng.range(10 * MIN, 6 * HOUR));
  }

  /** A code deploy taking effect at `at`: new version (when versioned), new environments, new durations. */
  deployCode(at: number, durationFactor: number): number {
    const next = this.versionNumber + 1;
    this.pendingChanges.push({
      at,
      apply: () => {
        this.versionNumber = next;
        if (this.spec.versioned) this.version = String(next);
        this.durationFactor *= durationFactor;
        this.generation++;
      },
    });
    return next;
  }

  /** A logging-config change at `at`: every environment is replaced and logs come out in `format`. */
  switchFormat(at: number, format: LogFormat): void {
    this.pendingChanges.push({
      at,
      apply: () => {
        this.format = format;
        this.generation++;
      },
    });
  }

  /** Simulates invocations arriving in [t0, t1). */
  step(t0: number, t1: number): void {
    const arrivals = this.arrivals(t0, t1);
    for (let i = 0; i < arrivals.length; i++) this.invoke(arrivals[i]!);
    this.applyChanges(t1);
    this.prune(t1);
  }

  private applyChanges(t: number): void {
    while (this.pendingChanges.length > 0 && this.pendingChanges[0]!.at <= t) this.pendingChanges.shift()!.apply();
  }

  private active(t: number): Effect[] | undefined {
    let found: Effect[] | undefined;
    for (const e of this.effects) if (t >= e.start && t < e.end) (found ??= []).push(e);
    return found;
  }

  /** Requests per minute at `t` from the profile's own shape (no attacks). */
  private baseRate(t: number): number {
    const s = this.spec;
    const local = t + s.tzOffsetH * HOUR;
    const hour = (local % DAY) / HOUR;
    const dow = new Date(local).getUTCDay();
    const weekly = dow === 0 || dow === 6 ? s.weekendFactor : 1;
    const growth = Math.pow(1 + s.growthPerDay, (t - this.datasetStart) / DAY);
    const diurnal = s.nightFloor + (1 - s.nightFloor) * dayCurve(hour);
    switch (s.profile) {
      case 'http-api':
      case 'rare':
      case 'stream-processor':
        return s.ratePerMin * diurnal * weekly * growth;
      case 'queue-worker':
        return (s.ratePerMin + (t < this.burstEnd ? this.burstRate : 0)) * growth;
      case 'dormant':
        return s.ratePerMin;
      case 'nightly-batch': {
        const burstStart = nightlyBurstStart(s, t - (t % DAY));
        const len = s.nightlyMinutes * MIN;
        return t >= burstStart && t < burstStart + len ? (s.nightlySize * growth) / s.nightlyMinutes : 0;
      }
      default:
        return 0;
    }
  }

  private arrivals(t0: number, t1: number): number[] {
    const s = this.spec;
    const mid = (t0 + t1) / 2;
    if (s.profile === 'queue-worker' && t0 >= this.burstEnd) {
      const local = (t0 + s.tzOffsetH * HOUR) % DAY;
      const busy = 0.4 + dayCurve(local / HOUR);
      if (this.rng.chance((s.burstsPerHour * busy * (t1 - t0)) / HOUR)) {
        this.burstEnd = t0 + this.rng.exponential(s.burstMeanMin * MIN);
        this.burstRate = s.burstRatePerMin * this.rng.lognormal(1, 0.5);
      }
    }
    let rate = this.baseRate(mid);
    const effects = this.active(mid);
    let extra = 0;
    if (effects) {
      for (const e of effects) {
        if (e.type === 'rate-mult') rate *= e.mult;
        else if (e.type === 'ramp') rate *= 1 + e.extra * Math.min(1, (mid - e.start) / (e.rampEnd - e.start));
        else if (e.perMin) extra += e.perMin;
      }
    }
    const out: number[] = [];
    const n = this.rng.poisson(((rate + extra) * (t1 - t0)) / MIN);
    for (let i = 0; i < n; i++) out.push(t0 + Math.floor(this.rng.next() * (t1 - t0)));
    if (s.profile === 'cron-5min' || s.profile === 'cron-hourly') {
      const period = s.profile === 'cron-5min' ? 5 * MIN : HOUR;
      const offset = s.cronMinute * MIN;
      for (let k = Math.ceil((t0 - offset) / period) * period + offset; k < t1; k += period) {
        // EventBridge Scheduler fires within a second or so of the minute.
        for (let f = 0; f < s.fanout; f++) out.push(k + 100 + this.rng.int(1500));
      }
    }
    if (this.smokeTestAt !== undefined && this.smokeTestAt >= t0 && this.smokeTestAt < t1) out.push(this.smokeTestAt);
    if (out.length > 1) out.sort((a, b) => a - b);
    return out;
  }

  private newEnv(t: number): Env {
    const r = this.rng;
    const id = r.hex(32);
    const first = r.pick([3, 18, 34, 44, 52, 54]);
    return {
      id,
      stream: `${streamDate(t)}/[${this.version}]${id}`,
      version: this.version,
      generation: this.generation,
      created: t,
      lastUsed: t,
      busyUntil: t,
      idleTtl: Math.min(60 * MIN, 5 * MIN + r.exponential(6 * MIN)),
      maxLife: r.range(2, 8) * HOUR,
      maxMem: this.spec.memBaseMB * r.range(0.9, 1.05),
      identity: {
        sourceIp: `${first}.${r.intRange(0, 255)}.${r.intRange(0, 255)}.${r.intRange(1, 254)}`,
        accessKeyId: `ASIA${r.upper(16)}`,
        sessionCreated: t,
      },
      egressAt: new Map(),
    };
  }

  private usable(env: Env, t: number): boolean {
    return env.generation === this.generation && env.version === this.version && t - env.lastUsed <= env.idleTtl && t - env.created <= env.maxLife;
  }

  /** The warm idle environment used most recently, if any. */
  private pickEnv(t: number): Env | undefined {
    let best: Env | undefined;
    for (const env of this.envs) {
      if (env.busyUntil > t || !this.usable(env, t)) continue;
      if (!best || env.lastUsed > best.lastUsed) best = env;
    }
    return best;
  }

  private prune(t: number): void {
    this.envs = this.envs.filter((env) => env.busyUntil > t || this.usable(env, t));
  }

  private log(env: Env, ts: number, message: string, truth?: FnEvent): void {
    this.out.log(this.spec, env.stream, ts, message, truth);
  }

  private invoke(arrival: number): void {
    this.applyChanges(arrival);
    const s = this.spec;
    const r = this.rng;
    const effects = this.active(arrival);
    let env = this.pickEnv(arrival);
    const cold = env === undefined;
    if (!env) {
      env = this.newEnv(arrival);
      this.envs.push(env);
    }
    const format = this.format;
    const requestId = r.uuid();
    const initMs = cold ? Math.round(r.lognormal(s.initMedianMs, 0.25) * 100) / 100 : undefined;
    const start = arrival + (initMs !== undefined ? Math.ceil(initMs) + r.int(3) : r.int(2));

    let mining: Extract<Effect, { type: 'mining' }> | undefined;
    let errorProb = s.errorRate;
    let accessDenied = false;
    let durationFactor = this.durationFactor;
    const extraHosts: HostUse[] = [];
    if (effects) {
      for (const e of effects) {
        if (e.type === 'mining') mining = e;
        else if (e.type === 'errors') {
          errorProb = e.prob;
          accessDenied = e.accessDenied;
        } else if (e.type === 'egress') {
          extraHosts.push(...e.hosts);
          durationFactor *= e.durationFactor;
        }
      }
    }

    let status: InvocationStatus = 'success';
    let errorType: string | undefined;
    let errorMessage = '';
    let duration: number;
    if (mining) {
      duration = s.timeoutMs * r.range(0.86, 0.995);
      if (r.chance(0.65)) duration = s.timeoutMs;
    } else {
      duration = r.lognormal(s.durationMedianMs * durationFactor, s.durationSigma) * (cold ? 1.3 : 1);
      if (r.chance(0.004)) duration *= r.range(3, 12);
    }
    if (duration >= s.timeoutMs) {
      status = 'timeout';
      duration = s.timeoutMs + r.range(0, 15);
    } else if (r.chance(errorProb)) {
      status = 'error';
      if (accessDenied && r.chance(0.8)) {
        const action = r.pick(PROBE_ACTIONS);
        errorType = 'AccessDeniedException';
        errorMessage = `User: arn:aws:sts::${s.account}:assumed-role/${s.role}/${s.name} is not authorized to perform: ${action} because no identity-based policy allows the ${action} action`;
      } else {
        [errorType, errorMessage] = r.pick(ERRORS);
      }
      duration *= r.range(0.1, 1);
    } else if (s.memoryMB <= 256 && r.chance(0.0002)) {
      status = 'crash';
      errorType = 'Runtime.OutOfMemory';
    }
    duration = format === 'text' ? Math.round(duration * 100) / 100 : Math.round(duration * 1000) / 1000;
    duration = Math.max(duration, 0.5);
    const end = start + Math.ceil(duration);
    const billed = Math.ceil(duration);
    env.maxMem = Math.max(env.maxMem, s.memBaseMB * r.lognormal(1, 0.06) * (mining ? 1.25 : 1));
    const maxMem = status === 'crash' ? s.memoryMB : Math.min(s.memoryMB, Math.round(env.maxMem));
    env.busyUntil = end + 1;
    env.lastUsed = end + 1;

    this.stats.invocations++;
    if (cold) this.stats.coldStarts++;
    if (status === 'timeout') this.stats.timeouts++;
    if (status === 'error') this.stats.errors++;

    // Platform start lines. A new version is first visible in JSON's initStart, else in START.
    let versionTruth: ChangeEvent | undefined;
    const announce = (time: number, detail: string): ChangeEvent | undefined => {
      if (env.version === this.versionAnnounced) return undefined;
      this.versionAnnounced = env.version;
      return { kind: 'change', time, fn: this.fnRef(), change: 'version', version: env.version, detail };
    };
    if (format === 'text') {
      if (cold) this.log(env, arrival, `INIT_START Runtime Version: ${s.runtimeVersion}\tRuntime Version ARN: ${s.runtimeVersionArn}\n`);
      versionTruth = announce(start, 'START Version');
      this.log(env, start, `START RequestId: ${requestId} Version: ${env.version}\n`, versionTruth);
    } else {
      if (cold) {
        this.log(
          env,
          arrival,
          `{"time":"${iso(arrival)}","type":"platform.initStart","record":{"initializationType":"on-demand","phase":"init","runtimeVersion":"${s.runtimeVersion}","runtimeVersionArn":"${s.runtimeVersionArn}","functionName":"${s.name}","functionVersion":"${env.version}","instanceMaxMemory":${s.memoryMB * 1_048_576}}}`,
          announce(arrival, 'platform.initStart functionVersion'),
        );
      }
      versionTruth = announce(start, 'START Version');
      this.log(env, start, `{"time":"${iso(start)}","type":"platform.start","record":{"requestId":"${requestId}","version":"${env.version}"}}`, versionTruth);
    }

    // Cold-start calls (config, secrets), then the function's own outbound connections.
    let at = start + 1 + r.int(4);
    if (cold) {
      for (const call of s.coldCalls) {
        this.egress(env, at, requestId, { host: `${call.service}.${s.region}.amazonaws.com`, port: 443, proto: 'tls', p: 1 });
        this.call(env, call, at + 5 + r.int(40));
        at += 8 + r.int(30);
      }
    }
    for (const h of s.hosts) if (r.chance(h.p)) this.egress(env, at++, requestId, h);
    for (const h of extraHosts) this.egress(env, at++, requestId, h);
    if (mining?.pool) this.egress(env, at++, requestId, mining.pool);
    if (s.calls.length > 0 && r.chance(1 / s.ctEvery)) this.call(env, r.pick(s.calls), Math.min(end, at + r.int(Math.max(1, Math.ceil(duration)))));

    // Application lines.
    if (r.chance(s.appLineP)) {
      const ts = Math.min(end, at + r.int(Math.max(1, Math.ceil(duration * 0.8))));
      this.appLine(env, ts, requestId, 'INFO', this.appMessage());
    }
    if (status === 'error') this.errorLine(env, end, requestId, errorType!, errorMessage);

    // Platform end lines.
    const report: InvocationEvent = {
      kind: 'invocation',
      time: end,
      fn: this.fnRef(),
      requestId,
      version: env.version,
      durationMs: duration,
      billedDurationMs: billed,
      memorySizeMB: s.memoryMB,
      maxMemoryUsedMB: maxMem,
      status,
      format,
    };
    if (initMs !== undefined) report.initDurationMs = initMs;
    if (errorType !== undefined) report.errorType = errorType;
    if (format === 'text') {
      if (status === 'timeout') this.log(env, end, `${iso(end)} ${requestId} Task timed out after ${(duration / 1000).toFixed(2)} seconds\n`);
      this.log(env, end, `END RequestId: ${requestId}\n`);
      let line = `REPORT RequestId: ${requestId}\tDuration: ${duration.toFixed(2)} ms\tBilled Duration: ${billed} ms\tMemory Size: ${s.memoryMB} MB\tMax Memory Used: ${maxMem} MB\t`;
      if (initMs !== undefined) line += `Init Duration: ${initMs.toFixed(2)} ms\t`;
      if (status === 'timeout') line += 'Status: timeout\t';
      if (status === 'crash') line += `Status: error\tError Type: ${errorType}\t`;
      if (s.traced) line += `XRAY TraceId: 1-${Math.floor(start / 1000).toString(16)}-${r.hex(24)}\tSegmentId: ${r.hex(16)}\tSampled: ${r.chance(0.3)}\t`;
      this.log(env, end, line + '\n', report);
    } else {
      const metrics: Record<string, number> = { durationMs: duration, billedDurationMs: billed, memorySizeMB: s.memoryMB, maxMemoryUsedMB: maxMem };
      if (initMs !== undefined) metrics.initDurationMs = initMs;
      const record: Record<string, unknown> = { requestId, metrics, status: status === 'crash' ? 'error' : status };
      if (errorType !== undefined) record.errorType = errorType;
      if (s.traced) record.tracing = { spanId: r.hex(16), type: 'X-Amzn-Trace-Id', value: `Root=1-${Math.floor(start / 1000).toString(16)}-${r.hex(24)};Parent=${r.hex(16)};Sampled=1` };
      this.log(env, end, JSON.stringify({ time: iso(end), type: 'platform.report', record }), report);
    }
    if (status === 'crash' || status === 'timeout') {
      // Lambda replaces an environment after a runtime crash or a timeout.
      env.generation = -1;
    }
  }

  /** The function as a parser identifies it from the log group, the payload owner and the configured region. */
  private fnRef(): FunctionRef {
    const { name, account, region } = this.spec;
    return { name, account, region, arn: `arn:aws:lambda:${region}:${account}:function:${name}` };
  }

  private appLine(env: Env, ts: number, requestId: string, level: string, message: string): void {
    if (this.format === 'text') this.log(env, ts, `${iso(ts)}\t${requestId}\t${level}\t${message}\n`);
    else this.log(env, ts, JSON.stringify({ timestamp: iso(ts), level, requestId, message }));
  }

  private errorLine(env: Env, ts: number, requestId: string, errorType: string, errorMessage: string): void {
    const stack = [`${errorType}: ${errorMessage}`, `    at Runtime.handler (file:///var/task/index.mjs:${40 + this.rng.int(200)}:${5 + this.rng.int(30)})`];
    if (this.format === 'text') {
      this.log(env, ts, `${iso(ts)}\t${requestId}\tERROR\tInvoke Error \t${JSON.stringify({ errorType, errorMessage, stack })}\n`);
    } else {
      this.log(env, ts, JSON.stringify({ timestamp: iso(ts), level: 'ERROR', requestId, message: 'Invoke Error', errorType, errorMessage, stackTrace: stack }));
    }
  }

  /** An instrumentation egress line, at most once per host:port per environment per 5 minutes. */
  private egress(env: Env, ts: number, requestId: string, h: HostUse): void {
    const key = `${h.host}:${h.port}`;
    const last = env.egressAt.get(key);
    if (last !== undefined && ts - last < EGRESS_REPEAT_MS) return;
    env.egressAt.set(key, ts);
    const truth: EgressEvent = { kind: 'egress', time: ts, fn: this.fnRef(), host: h.host, port: h.port, protocol: h.proto, via: 'instrumentation' };
    const payload = `{"fnwatch":"egress","host":"${h.host}","port":${h.port},"proto":"${h.proto}"}`;
    if (this.format === 'text') this.log(env, ts, `${iso(ts)}\t${requestId}\tINFO\t${payload}\n`, truth);
    else this.log(env, ts, JSON.stringify({ timestamp: iso(ts), level: 'INFO', requestId, message: payload }), truth);
  }

  /** An API call by the function's code, recorded by CloudTrail. */
  call(env: Env | undefined, call: ApiCall, time: number, error?: CallError): void {
    const identity = env?.identity ?? this.anyIdentity(time);
    this.out.trail(this.spec.account, functionCallRecord(this.spec, call, time, identity, this.rng, error));
  }

  /** The identity of a live environment, for calls scheduled outside an invocation (attacks). */
  private anyIdentity(time: number): EnvIdentity {
    const live = this.envs.find((e) => e.generation === this.generation);
    if (live) return live.identity;
    const env = this.newEnv(time);
    return env.identity;
  }

  private appMessage(): string {
    const r = this.rng;
    switch (this.spec.profile) {
      case 'http-api':
        return r.chance(0.5)
          ? `${r.pick(['GET', 'GET', 'POST', 'PUT'])} /v1/${r.pick(['orders', 'items', 'users', 'sessions'])}/${r.hex(8)} ${r.pick([200, 200, 200, 201, 204, 404])} ${r.intRange(2, 300)}ms`
          : `cache ${r.chance(0.7) ? 'hit' : 'miss'} for key ${r.hex(12)}`;
      case 'queue-worker':
        return `processed message ${r.uuid()} (attempt ${r.chance(0.95) ? 1 : 2})`;
      case 'stream-processor':
        return `processed ${r.intRange(1, 100)} records from shardId-00000000000${r.int(4)}`;
      case 'cron-5min':
      case 'cron-hourly':
        return `run complete: checked ${r.intRange(10, 5000)} items, ${r.int(5)} need attention`;
      case 'nightly-batch':
        return `batch item ${r.intRange(1, 100_000)} done`;
      default:
        return `handled request ${r.uuid()}`;
    }
  }
}
