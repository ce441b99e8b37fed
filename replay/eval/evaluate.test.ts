import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset, type ManifestFile } from '../../datasets/generator/generate.ts';
import type { Alert } from '../../src/core/alert.ts';
import { UsageError } from '../../src/core/contracts.ts';
import { ReportCollector } from '../report/collector.ts';
import { datasetInputs, evaluateDataset, readLabels } from './evaluate.ts';
import { uniqueAlerts, type Labels } from './score.ts';

const GRACE = 2 * 3_600_000;
const root = mkdtempSync(join(tmpdir(), 'fnwatch-evaluate-'));
const ds = join(root, 'ds');
let manifest: ManifestFile;

beforeAll(async () => {
  ({ manifest } = await generateDataset({ seed: 11, out: ds, days: 3, functions: 8, scale: 0.1, attacks: ['denial-of-wallet', 'exfiltration', 'secret-grab'] }));
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Detected iff an alert of an expected kind is on the function within [start, end + grace]: recomputed here from the alerts. */
function expectAccounted(alerts: readonly Alert[], labels: Labels, attacks: { id: string; detected: boolean; timeToDetectMs?: number }[]): void {
  expect(attacks.map((a) => a.id)).toEqual(labels.attacks.map((a) => a.id));
  const unique = uniqueAlerts(alerts);
  for (const w of labels.attacks) {
    const expected = new Set(w.expect ?? [w.kind]);
    const hit = unique.find((a) => a.resources[0]?.name === w.function && expected.has(a.finding_info.types[0]) && a.time >= w.start && a.time <= w.end + GRACE);
    const r = attacks.find((a) => a.id === w.id)!;
    expect(r.detected, w.id).toBe(hit !== undefined);
    expect(r.timeToDetectMs, w.id).toBe(hit ? Math.max(0, hit.time - w.start) : undefined);
  }
}

describe('evaluateDataset', () => {
  it('replays the recordings through the pipeline and accounts for every labelled attack', async () => {
    const report = new ReportCollector();
    const ev = await evaluateDataset(ds, { report });
    expect(ev.inputs).toEqual([join(ds, 'kinesis')]);
    expect(ev.dataset).toBe('ds');
    // The parser derives exactly the generator's ground truth from the recordings.
    expect(ev.counts.events).toEqual(manifest.counts.events);
    expect(ev.counts.records).toBe(manifest.counts.records);
    expect(ev.counts.dead_letter).toBe(0);
    expect(ev.counts.alerts).toBe(ev.alerts.length);
    expect(report.events).toEqual(manifest.counts.events);

    const card = ev.scorecard;
    expect(card.dataset).toBe('ds');
    expectAccounted(ev.alerts, ev.labels, card.attacks);
    expect(card.alerts).toBe(uniqueAlerts(ev.alerts).length);
    expect(card.alerts).toBe(card.truePositiveAlerts + card.falseAlerts.learning + card.falseAlerts.afterLearning);
    const day = 86_400_000;
    expect(card.functionDays.learning).toBeCloseTo((8 * (ev.labels.learningEnd - ev.labels.start)) / day, 6);
    expect(card.functionDays.afterLearning).toBeCloseTo((8 * (ev.labels.end - ev.labels.learningEnd)) / day, 6);
    expect(Object.keys(card.recallByKind).sort()).toEqual(['denial-of-wallet', 'exfiltration', 'secret-grab']);
  }, 60_000);

  it('replays events.arrow when the directory holds no other telemetry', async () => {
    const arrowOnly = join(root, 'arrow-only');
    mkdirSync(arrowOnly);
    for (const f of ['labels.json', 'manifest.json', 'events.arrow']) copyFileSync(join(ds, f), join(arrowOnly, f));
    expect(datasetInputs(arrowOnly)).toEqual([join(arrowOnly, 'events.arrow')]);
    const ev = await evaluateDataset(arrowOnly, { name: 'arrow' });
    expect(ev.counts.events).toEqual(manifest.counts.events);
    expect(ev.scorecard.dataset).toBe('arrow');
    expectAccounted(ev.alerts, ev.labels, ev.scorecard.attacks);
  }, 60_000);

  it('names the path of missing or malformed labels', async () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await expect(evaluateDataset(empty)).rejects.toThrow(new UsageError(`no labels at ${join(empty, 'labels.json')}: a dataset directory needs a labels.json (fnwatch gen writes one)`));
    writeFileSync(join(empty, 'labels.json'), '{"start": 1');
    expect(() => readLabels(empty)).toThrow(/^labels .*labels\.json is not valid JSON/);
    writeFileSync(join(empty, 'labels.json'), JSON.stringify({ start: 10, end: 5, learningEnd: 7, functions: [], attacks: [] }));
    expect(() => readLabels(empty)).toThrow('end is not after start');
    const labels = JSON.parse(readFileSync(join(ds, 'labels.json'), 'utf8'));
    writeFileSync(join(empty, 'labels.json'), JSON.stringify({ ...labels, attacks: [{ id: 'x', kind: 'denial-of-wallet' }] }));
    expect(() => readLabels(empty)).toThrow('window 0 ("x") needs function, kind, start and end');
    writeFileSync(join(empty, 'labels.json'), JSON.stringify(labels));
    await expect(evaluateDataset(empty)).rejects.toThrow(`no telemetry in ${empty}`);
    await expect(evaluateDataset(join(root, 'nope'))).rejects.toThrow(UsageError);
  });
});
