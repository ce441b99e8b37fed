/**
 * Fake AWS settings for tests: one definition for every source's tests (see kinesis/testing/aws.ts):
 * static credentials and a region, no instance metadata, no profile, no endpoint from the shell.
 */
export { FAKE_AWS_ENV, useFakeAwsEnv } from '../../kinesis/testing/aws.ts';
