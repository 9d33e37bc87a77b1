/**
 * Every Prometheus metric and label name the dashboard, the PromQL lint and the pipeline
 * tests use, in one place:
 *
 * - otel-inference's own metrics and labels come from the library's tables (PROMETHEUS_METRIC
 *   for the client side, PROMETHEUS_SERVER_METRIC, PROMETHEUS_SERVER_GAUGE (the gauges a model
 *   server reports through observeServerGauge), PROMETHEUS_GATEWAY_METRIC and
 *   PROMETHEUS_GPU_METRIC for the serving side, PROMETHEUS_LABEL; all derived from semconv.ts by
 *   prometheusName);
 * - the metrics of other OpenTelemetry packages the dashboard shows (the HTTP metrics of
 *   @opentelemetry/instrumentation-http, the CPU and memory metrics of
 *   @opentelemetry/instrumentation-host-metrics)
 *   are declared here once, by their OTel name, unit and kind, and translated by the same function.
 *
 * It also renders the Markdown table of metric names for the docs:
 *
 *   npx tsx grafana/names.ts          # prints the table (paste it between the
 *                                     # <!-- metric-names:start/end --> markers in docs/metrics.md)
 */
import { fileURLToPath } from 'node:url';

import {
  PROMETHEUS_GATEWAY_METRIC,
  PROMETHEUS_GPU_METRIC,
  PROMETHEUS_HOST_METRIC,
  PROMETHEUS_LABEL,
  PROMETHEUS_METRIC,
  PROMETHEUS_SERVER_GAUGE,
  PROMETHEUS_SERVER_METRIC,
  prometheusLabel,
  prometheusMetric,
  type PrometheusMetric,
} from '../packages/instrumentation/src/prometheus-names.js';
import { GPU_ATTR, HOST_ATTR } from '../packages/instrumentation/src/semconv.js';

export {
  PROMETHEUS_GATEWAY_METRIC,
  PROMETHEUS_GPU_METRIC,
  PROMETHEUS_LABEL,
  PROMETHEUS_METRIC,
  PROMETHEUS_SERVER_GAUGE,
  PROMETHEUS_SERVER_METRIC,
  type PrometheusMetric,
};
export {
  ATTR,
  GATEWAY_METRIC,
  GPU_ATTR,
  GPU_METRIC,
  INSTRUMENT,
  METRIC,
  OUTCOME,
  PHASE,
  SERVER_GAUGE,
  SERVER_METRIC,
} from '../packages/instrumentation/src/semconv.js';

/** The @opentelemetry/instrumentation-http metrics the dashboard shows (HTTP semconv, stable). */
export const HTTP_METRIC = {
  serverDuration: prometheusMetric({ name: 'http.server.request.duration', unit: 's', kind: 'histogram' }),
  clientDuration: prometheusMetric({ name: 'http.client.request.duration', unit: 's', kind: 'histogram' }),
} as const satisfies Record<string, PrometheusMetric>;

/** Attributes of the HTTP metrics the dashboard groups by. */
export const HTTP_ATTR = {
  statusCode: 'http.response.status_code',
  route: 'http.route',
  serverAddress: 'server.address',
} as const;

/** Their Prometheus label names. */
export const HTTP_LABEL: { readonly [K in keyof typeof HTTP_ATTR]: string } = {
  statusCode: prometheusLabel(HTTP_ATTR.statusCode),
  route: prometheusLabel(HTTP_ATTR.route),
  serverAddress: prometheusLabel(HTTP_ATTR.serverAddress),
};

/**
 * The host metrics the dashboard's System row reads, from the library's table of
 * @opentelemetry/instrumentation-host-metrics (semconv.ts HOST_INSTRUMENT, kept in step with that
 * library by a test): the CPU-time counters and the memory gauges (bytes, though the library gives
 * them no unit, so no `_bytes` suffix). CPU is read as the rate of the time counters (cores in use
 * over the rate window), not the library's utilization gauges, whose window is whatever time passed
 * since the previous collection by any reader of the process.
 */
export const HOST_METRIC = {
  processCpuTime: PROMETHEUS_HOST_METRIC.processCpuTime,
  processMemoryUsage: PROMETHEUS_HOST_METRIC.processMemoryUsage,
  systemCpuTime: PROMETHEUS_HOST_METRIC.systemCpuTime,
  systemMemoryUsage: PROMETHEUS_HOST_METRIC.systemMemoryUsage,
} as const satisfies Record<string, PrometheusMetric>;

export { HOST_ATTR };

export const HOST_VALUE = {
  cpuIdle: 'idle',
  memoryUsed: 'used',
} as const;

/** Their Prometheus label names. */
export const HOST_LABEL: { readonly [K in keyof typeof HOST_ATTR]: string } = {
  cpuMode: prometheusLabel(HOST_ATTR.cpuMode),
  cpuLogicalNumber: prometheusLabel(HOST_ATTR.cpuLogicalNumber),
  systemMemoryState: prometheusLabel(HOST_ATTR.systemMemoryState),
};

/** The Prometheus label names of the GPU gauges' `hw.*` attributes. */
export const GPU_LABEL: { readonly [K in keyof typeof GPU_ATTR]: string } = Object.fromEntries(
  Object.entries(GPU_ATTR).map(([k, v]) => [k, prometheusLabel(v)]),
) as { [K in keyof typeof GPU_ATTR]: string };

const seriesOf = (...tables: Array<Record<string, PrometheusMetric>>): ReadonlySet<string> =>
  new Set(tables.flatMap((t) => Object.values(t).flatMap((m) => m.series)));

/** Every Prometheus series name of otel-inference's client-side metrics. */
export const INFERENCE_SERIES: ReadonlySet<string> = seriesOf(PROMETHEUS_METRIC);

/**
 * Every Prometheus series name of the serving side: the server metrics, the gauges a server reports
 * through observeServerGauge, and the gateway's fallbacks.
 */
export const SERVING_SERIES: ReadonlySet<string> = seriesOf(PROMETHEUS_SERVER_METRIC, PROMETHEUS_SERVER_GAUGE, PROMETHEUS_GATEWAY_METRIC);

/**
 * The series of the well-known server gauges (batch size, KV-cache use, padding, queue size), a part
 * of SERVING_SERIES: they exist only when the app reports them through observeServerGauge, and they
 * describe a server process, not a request (no gen_ai_* labels unless the app gives them).
 */
export const SERVER_GAUGE_SERIES: ReadonlySet<string> = seriesOf(PROMETHEUS_SERVER_GAUGE);

/** Every Prometheus series name of the GPU gauges (`hw.gpu.*`). */
export const GPU_SERIES: ReadonlySet<string> = seriesOf(PROMETHEUS_GPU_METRIC);

/** Every Prometheus series name of the HTTP metrics above. */
export const HTTP_SERIES: ReadonlySet<string> = seriesOf(HTTP_METRIC);

/** Every Prometheus series name of the host metrics above. */
export const HOST_SERIES: ReadonlySet<string> = seriesOf(HOST_METRIC);

/** otel-inference's own metrics: client side, serving side (server metrics and gauges, gateway), GPU. */
export const OWN_METRICS: readonly PrometheusMetric[] = [
  ...Object.values(PROMETHEUS_METRIC),
  ...Object.values(PROMETHEUS_SERVER_METRIC),
  ...Object.values(PROMETHEUS_SERVER_GAUGE),
  ...Object.values(PROMETHEUS_GATEWAY_METRIC),
  ...Object.values(PROMETHEUS_GPU_METRIC),
];

/** The metrics in the names table, in its order: otel-inference's, then the HTTP and host ones. */
export const TABLE_METRICS: readonly PrometheusMetric[] = [...OWN_METRICS, ...Object.values(HTTP_METRIC), ...Object.values(HOST_METRIC)];

/** Marker comments around the rendered table in docs/metrics.md. */
export const TABLE_START = '<!-- metric-names:start -->';
export const TABLE_END = '<!-- metric-names:end -->';

/**
 * The Markdown table of metric names (OTel instrument, kind, unit, Prometheus type and
 * series), rendered from the tables above. docs/metrics.md carries it verbatim between
 * TABLE_START and TABLE_END (test/pipeline/names.test.ts checks that).
 */
export function renderMetricNamesTable(): string {
  const code = (s: string) => `\`${s}\``;
  const rows = TABLE_METRICS.map((m) =>
    `| ${code(m.otelName)} | ${m.kind} | ${m.unit ? code(m.unit) : ''} | ${m.type} | ${m.series.map(code).join(', ')} |`,
  );
  return [
    '| OTel instrument | kind | unit | Prometheus type | Prometheus series |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) console.log(renderMetricNamesTable());
