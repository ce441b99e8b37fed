/**
 * Opens a report built from a crafted run in a real headless Chromium (Debian's `chromium`
 * package) from file://, with every non-file request refused and counted, and checks that it
 * draws without errors: the charts, the baseline bands, the alert markers and the alert rows.
 * Leaves a screenshot at /tmp/fnwatch-report.png.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, HOUR, T0 } from '../../src/detectors/testing/series.ts';
import { scoreAlerts } from '../eval/score.ts';
import { HOSTILE_HOST, MINER_FN, MINING_AT, SURGE_AT, SURGE_FN, craftedRun } from './fixture.ts';
import { writePipelineReport } from './index.ts';

const CHROMIUM = process.env.FNWATCH_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOT = '/tmp/fnwatch-report.png';

let dir: string;
let context: BrowserContext | undefined;
let page: Page;
const consoleErrors: string[] = [];
const pageErrors: string[] = [];
const blockedRequests: string[] = [];
let findings: { uid: string; fn: string; kind: string; desc: string }[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: the HTML report check needs a real browser. ` +
        'Install Debian\'s package: apt-get update && apt-get install -y chromium (or set FNWATCH_CHROMIUM to a Chromium binary).',
    );
  }
  dir = mkdtempSync(join(tmpdir(), 'fnwatch-report-browser-'));
  const run = craftedRun();
  const byUid = new Map(run.alerts.map((a) => [a.finding_info.uid, a]));
  findings = [...byUid.values()].map((a) => ({ uid: a.finding_info.uid, fn: a.resources[0]!.name, kind: a.finding_info.types[0], desc: a.finding_info.desc }));
  const scorecard = scoreAlerts(run.alerts, {
    start: T0,
    end: T0 + 4 * DAY,
    learningEnd: T0 + DAY,
    functions: [{ name: SURGE_FN.name }, { name: MINER_FN.name }, { name: 'billing-sync' }],
    attacks: [
      { id: 'dow-1', function: SURGE_FN.name, kind: 'denial-of-wallet', start: SURGE_AT, end: SURGE_AT + HOUR / 2 },
      { id: 'mine-1', function: MINER_FN.name, kind: 'crypto-mining', expect: ['duration-anomaly', 'new-egress-host'], start: MINING_AT, end: MINING_AT + 20 * HOUR },
    ],
  }, { dataset: 'crafted' });
  const file = join(dir, 'report.html');
  await writePipelineReport(file, { title: 'fnwatch replay: crafted run', pipeline: run.pipeline, collector: run.collector, scorecard, dataset: 'crafted 4-day run' });

  context = await chromium.launchPersistentContext(join(dir, 'user-data'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    blockedRequests.push(url);
    return route.abort();
  });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
});

afterAll(async () => {
  await context?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('HTML report in Chromium', () => {
  it('loads with no console errors, no page errors and no network requests', () => {
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(blockedRequests).toEqual([]);
  });

  it('draws one fleet chart and three charts per alerted function, each with a line', async () => {
    expect(findings.map((f) => f.fn).sort()).toEqual([SURGE_FN.name, MINER_FN.name, MINER_FN.name, MINER_FN.name].sort());
    expect(await page.locator('#fleet svg.chart').count()).toBe(1);
    expect(await page.locator('section.fn').count()).toBe(2);
    expect(await page.locator('section.fn svg.chart').count()).toBe(6);
    const lines = await page.$$eval('svg.chart', (svgs) =>
      svgs.map((s) => {
        const paths = [...s.querySelectorAll('path.line')].map((p) => (p as unknown as { getTotalLength(): number }).getTotalLength());
        return { longest: Math.max(0, ...paths), bands: s.querySelectorAll('path.band').length };
      }),
    );
    for (const l of lines) expect(l.longest).toBeGreaterThan(500);
    // every per-function chart shades its baseline band
    expect(lines.slice(1).every((l) => l.bands === 1)).toBe(true);
  });

  it('redraws a chart on a log scale so a surge and the baseline both show', async () => {
    const box = page.locator('section.fn').nth(1).locator('.chart-box').first();
    const labels = () => box.locator('text.ylab').allTextContents();
    const linear = await labels();
    expect(linear[0]).toBe('0');
    await box.locator('.logtoggle input').check();
    const log = await labels();
    expect(log).not.toContain('0');
    expect(log).toContain('1,000');
    expect(await box.locator('svg.chart').count()).toBe(1);
    expect(await box.locator('path.band').count()).toBe(1);
    expect(await box.locator('g.marker').count()).toBe(1);
    await box.locator('.logtoggle input').uncheck();
    expect(await labels()).toEqual(linear);
  });

  it('marks each finding on its function charts, with its explanation as the tooltip', async () => {
    const perFn = await page.$$eval('section.fn', (secs) =>
      secs.map((s) => ({
        name: s.querySelector('h3')!.textContent,
        markers: [...s.querySelectorAll('svg.chart')].map((c) => c.querySelectorAll('g.marker').length),
        titles: [...s.querySelectorAll('svg.chart')[0]!.querySelectorAll('g.marker > title')].map((t) => t.textContent ?? ''),
      })),
    );
    expect(perFn.map((f) => f.name)).toEqual([MINER_FN.name, SURGE_FN.name]);
    expect(perFn[0]!.markers).toEqual([3, 3, 3]);
    expect(perFn[1]!.markers).toEqual([1, 1, 1]);
    const surge = findings.find((f) => f.kind === 'denial-of-wallet')!;
    expect(perFn[1]!.titles[0]).toContain(surge.desc);
    expect(await page.locator('#fleet g.marker').count()).toBe(findings.length);
  });

  it('lists every finding in the alert table, with data shown as text, never run as markup', async () => {
    const rows = await page.$$eval('table.alerts tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent ?? '')));
    expect(rows).toHaveLength(findings.length);
    expect(rows.map((r) => r[3]).sort()).toEqual(findings.map((f) => f.fn).sort());
    expect(rows.map((r) => r[2]).sort()).toEqual(findings.map((f) => f.kind).sort());
    const hostile = rows.find((r) => r[4]!.includes(HOSTILE_HOST));
    expect(hostile).toBeDefined();
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('img').count()).toBe(0);
  });

  it('filters and sorts the alert table', async () => {
    await page.fill('.filters input', 'orders');
    expect(await page.locator('table.alerts tbody tr').count()).toBe(1);
    await page.fill('.filters input', '');
    await page.selectOption('.filters select[aria-label="minimum severity"]', '4');
    const sevs = await page.$$eval('table.alerts tbody tr', (trs) => trs.map((tr) => Number((tr as unknown as { dataset: Record<string, string> }).dataset.severity)));
    expect(sevs.length).toBeGreaterThan(0);
    expect(sevs.every((s) => s >= 4)).toBe(true);
    await page.selectOption('.filters select[aria-label="minimum severity"]', '0');
    await page.click('th[data-key="severity"]');
    const sorted = await page.$$eval('table.alerts tbody tr', (trs) => trs.map((tr) => Number((tr as unknown as { dataset: Record<string, string> }).dataset.severity)));
    expect(sorted).toEqual([...sorted].sort((a, b) => b - a));
    expect(sorted).toHaveLength(findings.length);
  });

  it('shows the scorecard and the run figures in the header', async () => {
    expect(await page.locator('#scorecard').textContent()).toContain('2 / 2');
    expect(await page.locator('#scorecard table').count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('header .tile').count()).toBeGreaterThan(6);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });
});
