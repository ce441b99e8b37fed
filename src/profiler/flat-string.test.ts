import { describe, expect, it } from 'vitest';
import { flatString } from './flat-string.ts';

describe('flatString', () => {
  it('keeps the characters of concatenated strings exactly', () => {
    const account = '123456789012';
    const region = 'us-east-1';
    for (const name of ['fn-1', 'ünïcode-λ', 'quote"back\\slash', 'tab\tnew\nline', '\u0000ctrl']) {
      const joined = `${account}/${region}/${name}`;
      expect(flatString(joined)).toBe(joined);
    }
  });

  it('round-trips lone surrogates and the empty string', () => {
    const lone = 'a\ud800b\udfffc';
    expect(flatString(lone)).toBe(lone);
    expect(flatString(lone).length).toBe(lone.length);
    expect(flatString('')).toBe('');
  });
});
