import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset, type LabelsFile } from '../../datasets/generator/generate.ts';
import type { ScorecardDocument } from './eval.ts';

const BIN = fileURLToPath(new URL('../../bin/fnwatch.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'fnwatch-eval-cli-'));
const dsA = join(root, 'alpha');
const dsB = join(root, 'beta');
let labelsA: LabelsFile;
let labelsB: LabelsFile;
/** A labelled attack that never happened: the scorecard must call it missed and say why. */
const PHANTOM = 'atk-99-phantom';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function fnwatch(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'eval', ...args], { env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  [{ labels: labelsA }, { labels: labelsB }] = await Promise.all([
    generateDataset({ seed: 5, out: dsA, days: 3, functions: 8, scale: 0.1, attacks: ['denial-of-wallet', 'crypto-mining'] }),
    generateDataset({ seed: 6, out: dsB, days: 2, functions: 6, scale: 0.05, attacks: ['secret-grab'] }),
  ]);
  const attacked = new Set(labelsB.attacks.map((a) => a.function));
  const quiet = labelsB.functions.find((f) => !attacked.has(f.name))!;
  const start = labelsB.learningEnd + 3_600_000;
  const phantom = { id: PHANTOM, function: quiet.name, kind: 'exfiltration', expect: ['new-egress-host'], start, end: start + 1_800_000, description: 'never injected' };
  labelsB = { ...labelsB, attacks: [...labelsB.attacks, phantom as LabelsFile['attacks'][number]] };
  writeFileSync(join(dsB, 'labels.json'), JSON.stringify(labelsB));
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('fnwatch eval', () => {
  it('scores several datasets: every labelled attack detected or missed with a reason, false alerts per 100 function-days, confounders', async () => {
    const out = join(root, 'out');
    const json = join(root, 'elsewhere', 'card.json');
    const md = join(root, 'elsewhere', 'card.md');
    const report = join(root, 'reports', 'eval.html');
    const r = await fnwatch(dsA, dsB, '--out', out, '--json', json, '--markdown', md, '--report', report);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/error/i);

    const markdown = readFileSync(join(out, 'scorecard.md'), 'utf8');
    expect(r.stdout).toBe(markdown);
    expect(readFileSync(md, 'utf8')).toBe(markdown);
    const doc: ScorecardDocument = JSON.parse(readFileSync(json, 'utf8'));
    expect(readFileSync(join(out, 'scorecard.json'), 'utf8')).toBe(readFileSync(json, 'utf8'));
    expect(doc.schema).toBe('fnwatch.scorecard/1');
    expect(doc.datasets.map((d) => d.dataset)).toEqual(['alpha', 'beta']);

    const card = doc.combined;
    const labelled = [...labelsA.attacks.map((a) => ({ ...a, dataset: 'alpha' })), ...labelsB.attacks.map((a) => ({ ...a, dataset: 'beta' }))];
    expect(card.attacks.map((a) => `${a.dataset}/${a.id}`)).toEqual(labelled.map((a) => `${a.dataset}/${a.id}`));
    for (const [i, a] of card.attacks.entries()) {
      const w = labelled[i]!;
      if (a.detected) {
        expect(a.timeToDetectMs).toBeGreaterThanOrEqual(0);
        expect(a.alertKinds.some((k) => (w.expect ?? [w.kind]).some((e) => e === k))).toBe(true);
        expect(a.missReason).toBeUndefined();
      } else {
        expect(a.missReason).toMatch(new RegExp(`^(no alert on|alerts on) ${w.function}\\b`));
        expect(markdown).toContain(`| ${w.dataset} | ${w.id} | ${w.function} | ${w.kind} | **missed** |`);
      }
    }
    const phantom = card.attacks.find((a) => a.id === PHANTOM)!;
    expect(phantom.detected).toBe(false);

    for (const [kind, k] of Object.entries(card.recallByKind)) {
      const of = card.attacks.filter((a) => a.kind === kind);
      expect(k).toEqual({ detected: of.filter((a) => a.detected).length, total: of.length, recall: of.filter((a) => a.detected).length / of.length });
    }
    const day = 86_400_000;
    const afterLearningDays = (8 * (labelsA.end - labelsA.learningEnd) + 6 * (labelsB.end - labelsB.learningEnd)) / day;
    expect(card.functionDays.afterLearning).toBeCloseTo(afterLearningDays, 6);
    expect(card.falseAlertsPer100FunctionDays.afterLearning).toBeCloseTo((100 * card.falseAlerts.afterLearning) / afterLearningDays, 2);
    expect(card.falseAlerts.highSeverity).toBeGreaterThanOrEqual(card.falseAlerts.afterLearningHighSeverity);
    expect(card.confounders.map((c) => c.id)).toEqual([...labelsA.confounders, ...labelsB.confounders].map((c) => c.id));
    for (const c of card.confounders) expect(c.verdict === 'violation').toBe(card.confounderViolations.some((v) => v.id === c.id));

    for (const d of doc.datasets) {
      expect(d.counts.dead_letter).toBe(0);
      expect(d.scorecard.attacks.length).toBe((d.dataset === 'alpha' ? labelsA : labelsB).attacks.length);
    }
    expect(markdown).toMatch(/^# fnwatch scorecard: alpha, beta\n/);
    expect(markdown).toContain('## Recall by attack kind');
    expect(markdown).toContain('## Confounders');
    expect(markdown).toContain('## Datasets');
    for (const name of ['alpha', 'beta']) {
      const html = readFileSync(join(root, 'reports', `eval.${name}.html`), 'utf8');
      expect(html).toContain('<section id="scorecard">');
    }
  }, 60_000);

  it('fails with one line naming the missing labels.json, before replaying anything', async () => {
    const noLabels = join(root, 'no-labels');
    const out = join(root, 'never');
    const r = await fnwatch(dsA, noLabels, '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`fnwatch: no labels at ${join(noLabels, 'labels.json')}: a dataset directory needs a labels.json (fnwatch gen writes one)\n`);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });

  it('--seeds generates a dataset per seed, scores them, and reuses the datasets on a second run', async () => {
    const data = join(root, 'seed-data');
    const out = join(root, 'seed-out');
    const args = ['--seeds', '7,8', '--days', '2', '--functions', '6', '--scale', '0.05', '--attacks', 'secret-grab,crypto-mining', '--data', data, '--out', out, '--quiet'];
    const first = await fnwatch(...args);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('');
    const doc = JSON.parse(readFileSync(join(out, 'scorecard.json'), 'utf8'));
    expect(doc.schema).toBe('fnwatch.scorecard/1');
    expect(doc.generator).toMatchObject({ days: 2, functions: 6, scale: 0.05, attacks: ['secret-grab', 'crypto-mining'] });
    expect(doc.datasets.map((d: { seed: number; generated: boolean }) => [d.seed, d.generated])).toEqual([[7, true], [8, true]]);
    for (const seed of [7, 8]) {
      const labels: LabelsFile = JSON.parse(readFileSync(join(data, `ds-${seed}`, 'labels.json'), 'utf8'));
      expect(labels.attacks.map((a) => a.kind)).toEqual(['secret-grab', 'crypto-mining']);
    }
    expect(doc.combined.attacks).toHaveLength(4);
    const markdown = readFileSync(join(out, 'scorecard.md'), 'utf8');
    expect(markdown).toContain('| 7 |');
    expect(markdown).toContain('| 8 |');

    const second = await fnwatch(...args);
    expect(second.code).toBe(0);
    const again = JSON.parse(readFileSync(join(out, 'scorecard.json'), 'utf8'));
    expect(again.datasets.map((d: { generated: boolean }) => d.generated)).toEqual([false, false]);
    expect(again.combined.attacks).toEqual(doc.combined.attacks);
  }, 120_000);

  it('--seeds fails naming the flag before generating anything', async () => {
    const data = join(root, 'never-data');
    const noData = await fnwatch('--seeds', '7', '--out', join(root, 'never-out'));
    expect(noData.code).toBe(2);
    expect(noData.stderr).toBe('fnwatch: --data is required with --seeds (datasets go to <data>/ds-<seed>)\n');
    const both = await fnwatch(dsA, '--seeds', '7', '--data', data, '--out', join(root, 'never-out'));
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/^fnwatch: --seeds: give either dataset directories or --seeds, not both/);
    const badKind = await fnwatch('--seeds', '7', '--attacks', 'exfiltration,teleport', '--data', data, '--out', join(root, 'never-out'));
    expect(badKind.code).toBe(2);
    expect(badKind.stderr).toMatch(/--attacks: unknown kind "teleport"/);
    const stray = await fnwatch(dsA, '--days', '3');
    expect(stray.code).toBe(2);
    expect(stray.stderr).toBe('fnwatch: --days only works with --seeds\n');
    expect(existsSync(data)).toBe(false);
    expect(existsSync(join(root, 'never-out'))).toBe(false);
  });

  it('documents --seeds and its options in --help', async () => {
    const r = await fnwatch('--help');
    expect(r.code).toBe(0);
    for (const flag of ['--seeds <list>', '--days <d>', '--functions <f>', '--scale <x>', '--attacks <kinds>', '--data <dir>', '--out <dir>', '--regenerate']) expect(r.stdout).toContain(flag);
    expect(r.stdout).toContain('fnwatch eval --seeds 941-946');
  });
});
