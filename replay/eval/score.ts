/**
 * Scoring alerts against labels: per attack detected or missed and time-to-detect; recall per
 * kind; false alerts per 100 function-days, split into the learning period and after it; how many
 * false alerts were high severity; confounders alerted above their allowed severity.
 *
 * Pure: alerts and labels in, a scorecard out.
 */
import { median as sampleMedian, quantile } from 'simple-statistics';
import type { Alert } from '../../src/core/alert.ts';
import { severityName } from '../../src/core/alert.ts';

/** Labels written by the scenario generator (datasets/generator). */
export interface Labels {
  seed?: number;
  start: number;
  end: number;
  /** end of the learning period (dataset-wide); per function it is also first-seen + learning */
  learningEnd: number;
  functions: { name: string; account?: string; region?: string; profile?: string }[];
  attacks: LabeledWindow[];
  confounders?: (LabeledWindow & { mustNotAlertAbove?: string })[];
}

export interface LabeledWindow {
  id: string;
  function: string;
  kind: string;
  /** alert kinds that count as catching it */
  expect?: string[];
  start: number;
  end: number;
  description?: string;
}

export interface AttackResult {
  /** Dataset the attack is from (set when scored with `opts.dataset`) */
  dataset?: string;
  id: string;
  function: string;
  kind: string;
  detected: boolean;
  /** ms from attack start to the first matching alert */
  timeToDetectMs?: number;
  alertKinds: string[];
  firstAlert?: string;
  /** Why a missed attack was missed, as far as the alerts tell */
  missReason?: string;
}

/** What happened on a confounder's function in its window (alerts explained by an attack left out). */
export interface ConfounderResult {
  dataset?: string;
  id: string;
  function: string;
  kind: string;
  /** The allowed maximum severity */
  limit: string;
  alerts: number;
  alertKinds: string[];
  /** Highest severity raised, null when nothing alerted */
  maxSeverity: string | null;
  /** `quiet`: no alert; `within-limit`: alerts at or under the limit; `violation`: above it */
  verdict: 'quiet' | 'within-limit' | 'violation';
}

export interface Scorecard {
  dataset?: string;
  attacks: AttackResult[];
  recall: number;
  recallByKind: Record<string, { detected: number; total: number; recall: number }>;
  medianTimeToDetectMsByKind: Record<string, number | null>;
  /** 90th percentile (simple-statistics `quantile`: linear interpolation) of the detected attacks' time to detect */
  p90TimeToDetectMsByKind: Record<string, number | null>;
  alerts: number;
  truePositiveAlerts: number;
  falseAlerts: { learning: number; afterLearning: number; highSeverity: number; afterLearningHighSeverity: number };
  functionDays: { learning: number; afterLearning: number };
  falseAlertsPer100FunctionDays: { learning: number; afterLearning: number };
  confounderViolations: { id: string; kind: string; function: string; alert: string; severity: string }[];
  /** Every labelled confounder and how it scored */
  confounders: ConfounderResult[];
  falseAlertList: { time: string; function: string; kind: string; severity: string; desc: string }[];
}

export interface ScoreOptions {
  /** alerts this long after an attack's end still count for it (detectors judge closed windows) */
  graceMs?: number;
  /** dataset name for the report */
  dataset?: string;
  /**
   * Alerts this long before an attack's labelled start still count for it (time to detect 0).
   * Default 0: labels from generator 1.1.0 on are exact (attacks start on a simulated minute, so no
   * injected event precedes `start`). Datasets from generator 1.0.0 (datasets/demo) placed attacks
   * mid-minute, and a flood could begin up to 30 s before its label with CloudTrail `eventTime`
   * truncated to the second; 60 s covers both for them.
   */
  startToleranceMs?: number;
}

const SEVERITY_RANK: Record<string, number> = { informational: 1, low: 2, medium: 3, high: 4, critical: 5 };

/** First raise of each finding (an Update of an open alert is not a new alert). */
export function uniqueAlerts(alerts: readonly Alert[]): Alert[] {
  const seen = new Map<string, Alert>();
  for (const a of alerts) {
    const prior = seen.get(a.finding_info.uid);
    if (!prior) seen.set(a.finding_info.uid, a);
    else if (a.severity_id > prior.severity_id) seen.set(a.finding_info.uid, { ...prior, severity_id: a.severity_id });
  }
  return [...seen.values()].sort((x, y) => x.time - y.time);
}

function median(xs: number[]): number | null {
  return xs.length === 0 ? null : sampleMedian(xs);
}

function p90(xs: number[]): number | null {
  return xs.length === 0 ? null : quantile(xs, 0.9);
}

/** Recall and time to detect per attack kind. */
function byKind(attacks: readonly AttackResult[]): Pick<Scorecard, 'recallByKind' | 'medianTimeToDetectMsByKind' | 'p90TimeToDetectMsByKind'> {
  const recallByKind: Scorecard['recallByKind'] = {};
  const ttd: Record<string, number[]> = {};
  for (const r of attacks) {
    const k = (recallByKind[r.kind] ??= { detected: 0, total: 0, recall: 0 });
    k.total++;
    if (r.detected) {
      k.detected++;
      (ttd[r.kind] ??= []).push(r.timeToDetectMs!);
    }
  }
  for (const k of Object.values(recallByKind)) k.recall = k.total ? k.detected / k.total : 0;
  const medianTimeToDetectMsByKind: Record<string, number | null> = {};
  const p90TimeToDetectMsByKind: Record<string, number | null> = {};
  for (const kind of Object.keys(recallByKind)) {
    medianTimeToDetectMsByKind[kind] = median(ttd[kind] ?? []);
    p90TimeToDetectMsByKind[kind] = p90(ttd[kind] ?? []);
  }
  return { recallByKind, medianTimeToDetectMsByKind, p90TimeToDetectMsByKind };
}

/**
 * Scores alerts against labels.
 *
 * @example
 * const card = scoreAlerts(alerts, labels);
 * card.recall; // 0.96
 */
export function scoreAlerts(allAlerts: readonly Alert[], labels: Labels, opts: ScoreOptions = {}): Scorecard {
  const grace = opts.graceMs ?? 2 * 3_600_000;
  const early = opts.startToleranceMs ?? 0;
  const alerts = uniqueAlerts(allAlerts);
  const fnOf = (a: Alert) => a.resources[0]?.name ?? '';
  const kindOf = (a: Alert) => a.finding_info.types[0];
  const explained = new Set<Alert>();

  const attacks: AttackResult[] = labels.attacks.map((w) => {
    const during = alerts.filter((a) => fnOf(a) === w.function && a.time >= w.start - early && a.time <= w.end + grace);
    for (const a of during) explained.add(a); // an attack's side effects are not false alarms
    const expect = new Set(w.expect ?? [w.kind]);
    const hits = during.filter((a) => expect.has(kindOf(a)));
    const first = hits[0];
    return {
      ...(opts.dataset ? { dataset: opts.dataset } : {}),
      id: w.id,
      function: w.function,
      kind: w.kind,
      detected: first !== undefined,
      ...(first ? { timeToDetectMs: Math.max(0, first.time - w.start), firstAlert: first.finding_info.desc } : {}),
      alertKinds: [...new Set(during.map(kindOf))],
      ...(first ? {} : { missReason: missReason(w, during, alerts, expect, grace) }),
    };
  });

  const kinds = byKind(attacks);

  const confounderViolations: Scorecard['confounderViolations'] = [];
  const confounders: ConfounderResult[] = [];
  for (const c of labels.confounders ?? []) {
    const limitName = (c.mustNotAlertAbove ?? 'medium').toLowerCase();
    const limit = SEVERITY_RANK[limitName] ?? 3;
    let n = 0;
    let worst = 0;
    const kinds = new Set<string>();
    for (const a of alerts) {
      if (fnOf(a) !== c.function || a.time < c.start || a.time > c.end + grace || explained.has(a)) continue;
      n++;
      worst = Math.max(worst, a.severity_id);
      kinds.add(kindOf(a));
      if (a.severity_id > limit) {
        confounderViolations.push({ id: c.id, kind: c.kind, function: c.function, alert: kindOf(a), severity: severityName(a.severity_id) });
      }
    }
    confounders.push({
      ...(opts.dataset ? { dataset: opts.dataset } : {}),
      id: c.id,
      function: c.function,
      kind: c.kind,
      limit: limitName,
      alerts: n,
      alertKinds: [...kinds],
      maxSeverity: n ? severityName(worst) : null,
      verdict: n === 0 ? 'quiet' : worst > limit ? 'violation' : 'within-limit',
    });
  }

  const falseAlerts = { learning: 0, afterLearning: 0, highSeverity: 0, afterLearningHighSeverity: 0 };
  const falseAlertList: Scorecard['falseAlertList'] = [];
  for (const a of alerts) {
    if (explained.has(a)) continue;
    const learning = a.time < labels.learningEnd;
    if (learning) falseAlerts.learning++;
    else falseAlerts.afterLearning++;
    if (a.severity_id >= 4) {
      falseAlerts.highSeverity++;
      if (!learning) falseAlerts.afterLearningHighSeverity++;
    }
    falseAlertList.push({ time: new Date(a.time).toISOString(), function: fnOf(a), kind: kindOf(a), severity: severityName(a.severity_id), desc: a.finding_info.desc });
  }

  const nFn = labels.functions.length;
  const day = 86_400_000;
  const functionDays = {
    learning: (nFn * Math.max(0, labels.learningEnd - labels.start)) / day,
    afterLearning: (nFn * Math.max(0, labels.end - labels.learningEnd)) / day,
  };
  const per100 = (n: number, d: number) => (d > 0 ? (100 * n) / d : 0);
  const detected = attacks.filter((a) => a.detected).length;
  return {
    ...(opts.dataset ? { dataset: opts.dataset } : {}),
    attacks,
    recall: attacks.length ? detected / attacks.length : 1,
    ...kinds,
    alerts: alerts.length,
    truePositiveAlerts: explained.size,
    falseAlerts,
    functionDays,
    falseAlertsPer100FunctionDays: {
      learning: +per100(falseAlerts.learning, functionDays.learning).toFixed(3),
      afterLearning: +per100(falseAlerts.afterLearning, functionDays.afterLearning).toFixed(3),
    },
    confounderViolations,
    confounders,
    falseAlertList,
  };
}

/** Why no alert of an expected kind caught an attack: nothing on the function, other kinds, or the right kind at the wrong time. */
function missReason(w: LabeledWindow, during: readonly Alert[], alerts: readonly Alert[], expect: ReadonlySet<string>, graceMs: number): string {
  const wanted = [...expect].join(' or ');
  const outside = alerts.find((a) => a.resources[0]?.name === w.function && expect.has(a.finding_info.types[0]));
  const outsideNote = outside
    ? `; a ${outside.finding_info.types[0]} alert on ${w.function} came ${outside.time < w.start ? `${fmtGap(w.start - outside.time)} before the attack` : `${fmtGap(outside.time - w.end)} after its end`}`
    : '';
  if (during.length === 0) return `no alert on ${w.function} during the attack or ${fmtGap(graceMs)} after (wanted ${wanted})${outsideNote}`;
  return `alerts on ${w.function} were ${[...new Set(during.map((a) => a.finding_info.types[0]))].join(', ')}, not ${wanted}${outsideNote}`;
}

function fmtGap(ms: number): string {
  return ms < 7_200_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3_600_000).toFixed(1)} h`;
}

/** Combines scorecards of several datasets into one (sums, recomputed ratios). */
export function combineScorecards(cards: Scorecard[]): Scorecard {
  const attacks = cards.flatMap((c) => c.attacks);
  const kinds = byKind(attacks);
  const sum = (f: (c: Scorecard) => number) => cards.reduce((s, c) => s + f(c), 0);
  const falseAlerts = {
    learning: sum((c) => c.falseAlerts.learning),
    afterLearning: sum((c) => c.falseAlerts.afterLearning),
    highSeverity: sum((c) => c.falseAlerts.highSeverity),
    afterLearningHighSeverity: sum((c) => c.falseAlerts.afterLearningHighSeverity),
  };
  const functionDays = { learning: sum((c) => c.functionDays.learning), afterLearning: sum((c) => c.functionDays.afterLearning) };
  return {
    dataset: cards.map((c) => c.dataset).filter(Boolean).join(', '),
    attacks,
    recall: attacks.length ? attacks.filter((a) => a.detected).length / attacks.length : 1,
    ...kinds,
    alerts: sum((c) => c.alerts),
    truePositiveAlerts: sum((c) => c.truePositiveAlerts),
    falseAlerts,
    functionDays,
    falseAlertsPer100FunctionDays: {
      learning: functionDays.learning ? +((100 * falseAlerts.learning) / functionDays.learning).toFixed(3) : 0,
      afterLearning: functionDays.afterLearning ? +((100 * falseAlerts.afterLearning) / functionDays.afterLearning).toFixed(3) : 0,
    },
    confounderViolations: cards.flatMap((c) => c.confounderViolations),
    confounders: cards.flatMap((c) => c.confounders ?? []),
    falseAlertList: cards.flatMap((c) => c.falseAlertList),
  };
}

/** The scorecard as Markdown. */
export function scorecardMarkdown(c: Scorecard): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const dur = (ms: number | null | undefined) => (ms == null ? '—' : ms < 120_000 ? `${Math.round(ms / 1000)} s` : ms < 7_200_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 3_600_000).toFixed(1)} h`);
  const out: string[] = [];
  out.push(`# fnwatch scorecard${c.dataset ? `: ${c.dataset}` : ''}`, '');
  out.push(`- Attacks detected: **${c.attacks.filter((a) => a.detected).length} / ${c.attacks.length}** (recall ${pct(c.recall)})`);
  out.push(`- Alerts: ${c.alerts} (${c.truePositiveAlerts} on attacks)`);
  out.push(`- False alerts after learning: **${c.falseAlerts.afterLearning}** = **${c.falseAlertsPer100FunctionDays.afterLearning} per 100 function-days** (${c.functionDays.afterLearning.toFixed(1)} function-days), ${c.falseAlerts.afterLearningHighSeverity} high severity`);
  out.push(`- High-severity false alerts: ${c.falseAlerts.highSeverity} (${c.falseAlerts.afterLearningHighSeverity} after learning)`);
  out.push(`- False alerts during learning: ${c.falseAlerts.learning} = ${c.falseAlertsPer100FunctionDays.learning} per 100 function-days (${c.functionDays.learning.toFixed(1)} function-days)`);
  out.push(`- Confounders alerted above their allowed severity: ${c.confounderViolations.length}`, '');
  out.push('## Recall by attack kind', '', '| kind | detected | recall | median time to detect | p90 time to detect |', '|---|---|---|---|---|');
  for (const [k, v] of Object.entries(c.recallByKind).sort()) {
    out.push(`| ${k} | ${v.detected}/${v.total} | ${pct(v.recall)} | ${dur(c.medianTimeToDetectMsByKind[k])} | ${dur(c.p90TimeToDetectMsByKind?.[k])} |`);
  }
  // Attack ids repeat across generated datasets: name the dataset when there are several.
  const several = new Set(c.attacks.map((a) => a.dataset)).size > 1;
  const ds = (x: { dataset?: string }) => (several ? `${x.dataset ?? ''} | ` : '');
  const esc = (t: string) => t.replace(/\|/g, '\\|');
  out.push('', '## Attacks', '', `| ${several ? 'dataset | ' : ''}id | function | kind | detected | time to detect | alert kinds | why missed |`, `|${several ? '---|' : ''}---|---|---|---|---|---|---|`);
  for (const a of c.attacks) {
    out.push(`| ${ds(a)}${a.id} | ${a.function} | ${a.kind} | ${a.detected ? 'yes' : '**missed**'} | ${dur(a.timeToDetectMs)} | ${a.alertKinds.join(', ')} | ${a.missReason ? esc(a.missReason) : ''} |`);
  }
  if (c.confounders?.length) {
    out.push('', '## Confounders', '', `| ${several ? 'dataset | ' : ''}id | function | kind | alerts | max severity | allowed | verdict |`, `|${several ? '---|' : ''}---|---|---|---|---|---|---|`);
    for (const f of c.confounders) {
      const verdict = f.verdict === 'violation' ? '**violation**' : f.verdict === 'quiet' ? 'no alert' : 'within limit';
      out.push(`| ${ds(f)}${f.id} | ${f.function} | ${f.kind} | ${f.alerts}${f.alertKinds.length ? ` (${f.alertKinds.join(', ')})` : ''} | ${f.maxSeverity ?? '—'} | ${f.limit} | ${verdict} |`);
    }
  }
  if (c.falseAlertList.length) {
    out.push('', '## False alerts', '', '| time | function | kind | severity | explanation |', '|---|---|---|---|---|');
    for (const f of c.falseAlertList.slice(0, 200)) out.push(`| ${f.time} | ${f.function} | ${f.kind} | ${f.severity} | ${f.desc.replace(/\|/g, '\\|')} |`);
  }
  if (c.confounderViolations.length) {
    out.push('', '## Confounder violations', '', '| id | kind | function | alert | severity |', '|---|---|---|---|---|');
    for (const v of c.confounderViolations) out.push(`| ${v.id} | ${v.kind} | ${v.function} | ${v.alert} | ${v.severity} |`);
  }
  return out.join('\n') + '\n';
}
