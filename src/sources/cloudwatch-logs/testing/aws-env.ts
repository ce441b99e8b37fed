/**
 * Fake AWS settings for tests: static credentials and a region, so the SDK's default chain never
 * looks for real ones (no instance metadata, no profile), and no endpoint inherited from the shell.
 */

export const FAKE_AWS_ENV = Object.freeze({
  AWS_ACCESS_KEY_ID: 'AKIAFNWATCHTEST00000',
  AWS_SECRET_ACCESS_KEY: 'fnwatch-test-secret',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
});

/**
 * Applies {@link FAKE_AWS_ENV} to `process.env` and removes settings that could point the SDK at a
 * real account or endpoint. Returns a function that restores the previous values.
 *
 * @example
 * const restore = useFakeAwsEnv();
 * afterAll(restore);
 */
export function useFakeAwsEnv(): () => void {
  const names = [...Object.keys(FAKE_AWS_ENV), 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_DEFAULT_REGION', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_CLOUDWATCH_LOGS', 'AWS_ENDPOINT_URL_KINESIS', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE'];
  const saved = new Map(names.map((n) => [n, process.env[n]]));
  for (const n of names) delete process.env[n];
  Object.assign(process.env, FAKE_AWS_ENV);
  // No shared config files: a developer's ~/.aws must not leak into tests.
  process.env.AWS_CONFIG_FILE = '/dev/null';
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/dev/null';
  return () => {
    for (const [n, v] of saved) {
      if (v === undefined) delete process.env[n];
      else process.env[n] = v;
    }
  };
}
