import { describe, expect, it } from 'vitest';
import { parseS3Url } from './s3-url.ts';

describe('parseS3Url', () => {
  it('maps a prefix to the object its baseline.json is, with or without slashes', () => {
    expect(parseS3Url('s3://fnwatch-state/prod/eu-west-1/')).toEqual({ bucket: 'fnwatch-state', prefix: 'prod/eu-west-1', key: 'prod/eu-west-1/baseline.json' });
    expect(parseS3Url('s3://fnwatch-state/prod')).toEqual({ bucket: 'fnwatch-state', prefix: 'prod', key: 'prod/baseline.json' });
    expect(parseS3Url('s3://fnwatch-state')).toEqual({ bucket: 'fnwatch-state', prefix: '', key: 'baseline.json' });
    expect(parseS3Url('s3://fnwatch.state.eu/')).toEqual({ bucket: 'fnwatch.state.eu', prefix: '', key: 'baseline.json' });
  });

  it('says what is wrong with anything else', () => {
    expect(() => parseS3Url('/var/lib/fnwatch')).toThrow('must be an s3://bucket/prefix URL, not "/var/lib/fnwatch"');
    expect(() => parseS3Url('s3://')).toThrow('"" is not an S3 bucket name');
    expect(() => parseS3Url('s3://ab/x')).toThrow('"ab" is not an S3 bucket name');
    expect(() => parseS3Url('s3://My_Bucket/x')).toThrow('"My_Bucket" is not an S3 bucket name');
    expect(() => parseS3Url('s3://-bucket/x')).toThrow('is not an S3 bucket name');
    expect(() => parseS3Url('s3://a..b/x')).toThrow('is not an S3 bucket name');
    expect(() => parseS3Url('s3://fnwatch-state/a//b')).toThrow('empty path segment');
  });
});
