import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/contracts.ts';
import { scoreAlerts, type Scorecard } from '../eval/score.ts';
import type { ReportData } from './collector.ts';
import { HOSTILE_HOST, MINER_FN, MINING_AT, SURGE_AT, SURGE_FN, craftedRun, type CraftedRun } from './fixture.ts';
import { escapeHtml, jsonForScript, renderHtmlReport, writeHtmlReport } from './html.ts';
import { writePipelineReport } from './index.ts';
import { DAY, HOUR, T0 } from '../../src/detectors/testing/series.ts';

let run: CraftedRun;
let card: Scorecard;
let dir: string;

beforeAll(() => {
  run = craftedRun();
  card = scoreAlerts(run.alerts, {
    start: T0,
    end: T0 + 4 * DAY,
    learningEnd: T0 + DAY,
    functions: [{ name: SURGE_FN.name }, { name: MINER_FN.name }, { name: 'billing-sync' }],
    attacks: [
      { id: 'dow-1', function: SURGE_FN.name, kind: 'denial-of-wallet', start: SURGE_AT, end: SURGE_AT + HOUR / 2 },
      { id: 'mine-1', function: MINER_FN.name, kind: 'crypto-mining', expect: ['duration-anomaly', 'new-egress-host'], start: MINING_AT, end: MINING_AT + 20 * HOUR },
    ],
  }, { dataset: 'crafted <4d>' });
  dir = mkdtempSync(join(tmpdir(), 'fnwatch-report-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function embedded(html: string): ReportData {
  const m = /<script type="application\/json" id="fnwatch-data">([^]*?)<\/script>/.exec(html);
  expect(m).not.toBeNull();
  return JSON.parse(m![1]!) as ReportData;
}

describe('escaping', () => {
  it('escapes markup characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('embeds JSON that cannot close its script block and parses back to the same value', () => {
    const value = { desc: '</script><script>alert(1)</script><!-- \u2028 \u2029', n: [1, null] };
    const s = jsonForScript(value);
    expect(s).not.toMatch(/<\/?script/i);
    expect(s).not.toContain('<!--');
    expect(s).not.toContain('\u2028');
    expect(JSON.parse(s)).toEqual(value);
  });
});

describe('renderHtmlReport', () => {
  it('is one self-contained document: no external script, style, font or image, and a CSP that allows only its own script', () => {
    const { html } = renderHtmlReport({ title: 'fnwatch replay', collector: run.collector });
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/<script[^>]+\bsrc=/i);
    expect(html).not.toMatch(/@import|url\(\s*['"]?(https?:)?\/\//i);
    expect(html).not.toMatch(/\b(src|href)=["']?(https?:)?\/\//i);
    const scripts = [...html.matchAll(/<script([^>]*)>([^]*?)<\/script>/g)];
    expect(scripts.map((m) => m[1])).toEqual([' type="application/json" id="fnwatch-data"', '']);
    const hash = createHash('sha256').update(scripts[1]![2]!, 'utf8').digest('base64');
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)![1]!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`script-src 'sha256-${hash}'`);
  });

  it('never puts data into the page as markup', () => {
    const { html } = renderHtmlReport({ title: '<b>t</b>', collector: run.collector, scorecard: card, summary: { dataset: '<i>d</i>', figures: { '<x>': '<y>' } } });
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>t</b>');
    expect(html).not.toContain('<i>d</i>');
    expect(html).not.toContain('<x>');
    expect(html).toContain('&lt;b&gt;t&lt;/b&gt;');
    expect(html).toContain('crafted &lt;4d&gt;');
    // the hostile egress host is in the data, intact, and only there
    const data = embedded(html);
    const miner = data.functions.find((f) => f.name === MINER_FN.name)!;
    expect(miner.egress.map((e) => e.item)).toContain(`${HOSTILE_HOST}:8443`);
    expect(data.alerts.some((a) => a.desc.includes(HOSTILE_HOST))).toBe(true);
  });

  it('embeds the alerted functions with their series, most severe first, and the findings', () => {
    const { data } = renderHtmlReport({ title: 't', collector: run.collector });
    const created = new Set(run.alerts.map((a) => a.finding_info.uid));
    expect(data.alerts).toHaveLength(created.size);
    expect(data.functions.map((f) => f.name)).toEqual([MINER_FN.name, SURGE_FN.name]);
    for (const f of data.functions) {
      expect(f.charted).toBe(true);
      expect(f.inv.length).toBeGreaterThan(1000);
      expect(f.exp.filter((x) => x !== null).length).toBeGreaterThan(800);
    }
    // the surge is in the orders-api series at the attack's bucket
    const orders = data.functions[1]!;
    const i = Math.floor((SURGE_AT - data.start) / data.bucketMs) - orders.offset;
    expect(orders.inv[i + 1]!).toBeGreaterThan(10 * orders.exp[i + 1]!);
    expect(data.totals.invocations).toBe(run.pipeline.counts.events.invocation);
  });

  it('renders the scorecard: recall per kind, false alerts per 100 function-days and the attacks', () => {
    const { html } = renderHtmlReport({ title: 't', collector: run.collector, scorecard: card });
    expect(card.recall).toBe(1);
    expect(html).toContain('<section id="scorecard">');
    expect(html).toMatch(/<td>crypto-mining<\/td><td class="num">1\/1<\/td><td class="num">100\.0%<\/td>/);
    expect(html).toMatch(/<td>denial-of-wallet<\/td><td class="num">1\/1<\/td>/);
    expect(html).toContain('false alerts per 100 function-days after learning');
    expect(html).toMatch(/<td>dow-1<\/td><td>orders-api<\/td><td>denial-of-wallet<\/td><td>yes<\/td>/);
  });

  it('caps the functions embedded with charts', () => {
    const { data } = renderHtmlReport({ title: 't', collector: run.collector, maxChartedFunctions: 1 });
    expect(data.functions.map((f) => [f.charted, f.unchartedReason])).toEqual([[true, undefined], [false, 'chart-cap']]);
  });
});

describe('writeHtmlReport', () => {
  it('writes the file and says what is in it', async () => {
    const path = join(dir, 'r.html');
    const out = await writePipelineReport(path, { title: 'fnwatch replay', pipeline: run.pipeline, collector: run.collector, dataset: 'crafted' });
    expect(out.functions).toBe(2);
    expect(out.findings).toBe(new Set(run.alerts.map((a) => a.finding_info.uid)).size);
    const html = readFileSync(path, 'utf8');
    expect(out.bytes).toBe(Buffer.byteLength(html));
    expect(html.startsWith('<!doctype html>')).toBe(true);
  });

  it('turns an unwritable path into a one-line usage error', async () => {
    await expect(writeHtmlReport(join(dir, 'missing', 'r.html'), { title: 't', collector: run.collector })).rejects.toThrow(UsageError);
  });
});
