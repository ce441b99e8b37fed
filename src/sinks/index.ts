/**
 * SIEM delivery: stdout, file, collect and webhook sinks; OCSF, Splunk HEC and ECS formats;
 * Standard Webhooks signing and verification; the durable outbox.
 *
 * @example
 * import { createSinks, parseSinksConfig } from '../sinks/index.ts';
 * const sink = await createSinks(parseSinksConfig(config.sinks), { log });
 */
export { addSinkOptions, defaultOutboxDir, sinksFromOptions, type SinkCliOptions } from './cli.ts';
export { CollectSink } from './collect.ts';
export { createSink, createSinks, parseSinksConfig, sinkConfigSchema, sinksConfigSchema, type SinkConfig, type SinkDeps } from './config.ts';
export { DeadLetterFile, type SinkDeadLetter } from './dead-letter.ts';
export { FanoutSink } from './fanout.ts';
export { FileSink, type FileSinkOptions } from './file.ts';
export * from './formats/index.ts';
export { memoryLogger, redactUrl, stderrLogger, type SinkLogger } from './log.ts';
export { CountingSinkMetrics, noMetrics, promSinkMetrics, type SinkMetrics } from './metrics.ts';
export { Outbox, type OnFull, type OutboxOptions } from './outbox/outbox.ts';
export { alertLine, StdoutSink, type StdoutFormat } from './stdout.ts';
export { loadSecrets, loadToken, parseSecrets, signatureHeaders } from './webhook/sign.ts';
export { WEBHOOK_DEFAULTS, WebhookSink, type WebhookSinkOptions } from './webhook/sink.ts';
export { verifyWebhook, WebhookVerificationError, type VerifyOptions } from './webhook/verify.ts';
