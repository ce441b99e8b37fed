/**
 * Detector packs: declarative files in `models/` (thresholds, sensitive actions, known-bad egress,
 * exceptions, price table), validated with zod. Errors name the file, line and field, Falco-style:
 * `models/default.yaml:42:9: detectors[0].params.minRatio: Invalid input: expected number`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ALERT_KINDS } from '../core/alert.ts';
import { UsageError } from '../core/contracts.ts';
import { fieldPath, parsePositionedYaml } from '../core/yaml-errors.ts';

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
  const yaml = parsePositionedYaml(text, file);
  const result = PackSchema.safeParse(yaml.value);
  if (result.success) return deepFreeze(result.data);
  const issue = result.error.issues[0]!;
  throw new UsageError(`${yaml.locate(issue.path)}: ${fieldPath(issue.path)}: ${issue.message}`);
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
