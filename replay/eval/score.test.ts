import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/core/alert.ts';
import { combineScorecards, scoreAlerts, scorecardMarkdown, type Labels } from './score.ts';

const H = 3_600_000;
const D = 24 * H;
function alert(uid: string, fn: string, kind: string, time: number, severity = 3, activity: 1 | 2 = 1): Alert {
  return {
    class_uid: 2004, category_uid: 2, activity_id: activity, type_uid: activity === 1 ? 200401 : 200402, severity_id: severity, time,
    metadata: { version: '1.5.0', product: { name: 'fnwatch', vendor_name: 'fnwatch' } },
    finding_info: { uid, title: kind, desc: `${fn} ${kind}`, types: [kind as any], first_seen_time: time, last_seen_time: time, analytic: { name: kind, type_id: 3, uid: kind } },
    resources: [{ type: 'AWS::Lambda::Function', name: fn }],
  };
}

const labels: Labels = {
  start: 0,
  end: 10 * D,
  learningEnd: 3 * D,
  functions: [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }, { name: 'e' }],
  attacks: [
    { id: 'x1', function: 'a', kind: 'denial-of-wallet', expect: ['denial-of-wallet'], start: 5 * D, end: 5 * D + H },
    { id: 'x2', function: 'b', kind: 'crypto-mining', expect: ['duration-anomaly', 'new-egress-host'], start: 6 * D, end: 6 * D + 3 * H },
    { id: 'x3', function: 'c', kind: 'secret-grab', expect: ['new-resource-access'], start: 7 * D, end: 7 * D + H },
  ],
  confounders: [{ id: 'c1', function: 'd', kind: 'flash-crowd', start: 8 * D, end: 8 * D + H, mustNotAlertAbove: 'medium' }],
};

describe('scoreAlerts', () => {
  const alerts = [
    alert('u1', 'a', 'denial-of-wallet', 5 * D + 60_000),
    alert('u1', 'a', 'denial-of-wallet', 5 * D + 120_000, 4, 2), // update of the same finding
    alert('u2', 'b', 'error-spike', 6 * D + H), // side effect: not false, not a detection
    alert('u3', 'b', 'new-egress-host', 6 * D + 2 * H, 5),
    alert('u4', 'e', 'new-egress-host', 2 * D), // learning-period false alert
    alert('u5', 'e', 'duration-anomaly', 9 * D, 4), // false, high
    alert('u6', 'd', 'denial-of-wallet', 8 * D + 10 * 60_000, 4), // confounder violation and false
  ];
  const card = scoreAlerts(alerts, labels, { dataset: 't' });

  it('matches attacks by function, window and expected kind', () => {
    expect(card.attacks.map((a) => [a.id, a.detected, a.timeToDetectMs])).toEqual([
      ['x1', true, 60_000],
      ['x2', true, 2 * H],
      ['x3', false, undefined],
    ]);
    expect(card.recall).toBeCloseTo(2 / 3);
    expect(card.recallByKind['secret-grab']).toEqual({ detected: 0, total: 1, recall: 0 });
    expect(card.medianTimeToDetectMsByKind['denial-of-wallet']).toBe(60_000);
  });

  it('counts false alerts per 100 function-days, split by learning, and confounder violations', () => {
    expect(card.alerts).toBe(6);
    expect(card.falseAlerts).toEqual({ learning: 1, afterLearning: 2, highSeverity: 2, afterLearningHighSeverity: 2 });
    expect(card.functionDays).toEqual({ learning: 15, afterLearning: 35 });
    expect(card.falseAlertsPer100FunctionDays.afterLearning).toBeCloseTo((100 * 2) / 35, 3);
    expect(card.confounderViolations).toEqual([{ id: 'c1', kind: 'flash-crowd', function: 'd', alert: 'denial-of-wallet', severity: 'High' }]);
  });

  it('says why a missed attack was missed and how each confounder scored', () => {
    expect(card.attacks[2]!.missReason).toBe('no alert on c during the attack or 2.0 h after (wanted new-resource-access)');
    expect(card.attacks[0]!.missReason).toBeUndefined();
    const late = scoreAlerts([alert('v1', 'c', 'new-resource-access', 7 * D + 5 * H), alert('v2', 'c', 'error-spike', 7 * D + 10)], labels);
    expect(late.attacks[2]!.missReason).toBe('alerts on c were error-spike, not new-resource-access; a new-resource-access alert on c came 4.0 h after its end');
    expect(card.confounders).toEqual([
      { dataset: 't', id: 'c1', function: 'd', kind: 'flash-crowd', limit: 'medium', alerts: 1, alertKinds: ['denial-of-wallet'], maxSeverity: 'High', verdict: 'violation' },
    ]);
    expect(scoreAlerts([], labels).confounders[0]).toMatchObject({ alerts: 0, maxSeverity: null, verdict: 'quiet' });
    expect(scoreAlerts([alert('w', 'd', 'denial-of-wallet', 8 * D, 2)], labels).confounders[0]).toMatchObject({ alerts: 1, maxSeverity: 'Low', verdict: 'within-limit' });
    const md = scorecardMarkdown(combineScorecards([card, scoreAlerts([], labels, { dataset: 'u' })]));
    expect(md).toContain('| t | x3 | c | secret-grab | **missed** | — |  | no alert on c');
    expect(md).toContain('| u | c1 | d | flash-crowd | 0 | — | medium | no alert |');
  });

  it('combines datasets and renders Markdown', () => {
    const both = combineScorecards([card, card]);
    expect(both.attacks).toHaveLength(6);
    expect(both.falseAlertsPer100FunctionDays.afterLearning).toBeCloseTo(card.falseAlertsPer100FunctionDays.afterLearning, 3);
    const md = scorecardMarkdown(card);
    expect(md).toContain('| x3 | c | secret-grab | **missed** |');
    expect(md).toContain('recall 66.7%');
  });

  it('gives the median and 90th percentile time to detect per kind over the combined sets', () => {
    const at = (ms: number) => scoreAlerts([alert('f', 'a', 'denial-of-wallet', 5 * D + ms)], labels);
    const cards = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((s) => at(s * 1000));
    const all = combineScorecards(cards);
    expect(all.medianTimeToDetectMsByKind['denial-of-wallet']).toBe(55_000);
    expect(all.p90TimeToDetectMsByKind['denial-of-wallet']).toBe(91_000); // linear interpolation between the 9th and 10th
    expect(all.p90TimeToDetectMsByKind['secret-grab']).toBeNull();
    expect(scorecardMarkdown(all)).toContain('| denial-of-wallet | 10/10 | 100.0% | 55 s | 91 s |');
  });

  it('counts an alert shortly before the labelled start only within the stated tolerance', () => {
    const early = [alert('e', 'a', 'denial-of-wallet', 5 * D - 40_000)];
    const strict = scoreAlerts(early, labels);
    expect(strict.attacks[0]!.detected).toBe(false);
    expect(strict.falseAlerts.afterLearning).toBe(1);
    const tolerant = scoreAlerts(early, labels, { startToleranceMs: 60_000 });
    expect(tolerant.attacks[0]).toMatchObject({ detected: true, timeToDetectMs: 0 });
    expect(tolerant.falseAlerts.afterLearning).toBe(0);
    expect(scoreAlerts([alert('e', 'a', 'denial-of-wallet', 5 * D - 90_000)], labels, { startToleranceMs: 60_000 }).attacks[0]!.detected).toBe(false);
  });
});
