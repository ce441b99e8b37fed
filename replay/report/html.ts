/**
 * The HTML report: one self-contained file (inline CSS, a small inline script that draws the
 * charts as SVG, the data as JSON in a `<script type="application/json">` block). No CDN, fonts or
 * requests: a Content-Security-Policy with `default-src 'none'` and the script's hash makes sure.
 *
 * Everything that comes from data (function names, explanations, hosts) is escaped here or set as
 * text by the script, never parsed as markup.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Alert } from '../../src/core/alert.ts';
import { severityName } from '../../src/core/alert.ts';
import { UsageError } from '../../src/core/contracts.ts';
import type { PipelineCounts } from '../../src/pipeline/pipeline.ts';
import type { Scorecard } from '../eval/score.ts';
import type { ReportCollector, ReportData } from './collector.ts';

/** Header figures from the run besides what the collector saw. */
export interface ReportSummary {
  /** Dataset or input name */
  dataset?: string;
  /** The Pipeline's counts (`pipeline.counts`): records, dead letters, ignored lines … */
  counts?: PipelineCounts;
  /** Any other figures to show, label → value (e.g. `{ 'events/s': 41000 }`) */
  figures?: Record<string, string | number>;
}

export interface HtmlReportOptions {
  title: string;
  collector: ReportCollector;
  /** Alerts to show instead of those the collector received (e.g. read back from an alerts file) */
  alerts?: readonly Alert[];
  scorecard?: Scorecard;
  summary?: ReportSummary;
  /** Most alerted functions embedded with charts, most severe first (default 100: ~40 KB each) */
  maxChartedFunctions?: number;
  /** Shown in the footer (default: now) */
  generatedAt?: Date;
}

let assets: { css: string; js: string } | undefined;
function loadAssets(): { css: string; js: string } {
  return (assets ??= {
    css: readFileSync(new URL('./report.css', import.meta.url), 'utf8'),
    js: readFileSync(new URL('./client.js', import.meta.url), 'utf8'),
  });
}

/**
 * Escapes text for HTML element content and quoted attribute values.
 *
 * @example
 * escapeHtml('<b>"x"</b>'); // '&lt;b&gt;&quot;x&quot;&lt;/b&gt;'
 */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

/**
 * JSON safe to embed in a `<script>` block: `<` is escaped so no `</script` or `<!--` can end or
 * confuse the block, and the two line separators JavaScript once rejected are escaped too.
 *
 * @example
 * jsonForScript({ desc: '</script><script>x()</script>' }); // '{"desc":"\\u003c/script>…"}'
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const pad = (n: number) => String(n).padStart(2, '0');
function fmtTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}Z`;
}
function fmtSpan(ms: number): string {
  if (ms >= 86_400_000) return `${+(ms / 86_400_000).toFixed(1)} d`;
  if (ms >= 3_600_000) return `${+(ms / 3_600_000).toFixed(1)} h`;
  return `${Math.round(ms / 60_000)} min`;
}
function fmtDur(ms: number | null | undefined): string {
  if (ms == null) return '—';
  return ms < 120_000 ? `${Math.round(ms / 1000)} s` : ms < 7_200_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 3_600_000).toFixed(1)} h`;
}
function fmtInt(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}
function fmtUsd(x: number): string {
  if (x >= 100) return `$${fmtInt(x)}`;
  if (x >= 1) return `$${x.toFixed(2)}`;
  return x === 0 ? '$0' : `$${x.toPrecision(2)}`;
}
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function tile(value: string, label: string, tone = ''): string {
  return `<div class="tile${tone ? ' ' + tone : ''}"><div class="v">${escapeHtml(value)}</div><div class="k">${escapeHtml(label)}</div></div>`;
}

function table(head: string[], rows: string[][], numeric: number[] = [], cls = 'mini'): string {
  const th = head.map((h, i) => `<th${numeric.includes(i) ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map((r) => `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="num"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table class="${cls}"><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function headerHtml(title: string, d: ReportData, summary: ReportSummary | undefined): string {
  const t = d.totals;
  const bits: string[] = [];
  if (summary?.dataset) bits.push(summary.dataset);
  if (d.firstEvent !== null && d.lastEvent !== null) {
    bits.push(`${fmtTime(d.firstEvent)} → ${fmtTime(d.lastEvent)} (${fmtSpan(d.lastEvent - d.firstEvent)})`);
  } else bits.push('no events');
  bits.push(`${fmtSpan(d.bucketMs)} buckets`);
  const high = d.alerts.filter((a) => a.severity >= 4).length;
  const tiles = [
    tile(fmtInt(t.functions), 'functions'),
    tile(fmtInt(t.invocations), 'invocations'),
    tile(t.invocations ? pct(t.errors / t.invocations) : '0%', `failed (${fmtInt(t.timeouts)} timeouts)`),
    tile(fmtUsd(t.costUsd), 'estimated cost'),
    tile(fmtInt(t.findings), `findings (${fmtInt(t.alertsReceived)} alerts incl. updates)`, t.findings ? 'bad' : 'good'),
    tile(fmtInt(high), 'high or critical', high ? 'bad' : ''),
    tile(fmtInt(t.events.resource_access), 'API calls (CloudTrail)'),
    tile(fmtInt(t.events.egress), 'egress events'),
    tile(fmtInt(t.events.change), 'changes'),
  ];
  const c = summary?.counts;
  if (c) {
    tiles.push(tile(fmtInt(c.records), 'records'), tile(fmtInt(c.log_events), 'log events'));
    tiles.push(tile(fmtInt(c.dead_letter), 'dead letters', c.dead_letter ? 'bad' : ''), tile(fmtInt(c.ignored), 'ignored lines'));
  }
  for (const [k, v] of Object.entries(summary?.figures ?? {})) tiles.push(tile(typeof v === 'number' ? fmtInt(v) : v, k));
  return `<header>
<h1>${escapeHtml(title)}</h1>
<p class="sub">${escapeHtml(bits.join(' · '))}</p>
<div class="tiles">${tiles.join('')}</div>
</header>`;
}

function scorecardHtml(c: Scorecard): string {
  const detected = c.attacks.filter((a) => a.detected).length;
  const tiles = [
    tile(`${detected} / ${c.attacks.length}`, `attacks detected (recall ${pct(c.recall)})`, detected === c.attacks.length ? 'good' : 'bad'),
    tile(String(c.falseAlertsPer100FunctionDays.afterLearning), `false alerts per 100 function-days after learning (${c.falseAlerts.afterLearning} over ${c.functionDays.afterLearning.toFixed(1)})`),
    tile(String(c.falseAlertsPer100FunctionDays.learning), `per 100 function-days during learning (${c.falseAlerts.learning})`),
    tile(String(c.falseAlerts.afterLearningHighSeverity), 'high-severity false alerts after learning', c.falseAlerts.afterLearningHighSeverity ? 'bad' : 'good'),
    tile(String(c.confounderViolations.length), 'confounders alerted above their allowed severity', c.confounderViolations.length ? 'bad' : 'good'),
  ];
  const byKind = Object.entries(c.recallByKind)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => [k, `${v.detected}/${v.total}`, pct(v.recall), fmtDur(c.medianTimeToDetectMsByKind[k])]);
  const attacks = c.attacks.map((a) => [a.id, a.function, a.kind, a.detected ? 'yes' : 'MISSED', fmtDur(a.timeToDetectMs), a.alertKinds.join(', '), a.firstAlert ?? '']);
  const out = [
    `<section id="scorecard"><h2>Scorecard${c.dataset ? ': ' + escapeHtml(c.dataset) : ''}</h2>`,
    `<div class="tiles">${tiles.join('')}</div>`,
    '<h3 class="plain">Recall by attack kind</h3>',
    table(['kind', 'detected', 'recall', 'median time to detect'], byKind, [1, 2, 3], 'mini score'),
    '<h3 class="plain">Attacks</h3>',
    table(['id', 'function', 'kind', 'detected', 'time to detect', 'alert kinds', 'first alert'], attacks, [], 'mini score'),
  ];
  if (c.confounderViolations.length) {
    out.push('<h3 class="plain">Confounder violations</h3>');
    out.push(table(['id', 'kind', 'function', 'alert', 'severity'], c.confounderViolations.map((v) => [v.id, v.kind, v.function, v.alert, v.severity]), [], 'mini score'));
  }
  if (c.falseAlertList.length) {
    const shown = c.falseAlertList.slice(0, 200);
    out.push(`<h3 class="plain">False alerts (${c.falseAlertList.length}${shown.length < c.falseAlertList.length ? ', first 200 shown' : ''})</h3>`);
    out.push(table(['time', 'function', 'kind', 'severity', 'explanation'], shown.map((f) => [f.time, f.function, f.kind, f.severity, f.desc]), [], 'mini score'));
  }
  out.push('</section>');
  return out.join('\n');
}

function footerHtml(d: ReportData, collector: ReportCollector, generatedAt: Date): string {
  const t = d.totals;
  const notes = [
    `Generated by fnwatch on ${generatedAt.toISOString()}.`,
    `Estimated cost: requests plus billed GB-seconds at the detector pack's prices.`,
    `Invocation band: the expected count per bucket from the seasonal rate model at the bucket's close, ±2√(expected × dispersion). Duration band: the baseline p50–p99 at the bucket's close. Shaded: the learning period (${fmtSpan(d.learningMs)}).`,
    `Series kept for ${fmtInt(t.functionsTracked)} of ${fmtInt(t.functions)} functions (at most ${fmtInt(collector.maxFunctions)}; functions that alert keep theirs${t.functionsDisplaced ? `; ${t.functionsDisplaced} displaced by alerting functions` : ''}).`,
  ];
  if (t.alertsOmitted) notes.push(`${fmtInt(t.alertsOmitted)} findings beyond the report's cap are counted but not listed.`);
  if (t.eventsWithoutTime) notes.push(`${fmtInt(t.eventsWithoutTime)} events had no valid time and are not on the charts.`);
  const uncharted = d.functions.filter((f) => !f.charted).length;
  if (uncharted) notes.push(`${uncharted} alerted functions have no charts (over the chart cap or without a series).`);
  return `<footer>${notes.map((n) => `<div>${escapeHtml(n)}</div>`).join('')}</footer>`;
}

/**
 * Renders the report as one HTML document.
 *
 * @example
 * const { html } = renderHtmlReport({ title: 'fnwatch replay', collector });
 */
export function renderHtmlReport(opts: HtmlReportOptions): { html: string; data: ReportData } {
  const { css, js } = loadAssets();
  const data = opts.collector.build({ alerts: opts.alerts, maxFunctions: opts.maxChartedFunctions ?? 100 });
  const scriptHash = createHash('sha256').update(js, 'utf8').digest('base64');
  const csp = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${scriptHash}'; img-src data:`;
  const bySeverity = [5, 4, 3, 2, 1]
    .map((s) => [severityName(s), data.alerts.filter((a) => a.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s.toLowerCase()}`)
    .join(', ');
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="fnwatch">
<title>${escapeHtml(opts.title)}</title>
<style>
${css}</style>
</head>
<body>
<main>
${headerHtml(opts.title, data, opts.summary)}
${opts.scorecard ? scorecardHtml(opts.scorecard) : ''}
<section><h2>Activity</h2><div id="fleet"></div></section>
<section><h2>Findings${bySeverity ? ` <span class="muted">(${escapeHtml(bySeverity)})</span>` : ''}</h2>
<noscript><p class="note">The tables and charts need JavaScript.</p></noscript>
<div id="alerts"></div></section>
<section><h2>Alerted functions</h2><div id="functions"></div></section>
<section><h2>Biggest spenders</h2><div id="top"></div></section>
${footerHtml(data, opts.collector, opts.generatedAt ?? new Date())}
</main>
<script type="application/json" id="fnwatch-data">${jsonForScript(data)}</script>
<script>${js}</script>
</body>
</html>
`;
  return { html, data };
}

/**
 * Writes the report to `path`. A path that cannot be written is a {@link UsageError}.
 *
 * @example
 * await writeHtmlReport('out/report.html', { title: 'fnwatch replay', collector, summary: { counts: pipeline.counts } });
 */
export async function writeHtmlReport(
  path: string,
  opts: HtmlReportOptions,
): Promise<{ path: string; bytes: number; functions: number; findings: number }> {
  const { html, data } = renderHtmlReport(opts);
  try {
    await writeFile(path, html, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot write the HTML report to ${path}: ${(err as Error).message}`);
  }
  return { path, bytes: Buffer.byteLength(html), functions: data.functions.length, findings: data.alerts.length };
}
