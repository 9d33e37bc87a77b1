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
 * - inference selectors (client, server, gateway) carry every filter (FILTER); the HTTP, host and
 *   GPU selectors only the service and instance (HTTP_FILTER, SYSTEM_FILTER), and so do the gauges
 *   a server reports about itself (SERVER_GAUGE_FILTER: a batch or a KV cache is the process's).
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

import {
  ATTR,
  GATEWAY_METRIC,
  GPU_LABEL,
  GPU_METRIC,
  HOST_ATTR,
  HOST_LABEL,
  HOST_METRIC,
  HOST_VALUE,
  HTTP_ATTR,
  HTTP_LABEL,
  HTTP_METRIC,
  METRIC,
  OUTCOME,
  PHASE,
  PROMETHEUS_GATEWAY_METRIC as PG,
  PROMETHEUS_GPU_METRIC as PGPU,
  PROMETHEUS_LABEL as L,
  PROMETHEUS_METRIC as P,
  PROMETHEUS_SERVER_GAUGE as PSG,
  PROMETHEUS_SERVER_METRIC as PS,
  SERVER_GAUGE,
  SERVER_METRIC,
} from './names.js';

/** UID of the provisioned data source (grafana/provisioning/datasources/prometheus.yml). */
export const DATASOURCE_UID = 'otel-inference-prometheus';
export const DASHBOARD_UID = 'otel-inference-overview';
export const OUTPUT_PATH = join(dirname(fileURLToPath(import.meta.url)), 'dashboards', 'inference-overview.json');

const DS: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** Filters every inference (gen_ai_* / inference_*) selector carries. */
export const FILTER = `job=~"$job", instance=~"$instance", ${L.providerName}=~"$provider", ${L.requestModel}=~"$model", ${L.operationName}=~"$operation", ${L.requestStream}=~"$stream"`;
/** instrumentation-http metrics have no gen_ai_* labels: service and instance only. */
export const HTTP_FILTER = 'job=~"$job", instance=~"$instance"';
/** Host and GPU gauges describe a process and its machine: service and instance only, too. */
export const SYSTEM_FILTER = HTTP_FILTER;
/**
 * The gauges a server reports through observeServerGauge describe the process (its running batch,
 * its stage queues, its KV cache), not a request: they carry no gen_ai_* labels unless the app
 * gives some, so the provider, model, operation and streaming filters would only hide them.
 */
export const SERVER_GAUGE_FILTER = HTTP_FILTER;

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
  usageInput: P.usageInputTokens.name,
  usageOutput: P.usageOutputTokens.name,
  usageCacheRead: P.usageCacheReadInputTokens.name,
  usageCacheWrite: P.usageCacheWriteInputTokens.name,
  usageReasoning: P.usageReasoningOutputTokens.name,
  httpServer: HTTP_METRIC.serverDuration.name,
  httpClient: HTTP_METRIC.clientDuration.name,
  serverDuration: PS.requestDuration.name,
  serverTtft: PS.timeToFirstToken.name,
  serverTpot: PS.timePerOutputToken.name,
  serverRequests: PS.requests.name,
  serverActive: PS.activeRequests.name,
  serverWaiting: PS.waitingRequests.name,
  queue: PS.queueDuration.name,
  phase: PS.phaseDuration.name,
  serverTokens: PS.tokens.name,
  serverTps: PS.outputTokenRate.name,
  batchSize: PSG.batchSize.name,
  queueSize: PSG.queueSize.name,
  kvCache: PSG.kvCacheUtilization.name,
  padding: PSG.paddingRatio.name,
  fallbacks: PG.fallbacks.name,
  gpuUtilization: PGPU.utilization.name,
  gpuMemoryUtilization: PGPU.memoryUtilization.name,
  gpuMemoryUsage: PGPU.memoryUsage.name,
  gpuMemoryLimit: PGPU.memoryLimit.name,
  processCpuTime: HOST_METRIC.processCpuTime.name,
  processMemory: HOST_METRIC.processMemoryUsage.name,
  systemCpuTime: HOST_METRIC.systemCpuTime.name,
  systemMemory: HOST_METRIC.systemMemoryUsage.name,
} as const;

/** Label matchers on the outcome. */
const OK = `${L.outcome}="${OUTCOME.success}"`;
const ERROR = `${L.outcome}="${OUTCOME.error}"`;
/** Streamed calls (the boolean attribute gen_ai.request.stream is the label value "true"). */
const STREAMED = `${L.requestStream}="true"`;
/** Client calls a gateway routed to a named backend (`!=""` leaves out the series without the label). */
const ROUTED = `${L.backend}!=""`;

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
function errorRatio(groupBy: string[] = [], extra = ''): string {
  const g = by(groupBy);
  const all = `sum${g}(rate(${sel(M.requests, extra)}[${RATE}]))`;
  return `(sum${g}(rate(${sel(M.requests, extra ? `${ERROR}, ${extra}` : ERROR)}[${RATE}])) or 0 * ${all}) / (${all} > 0)`;
}

/**
 * A part of a counter over the whole: sum(rate(part)) / (sum(rate(whole)) > 0), or increase() over
 * `$__range` for a stat. No sample while the whole did not grow (nothing to take a share of).
 */
function counterShare(part: string, whole: string, opts: { groupBy?: string[]; window?: string } = {}): string {
  const g = by(opts.groupBy ?? []);
  const fn = opts.window === '$__range' ? 'increase' : 'rate';
  const w = opts.window ?? RATE;
  return `sum${g}(${fn}(${sel(part)}[${w}])) / (sum${g}(${fn}(${sel(whole)}[${w}])) > 0)`;
}

function q(expr: string, legend: string, refId: string): DataqueryBuilder {
  return new DataqueryBuilder().datasource(DS).expr(expr).legendFormat(legend).refId(refId);
}

const QUANTILES: Array<[number, string]> = [
  [0.5, 'p50'],
  [0.95, 'p95'],
  [0.99, 'p99'],
];

/** `sum by (job, instance) (gauge{system filter, extra})`: one line per process. */
function perProcess(gauge: string, extra = ''): string {
  return `sum by (job, instance) (${sel(gauge, extra, SYSTEM_FILTER)})`;
}

/** p50/p95/p99 + mean targets of one latency histogram. */
function latencyTargets(hist: string, extra = ''): DataqueryBuilder[] {
  const targets = QUANTILES.map(([qq, name], i) => q(quantile(qq, hist, { extra }), name, String.fromCharCode(65 + i)));
  targets.push(q(mean(hist, { extra }), 'mean', 'D'));
  return targets;
}

// ---------------------------------------------------------------- panel helpers

type AnyPanelBuilder = cog.Builder<Panel>;

let nextId = 1;

function timeseries(title: string, description: string, unit: string, targets: DataqueryBuilder[], w = 12, h = 8): TimeseriesPanelBuilder {
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
  opts: { decimals?: number; noValue?: string; thresholds?: Array<[number | null, string]>; instant?: boolean; span?: number } = {},
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
    .span(opts.span ?? 4)
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
/** Both sides' request durations: a model server has only the server one, a plain client only the client one. */
const REQUEST_COUNTS = `${DURATION_COUNT}|${M.serverDuration}_count`;

function variables(): Array<cog.Builder<import('@grafana/grafana-foundation-sdk/dashboard').VariableModel>> {
  const requests = (matchers: string) => `{__name__=~"${REQUEST_COUNTS}"${matchers ? `, ${matchers}` : ''}}`;
  return [
    new DatasourceVariableBuilder('datasource')
      .label('Data source')
      .type('prometheus')
      .current({ selected: true, text: 'Prometheus', value: DATASOURCE_UID })
      .hide(VariableHide.DontHide),
    labelVariable(
      'job',
      'Service (job)',
      `label_values({__name__=~"${REQUEST_COUNTS}|${M.httpServer}_count|${M.httpClient}_count"}, job)`,
    ),
    labelVariable(
      'instance',
      'Instance',
      `label_values({__name__=~"${REQUEST_COUNTS}|${M.httpServer}_count|${M.httpClient}_count", job=~"$job"}, instance)`,
    ),
    labelVariable('provider', 'Provider', `label_values(${requests('job=~"$job", instance=~"$instance"')}, ${L.providerName})`),
    labelVariable(
      'model',
      'Model',
      `label_values(${requests(`job=~"$job", instance=~"$instance", ${L.providerName}=~"$provider"`)}, ${L.requestModel})`,
    ),
    labelVariable(
      'operation',
      'Operation',
      `label_values(${requests(`job=~"$job", instance=~"$instance", ${L.providerName}=~"$provider", ${L.requestModel}=~"$model"`)}, ${L.operationName})`,
    ),
    labelVariable(
      'stream',
      'Streaming',
      `label_values(${requests(`job=~"$job", instance=~"$instance", ${L.providerName}=~"$provider", ${L.requestModel}=~"$model", ${L.operationName}=~"$operation"`)}, ${L.requestStream})`,
    ),
  ];
}

// ---------------------------------------------------------------- dashboard

export function buildDashboard(): Dashboard {
  nextId = 1;
  const b = new DashboardBuilder('Inference overview')
    .uid(DASHBOARD_UID)
    .description(
      'LLM / model-inference metrics from otel-inference (OpenTelemetry GenAI semantic conventions): the client side, the serving side (model servers, gateways and their backends) and the system (CPU, memory, GPUs), via the OpenTelemetry Collector and Prometheus. Rates need the data source\'s Min interval (Scrape interval, timeInterval) at least as long as the apps\' OTEL_METRIC_EXPORT_INTERVAL (60 s by default): see docs/pipeline.md.',
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

  // Tokens and cache: the GenAI semconv token counters (gen_ai.client.inference.usage.*)
  b.withRow(row('Tokens and cache'));
  const usageRules = `One add per call and counter when the call ends, whatever its outcome; 0 when the provider reported no usage (a failed or cancelled call, a stream without its usage chunk).`;
  const rangeEstimate =
    'increase() over the selected range: Prometheus extrapolates from the samples in it, so this is an estimate of the count, not an invoice.';
  b.withPanel(
    stat(
      'Input tokens (time range)',
      `Input tokens over the selected time range, cached ones included (${METRIC.usageInputTokens}). ${rangeEstimate}`,
      'short',
      `sum(increase(${sel(M.usageInput)}[$__range]))`,
      { instant: true, span: 6, noValue: '0' },
    ),
  );
  b.withPanel(
    stat(
      'Output tokens (time range)',
      `Output tokens over the selected time range, reasoning ones included (${METRIC.usageOutputTokens}). ${rangeEstimate}`,
      'short',
      `sum(increase(${sel(M.usageOutput)}[$__range]))`,
      { instant: true, span: 6, noValue: '0' },
    ),
  );
  b.withPanel(
    stat(
      'Cache hit ratio (time range)',
      `Input tokens read from the provider's prompt cache over all input tokens, over the selected time range: ${METRIC.usageCacheReadInputTokens} / ${METRIC.usageInputTokens}. Empty when there was no input.`,
      'percentunit',
      counterShare(M.usageCacheRead, M.usageInput, { window: '$__range' }),
      { instant: true, span: 6, decimals: 1 },
    ),
  );
  b.withPanel(
    stat(
      'Reasoning share (time range)',
      `Output tokens spent on reasoning over all output tokens, over the selected time range: ${METRIC.usageReasoningOutputTokens} / ${METRIC.usageOutputTokens}. Empty when there was no output.`,
      'percentunit',
      counterShare(M.usageReasoning, M.usageOutput, { window: '$__range' }),
      { instant: true, span: 6, decimals: 1 },
    ),
  );
  const byRequestModel = by([L.requestModel]);
  const tokenTypes: Array<[string, string]> = [
    ['input', M.usageInput],
    ['output', M.usageOutput],
    ['cache read', M.usageCacheRead],
    ['cache write', M.usageCacheWrite],
    ['reasoning', M.usageReasoning],
  ];
  b.withPanel(
    timeseries(
      'Tokens/s by type and model',
      `Tokens per second per request model, from the GenAI semconv counters: input (${METRIC.usageInputTokens}, every input token, cached ones included), output (${METRIC.usageOutputTokens}, every output token, reasoning included), cache read and cache write (${METRIC.usageCacheReadInputTokens}, ${METRIC.usageCacheWriteInputTokens}: parts of input), reasoning (${METRIC.usageReasoningOutputTokens}: part of output). Never add the lines: the parts are inside input and output. ${usageRules} Embeddings have no output or reasoning line.`,
      'short',
      tokenTypes.map(([type, metric], i) =>
        q(`sum${byRequestModel}(rate(${sel(metric)}[${RATE}]))`, `${type} ${showLabel(L.requestModel)}`, String.fromCharCode(65 + i)),
      ),
      24,
    ),
  );
  const providerModel = [L.providerName, L.requestModel];
  const providerModelLegend = `${showLabel(L.providerName)} ${showLabel(L.requestModel)}`;
  b.withPanel(
    timeseries(
      'Cache hit ratio by provider and model',
      `Input tokens read from the provider's prompt cache over all input tokens (${METRIC.usageCacheReadInputTokens} / ${METRIC.usageInputTokens}), per provider and request model, 0 to 1. Input counts the cached tokens (for Anthropic: input_tokens + cache_creation_input_tokens + cache_read_input_tokens), so the ratio never exceeds 1. Calls without usage add 0 to both and do not move it. No input in the window (no traffic, or only calls without usage): no value, a gap, not 0. 0: input and no cache read (a cold cache, prompts below the provider's caching minimum, or a provider that reports none).`,
      'percentunit',
      [q(counterShare(M.usageCacheRead, M.usageInput, { groupBy: providerModel }), providerModelLegend, 'A')],
      12,
    ).max(1),
  );
  b.withPanel(
    timeseries(
      'Reasoning share by provider and model',
      `Output tokens spent on reasoning over all output tokens (${METRIC.usageReasoningOutputTokens} / ${METRIC.usageOutputTokens}), per provider and request model, 0 to 1. Output counts the reasoning tokens (for Gemini: candidates + thoughts). No output in the window: no value, a gap. 0: output without reported reasoning (a model that does not reason, or a provider that does not say). Embeddings have neither counter.`,
      'percentunit',
      [q(counterShare(M.usageReasoning, M.usageOutput, { groupBy: providerModel }), providerModelLegend, 'A')],
      12,
    ).max(1),
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

  // Serving: what a model server or gateway records for the requests it serves
  b.withRow(row('Serving'));
  const byModel = { groupBy: [L.requestModel] };
  b.withPanel(
    timeseries(
      'Time to first token: server vs client (p95 by model)',
      `p95 per request model of the server-side ${SERVER_METRIC.timeToFirstToken} (from a served request's arrival to its first output token) beside the client-side ${METRIC.timeToFirstChunk} (from a call to its first output chunk). In a gateway that is both, the client line is the time to the backend's first chunk and the server line the time to the gateway's caller: the gap is the gateway's own time. Each line is its own quantile; never subtract or add them.`,
      's',
      [
        q(quantile(0.95, M.serverTtft, byModel), `server ${showLabel(L.requestModel)}`, 'A'),
        q(quantile(0.95, M.ttft, byModel), `client ${showLabel(L.requestModel)}`, 'B'),
      ],
      12,
    ),
  );
  b.withPanel(
    timeseries(
      'Time per output token (server)',
      `${SERVER_METRIC.timePerOutputToken} of successful served requests, (duration − time to first token) / (output tokens − 1): p50 / p95 / p99 and mean.`,
      's',
      latencyTargets(M.serverTpot),
      12,
    ),
  );
  b.withPanel(
    timeseries(
      'Queue time p95 by model',
      `p95 per request model of ${SERVER_METRIC.queueDuration}: each wait in the queue, recorded when the request is admitted, or when it ends without having been admitted. Requests still waiting are not in it yet: see waiting requests.`,
      's',
      [q(quantile(0.95, M.queue, byModel), showLabel(L.requestModel), 'A')],
      8,
    ),
  );
  b.withPanel(
    timeseries(
      'Waiting and active requests (server)',
      `Per process: ${SERVER_METRIC.waitingRequests} (queued, not yet admitted) and ${SERVER_METRIC.activeRequests} (being served, admitted or not). A queue that never drains means the server is saturated.`,
      'short',
      [
        q(`sum by (instance) (${sel(M.serverWaiting)})`, 'waiting {{instance}}', 'A'),
        q(`sum by (instance) (${sel(M.serverActive)})`, 'active {{instance}}', 'B'),
      ],
      8,
    ),
  );
  b.withPanel(
    timeseries(
      'Phase duration p95 by phase',
      `p95 of ${SERVER_METRIC.phaseDuration} per ${ATTR.phase} (${PHASE.prefill}, ${PHASE.decode}, and stages such as ${PHASE.tokenize} or ${PHASE.batch}).`,
      's',
      [q(quantile(0.95, M.phase, { groupBy: [L.phase] }), showLabel(L.phase), 'A')],
      8,
    ),
  );
  b.withPanel(
    timeseries(
      'Server requests/s by outcome',
      `${SERVER_METRIC.requests}: served requests that ended, by ${L.outcome} (${Object.values(OUTCOME).join(', ')}; cancelled = the caller disconnected first).`,
      'reqps',
      [q(`sum by (${L.outcome}) (rate(${sel(M.serverRequests)}[${RATE}]))`, showLabel(L.outcome), 'A')],
      6,
    ),
  );
  b.withPanel(
    timeseries(
      'Server request duration (successful)',
      `${SERVER_METRIC.requestDuration} of successful served requests: p50 / p95 / p99 and mean.`,
      's',
      latencyTargets(M.serverDuration, OK),
      6,
    ),
  );
  b.withPanel(
    timeseries(
      'Server tokens/s by token type',
      `${SERVER_METRIC.tokens}: tokens the server read (input) and generated (output) per second.`,
      'short',
      [q(`sum by (${L.tokenType}) (rate(${sel(M.serverTokens)}[${RATE}]))`, showLabel(L.tokenType), 'A')],
      6,
    ),
  );
  b.withPanel(
    timeseries(
      'Server output tokens/s per request',
      `${SERVER_METRIC.outputTokenRate}: output tokens per second of each served request over its decode time; p50, p95 and mean.`,
      'short',
      [
        q(quantile(0.5, M.serverTps), 'p50', 'A'),
        q(quantile(0.95, M.serverTps), 'p95', 'B'),
        q(mean(M.serverTps), 'mean', 'C'),
      ],
      6,
    ),
  );
  // The gauges a model server reports about itself (observeServerGauge), read at each export: one
  // line per process, the max of its points when the app reports several (e.g. one per model).
  const perServer = (gauge: string) => `max by (job, instance) (${sel(gauge, '', SERVER_GAUGE_FILTER)})`;
  const server = '{{job}} {{instance}}';
  const reported = (key: keyof typeof SERVER_GAUGE) =>
    `Reported by the app through observeServerGauge(SERVER_GAUGE.${key}, callback) and read at each export; empty ("Not reported") for a server that does not report it (the zero-code server metrics do not). Only the service and instance filters apply.`;
  const notReported = 'Not reported (observeServerGauge)';
  b.withPanel(
    timeseries(
      'Batch size (server)',
      `${SERVER_GAUGE.batchSize.name}: requests in the batch each process is running now, one line per process (the largest batch when the app reports several, e.g. one per model). ${reported('batchSize')}`,
      'short',
      [q(perServer(M.batchSize), server, 'A')],
      6,
    ).noValue(notReported),
  );
  b.withPanel(
    timeseries(
      'Queue size by stage (server)',
      `${SERVER_GAUGE.queueSize.name} per ${ATTR.phase}: requests waiting in each of the server's own stage queues (e.g. ${PHASE.tokenize}, ${PHASE.batch}), summed over the selected processes. The wait before admission of startServerRequest is the waiting requests panel. ${reported('queueSize')}`,
      'short',
      [q(`sum by (${L.phase}) (${sel(M.queueSize, '', SERVER_GAUGE_FILTER)})`, showLabel(L.phase), 'A')],
      6,
    ).noValue(notReported),
  );
  b.withPanel(
    timeseries(
      'KV-cache utilization (server)',
      `${SERVER_GAUGE.kvCacheUtilization.name}: the fraction of the KV cache in use, 0 to 1, one line per process (the fullest cache when the app reports several, e.g. one per GPU). Near 1, new requests wait or running ones are preempted. ${reported('kvCacheUtilization')}`,
      'percentunit',
      [q(perServer(M.kvCache), server, 'A')],
      6,
    )
      .max(1)
      .noValue(notReported),
  );
  b.withPanel(
    timeseries(
      'Padding ratio (server)',
      `${SERVER_GAUGE.paddingRatio.name}: the fraction of the token slots of the running batch that are padding, 0 to 1: compute spent on no token. One line per process (the most padded batch when the app reports several). ${reported('paddingRatio')}`,
      'percentunit',
      [q(perServer(M.padding), server, 'A')],
      6,
    )
      .max(1)
      .noValue(notReported),
  );

  // Gateway: client-side series by backend, and fallbacks
  b.withRow(row('Gateway'));
  b.withPanel(
    timeseries(
      'Requests/s by backend',
      `Client-side ${METRIC.requests} of the calls a gateway routed to a named backend (${ATTR.backend}), per backend.`,
      'reqps',
      [q(`sum by (${L.backend}) (rate(${sel(M.requests, ROUTED)}[${RATE}]))`, showLabel(L.backend), 'A')],
      8,
    ),
  );
  b.withPanel(
    timeseries(
      'Error ratio by backend',
      `errors / all finished calls per backend (${ATTR.backend}); 0 while a backend has calls and no error.`,
      'percentunit',
      [q(errorRatio([L.backend], ROUTED), showLabel(L.backend), 'A')],
      8,
    ),
  );
  b.withPanel(
    timeseries(
      'Fallbacks/s by reason',
      `${GATEWAY_METRIC.fallbacks}: requests moved from one backend to the next per second, by ${ATTR.fallbackReason} (an ${ATTR.errorType} value of the failed attempt).`,
      'short',
      [q(`sum by (${L.fallbackReason}) (rate(${sel(M.fallbacks)}[${RATE}]))`, showLabel(L.fallbackReason), 'A')],
      8,
    ),
  );
  b.withPanel(
    timeseries(
      'Fallbacks/s by route',
      `${GATEWAY_METRIC.fallbacks} per second from one backend (${ATTR.fallbackFrom}) to the next (${ATTR.fallbackTo}).`,
      'short',
      [
        q(
          `sum by (${L.fallbackFrom}, ${L.fallbackTo}) (rate(${sel(M.fallbacks)}[${RATE}]))`,
          `${showLabel(L.fallbackFrom)} → ${showLabel(L.fallbackTo)}`,
          'A',
        ),
      ],
      12,
    ),
  );
  const allCalls = `sum(rate(${sel(M.requests)}[${RATE}]))`;
  b.withPanel(
    timeseries(
      'Fallbacks per backend call',
      `${GATEWAY_METRIC.fallbacks} over the gateway's finished client-side calls (${METRIC.requests}, every outcome), both per second: the share of backend calls that ended in a move to the next backend. 0 while there are calls and no fallback. The InferenceFallbackRatioHigh alert watches this ratio per service.`,
      'percentunit',
      [q(`(sum(rate(${sel(M.fallbacks)}[${RATE}])) or 0 * ${allCalls}) / (${allCalls} > 0)`, 'fallbacks / calls', 'A')],
      12,
    ),
  );

  // System: the process and its machine (@opentelemetry/instrumentation-host-metrics), GPUs (nvidia-smi)
  b.withRow(row('System'));
  const proc = '{{job}} {{instance}}';
  b.withPanel(
    timeseries(
      'CPU (cores in use)',
      `CPU seconds per second, from the ${HOST_METRIC.processCpuTime.otelName} and ${HOST_METRIC.systemCpuTime.otelName} counters of @opentelemetry/instrumentation-host-metrics: the process (user + system; 1 = one core full, the ceiling of the Node.js main thread), the host's CPUs outside ${HOST_VALUE.cpuIdle}, and how many logical CPUs the host has. Every process on a host reports the same host lines.`,
      'short',
      [
        q(`sum by (job, instance) (rate(${sel(M.processCpuTime, '', SYSTEM_FILTER)}[${RATE}]))`, `process ${proc}`, 'A'),
        q(
          `sum by (job, instance) (rate(${sel(M.systemCpuTime, `${HOST_LABEL.cpuMode}!="${HOST_VALUE.cpuIdle}"`, SYSTEM_FILTER)}[${RATE}]))`,
          `host busy ${proc}`,
          'B',
        ),
        q(
          `count by (job, instance) (rate(${sel(M.systemCpuTime, `${HOST_LABEL.cpuMode}="${HOST_VALUE.cpuIdle}"`, SYSTEM_FILTER)}[${RATE}]))`,
          `host CPUs ${proc}`,
          'C',
        ),
      ],
      6,
    ),
  );
  b.withPanel(
    timeseries(
      'Memory',
      `Process resident set size (${HOST_METRIC.processMemoryUsage.otelName}), and the host's memory: used and total (${HOST_METRIC.systemMemoryUsage.otelName} with ${HOST_ATTR.systemMemoryState}="${HOST_VALUE.memoryUsed}", and over every state), from @opentelemetry/instrumentation-host-metrics.`,
      'bytes',
      [
        q(perProcess(M.processMemory), `process RSS ${proc}`, 'A'),
        q(perProcess(M.systemMemory, `${HOST_LABEL.systemMemoryState}="${HOST_VALUE.memoryUsed}"`), `host used ${proc}`, 'B'),
        q(perProcess(M.systemMemory), `host total ${proc}`, 'C'),
      ],
      6,
    ),
  );
  // Every process on a GPU host reports the same GPUs: one line per GPU (max, never sum).
  const perGpu = (gauge: string) => `max by (${GPU_LABEL.id}, ${GPU_LABEL.name}) (${sel(gauge, '', SYSTEM_FILTER)})`;
  const gpu = `${showLabel(GPU_LABEL.name)} ${showLabel(GPU_LABEL.id)}`;
  const noGpu = 'No GPU metrics (no nvidia-smi on the host)';
  b.withPanel(
    timeseries(
      'GPU utilization',
      `Per GPU (${GPU_LABEL.id}, its UUID): ${GPU_METRIC.utilization}, the share of the driver's last sample period in which a kernel ran, and ${GPU_METRIC.memoryUtilization}, the share of its memory in use. Read from nvidia-smi where it exists; empty on hosts without one, and a value nvidia-smi does not give (MIG, unified memory) is missing, not 0.`,
      'percentunit',
      [q(perGpu(M.gpuUtilization), `busy ${gpu}`, 'A'), q(perGpu(M.gpuMemoryUtilization), `memory ${gpu}`, 'B')],
      6,
    )
      .max(1)
      .noValue(noGpu),
  );
  b.withPanel(
    timeseries(
      'GPU memory',
      `Per GPU (${GPU_LABEL.id}, its UUID): memory used (${GPU_METRIC.memoryUsage}) and installed (${GPU_METRIC.memoryLimit}). Read from nvidia-smi where it exists; empty on hosts without one.`,
      'bytes',
      [q(perGpu(M.gpuMemoryUsage), `used ${gpu}`, 'A'), q(perGpu(M.gpuMemoryLimit), `total ${gpu}`, 'B')],
      6,
    ).noValue(noGpu),
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
