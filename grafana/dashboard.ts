/**
 * Generator for the "Inference overview" Grafana dashboard
 * (grafana/dashboards/inference-overview.json), built with Grafana's Foundation SDK
 * (@grafana/grafana-foundation-sdk 11.6.0-cogv0.0.x, the schema of the grafana/grafana:11.6
 * image pinned in docker-compose.yml).
 *
 *   npm run dashboard                          # regenerate the JSON
 *   npx tsx grafana/dashboard.ts --check       # exit 1 when the committed JSON is stale
 *
 * Query rules (checked by test/pipeline/*.test.ts):
 * - every selector carries the dashboard filters (FILTER / HTTP_FILTER below);
 * - quantiles: histogram_quantile(q, sum by (le, ...) (rate(x_bucket[$__rate_interval])));
 * - means: sum(rate(x_sum)) / (sum(rate(x_count)) > 0); ratios divide by `(... > 0)`;
 * - latency panels use successful calls only (inference_outcome="success") for the
 *   duration histogram; TTFT / per-chunk histograms have no outcome label;
 * - output tokens/s is two measures (a stream's decode rate, a single response's tokens over its
 *   whole duration): a panel selects streams or keeps gen_ai_request_stream in its grouping;
 * - heatmaps: sum by (le) (rate(x_bucket[$__rate_interval])), events per second per bucket;
 * - `$__range` panels are instant queries.
 *
 * Every rate window is Grafana's $__rate_interval, and it spans enough exports of the apps only
 * when the data source's timeInterval (Min interval) is at least their OTEL_METRIC_EXPORT_INTERVAL
 * (60 s by default; grafana/provisioning/datasources/prometheus.yml, docs/pipeline.md).
 *
 * Metric and label names come from grafana/names.ts (the library's table of Prometheus
 * names, derived from semconv.ts); none is spelled out here.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  DashboardBuilder,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableHide,
  VariableRefresh,
  VariableSort,
  DashboardCursorSync,
  type Dashboard,
  type DataSourceRef,
  type Panel,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { BigValueColorMode, BigValueGraphMode, ReduceDataOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import { CellValuesBuilder, PanelBuilder as HeatmapPanelBuilder, YAxisConfigBuilder } from '@grafana/grafana-foundation-sdk/heatmap';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

import { ATTR, HTTP_ATTR, HTTP_LABEL, HTTP_METRIC, METRIC, OUTCOME, PROMETHEUS_LABEL as L, PROMETHEUS_METRIC as P } from './names.js';

/** UID of the provisioned data source (grafana/provisioning/datasources/prometheus.yml). */
export const DATASOURCE_UID = 'otel-inference-prometheus';
export const DASHBOARD_UID = 'otel-inference-overview';
export const OUTPUT_PATH = join(dirname(fileURLToPath(import.meta.url)), 'dashboards', 'inference-overview.json');

const DS: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** Filters every inference (gen_ai_* / inference_*) selector carries. */
export const FILTER = `job=~"$job", instance=~"$instance", ${L.providerName}=~"$provider", ${L.requestModel}=~"$model", ${L.operationName}=~"$operation", ${L.requestStream}=~"$stream"`;
/** instrumentation-http metrics have no gen_ai_* labels: service and instance only. */
export const HTTP_FILTER = 'job=~"$job", instance=~"$instance"';

const RATE = '$__rate_interval';

/** Prometheus metric names (a histogram's series add _bucket, _sum, _count). */
const M = {
  duration: P.operationDuration.name,
  ttft: P.timeToFirstChunk.name,
  perChunk: P.timePerOutputChunk.name,
  tokens: P.tokenUsage.name,
  requests: P.requests.name,
  active: P.activeRequests.name,
  tps: P.outputTokenRate.name,
  httpServer: HTTP_METRIC.serverDuration.name,
  httpClient: HTTP_METRIC.clientDuration.name,
} as const;

/** Label matchers on the outcome. */
const OK = `${L.outcome}="${OUTCOME.success}"`;
const ERROR = `${L.outcome}="${OUTCOME.error}"`;
/** Streamed calls (the boolean attribute gen_ai.request.stream is the label value "true"). */
const STREAMED = `${L.requestStream}="true"`;

/** `{{label}}`: a legend showing a label's value. */
const showLabel = (label: string) => `{{${label}}}`;

// ---------------------------------------------------------------- PromQL helpers

function sel(metric: string, extra = '', filter = FILTER): string {
  return `${metric}{${filter}${extra ? `, ${extra}` : ''}}`;
}

function by(labels: string[]): string {
  return labels.length ? ` by (${labels.join(', ')}) ` : '';
}

/** histogram_quantile over bucket rates summed by le (+ grouping labels). */
function quantile(q: number, hist: string, opts: { extra?: string; groupBy?: string[]; filter?: string } = {}): string {
  const labels = ['le', ...(opts.groupBy ?? [])];
  return `histogram_quantile(${q}, sum by (${labels.join(', ')}) (rate(${sel(`${hist}_bucket`, opts.extra, opts.filter)}[${RATE}])))`;
}

/** Mean of a histogram: sum(rate(_sum)) / (sum(rate(_count)) > 0). */
function mean(hist: string, opts: { extra?: string; groupBy?: string[]; filter?: string } = {}): string {
  const g = by(opts.groupBy ?? []);
  return (
    `sum${g}(rate(${sel(`${hist}_sum`, opts.extra, opts.filter)}[${RATE}]))` +
    ` / (sum${g}(rate(${sel(`${hist}_count`, opts.extra, opts.filter)}[${RATE}])) > 0)`
  );
}

/** Share of observations <= a bucket boundary. */
function underThreshold(hist: string, le: string, extra = '', window = RATE): string {
  const x = extra ? `, ${extra}` : '';
  return (
    `sum(rate(${sel(`${hist}_bucket`, `le="${le}"${x}`)}[${window}]))` +
    ` / (sum(rate(${sel(`${hist}_count`, extra)}[${window}])) > 0)`
  );
}

/** errors / all requests; 0 (not empty) when there is traffic but no error. */
function errorRatio(groupBy: string[] = []): string {
  const g = by(groupBy);
  const all = `sum${g}(rate(${sel(M.requests)}[${RATE}]))`;
  return `(sum${g}(rate(${sel(M.requests, ERROR)}[${RATE}])) or 0 * ${all}) / (${all} > 0)`;
}

function q(expr: string, legend: string, refId: string): DataqueryBuilder {
  return new DataqueryBuilder().datasource(DS).expr(expr).legendFormat(legend).refId(refId);
}

const QUANTILES: Array<[number, string]> = [
  [0.5, 'p50'],
  [0.95, 'p95'],
  [0.99, 'p99'],
];

/** p50/p95/p99 + mean targets of one latency histogram. */
function latencyTargets(hist: string, extra = ''): DataqueryBuilder[] {
  const targets = QUANTILES.map(([qq, name], i) => q(quantile(qq, hist, { extra }), name, String.fromCharCode(65 + i)));
  targets.push(q(mean(hist, { extra }), 'mean', 'D'));
  return targets;
}

// ---------------------------------------------------------------- panel helpers

type AnyPanelBuilder = cog.Builder<Panel>;

let nextId = 1;

function timeseries(title: string, description: string, unit: string, targets: DataqueryBuilder[], w = 12, h = 8): AnyPanelBuilder {
  return new TimeseriesPanelBuilder()
    .id(nextId++)
    .title(title)
    .description(description)
    .datasource(DS)
    .unit(unit)
    .min(0)
    .span(w)
    .height(h)
    .lineWidth(1)
    .fillOpacity(10)
    .targets(targets);
}

/**
 * A stat tile. `instant`: one value for the whole time range (a `$__range` window), queried as an
 * instant query at the range's end instead of a range query of overlapping windows.
 */
function stat(
  title: string,
  description: string,
  unit: string,
  expr: string,
  opts: { decimals?: number; noValue?: string; thresholds?: Array<[number | null, string]>; instant?: boolean } = {},
): AnyPanelBuilder {
  const steps = (opts.thresholds ?? [[null, 'green']]).map(([value, color]) => ({ value, color }));
  const target = q(expr, title, 'A');
  if (opts.instant) target.instant();
  const b = new StatPanelBuilder()
    .id(nextId++)
    .title(title)
    .description(description)
    .datasource(DS)
    .unit(unit)
    .span(4)
    .height(4)
    .graphMode(opts.instant ? BigValueGraphMode.None : BigValueGraphMode.Area)
    .colorMode(BigValueColorMode.Value)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(steps))
    .targets([target]);
  if (opts.decimals !== undefined) b.decimals(opts.decimals);
  if (opts.noValue !== undefined) b.noValue(opts.noValue);
  return b;
}

/**
 * A heatmap of bucket rates: each cell is events per second in one bucket (`cellUnit`, e.g.
 * calls/s), the mean over $__rate_interval. Not increase(): its windows overlap from one
 * $__interval to the next, so each event would be counted $__rate_interval / $__interval times,
 * a factor that changes with zoom.
 */
function heatmap(title: string, description: string, hist: string, cellUnit: string, extra = ''): AnyPanelBuilder {
  const target = new DataqueryBuilder()
    .datasource(DS)
    .expr(`sum by (le) (rate(${sel(`${hist}_bucket`, extra)}[${RATE}]))`)
    .format(PromQueryFormat.Heatmap)
    .legendFormat('{{le}}')
    .refId('A');
  return new HeatmapPanelBuilder()
    .id(nextId++)
    .title(title)
    .description(description)
    .datasource(DS)
    .span(8)
    .height(8)
    .calculate(false)
    .yAxis(new YAxisConfigBuilder().unit('s'))
    .cellValues(new CellValuesBuilder().unit(`suffix: ${cellUnit}`))
    .targets([target]);
}

function row(title: string): RowBuilder {
  return new RowBuilder(title).id(nextId++);
}

// ---------------------------------------------------------------- variables

function labelVariable(name: string, label: string, query: string): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(DS)
    .query(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    // `.*` (not the list of values) so series without the label still match.
    .allValue('.*')
    .current({ selected: true, text: ['All'], value: ['$__all'] });
}

const DURATION_COUNT = `${M.duration}_count`;

function variables(): Array<cog.Builder<import('@grafana/grafana-foundation-sdk/dashboard').VariableModel>> {
  return [
    new DatasourceVariableBuilder('datasource')
      .label('Data source')
      .type('prometheus')
      .current({ selected: true, text: 'Prometheus', value: DATASOURCE_UID })
      .hide(VariableHide.DontHide),
    labelVariable(
      'job',
      'Service (job)',
      `label_values({__name__=~"${DURATION_COUNT}|${M.httpServer}_count|${M.httpClient}_count"}, job)`,
    ),
    labelVariable(
      'instance',
      'Instance',
      `label_values({__name__=~"${DURATION_COUNT}|${M.httpServer}_count|${M.httpClient}_count", job=~"$job"}, instance)`,
    ),
    labelVariable('provider', 'Provider', `label_values(${DURATION_COUNT}{job=~"$job", instance=~"$instance"}, ${L.providerName})`),
    labelVariable(
      'model',
      'Model',
      `label_values(${DURATION_COUNT}{job=~"$job", instance=~"$instance", ${L.providerName}=~"$provider"}, ${L.requestModel})`,
    ),
    labelVariable(
      'operation',
      'Operation',
      `label_values(${DURATION_COUNT}{job=~"$job", instance=~"$instance", ${L.providerName}=~"$provider", ${L.requestModel}=~"$model"}, ${L.operationName})`,
    ),
    labelVariable(
      'stream',
      'Streaming',
      `label_values(${DURATION_COUNT}{job=~"$job", instance=~"$instance", ${L.providerName}=~"$provider", ${L.requestModel}=~"$model", ${L.operationName}=~"$operation"}, ${L.requestStream})`,
    ),
  ];
}

// ---------------------------------------------------------------- dashboard

export function buildDashboard(): Dashboard {
  nextId = 1;
  const b = new DashboardBuilder('Inference overview')
    .uid(DASHBOARD_UID)
    .description(
      'LLM / model-inference client metrics from otel-inference (OpenTelemetry GenAI semantic conventions) via the OpenTelemetry Collector and Prometheus. Rates need the data source\'s Min interval (Scrape interval, timeInterval) at least as long as the apps\' OTEL_METRIC_EXPORT_INTERVAL (60 s by default): see docs/pipeline.md.',
    )
    .tags(['otel-inference', 'genai', 'opentelemetry'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .variables(variables());

  // Overview tiles
  b.withRow(row('Overview'));
  b.withPanel(
    stat('Requests/s', 'Finished inference requests per second (all outcomes).', 'reqps', `sum(rate(${sel(M.requests)}[${RATE}]))`, {
      decimals: 2,
      noValue: '0',
    }),
  );
  b.withPanel(
    stat('Error ratio', `Share of finished requests with ${ERROR}.`, 'percentunit', errorRatio(), {
      decimals: 2,
      thresholds: [
        [null, 'green'],
        [0.01, 'orange'],
        [0.05, 'red'],
      ],
    }),
  );
  b.withPanel(stat('Active requests', `Requests in flight (${METRIC.activeRequests}).`, 'short', `sum(${sel(M.active)})`, { noValue: '0' }));
  b.withPanel(
    stat('TTFT p95', 'p95 time to first chunk (streaming calls). SLO: 1.28 s.', 's', quantile(0.95, M.ttft), {
      thresholds: [
        [null, 'green'],
        [1.28, 'red'],
      ],
    }),
  );
  b.withPanel(stat('Time per output chunk p95', 'p95 time between output chunks after the first (streaming calls).', 's', quantile(0.95, M.perChunk)));
  b.withPanel(
    stat(
      'Streamed output tokens/s (p50)',
      `Median decode rate of streamed responses (${METRIC.outputTokenRate}, ${STREAMED}): (output tokens − 1) / (last output chunk − first output chunk), per request; half of the streams were faster. Single responses record output tokens / whole duration instead and are left out.`,
      'short',
      quantile(0.5, M.tps, { extra: STREAMED }),
      { decimals: 1 },
    ),
  );

  // Latency
  b.withRow(row('Latency'));
  b.withPanel(
    timeseries(
      'Operation duration (successful calls)',
      `${METRIC.operationDuration} of successful calls: p50 / p95 / p99 and mean.`,
      's',
      latencyTargets(M.duration, OK),
      8,
    ),
  );
  b.withPanel(
    timeseries('Time to first chunk', `${METRIC.timeToFirstChunk}: p50 / p95 / p99 and mean.`, 's', latencyTargets(M.ttft), 8),
  );
  b.withPanel(
    timeseries(
      'Time per output chunk',
      `${METRIC.timePerOutputChunk}: p50 / p95 / p99 and mean.`,
      's',
      latencyTargets(M.perChunk),
      8,
    ),
  );
  const perBucket =
    "the rate of each bucket's count over $__rate_interval, so zooming in or out does not change the numbers. The y axis is the bucket's upper bound.";
  b.withPanel(
    heatmap(
      'Operation duration heatmap (successful calls)',
      `Successful calls per second in each bucket of ${METRIC.operationDuration} (calls/s per bucket): ${perBucket}`,
      M.duration,
      'calls/s',
      OK,
    ),
  );
  b.withPanel(
    heatmap(
      'Time to first chunk heatmap',
      `Streamed calls per second in each bucket of ${METRIC.timeToFirstChunk} (calls/s per bucket): ${perBucket}`,
      M.ttft,
      'calls/s',
    ),
  );
  b.withPanel(
    heatmap(
      'Time per output chunk heatmap',
      `Output chunks (after each stream's first) per second in each bucket of ${METRIC.timePerOutputChunk} (chunks/s per bucket): ${perBucket}`,
      M.perChunk,
      'chunks/s',
    ),
  );
  b.withPanel(
    timeseries(
      'Operation duration p95 by model (successful calls)',
      'p95 per request model; each line is its own quantile (never added across models).',
      's',
      [q(quantile(0.95, M.duration, { extra: OK, groupBy: [L.requestModel] }), showLabel(L.requestModel), 'A')],
      12,
    ),
  );
  b.withPanel(
    timeseries(
      'Time to first chunk p95 by model',
      'p95 time to first chunk per request model.',
      's',
      [q(quantile(0.95, M.ttft, { groupBy: [L.requestModel] }), showLabel(L.requestModel), 'A')],
      12,
    ),
  );

  // Throughput
  b.withRow(row('Throughput'));
  b.withPanel(
    timeseries(
      'Requests/s by outcome',
      `${METRIC.requests} by ${L.outcome} (${Object.values(OUTCOME).join(', ')}).`,
      'reqps',
      [q(`sum by (${L.outcome}) (rate(${sel(M.requests)}[${RATE}]))`, showLabel(L.outcome), 'A')],
      8,
    ),
  );
  b.withPanel(
    timeseries(
      'Tokens/s by token type',
      `Token throughput: rate of ${METRIC.tokenUsage} sum by ${ATTR.tokenType} (input / output).`,
      'short',
      [q(`sum by (${L.tokenType}) (rate(${sel(`${M.tokens}_sum`)}[${RATE}]))`, showLabel(L.tokenType), 'A')],
      8,
    ),
  );
  const byStream = { groupBy: [L.requestStream] };
  const streamLegend = (stat: string) => `${stat}, ${L.requestStream}=${showLabel(L.requestStream)}`;
  b.withPanel(
    timeseries(
      'Output tokens/s per request',
      `Per-request output speed (${METRIC.outputTokenRate}): p50, p95 and mean, one line each for streamed (${L.requestStream}=true: decode rate, (output tokens − 1) / (last chunk − first chunk)) and single responses (false: output tokens / whole duration, time to first token included). Two measures, never mixed in one line.`,
      'short',
      [
        q(quantile(0.5, M.tps, byStream), streamLegend('p50'), 'A'),
        q(quantile(0.95, M.tps, byStream), streamLegend('p95'), 'B'),
        q(mean(M.tps, byStream), streamLegend('mean'), 'C'),
      ],
      8,
    ),
  );
  b.withPanel(
    timeseries(
      'Requests/s by model',
      'Finished requests per second per request model.',
      'reqps',
      [q(`sum by (${L.requestModel}) (rate(${sel(M.requests)}[${RATE}]))`, showLabel(L.requestModel), 'A')],
      12,
    ),
  );
  b.withPanel(
    timeseries(
      'Mean tokens per request by token type',
      `Mean of ${METRIC.tokenUsage} per request: sum / count.`,
      'short',
      [q(mean(M.tokens, { groupBy: [L.tokenType] }), showLabel(L.tokenType), 'A')],
      12,
    ),
  );

  // Errors
  b.withRow(row('Errors'));
  b.withPanel(
    timeseries(
      'Errors/s by error type',
      `Failed requests per second by ${ATTR.errorType} (HTTP status such as 429, exception class, or timeout).`,
      'reqps',
      [q(`sum by (${L.errorType}) (rate(${sel(M.requests, ERROR)}[${RATE}]))`, showLabel(L.errorType), 'A')],
      12,
    ),
  );
  b.withPanel(
    timeseries('Error ratio by model', 'errors / all finished requests per request model.', 'percentunit', [
      q(errorRatio([L.requestModel]), showLabel(L.requestModel), 'A'),
    ]),
  );

  // Saturation
  b.withRow(row('Saturation'));
  b.withPanel(
    timeseries('Active requests by model', `${METRIC.activeRequests} per request model.`, 'short', [
      q(`sum by (${L.requestModel}) (${sel(M.active)})`, showLabel(L.requestModel), 'A'),
    ]),
  );
  b.withPanel(
    timeseries('Active requests by instance', `${METRIC.activeRequests} per process (service.instance.id).`, 'short', [
      q(`sum by (instance) (${sel(M.active)})`, '{{instance}}', 'A'),
    ]),
  );

  // SLO attainment
  b.withRow(row('SLO attainment'));
  b.withPanel(
    stat(
      'TTFT ≤ 1.28 s (time range)',
      'Share of streamed responses whose first chunk arrived within 1.28 s over the selected time range (bucket le="1.28").',
      'percentunit',
      underThreshold(M.ttft, '1.28', '', '$__range'),
      { decimals: 2, thresholds: [[null, 'red'], [0.95, 'green']], instant: true },
    ),
  );
  b.withPanel(
    stat(
      'Duration ≤ 10.24 s (time range)',
      'Share of successful calls that finished within 10.24 s over the selected time range (bucket le="10.24").',
      'percentunit',
      underThreshold(M.duration, '10.24', OK, '$__range'),
      { decimals: 2, thresholds: [[null, 'red'], [0.99, 'green']], instant: true },
    ),
  );
  b.withPanel(
    timeseries(
      'SLO attainment over time',
      'Share of observations under the SLO bucket boundary: TTFT ≤ 1.28 s and successful-call duration ≤ 10.24 s.',
      'percentunit',
      [q(underThreshold(M.ttft, '1.28'), 'TTFT ≤ 1.28 s', 'A'), q(underThreshold(M.duration, '10.24', OK), 'duration ≤ 10.24 s', 'B')],
      16,
      4,
    ),
  );

  // HTTP (instrumentation-http, stable semconv)
  b.withRow(row('HTTP (instrumentation-http)'));
  b.withPanel(
    timeseries('HTTP server requests/s by status', `${HTTP_METRIC.serverDuration.otelName} count by ${HTTP_ATTR.statusCode}.`, 'reqps', [
      q(
        `sum by (${HTTP_LABEL.statusCode}) (rate(${sel(`${M.httpServer}_count`, '', HTTP_FILTER)}[${RATE}]))`,
        showLabel(HTTP_LABEL.statusCode),
        'A',
      ),
    ], 6),
  );
  b.withPanel(
    timeseries('HTTP server p95 by route', `p95 of ${HTTP_METRIC.serverDuration.otelName} per ${HTTP_ATTR.route}.`, 's', [
      q(quantile(0.95, M.httpServer, { groupBy: [HTTP_LABEL.route], filter: HTTP_FILTER }), showLabel(HTTP_LABEL.route), 'A'),
    ], 6),
  );
  b.withPanel(
    timeseries('HTTP client requests/s by status', `${HTTP_METRIC.clientDuration.otelName} count by ${HTTP_ATTR.statusCode}.`, 'reqps', [
      q(
        `sum by (${HTTP_LABEL.statusCode}) (rate(${sel(`${M.httpClient}_count`, '', HTTP_FILTER)}[${RATE}]))`,
        showLabel(HTTP_LABEL.statusCode),
        'A',
      ),
    ], 6),
  );
  b.withPanel(
    timeseries('HTTP client p95 by server', `p95 of ${HTTP_METRIC.clientDuration.otelName} per ${HTTP_ATTR.serverAddress}.`, 's', [
      q(quantile(0.95, M.httpClient, { groupBy: [HTTP_LABEL.serverAddress], filter: HTTP_FILTER }), showLabel(HTTP_LABEL.serverAddress), 'A'),
    ], 6),
  );

  return b.build();
}

export function renderDashboard(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) {
  const json = renderDashboard();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(OUTPUT_PATH, 'utf8');
    } catch {
      // missing file counts as stale
    }
    if (current !== json) {
      console.error(`${OUTPUT_PATH} is stale: run \`npm run dashboard\``);
      process.exit(1);
    }
    console.log(`${OUTPUT_PATH} is up to date`);
  } else {
    writeFileSync(OUTPUT_PATH, json);
    console.log(`wrote ${OUTPUT_PATH}`);
  }
}
