/**
 * YAML (or JSON) files whose validation errors point at `file:line:col` and name the field, the
 * form the service config and the detector packs both use:
 * `models/mine.yaml:31:7: detectors[0].params.minRatio: Invalid input: expected number`.
 * The schema and the wording of each message stay with the caller; this holds the positions.
 */
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { UsageError } from './contracts.ts';

/** A parsed YAML document that can say where a value came from. */
export interface PositionedYaml {
  /** The document as plain JavaScript values (what a schema validates) */
  readonly value: unknown;
  /**
   * `file:line:col` of the deepest node that exists along `path` (a missing key points at its
   * parent mapping), or just `file` when the document has no node to point at.
   */
  locate(path: readonly PropertyKey[]): string;
}

/**
 * Parses YAML text keeping source positions. A syntax error is a {@link UsageError} at its
 * position, with the first line of the parser's message.
 *
 * @example
 * const yaml = parsePositionedYaml('a:\n  b: x\n', 'f.yaml');
 * yaml.locate(['a', 'b']); // → 'f.yaml:2:6'
 * yaml.locate(['a', 'c']); // → 'f.yaml:2:3' (the mapping that lacks `c`)
 */
export function parsePositionedYaml(text: string, file: string): PositionedYaml {
  const lc = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const { line, col } = lc.linePos(e.pos[0]);
    throw new UsageError(`${file}:${line}:${col}: ${e.message.split('\n')[0]}`);
  }
  return {
    value: doc.toJS(),
    locate(path) {
      for (let n = path.length; n >= 0; n--) {
        const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
        if (isNode(node) && node.range) {
          const { line, col } = lc.linePos(node.range[0]);
          return `${file}:${line}:${col}`;
        }
      }
      return file;
    },
  };
}

/**
 * A validation path as people write it: `sources[0].streamName`; the empty path is `(top level)`.
 *
 * @example
 * fieldPath(['detectors', 0, 'params', 'minRatio']); // → 'detectors[0].params.minRatio'
 */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || '(top level)';
}
