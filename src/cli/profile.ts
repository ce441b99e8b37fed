/**
 * `fnwatch profile <DIR> [--function NAME] [--export DIR] [--json]`: shows what a saved baseline
 * learned, and exports per function a least-privilege IAM policy (from calls that succeeded; calls
 * that were always denied are listed apart) and an egress allowlist.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../core/contracts.ts';
import { functionKey } from '../core/events.ts';
import { defaultPack, loadPack } from '../detectors/pack.ts';
import { profilerSettings } from '../pipeline/engine.ts';
import { deniedCalls, describeProfile, egressAllowlist, leastPrivilegePolicy } from '../profiler/export.ts';
import { FunctionProfile } from '../profiler/profile.ts';
import { loadBaseline } from '../profiler/snapshot.ts';
import { globMatch } from '../detectors/pack.ts';

/**
 * Adds `profile` to the command line.
 *
 * @example
 * register(program); // fnwatch profile baselines/ --function 'orders-*' --export policies/
 */
export function register(program: Command): void {
  program
    .command('profile')
    .description('show what a saved baseline learned; export least-privilege IAM policies and egress allowlists')
    .argument('<dir>', 'baseline directory written by `fnwatch train` or the service')
    .option('--function <name>', 'only this function (glob)')
    .option('--export <dir>', 'write <function>.policy.json and <function>.egress.json per function')
    .option('--json', 'print JSON instead of text')
    .option('--models <file>', 'detector pack (default: models/default.yaml)')
    .action((dir: string, opts: { function?: string; export?: string; json?: boolean; models?: string }) => {
      const pack = opts.models ? loadPack(opts.models) : defaultPack();
      const settings = profilerSettings(pack);
      const snap = loadBaseline(dir);
      const profiles = snap.functions
        .map((j, i) => {
          try {
            return FunctionProfile.fromJSON(j, settings);
          } catch (err) {
            throw new UsageError(`baseline ${dir}: function ${i} (${JSON.stringify((j as { fn?: { name?: unknown } })?.fn?.name ?? null)}) cannot be read: ${(err as Error).message}`);
          }
        })
        .filter((p) => !opts.function || globMatch(opts.function, p.fn.name))
        .sort((a, b) => a.fn.name.localeCompare(b.fn.name) || functionKey(a.fn).localeCompare(functionKey(b.fn)));
      if (profiles.length === 0) throw new UsageError(`no function${opts.function ? ` matching ${opts.function}` : ''} in ${dir}`);
      if (opts.export) {
        try {
          mkdirSync(opts.export, { recursive: true });
        } catch (err) {
          throw new UsageError(`cannot write to ${opts.export}: ${(err as Error).message}`);
        }
      }
      // The same name in two accounts or regions would write the same files: those get account and region in the name.
      const nameCount = new Map<string, number>();
      for (const p of profiles) nameCount.set(p.fn.name, (nameCount.get(p.fn.name) ?? 0) + 1);
      const out: unknown[] = [];
      for (const p of profiles) {
        const policy = leastPrivilegePolicy(p);
        const egress = egressAllowlist(p);
        // Calls that were always denied grant nothing; they are shown apart (probing, or a missing permission).
        const denied = deniedCalls(p);
        if (opts.export) {
          const unique = nameCount.get(p.fn.name) === 1 ? p.fn.name : `${p.fn.name}.${p.fn.account ?? '-'}.${p.fn.region ?? '-'}`;
          const safe = unique.replace(/[^\w.-]/g, '_');
          writeFileSync(join(opts.export, `${safe}.policy.json`), JSON.stringify(policy, null, 2) + '\n');
          writeFileSync(join(opts.export, `${safe}.egress.json`), JSON.stringify(egress, null, 2) + '\n');
        }
        if (opts.json) {
          out.push({ function: p.fn, summary: describeProfile(p, settings.learningMs, settings.minInvocationsForDuration), policy, denied, egress });
        } else {
          process.stdout.write(describeProfile(p, settings.learningMs, settings.minInvocationsForDuration).join('\n') + '\n');
          if (opts.function) {
            process.stdout.write(`  least-privilege policy:\n${indent(JSON.stringify(policy, null, 2), 4)}\n`);
            if (denied.length > 0) {
              process.stdout.write(`  always denied (not in the policy):\n${denied.map((c) => `    ${c.action} ${c.resource}  (${c.denied}×, last ${c.lastSeen})`).join('\n')}\n`);
            }
            process.stdout.write(`  egress allowlist:\n${egress.map((e) => `    ${e.destination}  (${e.count}×, last ${e.lastSeen})`).join('\n') || '    (none seen)'}\n`);
          }
        }
      }
      if (opts.json) process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      if (opts.export) process.stderr.write(`wrote ${profiles.length * 2} files to ${opts.export}\n`);
    });
}

function indent(s: string, n: number): string {
  return s.replace(/^/gm, ' '.repeat(n));
}
