/**
 * `fnwatch gen --seed N --out DIR [--days D] [--functions F] [--scale X] [--start ISO] [--shards S]
 * [--attacks KINDS|none]`: writes a seeded, labeled scenario dataset (Kinesis recordings of Lambda
 * logs and CloudTrail, labels.json, events.arrow, manifest.json). See datasets/README.md.
 */
import type { Command } from 'commander';
import { DEFAULT_START, generateDataset } from '../../datasets/generator/generate.ts';
import { ATTACK_KINDS, type AttackKind } from '../../datasets/generator/plan.ts';
import { UsageError } from '../core/contracts.ts';

interface GenFlags {
  seed: string;
  out: string;
  days: string;
  functions: string;
  scale: string;
  start: string;
  shards?: string;
  attacks?: string;
  quiet?: boolean;
}

/** A numeric option's value, or a usage error naming the option. */
export function numberFlag(name: string, raw: string): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) throw new UsageError(`--${name} must be a number (got ${JSON.stringify(raw)})`);
  return v;
}

/** `a,b,c` or `none` → attack kinds, rejecting unknown names with the list of known ones. */
export function parseAttackList(raw: string): AttackKind[] {
  if (raw.trim() === 'none') return [];
  const kinds = raw.split(',').map((k) => k.trim()).filter(Boolean);
  for (const k of kinds) {
    if (!(ATTACK_KINDS as readonly string[]).includes(k)) throw new UsageError(`--attacks: unknown kind ${JSON.stringify(k)}; known: ${ATTACK_KINDS.join(', ')}, or none`);
  }
  return kinds as AttackKind[];
}

/**
 * Registers `gen`.
 *
 * @example
 * register(program); // fnwatch gen --seed 7 --out /tmp/ds --days 3 --functions 20 --scale 0.2
 */
export function register(program: Command): void {
  program
    .command('gen')
    .description('generate a seeded scenario dataset: Kinesis recordings of Lambda logs and CloudTrail, with labeled attacks')
    .requiredOption('--seed <n>', 'PRNG seed (integer); same seed and options give byte-identical files')
    .requiredOption('--out <dir>', 'output directory (created if missing)')
    .option('--days <d>', 'days of telemetry', '7')
    .option('--functions <f>', 'number of functions', '40')
    .option('--scale <x>', 'load multiplier (1 ≈ 0.5-1M log events for 7 days x 40 functions)', '1')
    .option('--start <iso>', 'first instant, UTC', DEFAULT_START)
    .option('--shards <n>', 'Kinesis shard files (default 1, or 2 above 20 functions)')
    .option('--attacks <kinds>', `comma-separated attack kinds (${ATTACK_KINDS.join(', ')}) or none; default: a seed-chosen mix`)
    .option('--quiet', 'no progress on stderr')
    .action(async (flags: GenFlags) => {
      const started = Date.now();
      const showProgress = !flags.quiet && process.stderr.isTTY === true;
      let lastPct = -1;
      const { labels, manifest } = await generateDataset({
        seed: numberFlag('seed', flags.seed),
        out: flags.out,
        days: numberFlag('days', flags.days),
        functions: numberFlag('functions', flags.functions),
        scale: numberFlag('scale', flags.scale),
        start: flags.start,
        shards: flags.shards === undefined ? undefined : numberFlag('shards', flags.shards),
        attacks: flags.attacks === undefined ? undefined : parseAttackList(flags.attacks),
        onProgress: showProgress
          ? (done, total) => {
              const pct = Math.floor((100 * done) / total);
              if (pct !== lastPct) process.stderr.write(`\rgenerating ${flags.out}: ${pct}%`);
              lastPct = pct;
            }
          : undefined,
      });
      if (showProgress) process.stderr.write('\n');
      const c = manifest.counts;
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      process.stdout.write(
        `wrote ${flags.out}: ${c.records} Kinesis records, ${c.logEvents} log events (${c.lambdaLogEvents} Lambda, ${c.cloudtrailRecords} CloudTrail), ` +
          `${c.invocations.total} invocations, ${labels.functions.length} functions, ${labels.attacks.length} attacks, ${labels.confounders.length} confounders in ${seconds} s\n`,
      );
      if (labels.skippedAttacks?.length) {
        process.stderr.write(`note: no suitable function for attack kind(s) ${labels.skippedAttacks.join(', ')}; add functions to include them\n`);
      }
    });
}
