/**
 * Detection-quality regression test: generates a small labelled dataset from a seed that was never
 * used for tuning (see TUNING.md), replays it through the real pipeline (Kinesis recordings →
 * parser → profiler → detectors → scorer) and scores the alerts against the labels. The generator
 * is deterministic, so the numbers are too; the bounds sit a little below what was measured, so a
 * change that makes detection worse fails the build without the test being flaky.
 *
 * Measured when written: 7 of 8 attacks caught (the miss: a +56% cost ramp on a very bursty queue
 * worker, starting the evening before its first weekend; denial-of-wallet caught in 37 s), no false
 * alert in 48 function-days of learning or 48 after it, no confounder alerted above medium. The
 * detectors before the TUNING.md changes raised 4 false alerts during learning and 2 after it here.
 * With generator 1.1.0 (attacks on whole simulated minutes) and the second tuning round: the same
 * 7 of 8 (the same ramp missed), denial-of-wallet in 41 s, no false alert (`npx tsx
 * replay/eval/seeds.ts --seeds 4243 --days 6 --functions 16 --scale 0.3 --attacks
 * cost-ramp,denial-of-wallet,crypto-mining,exfiltration,imds-access,secret-grab,error-probing,dormant-wakeup`).
 * Generation and replay take about 30 s on two cores.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset } from '../../datasets/generator/generate.ts';
import { runReplay } from '../../src/sources/files/replay.ts';
import { scoreAlerts, type Scorecard } from './score.ts';

/** Never used while tuning (tuning seeds: 11-16, 21-24, 31-34; held-out: 901-912, 941-946). */
const SEED = 4243;
const ATTACKS = ['cost-ramp', 'denial-of-wallet', 'crypto-mining', 'exfiltration', 'imds-access', 'secret-grab', 'error-probing', 'dormant-wakeup'] as const;

let dir: string;
let card: Scorecard;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fnwatch-regression-'));
  const { labels } = await generateDataset({ seed: SEED, out: dir, days: 6, functions: 16, scale: 0.3, attacks: [...ATTACKS] });
  const replay = await runReplay({ inputs: [join(dir, 'kinesis')] });
  card = scoreAlerts(replay.alerts, labels);
}, 180_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe(`detection quality on generated seed ${SEED} (6 days x 16 functions)`, () => {
  it('catches the injected attacks: at least 7 of 8, and every novelty (deterministic) one', () => {
    expect(card.attacks.map((a) => a.kind).sort()).toEqual([...ATTACKS].sort());
    expect(card.attacks.filter((a) => a.detected).length).toBeGreaterThanOrEqual(7);
    const missedNovelty = card.attacks.filter((a) => !a.detected && ['exfiltration', 'imds-access', 'secret-grab'].includes(a.kind));
    expect(missedNovelty).toEqual([]);
  });

  it('detects a denial-of-wallet flood within two minutes', () => {
    const dow = card.attacks.find((a) => a.kind === 'denial-of-wallet')!;
    expect(dow.detected).toBe(true);
    expect(dow.timeToDetectMs).toBeLessThan(2 * 60_000);
  });

  it('raises at most one false alert after learning (48 function-days), none high severity', () => {
    expect(card.falseAlerts.afterLearning).toBeLessThanOrEqual(1);
    expect(card.falseAlerts.afterLearningHighSeverity).toBe(0);
    expect(card.confounderViolations).toEqual([]);
  });

  it('stays nearly quiet during learning', () => {
    expect(card.falseAlerts.learning).toBeLessThanOrEqual(1);
  });
});
