/**
 * Detector packs: declarative files in `models/` (thresholds, sensitive actions, known-bad egress,
 * exceptions, price table), validated with zod. Errors name the file, line and field, Falco-style:
 * `models/default.yaml:42:9: detectors[0].params.minRatio: Invalid input: expected number`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { z } from 'zod';
import { ALERT_KINDS } from '../core/alert.ts';
import { UsageError } from '../core/contracts.ts';

const severityName = z.enum(['informational', 'low', 'medium', 'high', 'critical']);

const detector = z
  .object({
    id: z.enum(ALERT_KINDS),
    description: z.string(),
    severity: severityName,
    enabled: z.boolean().default(true),
    params: z.record(z.string(), z.number()).default({}),
  })
  .strict();

const exception = z
  .object({
    function: z.string().optional(),
    kind: z.enum(ALERT_KINDS).optional(),
    object: z.string().optional(),
    reason: z.string(),
  })
  .strict();

export const PackSchema = z
  .object({
    version: z.literal(1),
    learning: z.object({ hours: z.number().positive(), minInvocationsForDuration: z.number().int().positive() }).strict(),
    deploy: z.object({ relearnMinutes: z.number().nonnegative(), noteAfterDeployHours: z.number().nonnegative() }).strict(),
    suppression: z
      .object({
        defaultMinutes: z.number().positive(),
        perKind: z.partialRecord(z.enum(ALERT_KINDS), z.number().positive()).default({}),
      })
      .strict(),
    detectors: z.array(detector),
    sensitiveActions: z.array(z.string()).default([]),
    knownBadEgress: z
      .object({
        metadataHosts: z.array(z.string()).default([]),
        miningPorts: z.array(z.number().int()).default([]),
        miningHostPatterns: z.array(z.string()).default([]),
      })
      .strict(),
    exceptions: z.array(exception).default([]),
    pricing: z
      .object({
        perMillionRequests: z.number().nonnegative(),
        perGbSecond: z.object({ x86_64: z.number().nonnegative(), arm64: z.number().nonnegative() }).strict(),
      })
      .strict(),
  })
  .strict();

/** A validated, frozen detector pack. */
export type ModelPack = z.infer<typeof PackSchema>;
export type DetectorSpec = ModelPack['detectors'][number];
export type ExceptionSpec = ModelPack['exceptions'][number];

/** The pack shipped in `models/default.yaml`. */
export const DEFAULT_PACK_PATH = fileURLToPath(new URL('../../models/default.yaml', import.meta.url));

/**
 * Parses and validates a pack from YAML (or JSON) text. Throws a {@link UsageError} whose message
 * points at `file:line:col` and the field.
 *
 * @example
 * const pack = parsePack(readFileSync('models/default.yaml', 'utf8'), 'models/default.yaml');
 */
export function parsePack(text: string, file: string): ModelPack {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const { line, col } = lc.linePos(e.pos[0]);
    throw new UsageError(`${file}:${line}:${col}: ${e.message.split('\n')[0]}`);
  }
  const result = PackSchema.safeParse(doc.toJS());
  if (result.success) return deepFreeze(result.data);
  const issue = result.error.issues[0]!;
  const path = issue.path as (string | number)[];
  // Point at the deepest node that exists along the path (a missing key points at its parent).
  let where = '';
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) {
      const { line, col } = lc.linePos(node.range[0]);
      where = `:${line}:${col}`;
      break;
    }
  }
  const field = path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '');
  throw new UsageError(`${file}${where}: ${field || '(top level)'}: ${issue.message}`);
}

/** Loads a pack file (default: the shipped pack). */
export function loadPack(path: string = DEFAULT_PACK_PATH): ModelPack {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read detector pack ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  return parsePack(text, path);
}

let cachedDefault: ModelPack | undefined;
/** The shipped pack, loaded once. */
export function defaultPack(): ModelPack {
  return (cachedDefault ??= loadPack());
}

/** Params of one detector, with the pack's values over the given defaults. */
export function detectorParams<T extends Record<string, number>>(pack: ModelPack, id: string, defaults: T): T {
  // Detectors ask on every event; packs are frozen, so the merge is computed once per pack, id and defaults.
  let byId = paramsCache.get(pack);
  if (byId === undefined) paramsCache.set(pack, (byId = new Map()));
  const hit = byId.get(id);
  if (hit !== undefined && hit.defaults === defaults) return hit.params as T;
  const spec = pack.detectors.find((d) => d.id === id);
  const params = Object.freeze({ ...defaults, ...(spec?.params ?? {}) });
  byId.set(id, { defaults, params });
  return params as T;
}
const paramsCache = new WeakMap<ModelPack, Map<string, { defaults: object; params: object }>>();

/** Glob match with `*` (any run) and `?` (one char), anchored. */
export function globMatch(pattern: string, s: string): boolean {
  const re = globCache.get(pattern) ?? compileGlob(pattern);
  return re.test(s);
}
const globCache = new Map<string, RegExp>();
function compileGlob(pattern: string): RegExp {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i');
  globCache.set(pattern, re);
  return re;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
