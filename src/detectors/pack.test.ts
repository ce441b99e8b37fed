import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PACK_PATH, defaultPack, globMatch, parsePack } from './pack.ts';

const text = readFileSync(DEFAULT_PACK_PATH, 'utf8');

describe('detector packs', () => {
  it('loads the shipped pack with every detector enabled', () => {
    const pack = defaultPack();
    expect(pack.detectors.map((d) => d.id).sort()).toEqual([
      'cost-ramp', 'denial-of-wallet', 'dormant-wakeup', 'duration-anomaly', 'error-spike', 'new-egress-host', 'new-resource-access',
    ]);
    expect(Object.isFrozen(pack.detectors[0])).toBe(true);
  });

  it('names file, line and field of a wrong type', () => {
    const bad = text.replace('minRatio: 8 ', 'minRatio: lots ');
    const line = bad.split('\n').findIndex((l) => l.includes('minRatio: lots')) + 1;
    expect(() => parsePack(bad, 'models/x.yaml')).toThrow(new RegExp(`^models/x\\.yaml:${line}:\\d+: detectors\\[0\\]\\.params\\.minRatio: .*number`));
  });

  it('rejects unknown keys and unknown detector ids', () => {
    expect(() => parsePack(text.replace('learning:\n', 'learning:\n  colour: blue\n'), 'p.yaml')).toThrow(/p\.yaml:\d+:\d+: learning: .*colour/);
    expect(() => parsePack(text.replace('- id: cost-ramp', '- id: cost-rampage'), 'p.yaml')).toThrow(/detectors\[1\]\.id/);
  });

  it('reports YAML syntax errors with a position', () => {
    expect(() => parsePack('version: 1\nlearning: [unclosed\n', 'p.yaml')).toThrow(/^p\.yaml:\d+:\d+: /);
  });

  it('matches globs anchored and case-insensitively', () => {
    expect(globMatch('*.amazonaws.com:443', 'dynamodb.us-east-1.amazonaws.com:443')).toBe(true);
    expect(globMatch('*.amazonaws.com:443', 'evil.com/amazonaws.com:4430')).toBe(false);
    expect(globMatch('iam:*', 'IAM:CreateAccessKey')).toBe(true);
  });
});
