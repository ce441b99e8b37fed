import { describe, expect, it } from 'vitest';
import { machine, markdown, table, type BenchFigures } from './report.ts';

function figures(ratio: number, bytes: number): BenchFigures {
  return {
    floor_events_per_s: 600_000,
    pipeline_events_per_s: 600_000 * ratio,
    ratio,
    workers: null,
    parallel_events_per_s: null,
    heap_bytes_per_function: bytes,
    latency_ms_p50: null,
    latency_ms_p99: null,
    machine: { nproc: 2, cpu: 'Test CPU', node: 'v20.0.0', pinned: true, date: '2026-01-05T00:00:00.000Z' },
    quick: false,
    throughput: {
      payloads: 10,
      log_events: 700,
      events_per_payload: 70,
      bytes_per_payload: 5000,
      floor_split: { base64: 0.1, gunzip: 0.5, json: 0.4 },
      floor_events_per_s: 600_000,
      parse_events_per_s: 400_000,
      pipeline_events_per_s: 600_000 * ratio,
      ratio,
      normalized_events: 300,
      alerts: 0,
    },
    memory: { curve: [[1000, bytes + 500], [100_000, bytes]], engine_fixed_bytes: 1, heap_bytes_per_function: bytes, total_mb_at_max: (bytes * 100_000) / 2 ** 20, cardinality: { egress: 3, resources: 30, actions: 8, invocations: 60 } },
  };
}

describe('report', () => {
  it('checks each figure against its target', () => {
    const bad = table(figures(0.4, 7000));
    expect(bad).toMatch(/pipeline ÷ floor\s+×0\.40\s+≥ ×0\.8\s+NOT met/);
    expect(bad).toMatch(/heap per function baseline\s+7,000 B\s+≤ 2048 B\s+NOT met/);
    const good = table(figures(0.85, 1800));
    expect(good).toMatch(/pipeline ÷ floor\s+×0\.85\s+≥ ×0\.8\s+met/);
    expect(good).toMatch(/heap at 100,000 functions\s+171\.7 MB\s+< 256 MB at 100k\s+met/);
  });

  it('shows the floor with JSON messages parsed as a comparison, without a target, when it was measured', () => {
    const f = figures(0.5, 1800);
    expect(table(f)).not.toContain('for comparison');
    f.throughput!.floor_with_messages_events_per_s = 400_000;
    expect(table(f)).toMatch(/for comparison: floor \+ JSON\.parse of JSON messages\s+400,000 events\/s\s+pipeline at ×0\.75 of it/);
  });

  it('says what was not measured instead of printing a number', () => {
    const md = markdown(figures(0.5, 3000), 'npm run bench -- --quick', 'Notes.');
    expect(md).toContain('`nproc` = 2, CPU: Test CPU, Node v20.0.0');
    expect(md).toContain('| pipeline ÷ floor | ×0.50 | ≥ ×0.8 | NOT met |');
    expect(md).not.toContain('PutRecords');
    expect(md).toContain('"latency_ms_p99": null');
  });

  it('reads this machine', () => {
    const m = machine(false);
    expect(m.nproc).toBeGreaterThan(0);
    expect(m.node).toBe(process.version);
  });
});
