/**
 * `s3://bucket/prefix` URLs for `state.s3`. Pure (no SDK import), so the config can validate one
 * without loading the S3 client.
 */
import { BASELINE_FILE } from '../profiler/snapshot.ts';

/** Where a snapshot lives in S3: the prefix plays the part of `fnwatch train`'s output directory. */
export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing slashes; '' for the bucket's root */
  prefix: string;
  /** The snapshot's object key: `prefix/baseline.json` */
  key: string;
}

/** S3 bucket naming rules (general purpose buckets): 3-63 of a-z 0-9 . -, starting and ending with a letter or digit. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Parses `s3://bucket[/prefix]`; throws an Error saying what is wrong (the config prefixes the field).
 *
 * @example
 * parseS3Url('s3://fnwatch-state/prod/eu-west-1/');
 * // → { bucket: 'fnwatch-state', prefix: 'prod/eu-west-1', key: 'prod/eu-west-1/baseline.json' }
 */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(url);
  if (!m) throw new Error(`must be an s3://bucket/prefix URL, not ${JSON.stringify(url)}`);
  const bucket = m[1]!;
  if (!BUCKET.test(bucket) || bucket.includes('..')) {
    throw new Error(`${JSON.stringify(bucket)} is not an S3 bucket name (3-63 of a-z 0-9 . -, starting and ending with a letter or digit)`);
  }
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix !== '' && prefix.split('/').some((part) => part === '')) throw new Error(`the prefix ${JSON.stringify(prefix)} has an empty path segment (//)`);
  return { bucket, prefix, key: prefix ? `${prefix}/${BASELINE_FILE}` : BASELINE_FILE };
}
