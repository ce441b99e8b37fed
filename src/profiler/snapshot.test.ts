import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PROFILER_SETTINGS, FunctionProfile } from './profile.ts';
import { BASELINE_SCHEMA, BASELINE_SCHEMA_V1, loadBaseline, saveBaseline } from './snapshot.ts';

const T = Date.parse('2026-01-05T10:00:00Z');
const fn = { name: 'orders-api', account: '111111111111', region: 'us-east-1' };

function learned(): FunctionProfile {
  const p = new FunctionProfile(fn, T, DEFAULT_PROFILER_SETTINGS);
  const obs = { closedHours: 0, isNew: false, isNewAction: false, durationExceeded: false };
  for (let i = 0; i < 400; i++) {
    p.observeInvocation({ kind: 'invocation', time: T + i * 17_000, fn, status: i % 50 ? 'success' : 'error', durationMs: 80 + (i % 30), format: 'text' }, DEFAULT_PROFILER_SETTINGS, obs);
  }
  p.observeEgress({ kind: 'egress', time: T + 5, fn, host: 'api.stripe.com', port: 443, via: 'instrumentation' }, obs);
  return p;
}

describe('baseline snapshots', () => {
  it('reads schema 1 files: the profile restores without the windows schema 1 never saved', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fnwatch-snap-'));
    const v2 = learned().toJSON();
    // What a schema-1 writer produced: the same fields without the open hour, ring and windows.
    const { recentBins, recentPos, recentLen, relearnUntil, errWindowStart, errWindowErrors, errWindowN, deniedWindowStart, deniedCount, ...v1 } = v2;
    const { curHour, hourCount, hourSumSq, curMinute, minuteCount, ringMinute, lastHourCount, ring, recent, gapBeforeHour, ...rate1 } = v2.rate;
    writeFileSync(join(dir, 'baseline.json'), JSON.stringify({ schema: BASELINE_SCHEMA_V1, watermark: T, createdAt: '', functions: [{ ...v1, rate: rate1 }] }));
    const snap = loadBaseline(dir);
    expect(snap.schema).toBe(BASELINE_SCHEMA_V1);
    const p = FunctionProfile.fromJSON(snap.functions[0]!, DEFAULT_PROFILER_SETTINGS);
    expect(p.invocations).toBe(400);
    expect(p.rate.expectedForHour(Math.floor(T / 3_600_000))).toBe(learned().rate.expectedForHour(Math.floor(T / 3_600_000)));
    expect(p.durations.quantile(0.5)).toBe(learned().durations.quantile(0.5));
    expect([p.rate.curHour, p.rate.lastHourCount, p.recentLen]).toEqual([-1, 0, 0]);
    expect(ring?.some((c) => c > 0)).toBe(true);
  });

  it('writes the current schema and round-trips every field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fnwatch-snap-'));
    const p = learned();
    saveBaseline(dir, { schema: BASELINE_SCHEMA, watermark: T, createdAt: new Date(0).toISOString(), functions: [p.toJSON()] });
    const snap = loadBaseline(dir);
    expect(snap.schema).toBe('fnwatch.baseline/2');
    const restored = FunctionProfile.fromJSON(snap.functions[0]!, DEFAULT_PROFILER_SETTINGS);
    expect(JSON.parse(JSON.stringify(restored.toJSON()))).toEqual(JSON.parse(JSON.stringify(p.toJSON())));
  });

  it('round-trips the optional fleet section, and reads files without it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fnwatch-snap-'));
    const fleet = {
      lateEgress: [
        ['111111111111/us-east-1/gdpr-export', 'transfer.sh:443', 0.158, true],
        ['111111111111/us-east-1/sso-provisioner', 'api.zendesk.com:443', 0.13, false],
        ['111111111111/us-east-1/sso-provisioner', 'api.auth0.com:443', 0.2], // written before `alerted` existed
      ] as [string, string, number, boolean?][],
    };
    saveBaseline(dir, { schema: BASELINE_SCHEMA, watermark: T, createdAt: new Date(0).toISOString(), functions: [learned().toJSON()], fleet });
    expect(loadBaseline(dir).fleet).toEqual(fleet);
    writeFileSync(join(dir, 'baseline.json'), JSON.stringify({ schema: BASELINE_SCHEMA, watermark: T, createdAt: '', functions: [learned().toJSON()] }));
    const older = loadBaseline(dir);
    expect(older.fleet).toBeUndefined();
    expect(older.functions).toHaveLength(1);
  });

  it('refuses a malformed fleet section, naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fnwatch-snap-'));
    for (const fleet of [{}, { lateEgress: [['f', 'h']] }, { lateEgress: [['f', 'h', 'x']] }, { lateEgress: [['f', 'h', 2]] }, { lateEgress: [['f', 'h', 0.2, 'yes']] }, { lateEgress: [['f', 'h', 0.2, true, 1]] }, null]) {
      writeFileSync(join(dir, 'baseline.json'), JSON.stringify({ schema: BASELINE_SCHEMA, watermark: T, createdAt: '', functions: [], fleet }));
      expect(() => loadBaseline(dir)).toThrow(/malformed "fleet\.lateEgress"/);
    }
  });

  it('refuses an unknown schema, naming it and the versions it reads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fnwatch-snap-'));
    writeFileSync(join(dir, 'baseline.json'), JSON.stringify({ schema: 'fnwatch.baseline/9', functions: [] }));
    expect(() => loadBaseline(dir)).toThrow(/schema "fnwatch\.baseline\/9"; this fnwatch reads fnwatch\.baseline\/2 and fnwatch\.baseline\/1/);
  });

  it('names the missing field of a damaged profile', () => {
    expect(() => FunctionProfile.fromJSON({ fn: { name: 'x' } }, DEFAULT_PROFILER_SETTINGS)).toThrow(/field "rate" is missing/);
  });
});
