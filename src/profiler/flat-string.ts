/**
 * A compact copy of a string built by concatenation.
 *
 * V8 represents `a + b` (and template literals) of 13 or more characters as a *cons string*: a
 * 32-byte node pointing at its parts, which may be cons strings themselves. A key such as
 * `${account}/${region}/${name}` is a chain of three or four such nodes (~100-130 bytes on top of
 * its characters) and it stays a chain while it is only hashed and compared, as keys of long-lived
 * tables are. Strings kept for the life of a baseline (profile keys, the shared novelty strings) are
 * copied once into one flat string so they hold only their characters (bench/memory.ts).
 *
 * The copy goes through JSON, which round-trips every string exactly (lone surrogates included) and
 * always builds a new sequential string. It costs a few hundred nanoseconds: call it once per
 * string that is kept, not per event.
 *
 * @example
 * const key = flatString(`${account}/${region}/${name}`);
 * key === `${account}/${region}/${name}`; // true: the same characters, one flat string
 */
export function flatString(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}
