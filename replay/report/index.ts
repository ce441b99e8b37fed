/**
 * The HTML report for `replay`, `eval` and `investigate --report FILE.html`.
 *
 * Wiring, in a command:
 *
 *   const report = new ReportCollector({ models: pack });
 *   const pipeline = new Pipeline(withReport({ models: pack, onAlert: toSink }, report));
 *   … process everything, pipeline.finish() …
 *   await writePipelineReport(file, { title: 'fnwatch replay', pipeline, collector: report, scorecard });
 */
import type { Alert } from '../../src/core/alert.ts';
import type { Pipeline, PipelineOptions } from '../../src/pipeline/pipeline.ts';
import type { Scorecard } from '../eval/score.ts';
import type { ReportCollector } from './collector.ts';
import { writeHtmlReport, type ReportSummary } from './html.ts';

export { ReportCollector, AlertRows, BUCKET_LADDER_MINUTES } from './collector.ts';
export type { ReportCollectorOptions, ReportData, ReportFunction, ReportAlert, LearnedItem } from './collector.ts';
export { writeHtmlReport, renderHtmlReport, escapeHtml, jsonForScript } from './html.ts';
export type { HtmlReportOptions, ReportSummary } from './html.ts';

/**
 * Pipeline (or Engine) options that also feed `collector`: its observer and alert handler are
 * chained with any `observer`/`onAlert` already in `opts`.
 *
 * @example
 * const pipeline = new Pipeline(withReport({ onAlert: (a) => sink.push(a) }, report));
 */
export function withReport<T extends Pick<PipelineOptions, 'observer' | 'onAlert'>>(opts: T, collector: ReportCollector): T {
  const { observer, onAlert } = opts;
  return {
    ...opts,
    observer: observer
      ? (ev: Parameters<NonNullable<PipelineOptions['observer']>>[0], p: Parameters<NonNullable<PipelineOptions['observer']>>[1]) => {
          observer(ev, p);
          collector.observer(ev, p);
        }
      : collector.observer,
    // The collector must see an alert before the observer call for the event that raised it.
    onAlert: onAlert
      ? (a: Alert) => {
          collector.onAlert(a);
          onAlert(a);
        }
      : collector.onAlert,
  };
}

/**
 * Writes the report for a finished pipeline run, with the pipeline's counts in the header.
 *
 * @example
 * await writePipelineReport('report.html', { title: 'fnwatch replay', pipeline, collector: report, dataset: 'demo' });
 */
export function writePipelineReport(
  path: string,
  opts: { title: string; pipeline: Pipeline; collector: ReportCollector; scorecard?: Scorecard; dataset?: string; alerts?: readonly Alert[]; figures?: ReportSummary['figures'] },
): ReturnType<typeof writeHtmlReport> {
  return writeHtmlReport(path, {
    title: opts.title,
    collector: opts.collector,
    alerts: opts.alerts,
    scorecard: opts.scorecard,
    summary: { dataset: opts.dataset, counts: opts.pipeline.counts, figures: opts.figures },
  });
}
