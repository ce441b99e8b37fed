import { describe, expect, it } from 'vitest';
import { UsageError } from './contracts.ts';
import { fieldPath, parsePositionedYaml } from './yaml-errors.ts';

const TEXT = ['version: 1', 'detectors:', '  - id: error-spike', '    params:', '      minRatio: high', 'empty:', ''].join('\n');

describe('parsePositionedYaml', () => {
  it('returns the plain values', () => {
    expect(parsePositionedYaml(TEXT, 'p.yaml').value).toEqual({ version: 1, detectors: [{ id: 'error-spike', params: { minRatio: 'high' } }], empty: null });
  });

  it('points at the node a path names, through sequences', () => {
    const yaml = parsePositionedYaml(TEXT, 'p.yaml');
    expect(yaml.locate(['detectors', 0, 'params', 'minRatio'])).toBe('p.yaml:5:17');
    expect(yaml.locate(['detectors', 0, 'id'])).toBe('p.yaml:3:9');
    expect(yaml.locate(['version'])).toBe('p.yaml:1:10');
  });

  it('points a missing key at the deepest mapping that exists, and the empty path at the document', () => {
    const yaml = parsePositionedYaml(TEXT, 'p.yaml');
    expect(yaml.locate(['detectors', 0, 'params', 'nope'])).toBe('p.yaml:5:7');
    expect(yaml.locate(['detectors', 3, 'id'])).toBe('p.yaml:3:3');
    expect(yaml.locate(['nope', 'deeper'])).toBe('p.yaml:1:1');
    expect(yaml.locate([])).toBe('p.yaml:1:1');
  });

  it('gives just the file when the document is empty', () => {
    const yaml = parsePositionedYaml('', 'empty.yaml');
    expect(yaml.value).toBeNull();
    expect(yaml.locate(['sources'])).toBe('empty.yaml');
  });

  it('reports a syntax error at its position, in one line', () => {
    let err: unknown;
    try {
      parsePositionedYaml('a: [1, 2\nb: 3\n', 'bad.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/^bad\.yaml:\d+:\d+: [^\n]+$/);
  });

  it('reads JSON too (YAML is a superset)', () => {
    const yaml = parsePositionedYaml('{"sources": [{"type": "kinesis"}]}', 'c.json');
    expect(yaml.value).toEqual({ sources: [{ type: 'kinesis' }] });
    expect(yaml.locate(['sources', 0, 'type'])).toBe('c.json:1:23');
  });
});

describe('fieldPath', () => {
  it('writes paths as people do', () => {
    expect(fieldPath(['detectors', 0, 'params', 'minRatio'])).toBe('detectors[0].params.minRatio');
    expect(fieldPath([0, 'a'])).toBe('[0].a');
    expect(fieldPath([])).toBe('(top level)');
  });
});
