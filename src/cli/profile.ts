/**
 * `fnwatch profile <DIR> [--function NAME] [--export DIR] [--json]`: shows what a saved baseline
 * learned, and exports per function a least-privilege IAM policy and an egress allowlist.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../core/contracts.ts';
import { defaultPack, loadPack } from '../detectors/pack.ts';
import { profilerSettings } from '../pipeline/engine.ts';
import { describeProfile, egressAllowlist, leastPrivilegePolicy } from '../profiler/export.ts';
import { FunctionProfile } from '../profiler/profile.ts';
import { loadBaseline } from '../profiler/snapshot.ts';
import { globMatch } from '../detectors/pack.ts';

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
        .map((j) => FunctionProfile.fromJSON(j, settings))
        .filter((p) => !opts.function || globMatch(opts.function, p.fn.name))
        .sort((a, b) => a.fn.name.localeCompare(b.fn.name));
      if (profiles.length === 0) throw new UsageError(`no function${opts.function ? ` matching ${opts.function}` : ''} in ${dir}`);
      if (opts.export) mkdirSync(opts.export, { recursive: true });
      const out: unknown[] = [];
      for (const p of profiles) {
        const policy = leastPrivilegePolicy(p);
        const egress = egressAllowlist(p);
        if (opts.export) {
          const safe = p.fn.name.replace(/[^\w.-]/g, '_');
          writeFileSync(join(opts.export, `${safe}.policy.json`), JSON.stringify(policy, null, 2) + '\n');
          writeFileSync(join(opts.export, `${safe}.egress.json`), JSON.stringify(egress, null, 2) + '\n');
        }
        if (opts.json) {
          out.push({ function: p.fn, summary: describeProfile(p, settings.learningMs, settings.minInvocationsForDuration), policy, egress });
        } else {
          process.stdout.write(describeProfile(p, settings.learningMs, settings.minInvocationsForDuration).join('\n') + '\n');
          if (opts.function) {
            process.stdout.write(`  least-privilege policy:\n${indent(JSON.stringify(policy, null, 2), 4)}\n`);
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
